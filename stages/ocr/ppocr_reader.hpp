// The OCR stage's second line reader: PP-OCRv4's recognition network (SVTR-LCNet, CTC) through OpenCV DNN,
// with greedy CTC decoding. The model comes frozen to a few input widths (scripts/patch_onnx_rec.py); a line
// is scaled to the network's height of 48 pixels and read by the narrowest net it fits.
#pragma once

#include <filesystem>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "pipeline/net_pool.hpp"

namespace cluetrace::ocr {

struct PpocrCharacter {
  std::string utf8;          // one character, or " " between words
  float probability = 0;     // the network's probability for it at the step it was read
  int step = 0;              // the output step (each covers pixels_per_step of the line given to read())
};

struct PpocrReading {
  std::vector<PpocrCharacter> characters;
  double pixels_per_step = 0;
};

class PpocrReader {
 public:
  // Where the characters' probabilities come from. The net ends in a softmax over its 6,625 classes, 8 % of a
  // pass in OpenCV (40 x 6,625 values for a 320-pixel line); the decoder needs only the probability of the one
  // class it keeps at each step, so by default it stops the net at the scores before the softmax and computes
  // that probability itself (the same values within float rounding: tests/stages/ocr/ppocr_reader_test.cpp).
  enum class Softmax { decoder, net };

  // `folder` holds rec-<width>.onnx files and keys.txt (the dictionary, one character per line); the nets of
  // `widths` are used (each costs memory for every two worker threads, more the wider it is).
  PpocrReader(std::filesystem::path folder, std::vector<int> widths, Softmax softmax = Softmax::decoder)
      : folder_(std::move(folder)),
        widths_(std::move(widths)),
        softmax_(softmax),
        nets_(0.5, std::max<std::size_t>(1, widths_.size())) {}

  // Loads the dictionary, hashes every width's model (for run.json) and builds and checks the narrowest net;
  // throws naming the file that is missing or unusable. The other widths' nets are built and checked when a
  // line first needs them: read() then throws naming a file that cannot be used.
  void prepare();
  // Reads one upright line of text (8-bit, 1 or 3 channels, dark or light text). Nothing when the line, 48
  // pixels high, is more than 1/8 wider than the widest net (squeezing it further garbles the letters).
  PpocrReading read(const cv::Mat& line) ;
  // Whether it can output this character (UTF-8, one code point): the dictionary's Latin-script letters,
  // digits, punctuation and currency signs.
  bool spells(const std::string& character) const { return charset_.count(character) > 0; }
  nlohmann::ordered_json resources() const;

 private:
  struct Model {
    int width = 0;
    std::filesystem::path file;  // read again by each thread that builds its net
    std::string sha256;          // of the file when prepared
  };
  // A net of one width from its file, checked to be the one prepare() hashed for run.json, to output
  // [1, width / 8, classes] and to end in the softmax whose input the decoder reads (scores_).
  cv::dnn::Net make_net(std::size_t model) const;
  cv::dnn::Net built(const Model& m, const std::vector<char>& bytes) const;  // its output shape checked
  // Greedy CTC decoding of `out` (1 x steps x classes): probabilities, or scores before the softmax.
  void decode(const cv::Mat& out, bool scores, PpocrReading& reading) const;

  std::filesystem::path folder_;
  std::vector<int> widths_;
  Softmax softmax_;
  std::vector<std::string> symbols_;  // output class k (1-based) is symbols_[k - 1]; the class after them is a space
  std::unordered_set<std::string> charset_;  // what it may output
  std::vector<unsigned char> allowed_;       // per output class
  std::string keys_sha256_;
  std::vector<Model> models_;  // ascending width
  // The layer whose output the nets' softmax takes (the same in every width's net); empty: the net's output is read.
  std::string scores_;
  // Half the threads read at once, each with a net of every width kept; the net prepare() checked is the first.
  NetPool nets_;
};

}  // namespace cluetrace::ocr
