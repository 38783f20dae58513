// The messages between the supervisor and its worker process, over two pipes: images to do go one way,
// reports come back the other. Each message is a frame: a 4-byte length, a 1-byte type, the payload. A frame
// cut off by the worker's death is simply never complete, so it is never taken for a message.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pipeline/types.hpp"

namespace cluetrace {

enum class FrameType : std::uint8_t {
  item = 1,            // supervisor -> worker: an image to do (ItemFrame)
  ready = 2,           // worker: stages prepared, send images
  prepare_failed = 3,  // worker: a stage cannot start (the message)
  report = 4,          // worker: one image's report (ReportFrame)
  fatal = 5,           // worker: the run cannot go on (the message; e.g. the disk is full)
  done = 6,            // worker: no more images, all reported
  loaded = 7,          // worker: every stage's load() has returned (each stage's load_ms)
};

struct Frame {
  FrameType type{};
  std::string payload;
};

struct ItemFrame {
  std::size_t seq = 0;
  InputItem item;
};

struct ReportFrame {
  std::size_t seq = 0;
  ImageStatus status = ImageStatus::ok;
  std::string line;  // the report as one JSON line, without its newline
};

std::string encode_item(const ItemFrame& item);
ItemFrame decode_item(std::string_view payload);  // throws std::runtime_error on a malformed payload
std::string encode_report(const ReportFrame& report);
ReportFrame decode_report(std::string_view payload);

// One frame's bytes: header and payload.
std::string encode_frame(FrameType type, std::string_view payload);

// Writes one whole frame (blocking, EINTR retried). Throws std::system_error when the pipe is gone.
void write_frame(int fd, FrameType type, std::string_view payload);

// Reads one whole frame (blocking); nullopt at end of file, also when the file ends inside a frame.
std::optional<Frame> read_frame(int fd);

// Collects bytes read without blocking and hands out the complete frames among them.
class FrameBuffer {
 public:
  void append(std::string_view bytes) { data_.append(bytes); }
  std::optional<Frame> next();
  bool has_partial() const { return start_ < data_.size(); }

 private:
  std::string data_;
  std::size_t start_ = 0;
};

}  // namespace cluetrace
