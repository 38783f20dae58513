#include "pipeline/case/links.hpp"

#include <algorithm>

#include <SQLiteCpp/SQLiteCpp.h>
#include <nlohmann/json.hpp>

#include "pipeline/fold.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

using ojson = nlohmann::ordered_json;

std::string dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

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

void write_links_json(const CaseStore& store, const std::filesystem::path& file) {
  auto& db = store.database();
  AtomicFileWriter out(file);
  out.write("{\"case\":" + dump(store.name()) + ",\"images\":" + std::to_string(store.image_count()));
  // Each link with its images, one link at a time, most useful first.
  SQLite::Statement members(db, "SELECT i.path, i.sha256, li.rank, li.inliers FROM link_images li JOIN images i USING (image_id) "
                                "WHERE li.link_id = ? ORDER BY li.image_id");
  auto images_of = [&](std::int64_t link, bool with_rank) {
    auto images = ojson::array();
    members.bind(1, link);
    while (members.executeStep()) {
      ojson ref{{"path", members.getColumn(0).getString()}, {"sha256", members.getColumn(1).getString()}};
      if (with_rank && !members.getColumn(2).isNull()) ref["rank"] = members.getColumn(2).getInt();
      images.push_back(std::move(ref));
    }
    members.reset();
    return images;
  };
  out.write(",\"recurring\":[");
  {
    SQLite::Statement links(db, "SELECT link_id, kind, value, link_key, best_score FROM links WHERE type = 'clue' "
                                "ORDER BY best_score DESC, image_count DESC, link_id");
    for (bool first = true; links.executeStep(); first = false) {
      const ojson link{{"kind", links.getColumn(1).getString()}, {"value", links.getColumn(2).getString()},
                       {"key", links.getColumn(3).getString()}, {"best_score", links.getColumn(4).getDouble()},
                       {"images", images_of(links.getColumn(0).getInt64(), true)}};
      out.write((first ? "" : ",") + dump(link));
    }
  }
  out.write("],\"scenes\":[");
  {
    SQLite::Statement groups(db, "SELECT link_id FROM links WHERE type = 'scene' ORDER BY image_count DESC, best_score DESC, link_id");
    SQLite::Statement pairs(db, "SELECT a.path, b.path, p.inliers, p.hash_distance FROM scene_pairs p JOIN images a ON a.image_id = p.a "
                                "JOIN images b ON b.image_id = p.b WHERE p.link_id = ? ORDER BY p.a, p.b");
    for (bool first = true; groups.executeStep(); first = false) {
      const auto id = groups.getColumn(0).getInt64();
      auto pair_list = ojson::array();
      pairs.bind(1, id);
      while (pairs.executeStep()) {
        pair_list.push_back({{"a", pairs.getColumn(0).getString()}, {"b", pairs.getColumn(1).getString()},
                             {"inliers", pairs.getColumn(2).getInt()}, {"hash_distance", pairs.getColumn(3).getInt()}});
      }
      pairs.reset();
      const ojson group{{"images", images_of(id, false)}, {"pairs", pair_list}};
      out.write((first ? "" : ",") + dump(group));
    }
  }
  out.write("],\"scene_signatures\":" + std::to_string(store.signatures()) + ",\"identical\":[");
  {
    SQLite::Statement groups(db, "SELECT link_id, value FROM links WHERE type = 'identical' ORDER BY link_id");
    for (bool first = true; groups.executeStep(); first = false) {
      auto paths = ojson::array();
      for (const auto& ref : images_of(groups.getColumn(0).getInt64(), false)) paths.push_back(ref["path"]);
      out.write((first ? "" : ",") + dump(ojson{{"sha256", groups.getColumn(1).getString()}, {"paths", paths}}));
    }
  }
  out.write("]}\n");
  out.commit();
}

}  // namespace cluetrace
