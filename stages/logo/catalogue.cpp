#include "stages/logo/catalogue.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#include <fmt/format.h>
#include <oneapi/tbb/parallel_for.h>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>
#include <yaml-cpp/yaml.h>

#include "pipeline/digest.hpp"
#include "pipeline/image_codecs.hpp"

extern char** environ;

namespace cluetrace::logo {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void fail_at(const fs::path& file, const YAML::Node& node, const std::string& key, const std::string& message) {
  const int line = node.IsDefined() && node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
  throw std::runtime_error(line > 0 ? fmt::format("{}:{}: {}: {}", file.string(), line, key, message)
                                    : fmt::format("{}: {}: {}", file.string(), key, message));
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", file.string(), std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool is_svg(const fs::path& file) {
  std::string ext = file.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".svg";
}

const std::regex kIdPattern("^[a-z0-9][a-z0-9_.+-]*$");
const std::regex kColourPattern("^#[0-9A-Fa-f]{6}$");
const std::regex kCountryPattern("^[A-Z]{2}$");

Reference read_reference(const fs::path& file, const YAML::Node& node, const std::string& key) {
  Reference ref;
  if (node.IsScalar()) {
    ref.file = node.as<std::string>();
  } else if (node.IsMap()) {
    for (const auto& kv : node) {
      const auto k = kv.first.as<std::string>();
      if (k != "file" && k != "box") fail_at(file, kv.first, key + "." + k, "unknown key (expected file, box)");
    }
    if (!node["file"] || !node["file"].IsScalar()) fail_at(file, node, key + ".file", "missing");
    ref.file = node["file"].as<std::string>();
    if (const auto box = node["box"]) {
      if (!box.IsSequence() || box.size() != 4) fail_at(file, box, key + ".box", "must be [x, y, width, height]");
      Box b;
      try {
        b = {box[0].as<int>(), box[1].as<int>(), box[2].as<int>(), box[3].as<int>()};
      } catch (const YAML::Exception&) {
        fail_at(file, box, key + ".box", "must be four integers");
      }
      if (b.x < 0 || b.y < 0 || b.width < 8 || b.height < 8) fail_at(file, box, key + ".box", "must lie in the image and be at least 8x8");
      ref.box = b;
    }
  } else {
    fail_at(file, node, key, "must be a file name or {file, box}");
  }
  if (ref.file.empty()) fail_at(file, node, key, "empty file name");
  return ref;
}

Brand read_brand(const fs::path& file, const YAML::Node& node, const std::string& key) {
  if (!node.IsMap()) fail_at(file, node, key, "must be a mapping");
  static const std::set<std::string> known{"id",     "name",     "category", "colours",    "global",
                                           "countries", "source", "wordmark", "aliases", "references"};
  for (const auto& kv : node) {
    const auto k = kv.first.as<std::string>();
    if (!known.count(k)) fail_at(file, kv.first, key + "." + k, "unknown key");
  }
  Brand b;
  try {
    b.id = node["id"] ? node["id"].as<std::string>() : "";
    if (!std::regex_match(b.id, kIdPattern)) fail_at(file, node["id"], key + ".id", "must be lower-case letters, digits, '.', '_', '+', '-'");
    b.name = node["name"] ? node["name"].as<std::string>() : b.id;
    b.category = node["category"] ? node["category"].as<std::string>() : "other";
    b.source = node["source"] ? node["source"].as<std::string>() : "";
    b.global = node["global"] ? node["global"].as<bool>() : false;
    b.wordmark = node["wordmark"] ? node["wordmark"].as<bool>() : true;
    if (const auto c = node["colours"]) {
      if (!c.IsSequence()) fail_at(file, c, key + ".colours", "must be a list of \"#RRGGBB\"");
      for (const auto& v : c) {
        auto s = v.as<std::string>();
        if (!std::regex_match(s, kColourPattern)) fail_at(file, v, key + ".colours", "\"" + s + "\" is not #RRGGBB");
        b.colours.push_back(s);
      }
    }
    if (const auto c = node["countries"]) {
      if (!c.IsMap()) fail_at(file, c, key + ".countries", "must map ISO 3166-1 alpha-2 codes to weights");
      for (const auto& kv : c) {
        const auto code = kv.first.as<std::string>();
        if (!std::regex_match(code, kCountryPattern)) fail_at(file, kv.first, key + ".countries", "\"" + code + "\" is not an upper-case ISO 3166-1 alpha-2 code");
        const double w = kv.second.as<double>();
        if (!(w > 0 && w <= 1)) fail_at(file, kv.second, key + ".countries." + code, "weight must be in (0, 1]");
        b.countries.push_back({code, w});
      }
    }
    if (b.global && !b.countries.empty()) fail_at(file, node["countries"], key + ".countries", "a global brand lists no countries");
    if (const auto a = node["aliases"]) {
      if (!a.IsSequence()) fail_at(file, a, key + ".aliases", "must be a list of names");
      for (const auto& v : a) b.aliases.push_back(v.as<std::string>());
    }
  } catch (const YAML::Exception& e) {
    fail_at(file, node, key, std::string("wrong type: ") + e.what());
  }
  const auto refs = node["references"];
  if (!refs || !refs.IsSequence() || refs.size() == 0) fail_at(file, node, key + ".references", "at least one reference image is needed");
  for (std::size_t i = 0; i < refs.size(); ++i) b.references.push_back(read_reference(file, refs[i], fmt::format("{}.references[{}]", key, i)));
  return b;
}

// Runs a program without a shell; returns its exit status and what it wrote to stderr (for the message).
int run_program(const std::vector<std::string>& args, std::string& error_text) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char err_template[] = "/tmp/cluetrace-rsvg-XXXXXX";
  const int err_fd = mkstemp(err_template);
  if (err_fd < 0) throw std::runtime_error("cannot create a temporary file for rsvg-convert's messages");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0].c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    close(err_fd);
    unlink(err_template);
    return rc == ENOENT ? 127 : 126;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  close(err_fd);
  std::ifstream e(err_template);
  std::getline(e, error_text);
  unlink(err_template);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

