// Value types that travel through the graph: one ImageRecord per input image, plain clue structs.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

namespace cluetrace {

// The clue kinds of clue-report/1, in schema order.
enum class ClueKind { text, logo, barcode, phone, url, email, price, postcode, address, date, metadata, gps, other };
inline constexpr std::array kAllClueKinds{ClueKind::text,  ClueKind::logo,     ClueKind::barcode, ClueKind::phone,
                                          ClueKind::url,   ClueKind::email,    ClueKind::price,   ClueKind::postcode,
                                          ClueKind::address, ClueKind::date,   ClueKind::metadata, ClueKind::gps,
                                          ClueKind::other};
std::string_view to_string(ClueKind kind);
std::optional<ClueKind> clue_kind_from_string(std::string_view name);

struct Box {
  int x = 0, y = 0, width = 0, height = 0;
};

struct CountryWeight {
  std::string code;  // ISO 3166-1 alpha-2, upper case
  double weight = 0;
};

// One word of a text clue, as the recogniser read it.
struct Word {
  std::string text;
  double confidence = 0;
  std::array<cv::Point2f, 4> quad;  // original pixels
  bool dictionary = false;  // the OCR engine found the word in its dictionary (a real word, not letters guessed one by one)
};

struct Clue {
  ClueKind kind = ClueKind::other;
  std::string value;
  double confidence = 0;  // 0..1: is it really there and read right
  double score = 0;       // 0..1: how useful as a lead; set by the rank stage
  int rank = 0;           // 1-based, set by the rank stage
  std::optional<Box> box;
  std::optional<std::array<cv::Point2f, 4>> quad;
  std::string language;
  std::vector<CountryWeight> countries;
  std::string stage;  // id of the implementation that produced it
  std::string explanation;
  std::vector<Word> words;  // text clues: the words with their own boxes and confidences
  nlohmann::ordered_json details;  // kind-specific facts (logo: brand name, method, inliers); null when none
};

struct StageError {
  std::string stage;
  std::string message;
};

struct LanguageGuess {
  std::string code;
  double probability = 0;
};

struct RegionGuess {
  std::string code;
  double probability = 0;
  std::vector<int> evidence;  // ranks of supporting clues (set by the rank stage from evidence_clues)
  std::vector<std::size_t> evidence_clues;  // region stage: indexes into all_clues() of the supporting clues
};

// A region of the image that probably holds a line of text (from text detection, read by OCR).
struct TextRegion {
  std::array<cv::Point2f, 4> quad;  // clockwise from top-left, original pixels
  double score = 0;
};

// How common the words of one line of text are (language stage), for ranking: a line of only everyday words
// ("open", "sale") narrows the search less than one with a rare word (a name, a place).
struct LineWords {
  int words = 0;  // words with letters
  std::vector<std::string> rare;  // of them, those not among the most frequent words of any configured language
};

// What the review outputs need from the pixels, made after ranking while the image is still in memory
// (pipeline/case/artefacts.hpp); the writer stores them beside the reports.
struct ReviewArtefacts {
  std::vector<std::pair<int, std::string>> crops;  // clue rank -> JPEG of the clue's region with a margin
  std::string scene;    // background signature for matching scenes across images (empty: none)
  std::string objects;  // features of the whole image for query by example (pipeline/case/objects.hpp; empty: none)
  std::string preview;  // JPEG of the whole image, only when the config asks for it
};

struct FileDigests {
  std::string md5, sha1, sha256;  // lower-case hex
};

// One input, as found by the input walker.
struct InputItem {
  // What we open (a string, not a std::filesystem::path, which keeps every component of a path as a path of
  // its own: ~250 bytes an input, of a run that holds every input until its end).
  std::string path;
  std::string display_path;    // as given on the command line or found under a given folder
  // Its place in the walk of every INPUT (files examined, in order, whichever shard they fall in): the order of
  // a single run's reports, which `cluetrace merge` restores across shards. Gaps are files that were not images.
  std::size_t walk_index = 0;
};

enum class ImageStatus { ok, partial, failed };
std::string_view to_string(ImageStatus status);

// What one stage produced for one image. Stages on parallel branches write only their own slot.
struct StageResult {
  std::vector<Clue> clues;
  std::vector<StageError> errors;
  double elapsed_ms = 0;
};

// The image in grey (OpenCV's BGR-to-grey conversion of the pixels), made once, by the first stage that asks
// for it, and then shared by every stage and the review artefacts instead of each converting the image again.
// Parallel branches may ask at once. Made again when the pixels were replaced since.
class SharedGrey {
 public:
  cv::Mat of(const cv::Mat& pixels);
  void release();

 private:
  std::mutex mutex_;
  cv::Mat source_;  // the pixels it was made from (held, so their address cannot be reused)
  cv::Mat grey_;
};

// The state of one image as it moves through the graph.
struct ImageRecord {
  std::size_t seq = 0;  // position in the run's list of images to do
  int journal_slot = -1;  // its place in the worker's journal (pipeline/journal.hpp); -1: not journalled
  InputItem input;
  std::chrono::steady_clock::time_point started{};  // when the decode node picked it up
  bool large = false;  // its header declares more than run.large_image_megapixels: one such image at a time

  // Filled by the decode node.
  FileDigests digests;
  bool digests_complete = false;  // false when the file could not be read to the end
  std::uint64_t file_bytes = 0;
  std::string format;  // sniffed from content: "jpeg", "png", ... or "unknown"
  int width = 0, height = 0;
  cv::Mat pixels;  // BGR, 8-bit; empty when decoding failed
  // The pixels in grey (read-only: shared by the stages). Made on first use; released by the graph once the
  // review artefacts are made.
  cv::Mat grey() const { return grey_cache->of(pixels); }
  std::shared_ptr<SharedGrey> grey_cache = std::make_shared<SharedGrey>();
  bool decoded = false;
  // Set when the file was damaged and only its intact top rows were decoded (pipeline/salvage.hpp): the
  // image is then `partial`, width/height are those of the pixels, and the report says what was kept.
  struct Salvage {
    int declared_width = 0, declared_height = 0;
    std::string how;
  };
  std::optional<Salvage> salvage;
  int frames = 0;  // frames or pages the file holds, when known and more than one (the first is analysed)
  // The file's bytes exactly as they were hashed, for stages that parse the file itself (metadata): never read
  // again from disk, where they may have changed since. Released when the parallel branches have joined.
  std::shared_ptr<const std::vector<unsigned char>> file_data;

  // Cross-stage artefacts (each written by exactly one stage).
  std::vector<TextRegion> text_regions;
  std::vector<LanguageGuess> languages;
  std::map<std::string, std::vector<LanguageGuess>> text_languages;  // language stage: per line of text read
  std::map<std::string, LineWords> text_words;                       // language stage: per line of text read
  std::vector<RegionGuess> regions;
  std::vector<Clue> ranked_clues;  // the rank stage's output: the report's clues
  bool ranked = false;
  ReviewArtefacts review;  // made by the graph after ranking (not by a stage)

  std::vector<StageError> errors;  // decode-level errors (read, format, limits): the image is `failed`
  std::vector<StageError> warnings;  // what the analysis of a decoded image lacks (damage, a file that changed): `partial`
  std::map<std::string, double> timings_ms;  // written only by the decode, review and writer nodes
  std::vector<StageResult> stage_results;    // one slot per stage in the graph, indexed by StageSlot

  // All clues found so far, in stage order (for stages that consume others' clues).
  std::vector<Clue> all_clues() const;
};

}  // namespace cluetrace
