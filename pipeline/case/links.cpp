#include "pipeline/case/links.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include <spdlog/spdlog.h>

#include "pipeline/case/artefacts.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

// A word in text clues that recurs in more than this share of a larger case's pictures is the case's
// everyday vocabulary (a language's function word the lists missed), not a link.
constexpr double kWordShare = 0.25;
constexpr std::size_t kWordShareFrom = 8;

bool usable(const nlohmann::json& report) { return report.value("status", "") != "failed"; }

std::string sha_of(const nlohmann::json& report) { return report["image"].value("sha256", ""); }

struct UnionFind {
  std::vector<std::size_t> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  }
  void join(std::size_t a, std::size_t b) { parent[find(a)] = find(b); }
};

std::vector<RecurringClue> recurring_clues(const CaseData& data) {
  std::map<std::pair<std::string, std::string>, RecurringClue> by_key;
  std::map<std::pair<std::string, std::string>, std::set<std::string>> pictures;  // distinct SHA-256 per key
  std::set<std::string> all_pictures;
  auto see = [&](const std::string& kind, const std::string& key, const std::string& value, std::size_t image,
                 int rank, double score) {
    if (key.empty()) return;
    auto& r = by_key[{kind, key}];
    if (r.sightings.empty()) {
      r.kind = kind;
      r.key = key;
      r.value = value;
    }
    if (!r.sightings.empty() && r.sightings.back().image == image) return;  // once per report (visited in order)
    r.sightings.push_back({image, rank});
    r.best_score = std::max(r.best_score, score);
    pictures[{kind, key}].insert(sha_of(data.reports[image]));
  };
  for (std::size_t i = 0; i < data.reports.size(); ++i) {
    const auto& report = data.reports[i];
    if (!usable(report)) continue;
    all_pictures.insert(sha_of(report));
    for (const auto& clue : report["clues"]) {
      const std::string kind = clue.value("kind", "");
      const std::string value = clue.value("value", "");
      const int rank = clue.value("rank", 0);
      const double score = clue.value("score", 0.0);
      if (kind == "text") {
        // Lines rarely repeat word for word; their rare words do (a shop's name on a bag and on a receipt).
        const auto details = clue.find("details");
        if (details == clue.end() || !details->contains("rare_words")) continue;
        for (const auto& word : (*details)["rare_words"]) see("word", fold_key(word.get<std::string>()), word, i, rank, score);
      } else {
        see(kind, link_key(kind, value), value, i, rank, score);
      }
    }
  }
  std::vector<RecurringClue> out;
  for (auto& [key, r] : by_key) {
    const std::size_t n = pictures[key].size();
    if (n < 2) continue;
    if (r.kind == "word" && all_pictures.size() >= kWordShareFrom && static_cast<double>(n) > kWordShare * static_cast<double>(all_pictures.size())) continue;
    out.push_back(std::move(r));
  }
  std::stable_sort(out.begin(), out.end(), [](const RecurringClue& a, const RecurringClue& b) {
    return a.best_score > b.best_score;
  });
  return out;
}

}  // namespace

std::string link_key(const std::string& kind, const std::string& value) {
  if (kind == "price" || kind == "date" || kind == "metadata" || kind == "text") return "";
  std::string v = value;
  if (kind == "url") {
    std::string lower = v;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (const auto scheme = lower.find("://"); scheme != std::string::npos) lower = lower.substr(scheme + 3);
    if (lower.starts_with("www.")) lower = lower.substr(4);
    while (!lower.empty() && lower.back() == '/') lower.pop_back();
    v = lower;
  }
  return fold_key(v);
}

