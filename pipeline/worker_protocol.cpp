#include "pipeline/worker_protocol.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace cluetrace {
namespace {

constexpr std::size_t kHeaderBytes = 5;  // length (4, little-endian, of type + payload) then type
constexpr std::size_t kMaxFrameBytes = std::size_t{1} << 30;

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class Cursor {
 public:
  explicit Cursor(std::string_view data) : data_(data) {}
  std::uint64_t u64() { return number(8); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(number(4)); }
  std::uint8_t u8() { return static_cast<std::uint8_t>(number(1)); }
  std::string_view bytes(std::size_t n) {
    need(n);
    const auto out = data_.substr(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view rest() { return bytes(data_.size() - pos_); }

 private:
  void need(std::size_t n) const {
    if (data_.size() - pos_ < n) throw std::runtime_error("malformed message between supervisor and worker");
  }
  std::uint64_t number(int width) {
    const auto b = bytes(static_cast<std::size_t>(width));
    std::uint64_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[static_cast<std::size_t>(i)]);
    return v;
  }
  std::string_view data_;
  std::size_t pos_ = 0;
};

std::uint32_t frame_length(const char* header) {
  std::uint32_t length = 0;
  for (int i = 3; i >= 0; --i) length = (length << 8) | static_cast<unsigned char>(header[i]);
  return length;
}

// Reads exactly n bytes; false at end of file (also after part of them).
bool read_exactly(int fd, char* out, std::size_t n) {
  while (n > 0) {
    const auto got = ::read(fd, out, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "reading from the supervisor");
    }
    if (got == 0) return false;
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

}  // namespace

std::string encode_item(const ItemFrame& item) {
  std::string out;
  put_u64(out, item.seq);
  put_u64(out, item.item.walk_index);
  put_u32(out, static_cast<std::uint32_t>(item.item.path.size()));
  out += item.item.path;
  put_u32(out, static_cast<std::uint32_t>(item.item.display_path.size()));
  out += item.item.display_path;
  return out;
}

ItemFrame decode_item(std::string_view payload) {
  Cursor c(payload);
  ItemFrame item;
  item.seq = c.u64();
  item.item.walk_index = c.u64();
  item.item.path = std::string(c.bytes(c.u32()));
  item.item.display_path = std::string(c.bytes(c.u32()));
  return item;
}

std::string encode_report(const ReportFrame& report) {
  std::string out;
  put_u64(out, report.seq);
  out.push_back(static_cast<char>(report.status));
  out += report.line;
  return out;
}

ReportFrame decode_report(std::string_view payload) {
  Cursor c(payload);
  ReportFrame report;
  report.seq = c.u64();
  const auto status = c.u8();
  if (status > static_cast<std::uint8_t>(ImageStatus::failed)) throw std::runtime_error("malformed report status from the worker");
  report.status = static_cast<ImageStatus>(status);
  report.line = std::string(c.rest());
  return report;
}

std::string encode_frame(FrameType type, std::string_view payload) {
  if (payload.size() + 1 > kMaxFrameBytes) throw std::length_error("message too large for the worker pipe");
  std::string frame;
  frame.reserve(kHeaderBytes + payload.size());
  put_u32(frame, static_cast<std::uint32_t>(payload.size() + 1));
  frame.push_back(static_cast<char>(type));
  frame.append(payload);
  return frame;
}

void write_frame(int fd, FrameType type, std::string_view payload) {
  const std::string frame = encode_frame(type, payload);
  std::string_view rest = frame;
  while (!rest.empty()) {
    const auto n = ::write(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "writing to the pipe between supervisor and worker");
    }
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::optional<Frame> read_frame(int fd) {
  char header[kHeaderBytes];
  if (!read_exactly(fd, header, kHeaderBytes)) return std::nullopt;
  const auto length = frame_length(header);
  if (length == 0 || length > kMaxFrameBytes) throw std::runtime_error("malformed frame length between supervisor and worker");
  Frame frame;
  frame.type = static_cast<FrameType>(header[4]);
  frame.payload.resize(length - 1);
  if (!read_exactly(fd, frame.payload.data(), frame.payload.size())) return std::nullopt;
  return frame;
}

std::optional<Frame> FrameBuffer::next() {
  if (data_.size() - start_ < kHeaderBytes) return std::nullopt;
  const auto length = frame_length(data_.data() + start_);
  if (length == 0 || length > kMaxFrameBytes) throw std::runtime_error("malformed frame length from the worker");
  if (data_.size() - start_ < 4 + std::size_t{length}) return std::nullopt;
  Frame frame;
  frame.type = static_cast<FrameType>(data_[start_ + 4]);
  frame.payload = data_.substr(start_ + kHeaderBytes, length - 1);
  start_ += 4 + std::size_t{length};
  if (start_ > (1 << 20) && start_ * 2 > data_.size()) {  // drop what was handed out, now and then
    data_.erase(0, start_);
    start_ = 0;
  }
  return frame;
}

}  // namespace cluetrace
