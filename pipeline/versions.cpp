#include "pipeline/versions.hpp"

#include <leptonica/allheaders.h>
#include <oneapi/tbb/version.h>
#include <openssl/crypto.h>
#include <tesseract/baseapi.h>

#include <fmt/format.h>
#include <opencv2/core/version.hpp>
#include <spdlog/version.h>

namespace cluetrace {

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
  return v;
}

}  // namespace cluetrace
