// The two readings of one text line, Tesseract's LSTM and PP-OCRv4's recogniser, and the choice between them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pipeline/types.hpp"
#include "stages/ocr/ppocr_reader.hpp"

namespace cluetrace::ocr {

struct LineReading {
  std::string text;
  double confidence = 0;   // character-weighted mean of the word confidences, 0..1
  double weakest = 0;      // the least sure character (PP-OCR) or word (Tesseract)
  std::vector<Word> words;  // quads in the coordinates of the image that was read
};

struct VoteOptions {
  double sure = 0.5;    // PP-OCR's reading wins when its least sure character has at least this probability ...
  double doubt = 0.8;   // ... or when Tesseract's confidence is below this
};

// Whether PP-OCR can output a character (UTF-8, one code point).
using CanSpell = std::function<bool(const std::string&)>;

// Whether `utf8` holds a letter `can_spell` rejects.
bool has_unspellable_letter(const std::string& utf8, const CanSpell& can_spell);

// The reading kept. PP-OCR's, as a rule (on real word crops it reads far more words right), unless it is
// unsure of a character while Tesseract is sure of the line. Tesseract's spelling wins wherever both read
// the same letters: for the whole line, or for single words (PP-OCR drops accents it could spell and the
// spaces of tightly set text), and such a word is as sure as the surer of the two readings. Tesseract's
// reading is kept whenever it holds a letter PP-OCR cannot spell (ß, ö, ł, å, ø, ç, ñ …) and both read
// roughly the same letters (within a third of them): PP-OCR would have erased it.
LineReading combine_readings(const LineReading& tesseract, const LineReading& ppocr, const CanSpell& can_spell,
                             const VoteOptions& options);

// PP-OCR's characters as words split at spaces, in the pixels of the line image it read (`height` high):
// each word's confidence is the mean probability of its characters, its box spans their output steps.
// Words less sure than `min_word_confidence` are left out.
LineReading words_from_steps(const PpocrReading& reading, double height, double min_word_confidence);

}  // namespace cluetrace::ocr