cv::Mat render_svg(const fs::path& file, int side) {
  char out_template[] = "/tmp/cluetrace-svg-XXXXXX";
  const int fd = mkstemp(out_template);
  if (fd < 0) throw std::runtime_error("cannot create a temporary file to render " + file.string());
  close(fd);
  const std::string px = std::to_string(side);
  std::string error_text;
  const int rc = run_program({"rsvg-convert", "--keep-aspect-ratio", "-w", px, "-h", px, "-f", "png", "-o", out_template,
                              file.string()},
                             error_text);
  cv::Mat img;
  if (rc == 0) img = codecs::imread(out_template, cv::IMREAD_UNCHANGED);
  unlink(out_template);
  if (rc == 127) throw std::runtime_error(file.string() + ": rsvg-convert not found (install Debian's librsvg2-bin to render SVG references)");
  if (rc != 0) throw std::runtime_error(fmt::format("{}: rsvg-convert failed ({}): {}", file.string(), rc, error_text));
  if (img.empty() || img.channels() != 4) throw std::runtime_error(file.string() + ": rsvg-convert produced no image");
  return img;
}

}  // namespace

bool valid_brand_id(const std::string& id) { return std::regex_match(id, kIdPattern); }
bool valid_colour(const std::string& colour) { return std::regex_match(colour, kColourPattern); }
bool valid_country_code(const std::string& code) { return std::regex_match(code, kCountryPattern); }

const Brand* Catalogue::find(std::string_view id) const {
  for (const auto& b : brands)
    if (b.id == id) return &b;
  return nullptr;
}
Brand* Catalogue::find(std::string_view id) {
  for (auto& b : brands)
    if (b.id == id) return &b;
  return nullptr;
}

