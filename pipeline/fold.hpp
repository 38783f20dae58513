// Text helpers: the key under which two readings of a clue count as the same, digits, terminal-safe text.
#pragma once

#include <string>
#include <string_view>

namespace cluetrace {

// "Café de Sterre!" and "CAFÉ DE STERRE" give the same key; punctuation and spaces are dropped (ICU).
std::string fold_key(std::string_view text);
// fold_key() without accents too: "Fermé", "FERME" and "ferme!" give the same key (letters that decompose;
// ł, ø and ß stay as they are).
std::string letters_key(std::string_view text);

// `text` safe to print on a terminal: control characters (C0, DEL, C1: what escape sequences are made of)
// written as \xNN or \u00NN. Text read from images and metadata goes through this before a terminal sees it.
std::string terminal_safe(std::string_view text);

// Whether `text` is well-formed UTF-8 (no stray continuation bytes, overlong forms or surrogates).
bool is_valid_utf8(std::string_view text);

// The ASCII digits of `text`, in order ("+49 30 123-45" -> "493012345").
std::string digits_only(std::string_view text);

}  // namespace cluetrace
