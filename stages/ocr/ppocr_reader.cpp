#include "stages/ocr/ppocr_reader.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/digest.hpp"
#include "pipeline/models.hpp"
#include "pipeline/onnx_net.hpp"

namespace cluetrace::ocr {
namespace {

constexpr int kHeight = 48;
constexpr int kStride = 8;  // input pixels per output step

// The first code point of a UTF-8 string.
char32_t first_code_point(const std::string& s) {
  if (s.empty()) return 0;
  const auto b = static_cast<unsigned char>(s[0]);
  if (b < 0x80) return b;
  const int extra = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : 1;
  char32_t cp = b & (0x3F >> extra);
  for (int i = 1; i <= extra && i < static_cast<int>(s.size()); ++i) cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
  return cp;
}

// Latin letters (with their accents), digits, punctuation and currency signs: what European text is written
// with. The dictionary's CJK characters, full-width forms and circled digits are never output.
bool latin_symbol(const std::string& symbol) {
  const char32_t cp = first_code_point(symbol);
  return (cp >= 0x20 && cp < 0x7F) || (cp >= 0xA0 && cp < 0x250) || (cp >= 0x2010 && cp < 0x2060) ||
         (cp >= 0x20A0 && cp < 0x20D0);
}

// The shape of a net's one output for a line of `width` pixels, from its layers' shapes alone: OpenCV
// propagates the input shape through the graph without computing anything, and throws where a layer cannot
// take it (a net frozen for another width). A forward pass of a blank line at each width, which this replaced,
// was a sixth of the stage's start-up (bench/RESULTS.md, issue 16). Empty when the net has no single output.
cv::dnn::MatShape output_shape(cv::dnn::Net& net, int width) {
  const std::vector<int> outputs = net.getUnconnectedOutLayers();
  if (outputs.size() != 1) return {};
  std::vector<cv::dnn::MatShape> in, out;
  net.getLayerShapes(cv::dnn::MatShape{1, 3, kHeight, width}, outputs.front(), in, out);
  return out.size() == 1 ? out.front() : cv::dnn::MatShape{};
}

// The layer whose output the net's final softmax takes (the export puts an Identity after it), when the softmax
// is over the last axis of an output shaped like that layer's; empty otherwise.
std::string scores_layer(cv::dnn::Net& net, int width) {
  const std::vector<int> outputs = net.getUnconnectedOutLayers();
  if (outputs.size() != 1) return {};
  const auto layer_shape = [&](int id) {
    std::vector<cv::dnn::MatShape> in, out;
    net.getLayerShapes(cv::dnn::MatShape{1, 3, kHeight, width}, id, in, out);
    return out;
  };
  const auto only_input = [&](int id) {
    const auto inputs = net.getLayerInputs(id);
    return inputs.size() == 1 ? net.getLayerId(inputs.front()->name) : -1;
  };
  int softmax = outputs.front();
  while (softmax >= 0 && net.getLayer(softmax)->type == "Identity") softmax = only_input(softmax);
  if (softmax < 0 || net.getLayer(softmax)->type != "Softmax") return {};
  const int scores = only_input(softmax);
  if (scores < 0) return {};
  const auto before = layer_shape(scores), after = layer_shape(outputs.front());
  return before == after && after.size() == 1 && after.front().size() == 3 ? net.getLayer(scores)->name : std::string();
}

}  // namespace

void PpocrReader::prepare() {
  const auto keys_file = folder_ / "keys.txt";
  const auto keys = read_model_bytes(keys_file);
  keys_sha256_ = sha256_hex(std::string_view(keys.data(), keys.size()));
  symbols_.clear();
  std::string line;
  for (char c : keys) {
    if (c == '\n') {
      symbols_.push_back(line);
      line.clear();
    } else if (c != '\r') {
      line += c;
    }
  }
  if (!line.empty()) symbols_.push_back(line);
  charset_.clear();
  allowed_.assign(symbols_.size() + 2, 1);  // CTC blank first, space last: both always allowed
  for (std::size_t i = 0; i < symbols_.size(); ++i) {
    if (latin_symbol(symbols_[i])) {
      charset_.insert(symbols_[i]);
    } else {
      allowed_[i + 1] = 0;
    }
  }

  if (widths_.empty()) throw std::runtime_error(fmt::format("no recognition width given for {}", folder_.string()));
  std::vector<int> widths = widths_;
  std::sort(widths.begin(), widths.end());
  models_.clear();
  std::vector<char> narrowest;  // the bytes hashed for run.json are the bytes the first net is built from
  for (const int width : widths) {
    if (width <= 0 || width % kStride != 0) {
      throw std::runtime_error(fmt::format("recognition width {} is not a positive multiple of {}", width, kStride));
    }
    Model model{width, folder_ / fmt::format("rec-{}.onnx", width), {}};
    auto bytes = read_model_bytes(model.file);
    model.sha256 = sha256_hex(std::string_view(bytes.data(), bytes.size()));
    if (models_.empty()) narrowest = std::move(bytes);
    models_.push_back(std::move(model));
  }
  // The narrowest net now: it checks the dictionary against the nets' classes and finds the layer the decoder
  // reads. The others are built where a line first needs them (make_net, checked the same way): a run of one
  // photo builds only the widths its lines need, and the start does not wait for seven nets.
  cv::dnn::Net first = built(models_.front(), narrowest);
  scores_ = softmax_ == Softmax::decoder ? scores_layer(first, models_.front().width) : std::string();
  nets_.give(0, std::move(first));  // the checked nets are the pool's first: the preparing thread reads no lines
}

nlohmann::ordered_json PpocrReader::resources() const {
  nlohmann::ordered_json j;
  j["folder"] = folder_.string();
  j["keys_sha256"] = keys_sha256_;
  for (const auto& m : models_) {
    j["models"].push_back({{"width", m.width}, {"sha256", m.sha256}, {"softmax", scores_.empty() ? "net" : "decoder"}});
  }
  return j;
}

// The net of `m` from its file's bytes, checked to output [1, width / 8, classes]: OpenCV propagates the input
// shape through the graph without computing anything (a net frozen for another width throws there, or gives
// another shape).
cv::dnn::Net PpocrReader::built(const Model& m, const std::vector<char>& bytes) const {
  const auto classes = static_cast<int>(symbols_.size()) + 2;  // CTC blank first, space last
  cv::dnn::Net n;
  cv::dnn::MatShape out;
  try {
    n = read_onnx_net(bytes.data(), bytes.size());
    out = output_shape(n, m.width);
  } catch (const cv::Exception& e) {
    throw std::runtime_error(fmt::format("{} cannot be loaded: {}", m.file.string(), e.err));
  }
  if (out != cv::dnn::MatShape{1, m.width / kStride, classes}) {
    throw std::runtime_error(fmt::format("{} does not output [1, {}, {}] for {}", m.file.string(), m.width / kStride,
                                         classes, (folder_ / "keys.txt").string()));
  }
  return n;
}

// A net of one width from its file again (its bytes are not kept in memory), checked to be the one prepare()
// hashed for run.json.
cv::dnn::Net PpocrReader::make_net(std::size_t model) const {
  const auto& m = models_[model];
  const auto bytes = read_model_bytes(m.file);
  if (sha256_hex(std::string_view(bytes.data(), bytes.size())) != m.sha256)
    throw std::runtime_error(fmt::format("{} changed since the run started (sha256 no longer {})", m.file.string(), m.sha256));
  cv::dnn::Net n = built(m, bytes);
  // The decoder stops every net where it stopped the first: a net that ends otherwise is not this model.
  if (softmax_ == Softmax::decoder && scores_layer(n, m.width) != scores_) {
    throw std::runtime_error(fmt::format("{} does not end in the layers of {}", m.file.string(), models_.front().file.string()));
  }
  return n;
}

PpocrReading PpocrReader::read(const cv::Mat& line) {
  PpocrReading reading;
  if (line.empty() || models_.empty()) return reading;
  cv::Mat bgr;
  if (line.channels() == 1) {
    cv::cvtColor(line, bgr, cv::COLOR_GRAY2BGR);
  } else {
    bgr = line;
  }
  // Height 48 at the line's own aspect ratio, in the narrowest net it fits. A line longer than the widest is
  // not read: squeezed, its letters become unreadable (Tesseract reads it alone).
  const int natural = std::max(kStride, static_cast<int>(std::lround(static_cast<double>(bgr.cols) * kHeight / bgr.rows)));
  if (natural > models_.back().width * 9 / 8) return reading;
  std::size_t chosen = models_.size() - 1;
  for (std::size_t i = 0; i < models_.size(); ++i) {
    if (models_[i].width >= natural) {
      chosen = i;
      break;
    }
  }
  const int width = models_[chosen].width;
  const int content = std::min(natural, width);
  cv::Mat resized, scaled;
  cv::resize(bgr, resized, cv::Size(content, kHeight), 0, 0, content < bgr.cols ? cv::INTER_AREA : cv::INTER_LINEAR);
  resized.convertTo(scaled, CV_32F, 1.0 / 127.5, -1.0);  // PaddleOCR's (x / 255 - 0.5) / 0.5
  cv::Mat padded;
  cv::copyMakeBorder(scaled, padded, 0, 0, 0, width - content, cv::BORDER_CONSTANT, cv::Scalar::all(0));
  const cv::Mat blob = cv::dnn::blobFromImage(padded);
  reading.pixels_per_step = static_cast<double>(kStride) * bgr.cols / content;
  const auto make = [this](NetPool::Key model) { return make_net(static_cast<std::size_t>(model)); };
  nets_.run(chosen, make, [&](cv::dnn::Net& n) {
    n.setInput(blob);
    // While the output is still in the net's buffers.
    if (scores_.empty()) {
      decode(n.forward(), false, reading);
    } else {
      decode(n.forward(scores_), true, reading);
    }
  });
  return reading;
}

// Greedy CTC decoding of the net's output (1 x steps x classes): the most probable allowed class of each
// step, repeats and blanks dropped. From scores, that class's probability is the softmax's:
// exp(s_k - max) / sum_j exp(s_j - max), over every class (allowed or not), as the net's last layer computes it.
void PpocrReader::decode(const cv::Mat& out, bool scores, PpocrReading& reading) const {
  const int steps = out.size[1], classes = out.size[2];
  const cv::Mat values(steps, classes, CV_32F, const_cast<float*>(out.ptr<float>()));
  const int space = classes - 1;
  cv::Mat shifted, exps;
  int previous = 0;
  for (int t = 0; t < steps; ++t) {
    const float* row = values.ptr<float>(t);
    int k = 0;
    for (int c = 1; c < classes; ++c) {
      if (row[c] > row[k] && allowed_[static_cast<std::size_t>(c)]) k = c;
    }
    if (k == 0 || k == previous) {  // a blank or a repeat: no probability needed
      previous = k;
      continue;
    }
    double p = row[k];
    if (scores) {
      double top = 0;
      cv::minMaxLoc(values.row(t), nullptr, &top);
      cv::subtract(values.row(t), cv::Scalar::all(top), shifted);
      cv::exp(shifted, exps);
      p = std::exp(static_cast<double>(row[k]) - top) / cv::sum(exps)[0];
    }
    std::string symbol = k == space ? " " : (k - 1 < static_cast<int>(symbols_.size()) ? symbols_[k - 1] : "");
    if (!symbol.empty()) reading.characters.push_back({std::move(symbol), static_cast<float>(p), t});
    previous = k;
  }
}

}  // namespace cluetrace::ocr
