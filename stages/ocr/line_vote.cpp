#include "stages/ocr/line_vote.hpp"

#include <algorithm>
#include <cctype>

#include "pipeline/fold.hpp"

namespace cluetrace::ocr {
namespace {

// The UTF-8 code points of `s`, each as its own string.
std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

bool is_letter(const std::string& cp) {
  if (cp.size() == 1) return std::isalpha(static_cast<unsigned char>(cp[0])) != 0;
  // Two-byte code points from U+00C0 to U+024F are Latin letters (with the exceptions × and ÷).
  if (cp.size() != 2) return false;
  const auto b0 = static_cast<unsigned char>(cp[0]);
  const auto b1 = static_cast<unsigned char>(cp[1]);
  const unsigned value = ((b0 & 0x1Fu) << 6) | (b1 & 0x3Fu);
  return value >= 0xC0 && value < 0x250 && value != 0xD7 && value != 0xF7;
}

bool has_accented_letter(const std::string& utf8) {
  const auto points = code_points(utf8);
  return std::any_of(points.begin(), points.end(), [](const auto& cp) { return cp.size() > 1 && is_letter(cp); });
}

// Levenshtein distance between two strings, counted in code points.
std::size_t edit_distance(const std::string& a_utf8, const std::string& b_utf8) {
  const auto a = code_points(a_utf8), b = code_points(b_utf8);
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Tesseract's spelling put back into PP-OCR's reading: a word of PP-OCR's whose letters (folded: no case,
// accents, punctuation) equal those of one to four consecutive Tesseract words is replaced by them; so is
// one a letter away from a Tesseract word with an accent. PP-OCR drops accents (or reads ü as i) and the
// spaces of tightly set text; Tesseract keeps both.
LineReading with_tesseract_spelling(const LineReading& tesseract, const LineReading& ppocr) {
  constexpr std::size_t kMaxRun = 4;
  std::vector<std::string> keys;
  keys.reserve(tesseract.words.size());
  for (const auto& w : tesseract.words) keys.push_back(letters_key(w.text));
  LineReading out;
  out.weakest = ppocr.weakest;
  for (const auto& word : ppocr.words) {
    const std::string key = letters_key(word.text);
    std::size_t first = 0, count = 0;
    for (std::size_t i = 0; i < keys.size() && count == 0 && !key.empty(); ++i) {
      std::string run;
      for (std::size_t n = 1; n <= kMaxRun && i + n <= keys.size() && run.size() < key.size(); ++n) {
        run += keys[i + n - 1];
        if (run == key) {
          first = i;
          count = n;
          break;
        }
      }
    }
    for (std::size_t i = 0; i < keys.size() && count == 0 && key.size() >= 4; ++i) {
      if (has_accented_letter(tesseract.words[i].text) && edit_distance(keys[i], key) <= 1) {
        first = i;
        count = 1;
      }
    }
    if (count == 0) {
      out.words.push_back(word);
    } else {
      // Read alike by both: as sure as the surer of the two.
      for (std::size_t i = first; i < first + count; ++i) {
        out.words.push_back(tesseract.words[i]);
        out.words.back().confidence = std::max(out.words.back().confidence, word.confidence);
      }
    }
  }
  double weighted = 0, weight = 0;
  for (const auto& w : out.words) {
    if (!out.text.empty()) out.text += ' ';
    out.text += w.text;
    weighted += w.confidence * static_cast<double>(w.text.size());
    weight += static_cast<double>(w.text.size());
  }
  out.confidence = weight > 0 ? weighted / weight : 0;
  return out;
}

}  // namespace

bool has_unspellable_letter(const std::string& utf8, const CanSpell& can_spell) {
  const auto points = code_points(utf8);
  return std::any_of(points.begin(), points.end(), [&](const auto& cp) { return is_letter(cp) && !can_spell(cp); });
}

LineReading combine_readings(const LineReading& tesseract, const LineReading& ppocr, const CanSpell& can_spell,
                             const VoteOptions& options) {
  if (ppocr.words.empty()) return tesseract;
  if (tesseract.words.empty()) return ppocr;
  const std::string tesseract_key = letters_key(tesseract.text), ppocr_key = letters_key(ppocr.text);
  if (tesseract_key == ppocr_key) {
    // The same letters: Tesseract's spelling, as sure as the surer reader (two readers that agree are surer
    // than either; Tesseract's confidence alone dropped such lines as doubtful).
    LineReading out = tesseract;
    for (auto& w : out.words) w.confidence = std::max(w.confidence, ppocr.confidence);
    out.confidence = std::max(tesseract.confidence, ppocr.confidence);
    return out;
  }
  // Roughly the same letters, and Tesseract read one PP-OCR could not have: PP-OCR's would erase it.
  const std::size_t letters = code_points(ppocr_key).size();
  if (has_unspellable_letter(tesseract.text, can_spell) && 3 * edit_distance(tesseract_key, ppocr_key) <= letters) {
    return tesseract;
  }
  if (ppocr.weakest >= options.sure || tesseract.confidence < options.doubt) {
    return with_tesseract_spelling(tesseract, ppocr);
  }
  return tesseract;
}

LineReading words_from_steps(const PpocrReading& reading, double height, double min_word_confidence) {
  LineReading line;
  line.weakest = 1;
  double weighted = 0, weight = 0;
  const auto h = static_cast<float>(height);
  std::size_t i = 0;
  const auto& chars = reading.characters;
  while (i < chars.size()) {
    if (chars[i].utf8 == " ") {
      ++i;
      continue;
    }
    std::size_t end = i;
    Word word;
    double sum = 0, least = 1;
    while (end < chars.size() && chars[end].utf8 != " ") {
      word.text += chars[end].utf8;
      sum += chars[end].probability;
      least = std::min(least, static_cast<double>(chars[end].probability));
      ++end;
    }
    const auto count = static_cast<double>(end - i);
    word.confidence = sum / count;
    // A character is centred on its step: the word spans from half a step before its first character to
    // half a step after its last.
    const auto x0 = static_cast<float>(std::max(0.0, (chars[i].step - 0.5) * reading.pixels_per_step));
    const auto x1 = static_cast<float>((chars[end - 1].step + 1.5) * reading.pixels_per_step);
    word.quad = {cv::Point2f(x0, 0), {x1, 0}, {x1, h}, {x0, h}};
    if (word.confidence >= min_word_confidence) {
      if (!line.text.empty()) line.text += ' ';
      line.text += word.text;
      weighted += sum;
      weight += count;
      line.weakest = std::min(line.weakest, least);
      line.words.push_back(std::move(word));
    }
    i = end;
  }
  line.confidence = weight > 0 ? weighted / weight : 0;
  if (line.words.empty()) line.weakest = 0;
  return line;
}

}  // namespace cluetrace::ocr
