#include "stages/logo/text_conflict.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

#include "stages/logo/geometry.hpp"
#include "stages/logo/logo_stage.hpp"

namespace cluetrace::logo {
namespace {

constexpr std::size_t kMinLetters = 3;  // shorter reads are glyph noise as often as words
constexpr std::size_t kMinPart = 4;     // a read held in a brand's name agrees from this length
constexpr std::size_t kMinDictionaryWord = 4;  // shorter dictionary words ("Meg", "ini") are common misreadings of marks
constexpr double kMostlyInside = 0.5;   // share of a word's box inside the mark, above which it may be the mark read

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

// Levenshtein distance between two short strings.
std::size_t edits(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1] ? 1 : 0)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The brand's name spelt by a run of tokens ("Albert" "Heijn"), allowing a third of its letters
// misread ("REWc" for REWE, "tabka" for Żabka), or a part of its name read with at most one letter
// wrong ("Guardian", "VESI" for Vestel). A longer word that merely holds the name ("Coração" for Cora)
// or another word as close to it ("Hotel" for Intel) does not agree.
bool agrees(const std::vector<std::string>& tokens, const std::vector<std::string>& brand_names) {
  for (const auto& name : brand_names) {
    const std::size_t allowed = std::max<std::size_t>(1, name.size() / 3);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const std::string& t = tokens[i];
      if (t.size() >= kMinPart && t.size() <= name.size())
        for (std::size_t k = 0; k + t.size() <= name.size(); ++k)
          if (edits(t, std::string_view(name).substr(k, t.size())) <= 1) return true;
      std::string run;
      for (std::size_t j = i; j < tokens.size() && run.size() <= name.size() + 2; ++j)
        if (edits(run += tokens[j], name) <= allowed) return true;
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
      const double shared = (box & mark).area();
      const std::size_t letters = fold_name(word.text).size();
      if (shared <= 0 || word.confidence < min_confidence || letters < kMinLetters) continue;
      const auto parts = tokens_of(word.text);
      tokens.insert(tokens.end(), parts.begin(), parts.end());
      // OCR misreads stylised marks all the time ("REWc", "NO<IA", "tabka" for Żabka): only a word the
      // engine found in its dictionary, or one running well beyond the mark (the mark lies on part of
      // it), says that ordinary text is there.
      const bool ordinary_word = word.dictionary && letters >= kMinDictionaryWord;
      if (!ordinary_word && shared >= kMostlyInside * box.area()) continue;
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
