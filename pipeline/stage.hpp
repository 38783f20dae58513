// The stage interface: every capability of the graph is one Stage, named by a stable implementation id.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "pipeline/options.hpp"
#include "pipeline/types.hpp"

namespace cluetrace {

// The slots of the graph, in the order they appear in config and reports.
enum class StageKind { text_detect, ocr, logo, barcode, metadata, clues, language, region, rank };
inline constexpr std::array kAllStageKinds{StageKind::text_detect, StageKind::ocr,      StageKind::logo,
                                           StageKind::barcode,     StageKind::metadata, StageKind::clues,
                                           StageKind::language,    StageKind::region,   StageKind::rank};
std::string_view to_string(StageKind kind);

class Stage {
 public:
  virtual ~Stage() = default;
  Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  // Stable id of this implementation, e.g. "ocr.tesseract_page"; names it in YAML, reports and run.json.
  virtual std::string_view id() const = 0;
  // True for stand-ins that produce nothing yet; run.json says so.
  virtual bool is_placeholder() const { return false; }
  // Heavy start-up (models, Tesseract data). Throws std::runtime_error with a clear message on failure.
  virtual void prepare() {}
  // Loading that prepare() has checked the inputs of, and that the images need only when they reach this stage
  // (the language stage's dictionaries). Called once, after prepare(); in a worker process on a thread of its
  // own while the first images go through the stages before this one (pipeline/stage_loading.hpp), elsewhere
  // right after prepare(). process() is never called before load() has returned. Throws std::runtime_error
  // with a clear message on failure, as prepare() does; the run then stops.
  virtual void load() {}
  // Model files, data versions and the like, for `cluetrace version` and run.json.
  virtual nlohmann::ordered_json resources() const { return nlohmann::ordered_json::object(); }
  // Processes one image: clues, errors and time go to `out` (this stage's own slot). A stage may also
  // write the one cross-stage artefact it owns on `image` (text_detect: text_regions; language:
  // languages, text_languages, text_words; region: regions; rank: ranked_clues, and the ranks in regions'
  // evidence) and must not write anything else there, because
  // stages on parallel branches see the same record. May throw: the graph records {stage id, message}
  // on the image and goes on. Called concurrently on different images: keep per-thread state explicit.
  virtual void process(ImageRecord& image, StageResult& out) = 0;

  // The stage in the logo slot, which follows OCR, may need only the pixels and the text detector's regions
  // for its heavy part (logo.features: the matching; only the check against printed words and the wordmarks
  // read the OCR's clues) and says so here. The graph then runs before_ocr() beside OCR and after_ocr() once
  // OCR is done, so that an image waits for the longer of the two, not for both (other slots are not split).
  // process() must still do the whole: it is before_ocr() then after_ocr().
  // Both parts write only `out`; what before_ocr() leaves there is what after_ocr() starts from. Either may
  // throw, as process() may; after_ocr() still runs when before_ocr() threw.
  virtual bool splits_around_ocr() const { return false; }
  virtual void before_ocr(const ImageRecord& /*image*/, StageResult& /*out*/) {}
  virtual void after_ocr(ImageRecord& image, StageResult& out) { process(image, out); }
};

// How an implementation is made from its options block. Reading options must be cheap
// (so `config check` can run it); heavy work belongs in prepare().
struct StageImplementation {
  StageKind kind;
  std::string name;  // the `impl:` value in YAML, e.g. "tesseract_page"
  std::string summary;
  std::function<std::unique_ptr<Stage>(OptionReader& options)> make;
};

// Every implementation this build knows, listed in pipeline/stage_catalog.cpp.
std::vector<StageImplementation> stage_catalog();

}  // namespace cluetrace
