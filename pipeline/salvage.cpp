#include "pipeline/salvage.hpp"

#include <csetjmp>
#include <cstdio>
#include <cstring>

// libjpeg and libpng report errors by longjmp: each is driven from a function of its own that holds no
// object with a destructor between setjmp and the calls that may jump.
#include <jpeglib.h>
#include <png.h>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

namespace cluetrace {
namespace {

// ---------------------------------------------------------------------------------------------- JPEG

struct JpegState {
  jpeg_error_mgr manager;  // first: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  bool reading_rows = false;
  int first_warning_row = -1;  // output row at the first warning while rows were read (damaged data begins)
  char warning[JMSG_LENGTH_MAX] = {};
  char error[JMSG_LENGTH_MAX] = {};
};

extern "C" void jpeg_on_error(j_common_ptr cinfo) {
  auto* state = reinterpret_cast<JpegState*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, state->error);
  std::longjmp(state->jump, 1);
}

extern "C" void jpeg_on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;  // trace messages
  auto* state = reinterpret_cast<JpegState*>(cinfo->err);
  if (!state->reading_rows || state->first_warning_row >= 0) return;
  state->first_warning_row = static_cast<int>(reinterpret_cast<j_decompress_ptr>(cinfo)->output_scanline);
  (*cinfo->err->format_message)(cinfo, state->warning);
}

struct JpegOutcome {
  int rows_read = 0;
  int width = 0, height = 0;
  int imcu_rows = 8;      // rows per iMCU row: damage spoils a whole one
  bool progressive = false;
  int scans = 0;          // scans begun before the data ended (progressive files)
  bool cmyk = false, inverted_cmyk = false;
};

void decode_jpeg_rows(const unsigned char* data, std::size_t size, JpegState& state, cv::Mat& out, JpegOutcome& outcome) {
  jpeg_decompress_struct cinfo{};
  cinfo.err = jpeg_std_error(&state.manager);
  state.manager.error_exit = jpeg_on_error;
  state.manager.emit_message = jpeg_on_message;
  if (setjmp(state.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  outcome.cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  outcome.inverted_cmyk = outcome.cmyk && cinfo.saw_Adobe_marker;
  cinfo.out_color_space = outcome.cmyk ? JCS_CMYK : (cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_EXT_BGR);
  outcome.progressive = jpeg_has_multiple_scans(&cinfo);
  jpeg_start_decompress(&cinfo);  // a progressive file is read whole here, up to where it ends
  outcome.scans = cinfo.input_scan_number;
  outcome.width = static_cast<int>(cinfo.output_width);
  outcome.height = static_cast<int>(cinfo.output_height);
  outcome.imcu_rows = cinfo.max_v_samp_factor * DCTSIZE;
  out.create(outcome.height, outcome.width, CV_8UC(cinfo.output_components));
  state.reading_rows = true;
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = out.ptr(static_cast<int>(cinfo.output_scanline));
    jpeg_read_scanlines(&cinfo, &row, 1);
    outcome.rows_read = static_cast<int>(cinfo.output_scanline);
  }
  state.reading_rows = false;
  jpeg_abort_decompress(&cinfo);  // not finish: trailing damage after the last row is no reason to fail
  jpeg_destroy_decompress(&cinfo);
}

cv::Mat cmyk_to_bgr(const cv::Mat& cmyk, bool inverted) {
  cv::Mat bgr(cmyk.rows, cmyk.cols, CV_8UC3);
  for (int y = 0; y < cmyk.rows; ++y) {
    const auto* in = cmyk.ptr<unsigned char>(y);
    auto* out = bgr.ptr<unsigned char>(y);
    for (int x = 0; x < cmyk.cols; ++x, in += 4, out += 3) {
      // Adobe writes inverted CMYK (0 = full ink): the product with K gives the colour directly.
      const int c = inverted ? in[0] : 255 - in[0], m = inverted ? in[1] : 255 - in[1];
      const int yy = inverted ? in[2] : 255 - in[2], k = inverted ? in[3] : 255 - in[3];
      out[0] = static_cast<unsigned char>(yy * k / 255);
      out[1] = static_cast<unsigned char>(m * k / 255);
      out[2] = static_cast<unsigned char>(c * k / 255);
    }
  }
  return bgr;
}

std::optional<SalvagedImage> salvage_jpeg(std::span<const unsigned char> bytes, const std::string& damage) {
  JpegState state;
  cv::Mat decoded;
  JpegOutcome outcome;
  decode_jpeg_rows(bytes.data(), bytes.size(), state, decoded, outcome);
  if (decoded.empty()) return std::nullopt;
  int valid = outcome.rows_read;
  std::string how;
  if (outcome.progressive) {
    // Every scan covers the whole picture: a cut after the first leaves all rows, with less detail.
    if (outcome.scans < 2 || outcome.rows_read < outcome.height) return std::nullopt;
    how = fmt::format("{}; progressive JPEG: the whole picture decoded from the {} scan(s) before the damage, at reduced "
                      "detail, and analysed",
                      damage, outcome.scans - 1);
  } else {
    if (state.first_warning_row >= 0) {
      // The damaged iMCU row and anything after it are filler: keep the rows before it.
      valid = std::min(valid, state.first_warning_row / outcome.imcu_rows * outcome.imcu_rows);
    }
    if (valid >= outcome.height) {
      how = fmt::format("{}; every row decoded and was analysed", damage);
    } else {
      const char* cause = state.warning[0] ? state.warning : state.error;
      how = fmt::format("{}; rows 0-{} of {} decoded from intact data and were analysed, the rest is missing or damaged "
                        "(decoder: {})",
                        damage, valid - 1, outcome.height, cause[0] ? cause : "no more data");
    }
  }
  if (valid < kMinSalvagedRows) return std::nullopt;
  cv::Mat kept = decoded.rowRange(0, valid);
  SalvagedImage out;
  if (outcome.cmyk) {
    out.pixels = cmyk_to_bgr(kept, outcome.inverted_cmyk);
  } else if (kept.channels() == 1) {
    cv::cvtColor(kept, out.pixels, cv::COLOR_GRAY2BGR);
  } else {
    out.pixels = kept.clone();
  }
  out.declared_width = outcome.width;
  out.declared_height = outcome.height;
  out.how = std::move(how);
  return out;
}

// ---------------------------------------------------------------------------------------------- PNG

struct PngState {
  std::jmp_buf jump;
  char error[256] = {};
  cv::Mat* out = nullptr;
  int rows_read = 0;  // rows delivered whole, from the top
  int width = 0, height = 0;
  bool interlaced = false;
  bool unusable = false;  // a layout the salvage does not handle
};

extern "C" void png_on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngState*>(png_get_error_ptr(png));
  std::snprintf(state->error, sizeof state->error, "%s", message);
  std::longjmp(state->jump, 1);
}

