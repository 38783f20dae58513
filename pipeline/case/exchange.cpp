#include "pipeline/case/exchange.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <regex>

#include <fmt/format.h>

#include <SQLiteCpp/SQLiteCpp.h>

#include "pipeline/case/case_outputs.hpp"
#include "pipeline/case/decisions.hpp"
#include "pipeline/digest.hpp"
#include "pipeline/models.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace {
namespace {

constexpr std::size_t kCommentClues = 10;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::string mime_of(const std::string& format) {
  static const std::map<std::string, std::string> types{
      {"jpeg", "image/jpeg"}, {"png", "image/png"}, {"gif", "image/gif"},   {"bmp", "image/bmp"},
      {"tiff", "image/tiff"}, {"webp", "image/webp"}, {"heif", "image/heif"}};
  const auto it = types.find(format);
  return it == types.end() ? "" : it->second;
}

// A stable GUID for the case: from the folder and case name, so a regenerated export keeps its CaseID.
std::string case_guid(const std::filesystem::path& dir, const std::string& name) {
  const std::string h = sha256_hex(std::filesystem::absolute(dir).lexically_normal().string() + "\n" + name);
  // RFC 4122 layout, version 5 style (name-based), variant 10xx.
  return fmt::format("{}-{}-5{}-{:x}{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(13, 3),
                     8 + (std::stoi(h.substr(16, 1), nullptr, 16) & 3), h.substr(17, 3), h.substr(20, 12));
}

std::string odata_context(const OutputOptions& options) {
  if (!options.vics_context.empty()) return options.vics_context;
  // One line per form: "cases CONTEXT", "media CONTEXT".
  const auto file = data_dir() / "vics" / "odata-context.txt";
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(options.vics_form + " ")) return line.substr(options.vics_form.size() + 1);
  }
  throw OutputError(fmt::format("vics.json: {} has no '{}' line (or set outputs.vics_context)", file.string(), options.vics_form));
}

// Tags are one comma-separated string: no commas inside a tag.
std::string tag(const std::string& kind, const std::string& value) {
  std::string v = value;
  std::replace(v.begin(), v.end(), ',', ' ');
  return kind + ":" + v;
}

}  // namespace

