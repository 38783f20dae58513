#include "pipeline/fold.hpp"

#include <unicode/uchar.h>
#include <unicode/unistr.h>

namespace cluetrace {

std::string fold_key(std::string_view text) {
  auto u = icu::UnicodeString::fromUTF8(icu::StringPiece(text.data(), static_cast<int32_t>(text.size())));
  u.foldCase();
  icu::UnicodeString kept;
  for (int32_t i = 0; i < u.length(); i = u.moveIndex32(i, 1)) {
    const UChar32 c = u.char32At(i);
    if (u_isalnum(c)) kept.append(c);
  }
  std::string out;
  kept.toUTF8String(out);
  return out;
}

std::string digits_only(std::string_view text) {
  std::string digits;
  for (const char c : text) {
    if (c >= '0' && c <= '9') digits += c;
  }
  return digits;
}

}  // namespace cluetrace
