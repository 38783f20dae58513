// OpenCV's image codecs (libopencv_imgcodecs), loaded when first used rather than when the program starts.
//
// That one library links about 140 others (GDAL, GDCM, poppler, HDF5, NetCDF ...): 0.10 s of every process start
// here (an empty program linked with everything cluetrace links: 0.164 s, without the codecs 0.061 s), paid twice
// by every command because of the huge-pages restart (pipeline/huge_pages.hpp), for functions that only the worker,
// the catalogue tools and the review server call. These are OpenCV's own functions, looked up in the library by
// name (their C++ symbols in Debian 12's OpenCV 4.6); their behaviour is OpenCV's. The core library does not link
// libopencv_imgcodecs (CMakeLists.txt): a direct call to cv::imdecode and the like no longer links.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>  // the IMREAD_* and IMWRITE_* constants only

namespace cluetrace::codecs {

// As cv::imdecode, cv::imencode, cv::imread and cv::imwrite. The first call loads the library; when it cannot
// be loaded, each throws std::runtime_error naming the library and why.
cv::Mat imdecode(cv::InputArray buf, int flags);
bool imencode(const std::string& ext, cv::InputArray img, std::vector<uchar>& buf, const std::vector<int>& params = {});
cv::Mat imread(const std::string& filename, int flags = cv::IMREAD_COLOR);
bool imwrite(const std::string& filename, cv::InputArray img, const std::vector<int>& params = {});

// The library's name as it is loaded (its soname), for messages and run.json.
const char* library_name();

}  // namespace cluetrace::codecs
