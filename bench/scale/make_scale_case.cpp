// A case folder of N generated, schema-valid reports (and background signatures) for timing the case outputs
// and merge at scale: bench/scale/scale_bench.py.
//
//   make_scale_case --out DIR --reports N [--signatures M] [--shards S] [--seed X]
//
// Each report has the shape of a real one (hashes, 4-12 ranked clues of every kind with boxes, countries,
// languages, rare words); about one picture in 50 shares a phone number or a brand with others, one in 200 is
// stored twice, one in 100 failed. M of the pictures get a scene signature (600 ORB-like features); one in 20 of
// those is a second view of another's scene (the same features, moved and with a few bits flipped), so the
// matcher has true pairs to find among unrelated backgrounds. With --shards S the reports are split into S
// shard folders (shard-K, as `--shard K/S` would) with run.json files, for timing `cluetrace merge`.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/case/objects.hpp"
#include "pipeline/case/scenes.hpp"
#include "pipeline/digest.hpp"
#include "pipeline/shard.hpp"

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

const char* kCountries[] = {"DE", "FR", "NL", "PL", "IT", "ES", "CZ", "SE", "DK", "AT", "BE", "PT", "GB", "HR"};
const char* kLanguages[] = {"de", "fr", "nl", "pl", "it", "es", "cs", "sv", "da", "de", "nl", "pt", "en", "hr"};
const char* kWords[] = {"bakery", "pharmacy", "garage", "hotel", "market", "fresh", "sale", "open", "coffee", "station",
                        "school", "bread", "cheese", "flowers", "books", "shoes", "kiosk", "tram", "museum", "opera"};
const char* kBrands[] = {"lidl", "aldi", "carrefour", "tesco", "ikea", "dm", "rossmann", "zara", "hm", "mediamarkt",
                         "kaufland", "biedronka", "konzum", "spar", "rewe"};

