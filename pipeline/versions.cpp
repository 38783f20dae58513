#include "pipeline/versions.hpp"

#include <dlfcn.h>
#include <gnu/libc-version.h>

#include <leptonica/allheaders.h>
#include <oneapi/tbb/version.h>
#include <openssl/crypto.h>
#include <tesseract/baseapi.h>

#include <fmt/format.h>
#include <opencv2/core/version.hpp>
#include <spdlog/version.h>

#include "pipeline/huge_pages.hpp"

namespace cluetrace {

std::string allocator_version() {
  // Looked up in the running process: the CLI links tcmalloc, which replaces malloc for every library; the core
  // library and its tests use glibc's.
  using TcVersion = const char* (*)(int*, int*, const char**);
  if (const auto tc_version = reinterpret_cast<TcVersion>(::dlsym(RTLD_DEFAULT, "tc_version"))) {
    int major = 0, minor = 0;
    const char* patch = nullptr;
    tc_version(&major, &minor, &patch);
    return fmt::format("tcmalloc {}.{}{}", major, minor, patch ? patch : "");
  }
  return fmt::format("glibc malloc {}", gnu_get_libc_version());
}

nlohmann::ordered_json library_versions() {
  nlohmann::ordered_json v;
  v["cluetrace"] = CLUETRACE_VERSION;
  v["tesseract"] = tesseract::TessBaseAPI::Version();
  char* lept = getLeptonicaVersion();
  v["leptonica"] = lept ? lept : "unknown";
  lept_free(lept);
  v["opencv"] = CV_VERSION;
  v["onetbb"] = TBB_runtime_version();
  v["yaml-cpp"] = CLUETRACE_YAMLCPP_VERSION;
  v["nlohmann-json"] = fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR, NLOHMANN_JSON_VERSION_MINOR,
                                   NLOHMANN_JSON_VERSION_PATCH);
  v["spdlog"] = fmt::format("{}.{}.{}", SPDLOG_VER_MAJOR, SPDLOG_VER_MINOR, SPDLOG_VER_PATCH);
  v["openssl"] = OpenSSL_version(OPENSSL_VERSION);
  v["allocator"] = allocator_version() + (heap_uses_huge_pages() ? ", transparent huge pages" : "");
  return v;
}

}  // namespace cluetrace
