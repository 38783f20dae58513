#include "stages/ocr/tesseract_engine.hpp"

#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "pipeline/memory_gate.hpp"
#include "stages/ocr/openmp_serial.hpp"
#include "stages/ocr/tessdata_archive.hpp"

namespace cluetrace::ocr {

namespace {

// Model sets of this many bytes of traineddata or more are loaded through the large working sets' gate.
constexpr std::uintmax_t kGatedModelBytes = 32u << 20;

// "Oooo", "llll", "iii": one letter repeated is what recognisers make of texture and noise.
bool single_repeated_letter(std::string_view token) {
  if (token.size() < 3) return false;
  const auto first = std::tolower(static_cast<unsigned char>(token[0]));
  if (!std::isalpha(first)) return false;
  for (const char c : token) {
    if (std::tolower(static_cast<unsigned char>(c)) != first) return false;
  }
  return true;
}

// Tesseract keeps the word lists it loaded in a cache for the whole process, named after the traineddata file they
// came from; for an archive it has no name (tessdata_archive.hpp). So one language only may be read from
// archives in a process: the first to claim it. Returns "" when `language` may be, else the language that was.
std::string claim_archive_language(const std::string& language) {
  static std::mutex mutex;
  static std::string claimed;
  const std::lock_guard lock(mutex);
  if (claimed.empty()) claimed = language;
  return claimed == language ? std::string() : claimed;
}

}  // namespace

bool plausible_text(std::string_view utf8, int min_alnum) {
  int alnum = 0, other = 0;
  std::size_t start = 0;
  while (start < utf8.size()) {
    auto end = utf8.find(' ', start);
    if (end == std::string_view::npos) end = utf8.size();
    const auto token = utf8.substr(start, end - start);
    start = end + 1;
    if (single_repeated_letter(token)) continue;
    for (const char ch : token) {
      const auto c = static_cast<unsigned char>(ch);
      if (c >= 0x80) {
        // A multi-byte UTF-8 sequence: count its lead byte as one letter (accented Latin, etc.).
        if ((c & 0xC0) == 0xC0) ++alnum;
        continue;
      }
      if (std::isalnum(c)) {
        ++alnum;
      } else if (!std::isspace(c)) {
        ++other;
      }
    }
  }
  return alnum >= min_alnum && alnum >= other;
}

void read_language_options(OptionReader& o, std::vector<std::string>& languages, std::string& tessdata_dir) {
  languages = o.get_string_list("languages", languages);
  if (languages.empty()) o.problem("languages", "needs at least one Tesseract language");
  tessdata_dir = o.get_string("tessdata_dir", tessdata_dir);
}

TesseractEngines::TesseractEngines(std::vector<std::string> languages, std::string tessdata_dir, std::filesystem::path prepared_dir)
    : languages_(std::move(languages)), tessdata_dir_(std::move(tessdata_dir)), prepared_dir_(std::move(prepared_dir)) {
  language_string_ = fmt::format("{}", fmt::join(languages_, "+"));
}

TesseractEngines::~TesseractEngines() = default;

std::unique_ptr<tesseract::TessBaseAPI> TesseractEngines::make() const {
  auto api = std::make_unique<tesseract::TessBaseAPI>();
  const std::string& folder = load_dir_.empty() ? tessdata_dir_ : load_dir_;
  const char* datapath = folder.empty() ? nullptr : folder.c_str();
  // debug_file keeps Tesseract's own chatter (including its load errors) off the analyst's terminal;
  // the exceptions below say what went wrong instead.
  std::vector<std::string> names{"debug_file"}, values{"/dev/null"};
  // Loading holds the model files in memory two or three times over for a moment (Tesseract reads the whole
  // traineddata and copies its parts; the Latin model's is 89 MB, its word list copied once more when first
  // deserialised): up to ~270 MB, as large as a scene's SIFT scale space, so it waits at the same gate. A small
  // set (eng+deu+fra, the re-read's: 7 MB) holds ~20 MB and does not wait behind the large ones; a set whose size
  // is not known yet (check() not run, or Tesseract looked elsewhere) is taken for a large one.
  int failed = 0;
  const auto init = [&] { failed = api->Init(datapath, language_string_.c_str(), tesseract::OEM_LSTM_ONLY, nullptr, 0, &names, &values, false); };
  if (model_bytes_ == 0 || model_bytes_ >= kGatedModelBytes) {
    large_working_sets().run(init);
  } else {
    init();
  }
  if (failed != 0) {
    throw std::runtime_error(fmt::format(
        "Tesseract cannot load languages '{}' from {} (install tesseract-ocr-<lang> or set stages.ocr.tessdata_dir)",
        language_string_, tessdata_dir_.empty() ? "the system tessdata folder" : tessdata_dir_));
  }
  // Init succeeds when any one of the languages loads: insist on all of them.
  std::vector<std::string> loaded;
  api->GetLoadedLanguagesAsVector(&loaded);
  for (const auto& lang : languages_) {
    if (std::find(loaded.begin(), loaded.end(), lang) == loaded.end()) {
      throw std::runtime_error(fmt::format("Tesseract cannot load language '{}' (of '{}') from {} (install "
                                           "tesseract-ocr-{} or set stages.ocr.tessdata_dir)",
                                           lang, language_string_, api->GetDatapath(), lang));
    }
  }
  return api;
}

void TesseractEngines::check() {
  setMsgSeverity(L_SEVERITY_ERROR);
  for (const auto& lang : languages_) {
    if (lang.empty() || lang.find_first_of("/\\") != std::string::npos) {
      throw std::runtime_error(fmt::format("'{}' is not a Tesseract language name", lang));
    }
  }
  // Loading a model takes a quarter of a second or more per language set and thread: each worker thread loads
  // its own on first use. Here the files are only looked for, so a missing language still stops the start.
  const std::string folder = tessdata_folder();
  if (!folder.empty()) model_bytes_ = model_bytes(folder);
  if (model_bytes_ > 0) {
    datapath_ = folder;
    use_archive_if_prepared();
    return;
  }
  // Not where we looked (another packaging of Tesseract): Tesseract itself is asked, by loading once.
  auto api = make();
  datapath_ = api->GetDatapath();
  model_bytes_ = model_bytes(datapath_);
  const std::lock_guard lock(spare_mutex_);
  spare_ = std::move(api);
}

void TesseractEngines::use_archive_if_prepared() {
  if (prepared_dir_.empty()) return;
  if (languages_.size() != 1) {
    archive_note_ = "not used: a set of several languages is read from the traineddata files";
    return;
  }
  std::string why;
  const auto prepared = find_prepared_traineddata(std::filesystem::path(datapath_) / (languages_.front() + ".traineddata"), prepared_dir_, &why);
  if (!prepared) {
    archive_note_ = "not used: " + why;
    return;
  }
  if (const auto other = claim_archive_language(languages_.front()); !other.empty()) {
    archive_note_ = fmt::format("not used: this process reads '{}' from an archive already, and Tesseract would give both its word lists", other);
    return;
  }
  load_dir_ = prepared_dir_.string();
  archive_path_ = prepared->archive.string();
  archive_sha256_ = prepared->source_sha256;
}

std::uintmax_t TesseractEngines::model_bytes(const std::string& folder) const {
  std::uintmax_t total = 0;
  for (const auto& lang : languages_) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(std::filesystem::path(folder) / (lang + ".traineddata"), ec);
    if (ec || bytes == 0) return 0;
    total += bytes;
  }
  return total;
}

