// Contract: MD5, SHA-1 and SHA-256 of the file bytes match the published test vectors (FIPS 180, RFC 1321).
#include <gtest/gtest.h>

#include "pipeline/digest.hpp"

using namespace cluetrace;

namespace {

FileDigests digest_of(std::string_view text, std::size_t chunk) {
  MultiDigest digest;
  for (std::size_t i = 0; i < text.size(); i += chunk) {
    const auto part = text.substr(i, chunk);
    digest.update({reinterpret_cast<const unsigned char*>(part.data()), part.size()});
  }
  return digest.finish();
}

TEST(Digest, MatchesPublishedVectorsForAbc) {
  const auto d = digest_of("abc", 3);
  EXPECT_EQ(d.md5, "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(d.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(d.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Digest, MatchesPublishedVectorsForEmptyInput) {
  const auto d = digest_of("", 1);
  EXPECT_EQ(d.md5, "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(d.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, ChunkingDoesNotChangeTheResult) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += static_cast<char>(i * 7);
  const auto whole = digest_of(text, text.size());
  for (std::size_t chunk : {1u, 63u, 64u, 4096u}) {
    const auto parts = digest_of(text, chunk);
    EXPECT_EQ(parts.sha256, whole.sha256);
    EXPECT_EQ(parts.md5, whole.md5);
    EXPECT_EQ(parts.sha1, whole.sha1);
  }
  EXPECT_EQ(sha256_hex(text), whole.sha256);
}

}  // namespace