namespace {
Catalogue catalogue_from_yaml(const YAML::Node& root, const fs::path& file);
}  // namespace

Catalogue load_catalogue(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot read the logo catalogue: {}", file.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return load_catalogue_text(text.str(), file);
}

Catalogue load_catalogue_text(std::string_view yaml, const fs::path& file) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("{}:{}: not valid YAML: {}", file.string(), e.mark.line + 1, e.msg));
  }
  try {
    return catalogue_from_yaml(root, file);
  } catch (const YAML::Exception& e) {
    // A value of the wrong shape where a scalar was expected (a list as the version, say).
    throw std::runtime_error(fmt::format("{}:{}: {}", file.string(), e.mark.line + 1, e.msg));
  }
}

namespace {
Catalogue catalogue_from_yaml(const YAML::Node& root, const fs::path& file) {
  if (!root.IsMap()) fail_at(file, root, "catalogue", "must be a mapping with version and brands");
  for (const auto& kv : root) {
    const auto k = kv.first.as<std::string>();
    if (k != "version" && k != "name" && k != "brands") fail_at(file, kv.first, k, "unknown key (expected version, name, brands)");
  }
  if (!root["version"] || root["version"].as<std::string>() != "1") fail_at(file, root["version"], "version", "must be 1");
  Catalogue c;
  c.file = file;
  c.name = root["name"] ? root["name"].as<std::string>() : file.stem().string();
  const auto brands = root["brands"];
  if (brands && !brands.IsSequence()) fail_at(file, brands, "brands", "must be a list");
  std::set<std::string> seen;
  for (std::size_t i = 0; brands && i < brands.size(); ++i) {
    auto b = read_brand(file, brands[i], fmt::format("brands[{}]", i));
    if (!seen.insert(b.id).second) fail_at(file, brands[i]["id"], fmt::format("brands[{}].id", i), "\"" + b.id + "\" appears twice");
    c.brands.push_back(std::move(b));
  }
  return c;
}
}  // namespace

void save_catalogue(const Catalogue& catalogue) {
  YAML::Emitter out;
  out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << 1;
  out << YAML::Key << "name" << YAML::Value << catalogue.name;
  out << YAML::Key << "brands" << YAML::Value << YAML::BeginSeq;
  for (const auto& b : catalogue.brands) {
    out << YAML::BeginMap;
    out << YAML::Key << "id" << YAML::Value << b.id << YAML::Key << "name" << YAML::Value << b.name;
    out << YAML::Key << "category" << YAML::Value << b.category;
    if (!b.colours.empty()) out << YAML::Key << "colours" << YAML::Value << YAML::Flow << b.colours;
    if (b.global) out << YAML::Key << "global" << YAML::Value << true;
    if (!b.countries.empty()) {
      out << YAML::Key << "countries" << YAML::Value << YAML::Flow << YAML::BeginMap;
      for (const auto& c : b.countries) out << YAML::Key << c.code << YAML::Value << c.weight;
      out << YAML::EndMap;
    }
    if (!b.wordmark) out << YAML::Key << "wordmark" << YAML::Value << false;
    if (!b.aliases.empty()) out << YAML::Key << "aliases" << YAML::Value << YAML::Flow << b.aliases;
    if (!b.source.empty()) out << YAML::Key << "source" << YAML::Value << YAML::DoubleQuoted << b.source;
    out << YAML::Key << "references" << YAML::Value << YAML::BeginSeq;
    for (const auto& r : b.references) {
      if (!r.box) {
        out << r.file.string();
      } else {
        out << YAML::Flow << YAML::BeginMap << YAML::Key << "file" << YAML::Value << r.file.string() << YAML::Key << "box"
            << YAML::Value << YAML::Flow << std::vector<int>{r.box->x, r.box->y, r.box->width, r.box->height} << YAML::EndMap;
      }
    }
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
  const fs::path tmp = catalogue.file.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << "# Logo catalogue (cluetrace): see docs/logos.md. Written by `cluetrace catalogue`; comments are not kept.\n"
      << out.c_str() << "\n";
    if (!f) throw std::runtime_error(tmp.string() + ": cannot write");
  }
  fs::rename(tmp, catalogue.file);
}

