// Tesseract's traineddata files re-packed, once, as uncompressed tar archives of their components
// (`cluetrace tessdata prepare`, run by scripts/setup.sh).
//
// Why: Tesseract reads a traineddata file whole into memory, copies it, and copies each component out of the
// copy: the Latin model (89 MB, 88 MB of it the word list) fills three buffers of 89 MB before its word list
// is even read. Fresh memory is what a process start pays for most on these machines (bench/RESULTS.md, issue
// 16): loading the Latin model took 0.55-0.63 s in a new process, 0.13 s from the archive. Debian's Tesseract
// is built with libarchive and reads an archive component by component into the one buffer each needs. The
// components are the same bytes, so the readings are the same (tests/stages/ocr/tessdata_archive_test.cpp).
//
// Only a set of one language is read from an archive: Tesseract names the word lists it shares between
// instances after the traineddata file it read, and forgets that name for an archive, so two languages read from
// archives in one process would share one word list. The OCR stage keeps to that (tesseract_engine.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace cluetrace::ocr {

struct PreparedTraineddata {
  std::filesystem::path archive;  // <folder>/<lang>.traineddata: a tar of the source's components
  std::filesystem::path source;   // the traineddata file it was made from
  std::uintmax_t source_bytes = 0;
  std::string source_sha256;
};

// Where `cluetrace tessdata prepare` puts its archives by default, and where the OCR stage looks for them:
// tessdata/ under models_dir().
std::filesystem::path prepared_tessdata_dir();

// Writes <folder>/<lang>.traineddata (lang: the source's file name without .traineddata) and beside it what it was
// made from (<lang>.traineddata.source.json), both atomically, unless the ones there were made from this file
// as it is (same path, size and modification time). `written` says which. Throws naming the file when `source`
// cannot be read or is not a traineddata file.
PreparedTraineddata prepare_traineddata(const std::filesystem::path& source, const std::filesystem::path& folder,
                                        bool* written = nullptr);

// The archive in `folder` made from `source` as it is now (same size and modification time as when it was
// made); nullopt, with the reason in `why`, when there is none or it was made from another file or an earlier
// version of this one.
std::optional<PreparedTraineddata> find_prepared_traineddata(const std::filesystem::path& source,
                                                             const std::filesystem::path& folder, std::string* why);

// The components of a traineddata file: its suffix names (lstm, lstm-word-dawg, ...) and byte ranges, in file
// order. Throws naming the file when the bytes are not a traineddata file's.
struct TraineddataComponent {
  std::string suffix;
  std::size_t offset = 0, size = 0;
};
std::vector<TraineddataComponent> traineddata_components(const std::vector<char>& bytes, const std::filesystem::path& file);

// `cluetrace tessdata prepare [--tessdata DIR] [--out DIR] LANG...`: 0 when every language was prepared.
int tessdata_prepare_command(const std::vector<std::string>& languages, const std::string& tessdata_dir,
                             const std::string& out_dir, std::ostream& out, std::ostream& err);

// The folder Tesseract looks in when none is configured: TESSDATA_PREFIX, then Debian 12's tesseract 5 folder.
std::filesystem::path system_tessdata_dir();

}  // namespace cluetrace::ocr
