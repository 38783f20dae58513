#include "pipeline/digest.hpp"

#include <array>
#include <stdexcept>

#include <openssl/evp.h>

namespace cluetrace {
namespace {

struct CtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using CtxPtr = std::unique_ptr<EVP_MD_CTX, CtxDeleter>;

CtxPtr make_ctx(const EVP_MD* md) {
  CtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) throw std::runtime_error("OpenSSL: digest init failed");
  return ctx;
}

std::string finish_hex(EVP_MD_CTX* ctx) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md.data(), &len) != 1) throw std::runtime_error("OpenSSL: digest final failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[md[i] >> 4]);
    hex.push_back(kHex[md[i] & 0xf]);
  }
  return hex;
}

}  // namespace

struct MultiDigest::Impl {
  CtxPtr md5 = make_ctx(EVP_md5());
  CtxPtr sha1 = make_ctx(EVP_sha1());
  CtxPtr sha256 = make_ctx(EVP_sha256());
};

MultiDigest::MultiDigest() : impl_(std::make_unique<Impl>()) {}
MultiDigest::~MultiDigest() = default;

void MultiDigest::update(std::span<const unsigned char> bytes) {
  for (EVP_MD_CTX* ctx : {impl_->md5.get(), impl_->sha1.get(), impl_->sha256.get()}) {
    if (EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) != 1) throw std::runtime_error("OpenSSL: digest update failed");
  }
}

FileDigests MultiDigest::finish() {
  return {finish_hex(impl_->md5.get()), finish_hex(impl_->sha1.get()), finish_hex(impl_->sha256.get())};
}

std::string sha256_hex(std::string_view bytes) {
  auto ctx = make_ctx(EVP_sha256());
  if (EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size()) != 1) throw std::runtime_error("OpenSSL: digest update failed");
  return finish_hex(ctx.get());
}

}  // namespace cluetrace
