#include "pipeline/review/review_api.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include <SQLiteCpp/SQLiteCpp.h>
#include <fmt/format.h>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "pipeline/case/decisions.hpp"
#include "pipeline/case/export_crops.hpp"
#include "pipeline/case/objects.hpp"
#include "pipeline/case/store.hpp"
#include "pipeline/image_codecs.hpp"
#include "pipeline/report_store.hpp"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace cluetrace {

struct ReviewApi::Case {
  fs::path dir;
  std::string name;
  std::mutex mutex;                      // one request at a time on this case's connections
  std::unique_ptr<SQLite::Database> db;  // read-write: the decisions
  std::unique_ptr<CaseStore> store;      // the store's own queries (links)
  ino_t inode = 0;                       // of the clues.sqlite the connections are to
  bool read_only = false;

  void open() {
    const auto database = dir / "clues.sqlite";
    struct stat st {};
    if (::stat(database.c_str(), &st) != 0) throw std::runtime_error(fmt::format("{}: no case database (clues.sqlite)", dir.string()));
    store.reset();
    db = std::make_unique<SQLite::Database>(database.string(), read_only ? SQLite::OPEN_READONLY : SQLite::OPEN_READWRITE);
    db->exec("PRAGMA busy_timeout = 5000; PRAGMA cache_size = -65536");
    if (!read_only) db->exec(kDecisionSchema);  // a store made before decisions existed gets the (empty) tables
    store = std::make_unique<CaseStore>(database);
    name = store->name();
    inode = st.st_ino;
  }
  // `cluetrace report` (or a resumed run) replaces clues.sqlite with a new file: follow it, so decisions go into
  // the store that is kept. Called with the mutex held.
  void follow() {
    struct stat st {};
    if (::stat((dir / "clues.sqlite").c_str(), &st) == 0 && st.st_ino != inode) {
      spdlog::info("{}: the case store was made again; reopened", (dir / "clues.sqlite").string());
      open();
    }
  }
};

