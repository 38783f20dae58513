// Which doubtful lines the re-read models (ocr.reread_languages) read again. Where PP-OCR is sure of its
// reading, its reading wins the vote (line_vote.hpp) whatever a third Tesseract reading says, except for the
// signs PP-OCR cannot spell: the currency signs and punctuation of structured clues (prices, phone numbers,
// web and mail addresses). A third reading of such a line cost as much as the first two together
// (bench/RESULTS.md, issue 16).
#pragma once

#include <string_view>

namespace cluetrace::ocr {

enum class RereadScope {
  all,     // every doubtful line
  needed,  // doubtful lines PP-OCR is not sure of (or did not read), and those whose readings so far look
           // like a structured clue (looks_structured)
};

// Whether a reading (UTF-8) may hold a structured clue: a digit, a currency sign, one of @ % / :, "www",
// or a dot between two letters or digits (a host name such as "shop.example").
bool looks_structured(std::string_view utf8);

}  // namespace cluetrace::ocr