CaseLinks find_links(const CaseData& data, const OutputOptions& options) {
  CaseLinks links;
  links.recurring = recurring_clues(data);

  // Pictures, not paths: one signature per distinct content.
  std::map<std::string, std::vector<std::size_t>> by_sha;
  for (std::size_t i = 0; i < data.reports.size(); ++i) {
    if (usable(data.reports[i]) && sha_of(data.reports[i]).size() == 64) by_sha[sha_of(data.reports[i])].push_back(i);
  }
  for (const auto& [sha, images] : by_sha) {
    if (images.size() > 1) links.identical.push_back(images);
  }
  if (!options.scenes) return links;
  std::vector<SceneSignature> signatures;
  std::vector<std::string> shas;
  for (const auto& [sha, images] : by_sha) {
    const auto path = data.dir / scene_path(sha);
    if (!std::filesystem::exists(path)) continue;
    auto signature = decode_signature(read_file(path));  // unreadable: empty, not a signature, and said so
    if (!signature) {
      spdlog::warn("{}: not a scene signature of this cluetrace; left out of scene matching", path.string());
      continue;
    }
    signatures.push_back(std::move(*signature));
    shas.push_back(sha);
  }
  links.signatures = signatures.size();
  SceneMatchOptions match_options;
  match_options.min_inliers = options.scene_min_inliers;
  match_options.max_hash_distance = options.scene_max_hash_distance;
  const auto matches = match_scenes(signatures, match_options);
  UnionFind groups(signatures.size());
  for (const auto& m : matches) groups.join(m.a, m.b);
  std::map<std::size_t, SceneGroup> by_root;
  for (const auto& m : matches) {
    auto& g = by_root[groups.find(m.a)];
    // Pairs name reports: the first report of each picture.
    g.pairs.push_back({by_sha[shas[m.a]].front(), by_sha[shas[m.b]].front(), m.inliers, m.hash_distance});
  }
  for (std::size_t s = 0; s < signatures.size(); ++s) {
    const auto it = by_root.find(groups.find(s));
    if (it == by_root.end()) continue;
    for (const auto image : by_sha[shas[s]]) it->second.images.push_back(image);
  }
  for (auto& [root, group] : by_root) {
    std::sort(group.images.begin(), group.images.end());
    links.scenes.push_back(std::move(group));
  }
  std::stable_sort(links.scenes.begin(), links.scenes.end(),
                   [](const SceneGroup& a, const SceneGroup& b) { return a.images.size() > b.images.size(); });
  return links;
}

nlohmann::ordered_json links_json(const CaseData& data) {
  auto image_ref = [&](std::size_t i) {
    const auto& img = data.reports[i]["image"];
    return nlohmann::ordered_json{{"path", img.value("path", "")}, {"sha256", img.value("sha256", "")}};
  };
  nlohmann::ordered_json out;
  out["case"] = data.name;
  out["images"] = data.reports.size();
  auto recurring = nlohmann::ordered_json::array();
  for (const auto& r : data.links.recurring) {
    auto images = nlohmann::ordered_json::array();
    for (const auto& s : r.sightings) {
      auto ref = image_ref(s.image);
      ref["rank"] = s.rank;
      images.push_back(ref);
    }
    recurring.push_back({{"kind", r.kind}, {"value", r.value}, {"key", r.key}, {"best_score", r.best_score}, {"images", images}});
  }
  out["recurring"] = recurring;
  auto scenes = nlohmann::ordered_json::array();
  for (const auto& g : data.links.scenes) {
    auto images = nlohmann::ordered_json::array();
    for (const auto i : g.images) images.push_back(image_ref(i));
    auto pairs = nlohmann::ordered_json::array();
    for (const auto& p : g.pairs) {
      pairs.push_back({{"a", data.reports[p.a]["image"].value("path", "")},
                       {"b", data.reports[p.b]["image"].value("path", "")},
                       {"inliers", p.inliers},
                       {"hash_distance", p.hash_distance}});
    }
    scenes.push_back({{"images", images}, {"pairs", pairs}});
  }
  out["scenes"] = scenes;
  out["scene_signatures"] = data.links.signatures;
  auto identical = nlohmann::ordered_json::array();
  for (const auto& group : data.links.identical) {
    auto paths = nlohmann::ordered_json::array();
    for (const auto i : group) paths.push_back(data.reports[i]["image"].value("path", ""));
    identical.push_back({{"sha256", sha_of(data.reports[group.front()])}, {"paths", paths}});
  }
  out["identical"] = identical;
  return out;
}

}  // namespace cluetrace