cv::Mat render_reference_bgra(const fs::path& file, const std::optional<Box>& box, int side) {
  cv::Mat bgra;
  if (is_svg(file)) {
    if (box) throw std::runtime_error(file.string() + ": a box applies to photos, not to SVG references");
    cv::Mat big = render_svg(file, side * 2);
    std::vector<cv::Mat> ch;
    cv::split(big, ch);
    const cv::Rect extent = cv::boundingRect(ch[3] > 0);
    if (extent.area() == 0) throw std::runtime_error(file.string() + ": the SVG draws nothing");
    bgra = big(extent).clone();
  } else {
    cv::Mat img = codecs::imread(file.string(), cv::IMREAD_UNCHANGED);
    if (img.empty()) throw std::runtime_error(file.string() + ": not a readable image");
    if (img.depth() != CV_8U) img.convertTo(img, CV_8U, img.depth() == CV_16U ? 1.0 / 257 : 1.0);
    if (img.channels() == 1) cv::cvtColor(img, img, cv::COLOR_GRAY2BGRA);
    else if (img.channels() == 3) cv::cvtColor(img, img, cv::COLOR_BGR2BGRA);
    if (box) {
      const cv::Rect want(box->x, box->y, box->width, box->height);
      const cv::Rect r = want & cv::Rect(0, 0, img.cols, img.rows);
      if (r.width < 8 || r.height < 8)
        throw std::runtime_error(fmt::format("{}: box [{}, {}, {}, {}] lies outside the {}x{} image", file.string(), want.x, want.y,
                                             want.width, want.height, img.cols, img.rows));
      img = img(r).clone();
    }
    bgra = img;
  }
  // Vector marks are drawn at the size asked; a photo crop is never enlarged (interpolated pixels add
  // no detail, only blur that the scene's features would not share).
  double scale = static_cast<double>(side) / std::max(bgra.cols, bgra.rows);
  if (!is_svg(file)) scale = std::min(scale, 1.0);
  cv::Mat out;
  cv::resize(bgra, out, cv::Size(std::max(1, cvRound(bgra.cols * scale)), std::max(1, cvRound(bgra.rows * scale))), 0, 0,
             scale < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
  return out;
}

RenderedReference prepare_reference(const cv::Mat& bgra) {
  CV_Assert(bgra.type() == CV_8UC4);
  std::vector<cv::Mat> ch;
  cv::split(bgra, ch);
  cv::Mat bgr, lum;
  cv::merge(std::vector<cv::Mat>{ch[0], ch[1], ch[2]}, bgr);
  cv::cvtColor(bgr, lum, cv::COLOR_BGR2GRAY);
  // Composite over white: an SVG mark (drawn black with transparency around it) becomes dark on light.
  cv::Mat a, l, grey;
  ch[3].convertTo(a, CV_32F, 1.0 / 255);
  lum.convertTo(l, CV_32F);
  cv::Mat white(a.size(), CV_32F, cv::Scalar(255));
  grey = l.mul(a) + white.mul(1 - a);
  grey.convertTo(grey, CV_8U);
  cv::Mat mask = ch[3] >= 128;
  RenderedReference r;
  const cv::Scalar mean = cv::mean(bgr, mask);
  r.colour = cv::Vec3b(cv::saturate_cast<uchar>(mean[0]), cv::saturate_cast<uchar>(mean[1]), cv::saturate_cast<uchar>(mean[2]));
  const bool transparent = static_cast<std::size_t>(cv::countNonZero(mask)) < mask.total();
  const int margin = std::max(8, std::max(grey.cols, grey.rows) / 6);
  cv::copyMakeBorder(grey, r.grey, margin, margin, margin, margin, transparent ? cv::BORDER_CONSTANT : cv::BORDER_REPLICATE,
                     cv::Scalar(255));
  cv::copyMakeBorder(mask, r.mask, margin, margin, margin, margin, cv::BORDER_CONSTANT, cv::Scalar(0));
  r.mark = cv::Rect(margin, margin, grey.cols, grey.rows);
  r.invented_margin = !transparent;
  return r;
}

void extract_features(const cv::Mat& grey, int max_features, std::vector<cv::KeyPoint>& keypoints, cv::Mat& descriptors,
                      double contrast_threshold) {
  // Polarity-free SIFT: a mark may be darker than its surroundings in one photo and lighter in the next,
  // or both at once on a busy background. Each keypoint's orientation is taken modulo 180 degrees and
  // each gradient orientation bin is folded onto its opposite, so a patch and its negative give the same
  // 64-value descriptor.
  //
  // One pass builds the scale space (detecting and then describing would build it twice). A keypoint
  // whose orientation is 180 degrees or more is described at that orientation and then turned by half a
  // circle: the descriptor of the same patch at orientation - 180 is the same histogram with its 4 x 4
  // cells in reverse order and every orientation bin moved by half the circle, which folding cancels.
  auto sift = cv::SIFT::create(max_features, 3, contrast_threshold, 10, 1.6);
  cv::Mat d;
  sift->detectAndCompute(grey, cv::noArray(), keypoints, d);
  descriptors = cv::Mat(d.rows, kDescriptorSize, CV_8U);
  constexpr int kCells = 16, kBins = 8, kFolded = kBins / 2;
  for (int r = 0; r < d.rows; ++r) {
    cv::KeyPoint& k = keypoints[static_cast<std::size_t>(r)];
    const bool turned = k.angle >= 180.0f;
    if (turned) k.angle -= 180.0f;
    const float* in = d.ptr<float>(r);
    uchar* out = descriptors.ptr<uchar>(r);
    for (int cell = 0; cell < kCells; ++cell) {
      const int to = turned ? kCells - 1 - cell : cell;
      for (int o = 0; o < kFolded; ++o)
        out[to * kFolded + o] = cv::saturate_cast<uchar>(in[cell * kBins + o] + in[cell * kBins + o + kFolded]);
    }
  }
}

namespace {

// Keeps the features whose centre lies in `area`: those of a photo crop's margin (its edge pixels
// repeated outward) describe streaks no scene has, and only draw chance matches.
void keep_inside(const cv::Rect& area, std::vector<cv::KeyPoint>& keypoints, cv::Mat& descriptors) {
  std::vector<cv::KeyPoint> kept;
  cv::Mat kept_descriptors;
  for (int i = 0; i < static_cast<int>(keypoints.size()); ++i) {
    if (!area.contains(cv::Point(keypoints[i].pt))) continue;
    kept.push_back(keypoints[i]);
    kept_descriptors.push_back(descriptors.row(i));
  }
  keypoints = std::move(kept);
  descriptors = kept_descriptors.empty() ? cv::Mat(0, kDescriptorSize, CV_8U) : kept_descriptors;
}

}  // namespace

std::vector<std::pair<std::string, std::pair<const Brand*, const Reference*>>> reference_keys(const Catalogue& catalogue) {
  std::vector<std::pair<std::string, std::pair<const Brand*, const Reference*>>> keys;
  for (const auto& b : catalogue.brands) {
    for (const auto& r : b.references) {
      const fs::path path = catalogue.resolve(r.file);
      std::string bytes;
      try {
        bytes = read_bytes(path);
      } catch (const std::exception& e) {
        throw std::runtime_error(fmt::format("{}: brand {}: reference {}", catalogue.file.string(), b.id, e.what()));
      }
      std::string key = fmt::format("{}:v{}:f{}", sha256_hex(bytes), kFeatureVersion, kReferenceFeatures);
      if (r.box) key += fmt::format(":box{},{},{},{}", r.box->x, r.box->y, r.box->width, r.box->height);
      keys.emplace_back(std::move(key), std::make_pair(&b, &r));
    }
  }
  return keys;
}

FeatureIndexFile build_index(const Catalogue& catalogue, const FeatureIndexFile* previous,
                             const std::function<void(const std::string&)>& log) {
  const auto keys = reference_keys(catalogue);
  std::map<std::string, const ReferenceFeatures*> old;
  if (previous)
    for (const auto& r : previous->references) old.emplace(r.key, &r);
  std::vector<std::string> errors(keys.size());
  std::atomic<int> rendered{0};
  // Each reference is indexed at every size of kReferenceSides: the large view keeps the fine detail
  // of marks seen big; the small, slightly blurred one has the coarse features that survive in marks
  // seen small, blurred or compressed.
  constexpr std::size_t views = kReferenceSides.size();
  std::vector<ReferenceFeatures> built(keys.size() * views);
  oneapi::tbb::parallel_for(std::size_t{0}, keys.size(), [&](std::size_t i) {
    const auto& [key, where] = keys[i];
    const auto& [brand, ref] = where;
    for (std::size_t v = 0; v < views; ++v) {
      const std::string view_key = fmt::format("{}:s{}", key, kReferenceSides[v]);
      auto& f = built[i * views + v];
      if (const auto it = old.find(view_key); it != old.end()) {
        f = *it->second;
        f.brand = brand->id;
        continue;
      }
      try {
        cv::Mat bgra = render_reference_bgra(catalogue.resolve(ref->file), ref->box, kReferenceSides[v]);
        auto prepared = prepare_reference(bgra);
        if (v > 0) cv::GaussianBlur(prepared.grey, prepared.grey, cv::Size(), 0.8);
        f.brand = brand->id;
        f.key = view_key;
        f.label = ref->file.filename().string();
        f.size = prepared.grey.size();
        f.mark = prepared.mark;
        // The silhouette of a transparent mark (SVG): what the shape matcher compares region shapes with.
        if (v == 0 && cv::countNonZero(prepared.mask) < static_cast<int>(prepared.mask.total()) &&
            cv::countNonZero(prepared.mask(prepared.mark)) < prepared.mark.area())
          f.silhouette = prepared.mask(prepared.mark).clone();
        extract_features(prepared.grey, kReferenceFeatures, f.keypoints, f.descriptors);
        if (prepared.invented_margin) keep_inside(prepared.mark, f.keypoints, f.descriptors);
        ++rendered;
      } catch (const std::exception& e) {
        errors[i] = fmt::format("brand {}: {}", brand->id, e.what());
      }
    }
  });
  std::string all_errors;
  for (const auto& e : errors)
    if (!e.empty()) all_errors += (all_errors.empty() ? "" : "\n") + e;
  if (!all_errors.empty()) throw std::runtime_error(all_errors);
  if (log) log(fmt::format("{} references x {} sizes: {} views rendered now, {} reused from the previous index", keys.size(),
                           views, rendered.load(), built.size() - rendered.load()));
  FeatureIndexFile index;
  for (auto& f : built) index.references.push_back(std::move(f));
  return index;
}

namespace {
// Version 4 added each reference's prepared shape model, version 5 the matcher's KD-trees after the references.
// Versions 3 and 4 are still read (what they lack is made when the stage starts).
constexpr char kMagic[8] = {'C', 'T', 'L', 'O', 'G', 'O', '5', '\n'};
constexpr char kMagicWithoutTrees[8] = {'C', 'T', 'L', 'O', 'G', 'O', '4', '\n'};
constexpr char kMagicWithoutShapeModels[8] = {'C', 'T', 'L', 'O', 'G', 'O', '3', '\n'};
constexpr unsigned char kPngSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

template <typename T>
void put(std::ostream& o, const T& v) {
  o.write(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::ostream& o, const std::string& s) {
  put(o, static_cast<std::uint32_t>(s.size()));
  o.write(s.data(), static_cast<std::streamsize>(s.size()));
}
template <typename T>
T get(std::istream& in, const fs::path& file) {
  T v{};
  if (!in.read(reinterpret_cast<char*>(&v), sizeof v)) throw std::runtime_error(file.string() + ": logo index is truncated");
  return v;
}
std::string get_string(std::istream& in, const fs::path& file) {
  const auto n = get<std::uint32_t>(in, file);
  if (n > (1u << 20)) throw std::runtime_error(file.string() + ": logo index is damaged (string too long)");
  std::string s(n, '\0');
  if (!in.read(s.data(), n)) throw std::runtime_error(file.string() + ": logo index is truncated");
  return s;
}
}  // namespace

void write_index(const FeatureIndexFile& index, const fs::path& file) {
  const fs::path tmp = file.string() + ".tmp";
  {
    std::ofstream o(tmp, std::ios::binary | std::ios::trunc);
    if (!o) throw std::runtime_error(tmp.string() + ": cannot write: " + std::strerror(errno));
    o.write(kMagic, sizeof kMagic);
    put(o, static_cast<std::uint32_t>(index.references.size()));
    for (const auto& r : index.references) {
      put_string(o, r.brand);
      put_string(o, r.key);
      put_string(o, r.label);
      for (int v : {r.size.width, r.size.height, r.mark.x, r.mark.y, r.mark.width, r.mark.height}) put(o, static_cast<std::int32_t>(v));
      put(o, static_cast<std::uint32_t>(r.keypoints.size()));
      for (const auto& k : r.keypoints)
        for (float v : {k.pt.x, k.pt.y, k.size, k.angle, k.response}) put(o, v);
      CV_Assert(r.descriptors.rows == static_cast<int>(r.keypoints.size()) && (r.descriptors.empty() || r.descriptors.isContinuous()));
      o.write(reinterpret_cast<const char*>(r.descriptors.data), static_cast<std::streamsize>(r.descriptors.total()));
      std::vector<uchar> png;
      if (!r.silhouette.empty()) {
        codecs::imencode(".png", r.silhouette, png);
      } else {
        png = r.silhouette_png;  // a reference kept from the previous index, never decoded
      }
      put(o, static_cast<std::uint32_t>(png.size()));
      o.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
      put_string(o, r.shape_model);
    }
    put(o, static_cast<std::uint64_t>(index.kd_trees.size()));
    o.write(index.kd_trees.data(), static_cast<std::streamsize>(index.kd_trees.size()));
    if (!o) throw std::runtime_error(tmp.string() + ": write failed");
  }
  fs::rename(tmp, file);
}

FeatureIndexFile read_index(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error(file.string() + ": cannot open the logo index: " + std::strerror(errno));
  std::error_code ec;
  const auto size = fs::file_size(file, ec);
  return read_index(in, ec ? 0 : size, file.string());
}

FeatureIndexFile read_index(std::istream& in, std::uint64_t size, const std::string& name) {
  const fs::path file(name);
  char magic[sizeof kMagic];
  if (!in.read(magic, sizeof magic) ||
      (std::memcmp(magic, kMagic, sizeof magic) != 0 && std::memcmp(magic, kMagicWithoutTrees, sizeof magic) != 0 &&
       std::memcmp(magic, kMagicWithoutShapeModels, sizeof magic) != 0))
    throw std::runtime_error(file.string() + ": not a cluetrace logo index (rebuild it with `cluetrace catalogue build`)");
  const bool trees = std::memcmp(magic, kMagic, sizeof magic) == 0;
  const bool shape_models = trees || std::memcmp(magic, kMagicWithoutTrees, sizeof magic) == 0;
  FeatureIndexFile index;
  const auto n = get<std::uint32_t>(in, file);
  // Every count is checked against the bytes that could hold it before anything is allocated for it.
  constexpr std::uint64_t kMinReferenceBytes = 3 * 4 + 6 * 4 + 4 + 4;  // three empty strings, sizes, no features
  constexpr std::uint64_t kKeypointBytes = 5 * sizeof(float) + kDescriptorSize;
  if (std::uint64_t{n} * kMinReferenceBytes > size) throw std::runtime_error(file.string() + ": logo index is damaged (reference count)");
  index.references.resize(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    auto& r = index.references[i];
    r.brand = get_string(in, file);
    r.key = get_string(in, file);
    r.label = get_string(in, file);
    std::int32_t v[6];
    for (auto& x : v) x = get<std::int32_t>(in, file);
    r.size = {v[0], v[1]};
    r.mark = {v[2], v[3], v[4], v[5]};
    const auto k = get<std::uint32_t>(in, file);
    if (k > 100000 || std::uint64_t{k} * kKeypointBytes > size) throw std::runtime_error(file.string() + ": logo index is damaged (keypoint count)");
    std::vector<float> f(std::size_t{k} * 5);
    if (k && !in.read(reinterpret_cast<char*>(f.data()), static_cast<std::streamsize>(f.size() * sizeof(float))))
      throw std::runtime_error(file.string() + ": logo index is truncated");
    r.keypoints.resize(k);
    for (std::size_t j = 0; j < k; ++j) r.keypoints[j] = cv::KeyPoint(f[j * 5], f[j * 5 + 1], f[j * 5 + 2], f[j * 5 + 3], f[j * 5 + 4]);
    r.descriptors = cv::Mat(static_cast<int>(k), kDescriptorSize, CV_8U);
    if (k && !in.read(reinterpret_cast<char*>(r.descriptors.data), static_cast<std::streamsize>(r.descriptors.total())))
      throw std::runtime_error(file.string() + ": logo index is truncated");
    const auto png_bytes = get<std::uint32_t>(in, file);
    if (png_bytes > (1u << 24) || png_bytes > size) throw std::runtime_error(file.string() + ": logo index is damaged (silhouette size)");
    if (png_bytes) {
      // Kept as PNG: silhouette_of() decodes the few that are used (decoding all was most of the reading).
      r.silhouette_png.resize(png_bytes);
      if (!in.read(reinterpret_cast<char*>(r.silhouette_png.data()), png_bytes)) throw std::runtime_error(file.string() + ": logo index is truncated");
      if (png_bytes < sizeof kPngSignature || std::memcmp(r.silhouette_png.data(), kPngSignature, sizeof kPngSignature) != 0)
        throw std::runtime_error(file.string() + ": logo index is damaged (silhouette)");
    }
    if (shape_models) r.shape_model = get_string(in, file);
  }
  if (trees) {
    const auto bytes = get<std::uint64_t>(in, file);
    if (bytes > size) throw std::runtime_error(file.string() + ": logo index is damaged (KD-tree size)");
    index.kd_trees.resize(bytes);
    if (bytes && !in.read(index.kd_trees.data(), static_cast<std::streamsize>(bytes)))
      throw std::runtime_error(file.string() + ": logo index is truncated");
  }
  return index;
}

bool has_silhouette(const ReferenceFeatures& reference) {
  return !reference.silhouette.empty() || !reference.silhouette_png.empty();
}

cv::Mat silhouette_of(const ReferenceFeatures& reference) {
  if (!reference.silhouette.empty() || reference.silhouette_png.empty()) return reference.silhouette;
  cv::Mat pixels = codecs::imdecode(reference.silhouette_png, cv::IMREAD_GRAYSCALE);
  if (pixels.empty())
    throw std::runtime_error(fmt::format("logo index: the silhouette of brand {} ({}) cannot be decoded: rebuild the index "
                                         "with `cluetrace catalogue build`",
                                         reference.brand, reference.label));
  return pixels;
}

}  // namespace cluetrace::logo
