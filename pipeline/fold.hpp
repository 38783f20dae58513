// The key under which two readings of a clue count as the same: its letters and digits, case-folded.
#pragma once

#include <string>
#include <string_view>

namespace cluetrace {

// "Café de Sterre!" and "CAFÉ DE STERRE" give the same key; punctuation and spaces are dropped (ICU).
std::string fold_key(std::string_view text);

// The ASCII digits of `text`, in order ("+49 30 123-45" -> "493012345").
std::string digits_only(std::string_view text);

}  // namespace cluetrace