std::string csv_cell(const std::string& value) {
  // Where a spreadsheet could start a formula: the cell's start, and after a ';', tab or line break (a
  // spreadsheet reading this file with ';' as its separator splits there, quotes or not). Full-width forms too.
  static const std::vector<std::string> starters{"=", "+", "-", "@", "\xEF\xBC\x9D", "\xEF\xBC\x8B", "\xEF\xBC\x8D", "\xEF\xBC\xA0"};
  static const std::regex plain_number(R"(^[+-]?[0-9][0-9 .]*$)");
  auto formula_at = [&](const std::string& v, std::size_t at) {
    return std::any_of(starters.begin(), starters.end(), [&](const std::string& s) { return v.compare(at, s.size(), s) == 0; });
  };
  std::string v;
  for (std::size_t i = 0; i < value.size(); ++i) {
    v += value[i];
    if ((value[i] == ';' || value[i] == '\t' || value[i] == '\r' || value[i] == '\n') && formula_at(value, i + 1)) v += '\'';
  }
  if (!v.empty() && (formula_at(v, 0) || v.front() == '\t' || v.front() == '\r') && !std::regex_match(v, plain_number)) v = "'" + v;
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string quoted = "\"";
  for (char c : v) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

void write_summary_csv(const CaseStore& store, const std::filesystem::path& file) {
  AtomicFileWriter out(file);
  // The analyst's decisions (decisions.hpp) last: columns are only ever added at the end.
  const auto decisions = current_decisions(store.database());
  out.write("path,sha256,md5,status,run_id,rank,kind,value,confidence,score,language,countries,box,stage,explanation,"
            "decision,note,decided_by,decided_utc\r\n");
  std::string line;
  auto row = [&](const std::vector<std::string>& cells) {
    line.clear();
    for (std::size_t i = 0; i < cells.size(); ++i) {
      if (i) line += ',';
      line += csv_cell(cells[i]);
    }
    line += "\r\n";
    out.write(line);
  };
  store.for_each_report([&](std::int64_t, const nlohmann::json& report) {
    const auto& img = report["image"];
    const std::vector<std::string> image_cells{img.value("path", ""), img.value("sha256", ""), img.value("md5", ""),
                                               report.value("status", ""), report.value("run_id", "")};
    if (report["clues"].empty()) {
      // An image without clues (a failed one among them) still has its row, with the clue columns empty.
      auto cells = image_cells;
      cells.resize(19);
      if (!report["errors"].empty()) cells[14] = report["errors"][0].value("stage", "") + ": " + report["errors"][0].value("message", "");
      row(cells);
      return;
    }
    for (const auto& clue : report["clues"]) {
      std::string box;
      if (clue.contains("box")) {
        const auto& b = clue["box"];
        box = fmt::format("{} {} {} {}", b[0].get<int>(), b[1].get<int>(), b[2].get<int>(), b[3].get<int>());
      }
      auto cells = image_cells;
      for (auto cell : {std::to_string(clue.value("rank", 0)), clue.value("kind", ""), clue.value("value", ""),
                        fmt::format("{:.4f}", clue.value("confidence", 0.0)), fmt::format("{:.4f}", clue.value("score", 0.0)),
                        clue.value("language", ""), countries_text(clue), box, clue.value("stage", ""),
                        clue.value("explanation", "")}) {
        cells.push_back(std::move(cell));
      }
      const auto d = decisions.find({img.value("sha256", ""), clue.value("kind", ""), clue.value("value", ""), decision_box_key(clue)});
      if (d != decisions.end()) {
        for (const std::string* v : {&d->second.decision, &d->second.note, &d->second.analyst, &d->second.at_utc}) cells.push_back(*v);
      } else {
        cells.resize(19);
      }
      row(cells);
    }
  });
  out.commit();
}

namespace {

// One Media entry: a picture (its first report) and every path it was found under.
nlohmann::ordered_json media_entry(int media_id, const nlohmann::json& first, const std::vector<std::string>& paths, int& file_id,
                                   const std::map<ClueKey, Decision>& decisions) {
  const auto& img = first["image"];
  const std::string md5 = img.value("md5", "");
  nlohmann::ordered_json m;
  m["MediaID"] = media_id;
  m["MD5"] = upper(md5);
  if (img.contains("sha1")) m["SHA1"] = upper(img.value("sha1", ""));
  if (img.contains("bytes")) m["MediaSize"] = img["bytes"];
  if (const auto mime = mime_of(img.value("format", "")); !mime.empty()) m["MimeType"] = mime;
  m["IsPrecategorized"] = false;

  std::string comments = fmt::format("cluetrace {} ({}): ", first.contains("tool") ? first["tool"].value("version", "") : "",
                                     first.value("status", ""));
  std::vector<std::string> tags{"cluetrace"};
  if (!first["regions"].empty()) {
    const auto& top = first["regions"][0];
    comments += fmt::format("likely country {} ({:.2f}); ", top.value("code", ""), top.value("probability", 0.0));
    tags.push_back(tag("country", top.value("code", "")));
  }
  if (!first["languages"].empty()) tags.push_back(tag("language", first["languages"][0].value("code", "")));
  std::size_t listed = 0;
  for (const auto& clue : first["clues"]) {
    if (listed++ == kCommentClues) break;
    comments += fmt::format("{}{}. {} \"{}\" score {:.2f}", listed > 1 ? "; " : "", clue.value("rank", 0), clue.value("kind", ""),
                            clue.value("value", ""), clue.value("score", 0.0));
    if (clue.value("kind", "") != "text") tags.push_back(tag(clue.value("kind", ""), clue.value("value", "")));
  }
  if (first["clues"].empty()) comments += "no clues";
  // What the analyst decided: a tag per decided clue, and the decision with its note in the comments.
  for (const auto& clue : first["clues"]) {
    const auto d = decisions.find({img.value("sha256", ""), clue.value("kind", ""), clue.value("value", ""), decision_box_key(clue)});
    if (d == decisions.end() || (d->second.decision.empty() && d->second.note.empty())) continue;
    if (!d->second.decision.empty()) tags.push_back(tag("analyst-" + d->second.decision, clue.value("kind", "") + ":" + clue.value("value", "")));
    comments += fmt::format("; analyst {} {} clue {} ({} \"{}\"){}{}", d->second.analyst, d->second.decision.empty() ? "noted" : d->second.decision,
                            clue.value("rank", 0), clue.value("kind", ""), clue.value("value", ""),
                            d->second.note.empty() ? "" : ": ", d->second.note);
  }
  m["Comments"] = comments;
  std::string tag_text;
  for (const auto& t : tags) tag_text += (tag_text.empty() ? "" : ",") + t;
  m["Tags"] = tag_text;
  auto files = nlohmann::ordered_json::array();
  for (const auto& p : paths) {
    const std::filesystem::path path(p);
    files.push_back({{"MD5", upper(md5)}, {"MediaFileID", ++file_id}, {"FileName", path.filename().string()},
                     {"FilePath", path.parent_path().string()}});
  }
  m["MediaFiles"] = files;
  return m;
}

}  // namespace

void write_vics(const CaseStore& store, const std::filesystem::path& dir, const OutputOptions& options) {
  // One Media per picture (MD5 is its key), in the order pictures first appear; every path it was found under is
  // one of its MediaFiles. The store gives the pictures in that order with their paths, one picture at a time.
  const std::string context = odata_context(options);
  const std::string name = store.name();
  const auto dump = [](const nlohmann::ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace); };
  SQLite::Statement pictures(store.database(),
                             "SELECT md5, MIN(image_id) first, group_concat(path, char(10)) FROM (SELECT md5, image_id, path FROM "
                             "images WHERE length(md5) = 32 AND hashes_complete = 1 ORDER BY image_id) GROUP BY md5 ORDER BY first");
  SQLite::Statement report_of(store.database(), "SELECT report, tool_version FROM images WHERE image_id = ?");
  std::string version;
  {
    SQLite::Statement q(store.database(), "SELECT tool_version FROM images ORDER BY image_id LIMIT 1");
    if (q.executeStep()) version = q.getColumn(0).getString();
  }
  AtomicFileWriter out(dir / "vics.json");
  const bool flat = options.vics_form == "media";
  out.write("{\"@odata.context\":" + dump(context) + ",\"value\":[");
  if (!flat) {
    out.write("{\"CaseID\":" + dump(case_guid(dir, name)) + ",\"CaseNumber\":" + dump(name) +
              ",\"SourceApplicationName\":\"cluetrace\",\"SourceApplicationVersion\":" + dump(version) + ",\"Media\":[");
  }
  const auto decisions = current_decisions(store.database());
  int media_id = 0, file_id = 0;
  while (pictures.executeStep()) {
    report_of.bind(1, pictures.getColumn(1).getInt64());
    if (!report_of.executeStep()) {
      report_of.reset();
      continue;
    }
    const auto first = nlohmann::json::parse(report_of.getColumn(0).getString());
    report_of.reset();
    std::vector<std::string> paths;
    std::string all = pictures.getColumn(2).getString();
    for (std::size_t start = 0; start <= all.size();) {
      const auto end = std::min(all.find('\n', start), all.size());
      paths.push_back(all.substr(start, end - start));
      start = end + 1;
    }
    const std::string separator = media_id > 0 ? "," : "";
    ++media_id;
    out.write(separator + dump(media_entry(media_id, first, paths, file_id, decisions)));
  }
  if (!flat) out.write(fmt::format("],\"TotalMediaFiles\":{},\"TotalPrecategorized\":0}}", file_id));
  out.write("]}\n");
  out.commit();
}

}  // namespace cluetrace