std::string TesseractEngines::tessdata_folder() const {
  if (!tessdata_dir_.empty()) return tessdata_dir_;
  return system_tessdata_dir().string();
}

tesseract::TessBaseAPI& TesseractEngines::local() {
  auto& api = apis_.local();
  if (!api) {
    hold_openmp_to_this_thread();  // before the thread's first line
    {
      const std::lock_guard lock(spare_mutex_);
      api = std::move(spare_);
    }
    if (!api) api = make();
  }
  return *api;
}

nlohmann::ordered_json TesseractEngines::resources() const {
  nlohmann::ordered_json j{{"languages", language_string_}, {"tessdata", datapath_}};
  for (const auto& lang : languages_) {
    const auto file = std::filesystem::path(datapath_) / (lang + ".traineddata");
    std::error_code ec;
    j["traineddata"][lang] = {{"path", file.string()}, {"bytes", std::filesystem::file_size(file, ec)}};
  }
  // The same components, read from the archive `cluetrace tessdata prepare` made of the file above.
  if (!archive_path_.empty()) {
    j["archive"] = {{"path", archive_path_}, {"source_sha256", archive_sha256_}};
  } else if (!archive_note_.empty()) {
    j["archive"] = {{"note", archive_note_}};
  }
  return j;
}

}  // namespace cluetrace::ocr
