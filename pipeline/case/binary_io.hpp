// Plain values in and out of the binary files the case outputs write for themselves (scene signatures, object
// stores, the vocabulary) and of the logo index's prepared shape models: native byte order, no padding, read
// back by the same build.
#pragma once

#include <cstring>
#include <string>
#include <string_view>

namespace cluetrace::binary_io {

template <typename T>
void put(std::string& out, const T& value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// Takes a T from the front of `in`; false (and `in` unchanged) when fewer bytes are left.
template <typename T>
bool take(std::string_view& in, T& value) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(&value, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

}  // namespace cluetrace::binary_io
