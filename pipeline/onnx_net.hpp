// Reading the ONNX nets of the text stages (PP-OCRv4's detector and line recogniser) with two layers of
// cluetrace's own in place of OpenCV 4.6's slow ones (pipeline/dnn_layers.hpp): the depthwise convolution with
// a 5 x 5 kernel, and the product of two tensors. Every other layer, and every convolution or element-wise
// layer they do not claim, is OpenCV's own. Tests: tests/pipeline/onnx_net_test.cpp.
#pragma once

#include <cstddef>

#include <opencv2/dnn.hpp>

namespace cluetrace {

// readNetFromONNX() with cluetrace's layers where they apply. Throws what OpenCV throws for a file it cannot
// read. A net read any other way once this has returned is OpenCV's alone: the overrides are registered with
// OpenCV only while this net is read.
cv::dnn::Net read_onnx_net(const char* bytes, std::size_t size);

}  // namespace cluetrace
