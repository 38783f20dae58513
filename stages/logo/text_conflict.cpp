#include "stages/logo/text_conflict.hpp"

#include <algorithm>
#include <cctype>

#include "stages/logo/geometry.hpp"
#include "stages/logo/logo_stage.hpp"

namespace cluetrace::logo {
namespace {

constexpr std::size_t kMinLetters = 3;  // shorter reads are glyph noise as often as words
constexpr std::size_t kMinPart = 4;     // a read held in a brand's name agrees from this length

// The word split at everything but letters and digits, each part folded: "cora.fr" -> {cora, fr}.
std::vector<std::string> tokens_of(const std::string& text) {
  std::vector<std::string> tokens;
  std::string part;
  const auto flush = [&] {
    if (std::string folded = fold_name(part); !folded.empty()) tokens.push_back(std::move(folded));
    part.clear();
  };
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x80 && !std::isalnum(c)) flush();
    else part += ch;
  }
  flush();
  return tokens;
}

// The brand's name spelt by a run of tokens ("Albert" "Heijn"), or a part of its name read ("Guardian").
// A longer word that merely holds the name ("Coração" for Cora) does not agree.
bool agrees(const std::vector<std::string>& tokens, const std::vector<std::string>& brand_names) {
  for (const auto& name : brand_names) {
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].size() >= kMinPart && name.find(tokens[i]) != std::string::npos) return true;
      std::string run;
      for (std::size_t j = i; j < tokens.size() && run.size() < name.size(); ++j)
        if ((run += tokens[j]) == name) return true;
    }
  }
  return false;
}

}  // namespace

TextConflict text_conflict(const cv::Rect2f& mark, const std::vector<std::string>& brand_names, const std::vector<Clue>& ocr_lines,
                           double min_confidence, double min_coverage) {
  TextConflict result;
  if (mark.area() <= 0) return result;
  std::vector<std::string> tokens;
  cv::Mat covered(std::max(1, static_cast<int>(mark.height)), std::max(1, static_cast<int>(mark.width)), CV_8U, cv::Scalar(0));
  for (const auto& line : ocr_lines) {
    if (line.kind != ClueKind::text) continue;
    for (const auto& word : line.words) {
      const cv::Rect2f box = quad_bounds(word.quad);
      if ((box & mark).area() <= 0 || word.confidence < min_confidence || fold_name(word.text).size() < kMinLetters) continue;
      const auto parts = tokens_of(word.text);
      tokens.insert(tokens.end(), parts.begin(), parts.end());
      result.read += (result.read.empty() ? "" : " ") + word.text;
      const cv::Rect local = cv::Rect(cv::Rect2f(box.x - mark.x, box.y - mark.y, box.width, box.height)) & cv::Rect(0, 0, covered.cols, covered.rows);
      if (local.area() > 0) covered(local).setTo(255);
    }
  }
  if (result.read.empty()) return result;
  result.coverage = cv::countNonZero(covered) / static_cast<double>(covered.total());
  result.contradicts = result.coverage >= min_coverage && !agrees(tokens, brand_names);
  return result;
}

}  // namespace cluetrace::logo
