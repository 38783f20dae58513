#include "pipeline/image_codecs.hpp"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>

#include <fmt/format.h>

#ifndef CLUETRACE_IMGCODECS_SONAME
#error "CLUETRACE_IMGCODECS_SONAME: the soname of libopencv_imgcodecs, set by CMakeLists.txt"
#endif

namespace cluetrace::codecs {
namespace {

using Imdecode = cv::Mat (*)(const cv::_InputArray&, int);
using Imencode = bool (*)(const cv::String&, const cv::_InputArray&, std::vector<uchar>&, const std::vector<int>&);
using Imread = cv::Mat (*)(const cv::String&, int);
using Imwrite = bool (*)(const cv::String&, const cv::_InputArray&, const std::vector<int>&);

// OpenCV 4's symbols for the four functions (GCC's C++ ABI, std::string as libstdc++'s __cxx11 string).
constexpr const char* kImdecode = "_ZN2cv8imdecodeERKNS_11_InputArrayEi";
constexpr const char* kImencode =
    "_ZN2cv8imencodeERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_11_InputArrayERSt6vectorIhSaIhEERKSB_IiSaIiEE";
constexpr const char* kImread = "_ZN2cv6imreadERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEi";
constexpr const char* kImwrite =
    "_ZN2cv7imwriteERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERKNS_11_InputArrayERKSt6vectorIiSaIiEE";

struct Library {
  Imdecode imdecode = nullptr;
  Imencode imencode = nullptr;
  Imread imread = nullptr;
  Imwrite imwrite = nullptr;
  std::string error;  // why it could not be loaded; empty when it was
};

template <typename F>
F symbol(void* handle, const char* name, std::string& error) {
  void* address = ::dlsym(handle, name);
  if (!address && error.empty()) error = fmt::format("{} has no {}", CLUETRACE_IMGCODECS_SONAME, name);
  return reinterpret_cast<F>(address);
}

const Library& library() {
  static Library lib;
  static std::once_flag once;
  std::call_once(once, [] {
    // Never closed: OpenCV's codecs keep state (registered decoders) for the life of the process.
    void* handle = ::dlopen(CLUETRACE_IMGCODECS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = ::dlerror();
      lib.error = fmt::format("cannot load OpenCV's image codecs ({}): {}", CLUETRACE_IMGCODECS_SONAME, why ? why : "unknown error");
      return;
    }
    lib.imdecode = symbol<Imdecode>(handle, kImdecode, lib.error);
    lib.imencode = symbol<Imencode>(handle, kImencode, lib.error);
    lib.imread = symbol<Imread>(handle, kImread, lib.error);
    lib.imwrite = symbol<Imwrite>(handle, kImwrite, lib.error);
  });
  if (!lib.error.empty()) throw std::runtime_error(lib.error);
  return lib;
}

}  // namespace

cv::Mat imdecode(cv::InputArray buf, int flags) { return library().imdecode(buf, flags); }

bool imencode(const std::string& ext, cv::InputArray img, std::vector<uchar>& buf, const std::vector<int>& params) {
  return library().imencode(ext, img, buf, params);
}

cv::Mat imread(const std::string& filename, int flags) { return library().imread(filename, flags); }

bool imwrite(const std::string& filename, cv::InputArray img, const std::vector<int>& params) {
  return library().imwrite(filename, img, params);
}

const char* library_name() { return CLUETRACE_IMGCODECS_SONAME; }

}  // namespace cluetrace::codecs
