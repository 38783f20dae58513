// Whether the text OCR read where the feature matcher placed a mark contradicts the mark: a wordmark
// (a brand name drawn in letters) matches ordinary printed words by their letter shapes, and where OCR
// read those words confidently as something other than the brand's name, the match is a coincidence of
// glyphs, not a sighting.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "pipeline/types.hpp"

namespace cluetrace::logo {

struct TextConflict {
  bool contradicts = false;  // confident words cover the mark and none spells the brand
  std::string read;          // the words read there, in reading order
  double coverage = 0;       // their boxes' share of the mark's box
};

// `mark` in image pixels; `brand_names` folded (fold_name) name and aliases of the brand; `ocr_lines`
// the OCR stage's clues (text clues with their words). Words count when their box overlaps the mark's,
// they have `min_confidence` and at least three letters or digits once folded, and they are ordinary
// text: words of four or more letters from the OCR engine's dictionary, or words mostly outside the mark
// (a wordmark matched by chance often lies on part of one long word). OCR's misreadings of a stylised
// mark itself ("REWc", "NO<IA") are neither, and do not count. They contradict the mark when they cover
// at least `min_coverage` of its box and do not spell the brand, even loosely: no run of them (split at
// punctuation, folded) is within a third of its letters of the brand's name, id or an alias, and none of
// four or more letters is within one letter of a part of one. "Guardian" on The Guardian's mark, "tabka"
// on Żabka's and "cora.fr" on Cora's agree; "Bahnhofstrasse", "Coração" and "Hotel" on Intel's do not.
TextConflict text_conflict(const cv::Rect2f& mark, const std::vector<std::string>& brand_names, const std::vector<Clue>& ocr_lines,
                           double min_confidence, double min_coverage);

}  // namespace cluetrace::logo
