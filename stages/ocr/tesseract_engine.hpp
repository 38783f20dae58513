// One TessBaseAPI per worker thread, created on first use with the configured languages; shared by the
// OCR implementations of this folder.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/options.hpp"
#include <oneapi/tbb/enumerable_thread_specific.h>

namespace tesseract {
class TessBaseAPI;
}

namespace cluetrace::ocr {

class TesseractEngines {
 public:
  // `prepared_dir`: where `cluetrace tessdata prepare` put archives of traineddata files (tessdata_archive.hpp);
  // a set of one language is read from its archive there when it was made from the file Tesseract would read.
  // Empty: the traineddata files only. At most one set in a process may use archives (tessdata_archive.hpp).
  TesseractEngines(std::vector<std::string> languages, std::string tessdata_dir, std::filesystem::path prepared_dir = {});
  ~TesseractEngines();
  TesseractEngines(const TesseractEngines&) = delete;
  TesseractEngines& operator=(const TesseractEngines&) = delete;

  // Fails at start-up (with the missing language named) rather than per image; the models themselves are
  // loaded per thread on first use.
  void check();
  // This thread's instance.
  tesseract::TessBaseAPI& local();
  nlohmann::ordered_json resources() const;
  const std::string& language_string() const { return language_string_; }

 private:
  std::unique_ptr<tesseract::TessBaseAPI> make() const;
  std::string tessdata_folder() const;
  // After check() found the files: Tesseract is to read the one language from its prepared archive, if there is one.
  void use_archive_if_prepared();
  // The bytes of this set's traineddata files in `folder`; 0 when one is not there.
  std::uintmax_t model_bytes(const std::string& folder) const;

  std::vector<std::string> languages_;
  std::string tessdata_dir_;
  std::string language_string_;
  std::string datapath_;
  std::filesystem::path prepared_dir_;
  std::string load_dir_;       // the folder Tesseract loads from: the archive's when it is used, else as configured
  std::string archive_path_;    // the archive Tesseract reads the language from; empty: none
  std::string archive_sha256_;  // of the traineddata file that archive was made from
  std::string archive_note_;    // for run.json: why no archive is used, when one might have been
  std::uintmax_t model_bytes_ = 0;  // of the traineddata files, once check() found them; 0: not known
  std::mutex spare_mutex_;
  std::unique_ptr<tesseract::TessBaseAPI> spare_;  // the instance check() loaded, handed to the first thread
  oneapi::tbb::enumerable_thread_specific<std::unique_ptr<tesseract::TessBaseAPI>> apis_;
};

// Reads the `languages` and `tessdata_dir` options every Tesseract-based stage shares.
void read_language_options(OptionReader& options, std::vector<std::string>& languages, std::string& tessdata_dir);

// Whether an OCR'd line is worth reporting: enough letters or digits, not mostly punctuation.
bool plausible_text(std::string_view utf8, int min_alnum);

}  // namespace cluetrace::ocr