extern "C" void png_on_warning(png_structp, png_const_charp) {}

extern "C" void png_on_info(png_structp png, png_infop info) {
  auto* state = static_cast<PngState*>(png_get_progressive_ptr(png));
  state->width = static_cast<int>(png_get_image_width(png, info));
  state->height = static_cast<int>(png_get_image_height(png, info));
  if (png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) {
    // Its rows come in seven passes over the whole picture: none is whole until the last pass.
    state->interlaced = true;
    png_error(png, "interlaced");
  }
  // As OpenCV reads a PNG in colour: palette and small depths expanded, 16 bits cut to 8, alpha dropped.
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_bgr(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != static_cast<png_size_t>(state->width) * 3) {
    state->unusable = true;
    png_error(png, "unexpected row layout");
  }
  state->out->create(state->height, state->width, CV_8UC3);
}

extern "C" void png_on_row(png_structp png, png_bytep row, png_uint_32 index, int) {
  auto* state = static_cast<PngState*>(png_get_progressive_ptr(png));
  if (!row || static_cast<int>(index) >= state->height) return;
  std::memcpy(state->out->ptr(static_cast<int>(index)), row, static_cast<std::size_t>(state->width) * 3);
  state->rows_read = std::max(state->rows_read, static_cast<int>(index) + 1);
}

extern "C" void png_on_end(png_structp, png_infop) {}

// The progressive reader takes whatever bytes there are and hands over each row as soon as it is whole:
// nothing after the cut is needed, and nothing after it is invented.
void decode_png_rows(std::span<const unsigned char> bytes, PngState& state) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_on_error, png_on_warning);
  if (!png) return;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(state.jump)) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    return;
  }
  png_set_progressive_read_fn(png, &state, png_on_info, png_on_row, png_on_end);
  png_process_data(png, info, const_cast<png_bytep>(bytes.data()), bytes.size());
  png_destroy_read_struct(&png, &info, nullptr);
}

std::optional<SalvagedImage> salvage_png(std::span<const unsigned char> bytes, const std::string& damage) {
  cv::Mat decoded;
  PngState state;
  state.out = &decoded;
  decode_png_rows(bytes, state);
  if (decoded.empty() || state.rows_read < kMinSalvagedRows) return std::nullopt;
  SalvagedImage out;
  out.pixels = decoded.rowRange(0, state.rows_read).clone();
  out.declared_width = state.width;
  out.declared_height = state.height;
  out.how = state.rows_read >= state.height
                ? fmt::format("{}; every row decoded and was analysed", damage)
                : fmt::format("{}; rows 0-{} of {} decoded from intact data and were analysed, the rest is missing or "
                              "damaged{}",
                              damage, state.rows_read - 1, state.height,
                              state.error[0] ? fmt::format(" (decoder: {})", state.error) : std::string());
  return out;
}

}  // namespace

std::optional<SalvagedImage> salvage_rows(ImageFormat format, std::span<const unsigned char> bytes, const std::string& damage) {
  switch (format) {
    case ImageFormat::jpeg: return salvage_jpeg(bytes, damage);
    case ImageFormat::png: return salvage_png(bytes, damage);
    default: return std::nullopt;
  }
}

}  // namespace cluetrace