namespace {

constexpr int kWholeSide = 1600;   // the whole image, when asked for, at most this many pixels a side
constexpr int kRegionSide = 480;   // a matched region's crop

std::optional<long long> number(const std::string& text) {
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

long long int_param(const Params& p, const std::string& name, long long fallback, long long lo, long long hi) {
  const std::string text = p(name);
  if (text.empty()) return fallback;
  const auto v = number(text);
  if (!v || *v < lo || *v > hi) throw ReviewError(400, fmt::format("parameter {}: '{}' is not a whole number from {} to {}", name, text, lo, hi));
  return *v;
}

std::optional<double> real_param(const Params& p, const std::string& name) {
  const std::string text = p(name);
  if (text.empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw ReviewError(400, fmt::format("parameter {}: '{}' is not a number", name, text));
}

std::string decision_param(const std::string& text) {
  if (!text.empty() && text != "none" && !is_decision(text)) {
    throw ReviewError(400, fmt::format("'{}' is not a decision (confirm, dismiss, publish, none)", text));
  }
  return text;
}

std::string text_of(const SQLite::Column& c) { return c.isNull() ? std::string() : c.getString(); }

json nullable(const SQLite::Column& c) { return c.isNull() || c.getString().empty() ? json(nullptr) : json(c.getString()); }

std::string crop_url(int case_index, const std::string& relative) {
  return relative.empty() ? std::string() : fmt::format("crop/{}/{}", case_index, relative);
}

json crop_json(int case_index, const SQLite::Column& c) {
  const std::string relative = text_of(c);
  return relative.empty() ? json(nullptr) : json(crop_url(case_index, relative));
}

std::string jpeg(const cv::Mat& image, int side) {
  cv::Mat out = image;
  const int longest = std::max(image.cols, image.rows);
  if (longest > side) cv::resize(image, out, cv::Size(), static_cast<double>(side) / longest, static_cast<double>(side) / longest, cv::INTER_AREA);
  std::vector<uchar> bytes;
  codecs::imencode(".jpg", out, bytes, {cv::IMWRITE_JPEG_QUALITY, 85});
  return std::string(bytes.begin(), bytes.end());
}

int json_int(const json& body, const char* key, int fallback) {
  if (!body.contains(key)) return fallback;
  if (!body[key].is_number_integer()) throw ReviewError(400, fmt::format("'{}' must be a whole number", key));
  const auto v = body[key].get<std::int64_t>();
  if (v < -1 || v > std::numeric_limits<int>::max()) throw ReviewError(400, fmt::format("'{}' is out of range", key));
  return static_cast<int>(v);
}

}  // namespace

// Where the original of an image is, to be read through read_analysed_image (which checks it is unchanged).
struct ReviewApi::Original {
  fs::path source;
  std::string sha256;
  std::int64_t bytes = 0;
};

ReviewApi::Original ReviewApi::original_of(Case& c, int index, long long id, const fs::path& root) {
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement q(*c.db, "SELECT path, sha256, bytes FROM images WHERE image_id = ? AND status != 'failed'");
  q.bind(1, static_cast<std::int64_t>(id));
  if (!q.executeStep()) throw ReviewError(404, fmt::format("case {} has no readable image {}", index, id));
  Original o{fs::path(text_of(q.getColumn(0))), text_of(q.getColumn(1)), q.getColumn(2).getInt64()};
  if (o.source.is_relative()) o.source = root / o.source;
  return o;
}

ReviewApi::ReviewApi(ReviewOptions options) : options_(std::move(options)) {
  for (const auto& dir : options_.cases) {
    const auto database = dir / "clues.sqlite";
    if (!fs::is_regular_file(database)) {
      throw std::runtime_error(fmt::format("{}: no case database (clues.sqlite); run `cluetrace report {}` first", dir.string(), dir.string()));
    }
    auto c = std::make_unique<Case>();
    c->dir = dir;
    c->read_only = options_.read_only;
    try {
      c->open();
    } catch (const std::exception& e) {
      throw std::runtime_error(fmt::format("{}: cannot open the case database: {}", database.string(), e.what()));
    }
    cases_.push_back(std::move(c));
  }
  if (cases_.empty()) throw std::runtime_error("no case to review");
}

ReviewApi::~ReviewApi() = default;

ReviewApi::Case& ReviewApi::case_at(int index) {
  if (index < 0 || index >= static_cast<int>(cases_.size())) throw ReviewError(404, fmt::format("there is no case {}", index));
  return *cases_[static_cast<std::size_t>(index)];
}

int ReviewApi::case_param(const Params& p) const {
  return static_cast<int>(int_param(p, "case", 0, 0, static_cast<long long>(cases_.size()) - 1));
}

json ReviewApi::case_info() {
  json out{{"analyst", options_.analyst}, {"cases", json::array()}};
  std::map<std::string, std::size_t> countries;
  std::set<std::string> kinds;
  std::map<std::string, std::size_t> decisions{{"confirm", 0}, {"dismiss", 0}, {"publish", 0}};
  for (std::size_t i = 0; i < cases_.size(); ++i) {
    auto& c = *cases_[i];
    const std::lock_guard lock(c.mutex);
    c.follow();
    const auto images = c.db->execAndGet("SELECT COUNT(*) FROM images").getInt64();
    const auto reviewed = c.db->execAndGet("SELECT COUNT(*) FROM images WHERE sha256 IN (SELECT image_sha256 FROM current_reviews WHERE reviewed = 1)").getInt64();
    const auto objects = c.db->execAndGet("SELECT COALESCE((SELECT value FROM meta WHERE key = 'object_pictures'), 0)").getInt64();
    out["cases"].push_back({{"index", i}, {"name", c.name}, {"dir", c.dir.string()}, {"images", images}, {"reviewed", reviewed},
                            {"object_pictures", objects}});
    for (const auto& [code, n] : c.store->countries()) countries[code] += n;
    SQLite::Statement k(*c.db, "SELECT DISTINCT kind FROM clues");
    while (k.executeStep()) kinds.insert(k.getColumn(0).getString());
    SQLite::Statement d(*c.db, "SELECT decision, COUNT(*) FROM current_decisions WHERE decision != '' GROUP BY decision");
    while (d.executeStep()) decisions[d.getColumn(0).getString()] += static_cast<std::size_t>(d.getColumn(1).getInt64());
  }
  out["countries"] = json::array();
  for (const auto& [code, n] : countries) out["countries"].push_back({{"code", code}, {"images", n}});
  out["kinds"] = kinds;
  out["decisions"] = decisions;
  return out;
}

std::optional<long long> ReviewApi::find_image(int case_index, const std::string& which) {
  auto& c = case_at(case_index);
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement q(*c.db, "SELECT image_id FROM images WHERE CAST(image_id AS TEXT) = ?1 OR path = ?1 OR "
                             "(length(?1) >= 8 AND substr(sha256, 1, length(?1)) = lower(?1)) ORDER BY image_id LIMIT 1");
  q.bind(1, which);
  if (!q.executeStep()) return std::nullopt;
  return q.getColumn(0).getInt64();
}

json ReviewApi::images(const Params& p) {
  const int index = case_param(p);
  auto& c = case_at(index);
  const auto offset = int_param(p, "offset", 0, 0, 1LL << 40), limit = int_param(p, "limit", 50, 1, 1000);
  std::string where = " WHERE 1";
  std::vector<std::string> binds;
  if (const auto country = p("country"); !country.empty()) {
    where += " AND i.top_country = ?";
    binds.push_back(country == "none" ? "" : country);
  }
  if (const auto kind = p("kind"); !kind.empty()) {
    where += " AND EXISTS (SELECT 1 FROM clues c WHERE c.image_id = i.image_id AND c.kind = ?)";
    binds.push_back(kind);
  }
  const auto min_score = real_param(p, "min_score");
  if (min_score) where += fmt::format(" AND i.best_score >= {:.6f}", *min_score);
  if (const auto decision = decision_param(p("decision")); decision == "none") {
    // An image with a clue nobody has decided on yet (decisions on clues a re-run no longer finds do not count).
    where += " AND EXISTS (SELECT 1 FROM clues c LEFT JOIN current_decisions d ON d.image_sha256 = i.sha256 AND d.clue_kind = c.kind "
             "AND d.clue_value = c.value AND d.clue_box = c.box WHERE c.image_id = i.image_id AND COALESCE(d.decision, '') = '')";
  } else if (!decision.empty()) {
    where += " AND i.sha256 IN (SELECT image_sha256 FROM current_decisions WHERE decision = ?)";
    binds.push_back(decision);
  }
  if (const auto reviewed = p("reviewed"); !reviewed.empty()) {
    if (reviewed != "0" && reviewed != "1") throw ReviewError(400, "parameter reviewed: 0 or 1");
    where += fmt::format(" AND i.sha256 {} IN (SELECT image_sha256 FROM current_reviews WHERE reviewed = 1)", reviewed == "1" ? "" : "NOT");
  }
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement count(*c.db, "SELECT COUNT(*) FROM images i" + where);
  for (std::size_t i = 0; i < binds.size(); ++i) count.bind(static_cast<int>(i + 1), binds[i]);
  count.executeStep();
  json out{{"total", count.getColumn(0).getInt64()}, {"images", json::array()}};
  SQLite::Statement q(*c.db,
                      "SELECT i.image_id, i.path, i.sha256, i.status, i.top_country, i.best_score, i.best_kind, i.best_value, i.clue_count, "
                      "i.best_crop, i.sha256 IN (SELECT image_sha256 FROM current_reviews WHERE reviewed = 1) FROM images i" + where +
                      " ORDER BY i.best_score DESC, i.image_id LIMIT ? OFFSET ?");
  for (std::size_t i = 0; i < binds.size(); ++i) q.bind(static_cast<int>(i + 1), binds[i]);
  q.bind(static_cast<int>(binds.size() + 1), static_cast<std::int64_t>(limit));
  q.bind(static_cast<int>(binds.size() + 2), static_cast<std::int64_t>(offset));
  while (q.executeStep()) {
    out["images"].push_back({{"case", index}, {"id", q.getColumn(0).getInt64()}, {"path", text_of(q.getColumn(1))},
                             {"sha256", text_of(q.getColumn(2))}, {"status", text_of(q.getColumn(3))},
                             {"top_country", text_of(q.getColumn(4))}, {"best_score", q.getColumn(5).getDouble()},
                             {"best_kind", text_of(q.getColumn(6))}, {"best_value", text_of(q.getColumn(7))},
                             {"clues", q.getColumn(8).getInt()}, {"crop", crop_json(index, q.getColumn(9))},
                             {"reviewed", q.getColumn(10).getInt() != 0}});
  }
  return out;
}

json ReviewApi::image(const Params& p) {
  const int index = case_param(p);
  auto& c = case_at(index);
  const auto id = int_param(p, "id", -1, 1, 1LL << 40);
  if (id < 0) throw ReviewError(400, "parameter id: the image's number is missing");
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement img(*c.db, "SELECT path, sha256, md5, sha1, status, width, height, top_country, errors, format, bytes FROM images WHERE image_id = ?");
  img.bind(1, static_cast<std::int64_t>(id));
  if (!img.executeStep()) throw ReviewError(404, fmt::format("case {} has no image {}", index, id));
  const std::string sha = text_of(img.getColumn(1));
  json image{{"case", index}, {"id", id}, {"path", text_of(img.getColumn(0))}, {"sha256", sha}, {"md5", text_of(img.getColumn(2))},
             {"sha1", text_of(img.getColumn(3))}, {"status", text_of(img.getColumn(4))}, {"width", img.getColumn(5).getInt()},
             {"height", img.getColumn(6).getInt()}, {"top_country", text_of(img.getColumn(7))},
             {"errors", json::parse(text_of(img.getColumn(8)).empty() ? "[]" : text_of(img.getColumn(8)), nullptr, false)},
             {"format", text_of(img.getColumn(9))}, {"bytes", img.getColumn(10).getInt64()}, {"reviewed", false}};
  SQLite::Statement rev(*c.db, "SELECT reviewed, analyst, at_utc FROM current_reviews WHERE image_sha256 = ?");
  rev.bind(1, sha);
  if (rev.executeStep()) {
    image["reviewed"] = rev.getColumn(0).getInt() != 0;
    image["reviewed_by"] = text_of(rev.getColumn(1));
    image["reviewed_at"] = text_of(rev.getColumn(2));
  }
  json clues = json::array();
  SQLite::Statement q(*c.db,
                      "SELECT c.rank, c.kind, c.value, c.score, c.confidence, c.box, c.countries, c.explanation, c.crop, "
                      "d.decision, d.note, d.analyst, d.at_utc FROM clues c JOIN images i ON i.image_id = c.image_id "
                      "LEFT JOIN current_decisions d ON d.image_sha256 = i.sha256 AND d.clue_kind = c.kind AND d.clue_value = c.value "
                      "AND d.clue_box = c.box WHERE c.image_id = ? ORDER BY c.rank");
  q.bind(1, static_cast<std::int64_t>(id));
  while (q.executeStep()) {
    const std::string box = text_of(q.getColumn(5));
    clues.push_back({{"rank", q.getColumn(0).getInt()}, {"kind", text_of(q.getColumn(1))}, {"value", text_of(q.getColumn(2))},
                     {"score", q.getColumn(3).getDouble()}, {"confidence", q.getColumn(4).getDouble()},
                     {"box", box.empty() ? json(nullptr) : json::parse(box, nullptr, false)}, {"countries", text_of(q.getColumn(6))},
                     {"explanation", text_of(q.getColumn(7))}, {"crop", crop_json(index, q.getColumn(8))},
                     {"decision", nullable(q.getColumn(9))}, {"note", text_of(q.getColumn(10))},
                     {"decided_by", nullable(q.getColumn(11))}, {"decided_at", nullable(q.getColumn(12))}});
  }
  json links = json::array();
  SQLite::Statement crop_of(*c.db, "SELECT best_crop FROM images WHERE image_id = ?");
  for (const auto& link : c.store->links_of(id, 12)) {
    json others = json::array();
    for (const auto& [other, path] : link.images) {
      crop_of.bind(1, other);
      std::string crop;
      if (crop_of.executeStep()) crop = text_of(crop_of.getColumn(0));
      crop_of.reset();
      others.push_back({{"case", index}, {"id", other}, {"path", path}, {"crop", crop.empty() ? json(nullptr) : json(crop_url(index, crop))}});
    }
    links.push_back({{"type", link.type}, {"kind", link.kind}, {"value", link.value}, {"images", others},
                     {"image_count", link.image_count}, {"inliers", link.best_inliers}});
  }
  return {{"image", image}, {"clues", clues}, {"links", links}};
}

json ReviewApi::clues(const Params& p) {
  const int index = case_param(p);
  auto& c = case_at(index);
  const auto offset = int_param(p, "offset", 0, 0, 1LL << 40), limit = int_param(p, "limit", 100, 1, 1000);
  std::string where = " WHERE 1";
  std::vector<std::string> binds;
  if (const auto kind = p("kind"); !kind.empty()) {
    where += " AND c.kind = ?";
    binds.push_back(kind);
  }
  if (const auto country = p("country"); !country.empty()) {
    where += " AND (i.top_country = ? OR c.clue_id IN (SELECT clue_id FROM clue_countries WHERE code = ?))";
    binds.push_back(country);
    binds.push_back(country);
  }
  if (const auto min_score = real_param(p, "min_score")) where += fmt::format(" AND c.score >= {:.6f}", *min_score);
  if (const auto decision = decision_param(p("decision")); decision == "none") {
    where += " AND COALESCE(d.decision, '') = ''";
  } else if (!decision.empty()) {
    where += " AND d.decision = ?";
    binds.push_back(decision);
  }
  const std::string from =
      " FROM clues c JOIN images i ON i.image_id = c.image_id LEFT JOIN current_decisions d ON d.image_sha256 = i.sha256 "
      "AND d.clue_kind = c.kind AND d.clue_value = c.value AND d.clue_box = c.box";
  // Counted from the clues alone when no filter needs the image or the decision (the joins read every image row:
  // 1.3 s for the phone clues of 100,000 images).
  const bool clues_only = p("country").empty() && p("decision").empty();
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement count(*c.db, "SELECT COUNT(*)" + (clues_only ? std::string(" FROM clues c") : from) + where);
  for (std::size_t i = 0; i < binds.size(); ++i) count.bind(static_cast<int>(i + 1), binds[i]);
  count.executeStep();
  json out{{"total", count.getColumn(0).getInt64()}, {"clues", json::array()}};
  SQLite::Statement q(*c.db, "SELECT c.image_id, c.rank, c.kind, c.value, c.score, c.crop, d.decision, i.path" + from + where +
                                 " ORDER BY c.score DESC, c.image_id, c.rank LIMIT ? OFFSET ?");
  for (std::size_t i = 0; i < binds.size(); ++i) q.bind(static_cast<int>(i + 1), binds[i]);
  q.bind(static_cast<int>(binds.size() + 1), static_cast<std::int64_t>(limit));
  q.bind(static_cast<int>(binds.size() + 2), static_cast<std::int64_t>(offset));
  while (q.executeStep()) {
    out["clues"].push_back({{"case", index}, {"id", q.getColumn(0).getInt64()}, {"rank", q.getColumn(1).getInt()},
                            {"kind", text_of(q.getColumn(2))}, {"value", text_of(q.getColumn(3))}, {"score", q.getColumn(4).getDouble()},
                            {"crop", crop_json(index, q.getColumn(5))}, {"decision", nullable(q.getColumn(6))},
                            {"path", text_of(q.getColumn(7))}});
  }
  return out;
}

json ReviewApi::decide(const json& body) {
  const int index = json_int(body, "case", 0);
  auto& c = case_at(index);
  const int id = json_int(body, "id", -1), rank = json_int(body, "rank", -1);
  std::string decision;
  if (body.contains("decision") && !body["decision"].is_null()) {
    if (!body["decision"].is_string()) throw ReviewError(400, "'decision' must be confirm, dismiss, publish or null");
    decision = body["decision"].get<std::string>();
    if (!decision.empty() && !is_decision(decision)) throw ReviewError(400, fmt::format("'{}' is not a decision (confirm, dismiss, publish)", decision));
  }
  if (body.contains("note") && !body["note"].is_string() && !body["note"].is_null()) throw ReviewError(400, "'note' must be text");
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement q(*c.db, "SELECT i.sha256, c.kind, c.value, c.box FROM clues c JOIN images i ON i.image_id = c.image_id "
                             "WHERE c.image_id = ? AND c.rank = ?");
  q.bind(1, id);
  q.bind(2, rank);
  if (!q.executeStep()) throw ReviewError(404, fmt::format("case {} image {} has no clue {}", index, id, rank));
  const ClueKey key{text_of(q.getColumn(0)), text_of(q.getColumn(1)), text_of(q.getColumn(2)), text_of(q.getColumn(3))};
  std::string note;
  if (body.contains("note") && body["note"].is_string()) {
    note = body["note"].get<std::string>();
  } else {
    // No note sent: the current one stays.
    SQLite::Statement current(*c.db, "SELECT note FROM current_decisions WHERE image_sha256 = ? AND clue_kind = ? AND clue_value = ? AND clue_box = ?");
    int i = 0;
    for (const std::string* v : std::initializer_list<const std::string*>{&key.sha256, &key.kind, &key.value, &key.box}) current.bind(++i, *v);
    if (current.executeStep()) note = text_of(current.getColumn(0));
  }
  const Decision d = DecisionWriter(*c.db).record(key, decision, note, options_.analyst);
  return {{"ok", true}, {"decision", d.decision.empty() ? json(nullptr) : json(d.decision)}, {"note", d.note},
          {"decided_by", d.analyst}, {"decided_at", d.at_utc}};
}

json ReviewApi::mark_reviewed(const json& body) {
  const int index = json_int(body, "case", 0);
  auto& c = case_at(index);
  const int id = json_int(body, "id", -1);
  if (!body.contains("reviewed") || !body["reviewed"].is_boolean()) throw ReviewError(400, "'reviewed' must be true or false");
  const std::lock_guard lock(c.mutex);
  c.follow();
  SQLite::Statement q(*c.db, "SELECT sha256 FROM images WHERE image_id = ?");
  q.bind(1, id);
  if (!q.executeStep()) throw ReviewError(404, fmt::format("case {} has no image {}", index, id));
  const std::string sha = text_of(q.getColumn(0));
  // Marks are kept by the picture's hash: an image that could not be hashed has none to keep them by.
  if (sha.size() != 64) throw ReviewError(409, fmt::format("case {} image {} has no SHA-256 (it could not be read)", index, id));
  const Decision d = DecisionWriter(*c.db).mark_reviewed(sha, body["reviewed"].get<bool>(), options_.analyst);
  return {{"ok", true}, {"reviewed", body["reviewed"]}, {"reviewed_by", d.analyst}, {"reviewed_at", d.at_utc}};
}

Bytes ReviewApi::crop(int case_index, const std::string& relative) {
  auto& c = case_at(case_index);
  // Only what the store names as a crop: crops/<2 hex>/<sha>-<rank>.jpg, nothing above or beside it.
  const fs::path rel(relative);
  bool safe = rel.is_relative() && !relative.empty() && relative.starts_with("crops/");
  for (const auto& part : rel) safe = safe && part != ".." && part != ".";
  if (!safe) throw ReviewError(404, "no such crop");
  const auto file = c.dir / rel;
  std::string data = read_file(file);
  if (data.empty()) throw ReviewError(404, fmt::format("{}: no such crop", file.string()));
  return {std::move(data), "image/jpeg"};
}

Bytes ReviewApi::whole(const Params& p) {
  const int index = case_param(p);
  auto& c = case_at(index);
  const auto id = int_param(p, "id", -1, 1, 1LL << 40);
  const Original original = original_of(c, index, id, options_.root);
  try {
    return {jpeg(read_analysed_image(original.source, original.sha256, original.bytes), kWholeSide), "image/jpeg"};
  } catch (const std::runtime_error& e) {
    throw ReviewError(404, e.what());
  }
}

Bytes ReviewApi::region(const Params& p) {
  const int index = case_param(p);
  std::vector<cv::Point> polygon;
  {
    std::stringstream in(p("poly"));
    std::vector<int> values;
    for (std::string item; std::getline(in, item, ',');) {
      const auto v = number(item);
      if (!v || std::abs(*v) > 1000000) throw ReviewError(400, "parameter poly: whole numbers x1,y1,...,x4,y4");
      values.push_back(static_cast<int>(*v));
    }
    if (values.size() != 8) throw ReviewError(400, "parameter poly: four corners, x1,y1,...,x4,y4");
    for (std::size_t i = 0; i < 8; i += 2) polygon.emplace_back(values[i], values[i + 1]);
  }
  // The image itself, through the same checks as the whole-image view; only the region leaves this function.
  auto& c = case_at(index);
  const auto id = int_param(p, "id", -1, 1, 1LL << 40);
  const Original original = original_of(c, index, id, options_.root);
  cv::Mat image;
  try {
    image = read_analysed_image(original.source, original.sha256, original.bytes);
  } catch (const std::runtime_error& e) {
    throw ReviewError(404, e.what());
  }
  const cv::Rect bounds = cv::boundingRect(polygon);
  const int mx = bounds.width / 5 + 8, my = bounds.height / 5 + 8;
  const cv::Rect around = cv::Rect(bounds.x - mx, bounds.y - my, bounds.width + 2 * mx, bounds.height + 2 * my) & cv::Rect(0, 0, image.cols, image.rows);
  if (around.area() <= 0) throw ReviewError(400, "the region lies outside the image");
  cv::Mat crop = image(around).clone();
  std::vector<cv::Point> shifted;
  for (const auto& pt : polygon) shifted.push_back(pt - around.tl());
  const int thickness = std::max(2, std::max(crop.cols, crop.rows) / 120);
  cv::polylines(crop, std::vector<std::vector<cv::Point>>{shifted}, true, cv::Scalar(0, 0, 0), thickness + 2, cv::LINE_AA);
  cv::polylines(crop, std::vector<std::vector<cv::Point>>{shifted}, true, cv::Scalar(0, 215, 255), thickness, cv::LINE_AA);
  return {jpeg(crop, kRegionSide), "image/jpeg"};
}

json ReviewApi::run_query(const ObjectQuery& query) {
  json results = json::array();
  ObjectSearchStats total;
  std::vector<std::pair<int, json>> ranked;
  json skipped = json::array();  // cases made without object stores, when others have them
  for (std::size_t i = 0; i < cases_.size(); ++i) {
    auto& c = *cases_[i];
    ObjectSearchStats stats;
    std::vector<ObjectHit> hits;
    try {
      hits = find_object(c.dir, query, ObjectSearchOptions{}, &stats);
    } catch (const NoObjectStores& e) {
      skipped.push_back({{"case", i}, {"why", e.what()}});
      if (skipped.size() == cases_.size()) throw ReviewError(409, e.what());
      continue;
    } catch (const std::runtime_error& e) {
      throw ReviewError(409, e.what());
    }
    total.pictures += stats.pictures;
    total.candidates += stats.candidates;
    total.verified += stats.verified;
    total.scan_ms += stats.scan_ms;
    total.verify_ms += stats.verify_ms;
    const std::lock_guard lock(c.mutex);
    c.follow();
    SQLite::Statement path_of(*c.db, "SELECT path FROM images WHERE image_id = ?");
    for (const auto& h : hits) {
      path_of.bind(1, static_cast<std::int64_t>(h.image_id));
      const std::string path = path_of.executeStep() ? text_of(path_of.getColumn(0)) : std::string();
      path_of.reset();
      json polygon = json::array();
      std::string poly;
      for (const auto& pt : h.polygon) {
        polygon.push_back({std::lround(pt.x), std::lround(pt.y)});
        poly += fmt::format("{}{},{}", poly.empty() ? "" : ",", std::lround(pt.x), std::lround(pt.y));
      }
      ranked.emplace_back(h.inliers, json{{"case", i}, {"id", h.image_id}, {"path", path}, {"sha256", h.sha256}, {"inliers", h.inliers},
                                          {"votes", h.votes}, {"polygon", polygon},
                                          {"region", fmt::format("api/region?case={}&id={}&poly={}", i, h.image_id, poly)}});
    }
  }
  std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (auto& [inliers, r] : ranked) results.push_back(std::move(r));
  return {{"results", results}, {"query_features", query.features.points.size()}, {"pictures", total.pictures},
          {"candidates", total.candidates}, {"verified", total.verified}, {"scan_ms", total.scan_ms}, {"verify_ms", total.verify_ms},
          {"skipped", skipped}};
}

json ReviewApi::query_region(const json& body) {
  const int index = json_int(body, "case", 0);
  auto& c = case_at(index);
  const int id = json_int(body, "id", -1);
  if (!body.contains("box") || !body["box"].is_array() || body["box"].size() != 4) throw ReviewError(400, "'box' must be [x, y, width, height]");
  cv::Rect box;
  try {
    box = cv::Rect(body["box"][0].get<int>(), body["box"][1].get<int>(), body["box"][2].get<int>(), body["box"][3].get<int>());
  } catch (const json::exception&) {
    throw ReviewError(400, "'box' must be four whole numbers");
  }
  if (box.width < 8 || box.height < 8) throw ReviewError(400, "the box is too small to describe an object (8 pixels a side at least)");
  const Original original = original_of(c, index, id, options_.root);
  ObjectQuery query;
  try {
    query = query_from_region(read_analysed_image(original.source, original.sha256, original.bytes), box);
  } catch (const std::invalid_argument& e) {
    throw ReviewError(400, e.what());
  } catch (const std::runtime_error& e) {
    throw ReviewError(404, e.what());
  }
  query.exclude_sha256 = original.sha256;
  return run_query(query);
}

json ReviewApi::query_crop(const std::string& image_bytes) {
  if (image_bytes.empty() || image_bytes.size() > (64u << 20)) throw ReviewError(400, "send the crop as the request body (an image of at most 64 MB)");
  const cv::Mat crop = codecs::imdecode(cv::Mat(1, static_cast<int>(image_bytes.size()), CV_8U, const_cast<char*>(image_bytes.data())), cv::IMREAD_COLOR);
  if (crop.empty()) throw ReviewError(400, "the uploaded crop is not an image OpenCV can decode");
  if (crop.cols < 8 || crop.rows < 8) throw ReviewError(400, "the crop is too small to describe an object (8 pixels a side at least)");
  return run_query(query_from_crop(crop));
}

json ReviewApi::export_publication(const json& body) {
  const int index = json_int(body, "case", 0);
  auto& c = case_at(index);
  ExportRequest request;
  request.case_dir = c.dir;
  request.out = c.dir / "publication";
  request.root = options_.root;
  request.decisions = {"publish"};
  std::ostringstream log;
  ExportSummary summary;
  // A fresh folder each time: a crop the analyst no longer marks "publish" must not stay beside the new ones.
  std::error_code ec;
  fs::remove_all(request.out, ec);
  {
    const std::lock_guard lock(c.mutex);
    c.follow();
    try {
      summary = export_crops(request, log);
    } catch (const std::runtime_error& e) {
      throw ReviewError(409, e.what());
    }
  }
  json refusals = json::array();
  const auto manifest = json::parse(read_file(request.out / "manifest.json"), nullptr, false);
  if (manifest.is_array()) {
    for (const auto& e : manifest) {
      if (e.contains("refused")) refusals.push_back({{"image", e.value("image", "")}, {"rank", e.value("rank", 0)}, {"reason", e.value("refused", "")}});
    }
  }
  return {{"written", summary.written}, {"refused", summary.refused}, {"out", request.out.string()}, {"refusals", refusals},
          {"manifest", (request.out / "manifest.json").string()}};
}

}  // namespace cluetrace
