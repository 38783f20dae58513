// MD5, SHA-1 and SHA-256 of the same bytes in one pass (OpenSSL 3 EVP).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "pipeline/types.hpp"

namespace cluetrace {

class MultiDigest {
 public:
  MultiDigest();
  ~MultiDigest();
  MultiDigest(const MultiDigest&) = delete;
  MultiDigest& operator=(const MultiDigest&) = delete;

  void update(std::span<const unsigned char> bytes);
  FileDigests finish();  // the object is spent afterwards

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace cluetrace