struct Generator {
  std::mt19937_64 rng;
  explicit Generator(std::uint64_t seed) : rng(seed) {}
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng); }

  std::string hex(int bytes) {
    std::string out;
    for (int i = 0; i < bytes; ++i) out += fmt::format("{:02x}", uniform(0, 255));
    return out;
  }

  json clue(int rank, const std::string& kind, const std::string& value, double score, int w, int h) {
    const int bw = uniform(20, std::max(21, w / 3)), bh = uniform(12, std::max(13, h / 8));
    json c{{"rank", rank}, {"kind", kind}, {"value", value}, {"confidence", real(0.5, 1.0)}, {"score", score},
           {"box", {uniform(0, w - bw), uniform(0, h - bh), bw, bh}}, {"stage", kind == "text" ? "ocr.tesseract_line" : "clues.extract"},
           {"explanation", fmt::format("score {:.2f} = specificity {} x confidence", score, kind)}};
    return c;
  }

  json report(std::size_t index, const std::string& path, const std::string& sha, bool failed, int country) {
    const int w = uniform(800, 4000), h = uniform(600, 3000);
    json r;
    r["schema"] = "clue-report/1";
    r["image"] = {{"path", path}, {"sha256", sha}, {"md5", hex(16)}, {"sha1", hex(20)}, {"bytes", uniform(50000, 5000000)},
                  {"hashes_complete", true}, {"format", "jpeg"}};
    if (failed) {
      r["status"] = "failed";
      r["errors"] = json::array({{{"stage", "decode"}, {"message", "truncated JPEG: the file ends before the end-of-image marker"}}});
      r["clues"] = json::array();
      r["languages"] = json::array();
      r["regions"] = json::array();
    } else {
      r["image"]["width"] = w;
      r["image"]["height"] = h;
      r["status"] = "ok";
      r["errors"] = json::array();
      json clues = json::array();
      const int n = uniform(4, 12);
      std::vector<double> scores;
      for (int i = 0; i < n; ++i) scores.push_back(real(0.05, 0.95));
      std::sort(scores.rbegin(), scores.rend());
      for (int i = 0; i < n; ++i) {
        const int pick = uniform(0, 9);
        const int rank = i + 1;
        if (pick < 4) {
          auto c = clue(rank, "text", fmt::format("{} {} {}", kWords[uniform(0, 19)], kWords[uniform(0, 19)], uniform(1, 999)), scores[static_cast<std::size_t>(i)], w, h);
          c["language"] = kLanguages[country];
          c["details"] = {{"rare_words", json::array({fmt::format("{}{}", kWords[uniform(0, 19)], uniform(0, 20000))})}};
          clues.push_back(c);
        } else if (pick < 6) {
          // One in 50 numbers is shared by several pictures.
          const auto number = chance(0.02) ? fmt::format("+49301234{:03}", uniform(0, 99)) : fmt::format("+{}{}", uniform(30, 49), uniform(100000000, 999999999));
          auto c = clue(rank, "phone", number, scores[static_cast<std::size_t>(i)], w, h);
          c["countries"] = json::array({{{"code", kCountries[country]}, {"weight", 1.0}}});
          clues.push_back(c);
        } else if (pick < 7) {
          auto c = clue(rank, "logo", kBrands[uniform(0, 14)], scores[static_cast<std::size_t>(i)], w, h);
          c["details"] = {{"name", "brand"}, {"method", "features"}};
          clues.push_back(c);
        } else if (pick < 8) {
          clues.push_back(clue(rank, "url", fmt::format("www.{}{}.{}", kWords[uniform(0, 19)], uniform(0, 50000), "eu"), scores[static_cast<std::size_t>(i)], w, h));
        } else if (pick < 9) {
          clues.push_back(clue(rank, "price", fmt::format("{},{:02} EUR", uniform(1, 99), uniform(0, 99)), scores[static_cast<std::size_t>(i)], w, h));
        } else {
          clues.push_back(clue(rank, "barcode", fmt::format("40{:011}", uniform(0, 999999999)), scores[static_cast<std::size_t>(i)], w, h));
        }
      }
      r["clues"] = clues;
      r["languages"] = json::array({{{"code", kLanguages[country]}, {"probability", real(0.5, 1.0)}}});
      r["regions"] = json::array({{{"code", kCountries[country]}, {"probability", real(0.4, 0.9)}, {"evidence", {1}}}});
    }
    r["timings_ms"] = {{"total", real(200, 2000)}};
    r["walk_index"] = index;
    r["config_sha256"] = std::string(64, 'c');
    r["run_id"] = "20261201T000000Z-scale";
    r["tool"] = {{"name", "cluetrace"}, {"version", "0.1.0"}};
    return r;
  }

  cluetrace::SceneSignature signature() {
    cluetrace::SceneSignature s;
    s.width = cluetrace::kSceneSide;
    s.height = 600;
    s.phash = rng();
    s.descriptors = cv::Mat(600, 32, CV_8U);
    for (int r = 0; r < 600; ++r) {
      s.points.emplace_back(static_cast<float>(real(0, s.width)), static_cast<float>(real(0, s.height)));
      for (int c = 0; c < 32; ++c) s.descriptors.at<unsigned char>(r, c) = static_cast<unsigned char>(uniform(0, 255));
    }
    return s;
  }

  cluetrace::ObjectFeatures objects() {
    cluetrace::ObjectFeatures f;
    f.width = 1600;
    f.height = 1200;
    f.descriptors = cv::Mat(1000, 32, CV_8U);
    for (int r = 0; r < 1000; ++r) {
      f.points.emplace_back(static_cast<float>(real(0, f.width)), static_cast<float>(real(0, f.height)));
      for (int c = 0; c < 32; ++c) f.descriptors.at<unsigned char>(r, c) = static_cast<unsigned char>(uniform(0, 255));
    }
    if (const auto* vocabulary = cluetrace::object_vocabulary()) f.words = vocabulary->words(f.descriptors);
    return f;
  }

  // Another view of the same scene: the points shifted and scaled a little, a few bits of each feature flipped,
  // some features lost.
  cluetrace::SceneSignature second_view(const cluetrace::SceneSignature& a) {
    cluetrace::SceneSignature s;
    s.width = a.width;
    s.height = a.height;
    const float dx = static_cast<float>(real(-40, 40)), dy = static_cast<float>(real(-30, 30)), k = static_cast<float>(real(0.9, 1.1));
    for (int r = 0; r < a.descriptors.rows; ++r) {
      const cv::Point2f p(a.points[static_cast<std::size_t>(r)].x * k + dx, a.points[static_cast<std::size_t>(r)].y * k + dy);
      if (p.x < 0 || p.y < 0 || p.x > static_cast<float>(s.width) || p.y > static_cast<float>(s.height)) continue;  // out of frame
      cv::Mat d = a.descriptors.row(r).clone();
      for (int f = 0; f < 6; ++f) d.at<unsigned char>(0, uniform(0, 31)) ^= static_cast<unsigned char>(1 << uniform(0, 7));
      s.points.push_back(p);
      s.descriptors.push_back(d);
    }
    s.phash = a.phash ^ (1ull << uniform(0, 63));
    return s;
  }
};

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path out;
  std::size_t reports = 0, signatures = 0, shards = 0;
  std::uint64_t seed = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--out") out = argv[i + 1];
    else if (key == "--reports") reports = std::stoull(argv[i + 1]);
    else if (key == "--signatures") signatures = std::stoull(argv[i + 1]);
    else if (key == "--shards") shards = std::stoull(argv[i + 1]);
    else if (key == "--seed") seed = std::stoull(argv[i + 1]);
    else {
      std::cerr << "unknown option " << key << "\n";
      return 2;
    }
  }
  if (out.empty() || reports == 0) {
    std::cerr << "usage: make_scale_case --out DIR --reports N [--signatures M] [--shards S] [--seed X]\n";
    return 2;
  }
  Generator gen(seed);
  const std::size_t parts = std::max<std::size_t>(shards, 1);
  std::vector<std::ofstream> files;
  std::vector<fs::path> dirs;
  for (std::size_t k = 0; k < parts; ++k) {
    dirs.push_back(shards ? out / fmt::format("shard-{}", k) : out);
    fs::create_directories(dirs.back());
    files.emplace_back(dirs.back() / "reports.jsonl", std::ios::binary | std::ios::trunc);
  }
  std::vector<std::size_t> per_shard(parts, 0);
  std::string last_sha;
  cluetrace::SceneSignature last_signature;
  std::size_t made_signatures = 0, second_views = 0;
  for (std::size_t i = 0; i < reports; ++i) {
    const bool copy = !last_sha.empty() && gen.chance(0.005);  // the same picture stored twice
    const std::string sha = copy ? last_sha : cluetrace::sha256_hex(fmt::format("{}-{}", seed, i));
    const std::string path = fmt::format("/evidence/scale/{:03}/{:04}/IMG_{:07}.jpg", i / 100000, (i / 1000) % 100, i);
    const bool failed = gen.chance(0.01);
    const std::size_t shard = shards ? cluetrace::shard_of(path, parts) : 0;
    files[shard] << gen.report(i, path, sha, failed, gen.uniform(0, 13)).dump() << "\n";
    ++per_shard[shard];
    if (!failed && !copy && made_signatures < signatures) {
      const bool second = made_signatures > 0 && gen.chance(0.05);
      last_signature = second ? gen.second_view(last_signature) : gen.signature();
      second_views += second ? 1 : 0;
      write_text(dirs[shard] / cluetrace::scene_path(sha), cluetrace::encode_signature(last_signature));
      // The picture's object store for query by example (1,000 features, as the default config keeps), with words.
      write_text(dirs[shard] / cluetrace::objects_path(sha), cluetrace::encode_objects(gen.objects()));
      ++made_signatures;
    }
    last_sha = sha;
  }
  for (std::size_t k = 0; k < parts; ++k) {
    files[k].close();
    if (!shards) continue;
    json run{{"run_id", fmt::format("scale-shard-{}", k)}, {"status", "complete"}, {"tool", {{"name", "cluetrace"}, {"version", "0.1.0"}}},
             {"config", {{"sha256", std::string(64, 'c')}}}, {"shard", {{"index", k}, {"count", parts}, {"inputs", {"/evidence/scale"}}}},
             {"counts", {{"images", per_shard[k]}, {"reported", per_shard[k]}}}};
    write_text(dirs[k] / "run.json", run.dump(2) + "\n");
  }
  std::cerr << fmt::format("wrote {} reports and {} scene signatures ({} of them second views of the picture before) to {}{}\n",
                           reports, made_signatures, second_views, out.string(), shards ? fmt::format(" in {} shards", shards) : "");
  return 0;
}
