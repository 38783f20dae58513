#include "stages/ocr/tessdata_archive.hpp"

#include <sys/stat.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "pipeline/digest.hpp"
#include "pipeline/models.hpp"
#include "pipeline/report_store.hpp"

namespace cluetrace::ocr {
namespace fs = std::filesystem;

namespace {

// Tesseract's component names, by their index in a traineddata file's offset table (tessdatamanager.h).
constexpr std::array<const char*, 24> kSuffixes{
    "config",          "unicharset",     "unicharambigs",    "inttemp",         "pffmtable",       "normproto",
    "punc-dawg",       "word-dawg",      "number-dawg",      "freq-dawg",       "fixed-length-dawgs", "cube-unicharset",
    "cube-word-dawg",  "shapetable",     "bigram-dawg",      "unambig-dawg",    "params-model",    "lstm",
    "lstm-punc-dawg",  "lstm-word-dawg", "lstm-number-dawg", "lstm-unicharset", "lstm-recoder",    "version"};
// Tesseract takes a larger first number for a file written on a machine of the other byte order.
constexpr std::int64_t kMaxEntries = 1000;
constexpr std::size_t kBlock = 512;
constexpr int kSidecarFormat = 1;

template <typename T>
T read_le(const std::vector<char>& bytes, std::size_t at) {
  T value{};
  std::memcpy(&value, bytes.data() + at, sizeof(T));  // x86-64 and aarch64 are little-endian, as the files are
  return value;
}

// A number as a tar header field: octal digits, zero-padded, then NUL.
void octal_field(char* field, std::size_t width, std::uintmax_t value) {
  const std::string digits = fmt::format("{:0{}o}", value, width - 1);
  if (digits.size() != width - 1) throw std::runtime_error(fmt::format("{} does not fit a tar header field", value));
  std::memcpy(field, digits.data(), digits.size());
  field[width - 1] = '\0';
}

// One member's POSIX ustar header: a regular file of `size` bytes, named `name`, owned by nobody, time 0 (the
// archive's bytes depend only on the source's).
std::array<char, kBlock> ustar_header(const std::string& name, std::uintmax_t size) {
  std::array<char, kBlock> h{};
  if (name.size() >= 100) throw std::runtime_error(fmt::format("tar member name too long: {}", name));
  std::memcpy(h.data(), name.data(), name.size());
  octal_field(h.data() + 100, 8, 0644);   // mode
  octal_field(h.data() + 108, 8, 0);      // uid
  octal_field(h.data() + 116, 8, 0);      // gid
  octal_field(h.data() + 124, 12, size);  // size
  octal_field(h.data() + 136, 12, 0);     // mtime
  h[156] = '0';                           // a regular file
  std::memcpy(h.data() + 257, "ustar", 6);
  std::memcpy(h.data() + 263, "00", 2);
  // The checksum: the sum of the header's bytes, its own field counted as spaces; six octal digits, NUL, space.
  std::memset(h.data() + 148, ' ', 8);
  unsigned sum = 0;
  for (const char c : h) sum += static_cast<unsigned char>(c);
  octal_field(h.data() + 148, 7, sum);
  h[155] = ' ';
  return h;
}

struct FileStamp {
  std::uintmax_t bytes = 0;
  std::int64_t mtime_ns = 0;
};

std::optional<FileStamp> stamp_of(const fs::path& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return FileStamp{static_cast<std::uintmax_t>(st.st_size),
                   static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

fs::path sidecar_of(const fs::path& archive) { return archive.string() + ".source.json"; }

std::string language_of(const fs::path& source) {
  if (source.extension() != ".traineddata") {
    throw std::runtime_error(fmt::format("{}: not a .traineddata file", source.string()));
  }
  return source.stem().string();
}

fs::path absolute_path(const fs::path& p) {
  std::error_code ec;
  const auto canonical = fs::weakly_canonical(p, ec);
  return ec ? fs::absolute(p) : canonical;
}

}  // namespace

fs::path system_tessdata_dir() {
  if (const char* prefix = std::getenv("TESSDATA_PREFIX"); prefix && *prefix) return prefix;
  return "/usr/share/tesseract-ocr/5/tessdata";
}

fs::path prepared_tessdata_dir() { return models_dir() / "tessdata"; }

std::vector<TraineddataComponent> traineddata_components(const std::vector<char>& bytes, const fs::path& file) {
  const auto bad = [&](const std::string& what) {
    return std::runtime_error(fmt::format("{}: not a traineddata file Tesseract 4/5 writes ({})", file.string(), what));
  };
  if (bytes.size() < sizeof(std::int32_t)) throw bad("shorter than its header");
  const auto entries = static_cast<std::int64_t>(read_le<std::int32_t>(bytes, 0));
  if (entries <= 0 || entries > kMaxEntries) throw bad(fmt::format("{} components in its table", entries));
  const std::size_t table_end = sizeof(std::int32_t) + static_cast<std::size_t>(entries) * sizeof(std::int64_t);
  if (bytes.size() < table_end) throw bad("shorter than its table of components");
  std::vector<std::int64_t> offsets(static_cast<std::size_t>(entries));
  for (std::size_t i = 0; i < offsets.size(); ++i) offsets[i] = read_le<std::int64_t>(bytes, 4 + 8 * i);
  std::vector<TraineddataComponent> components;
  // As Tesseract reads it: a component runs to the next one present, the last to the end of the file.
  for (std::size_t i = 0; i < offsets.size() && i < kSuffixes.size(); ++i) {
    if (offsets[i] == -1) continue;
    std::size_t j = i + 1;
    while (j < offsets.size() && offsets[j] == -1) ++j;
    const std::int64_t end = j < offsets.size() ? offsets[j] : static_cast<std::int64_t>(bytes.size());
    if (offsets[i] < static_cast<std::int64_t>(table_end) || end < offsets[i] || end > static_cast<std::int64_t>(bytes.size())) {
      throw bad(fmt::format("component {} ({}) lies outside the file", i, kSuffixes[i]));
    }
    components.push_back({kSuffixes[i], static_cast<std::size_t>(offsets[i]), static_cast<std::size_t>(end - offsets[i])});
  }
  if (components.empty()) throw bad("no component");
  return components;
}

PreparedTraineddata prepare_traineddata(const fs::path& source_in, const fs::path& folder, bool* written) {
  const fs::path source = absolute_path(source_in);
  const std::string lang = language_of(source);
  if (written) *written = false;
  std::string why;
  if (auto there = find_prepared_traineddata(source, folder, &why)) return *there;

  const auto before = stamp_of(source);
  if (!before) throw std::runtime_error(fmt::format("{}: no such traineddata file", source.string()));
  const std::vector<char> bytes = read_model_bytes(source);
  const auto components = traineddata_components(bytes, source);
  const auto after = stamp_of(source);
  if (!after || after->bytes != bytes.size() || after->mtime_ns != before->mtime_ns) {
    throw std::runtime_error(fmt::format("{} changed while it was read", source.string()));
  }

  fs::create_directories(folder);
  const fs::path archive = folder / (lang + ".traineddata");
  AtomicFileWriter out(archive);
  std::uintmax_t archive_bytes = 0;
  const std::array<char, kBlock> zeros{};
  nlohmann::ordered_json listed = nlohmann::ordered_json::array();
  for (const auto& c : components) {
    const auto header = ustar_header(lang + "." + c.suffix, c.size);
    out.write({header.data(), header.size()});
    out.write({bytes.data() + c.offset, c.size});
    const std::size_t pad = (kBlock - c.size % kBlock) % kBlock;
    out.write({zeros.data(), pad});
    archive_bytes += kBlock + c.size + pad;
    listed.push_back({{"name", c.suffix}, {"bytes", c.size}});
  }
  out.write({zeros.data(), zeros.size()});  // the end: two empty blocks
  out.write({zeros.data(), zeros.size()});
  archive_bytes += 2 * kBlock;

  PreparedTraineddata prepared{archive, source, bytes.size(), sha256_hex(std::string_view(bytes.data(), bytes.size()))};
  nlohmann::ordered_json sidecar{{"format", kSidecarFormat},
                                 {"made_by", "cluetrace tessdata prepare"},
                                 {"source", source.string()},
                                 {"source_bytes", prepared.source_bytes},
                                 {"source_mtime_ns", before->mtime_ns},
                                 {"source_sha256", prepared.source_sha256},
                                 {"archive_bytes", archive_bytes},
                                 {"components", listed}};
  // The archive first: a sidecar never describes an archive that is not there yet.
  out.commit(true);
  write_file_atomically(sidecar_of(archive), sidecar.dump(2) + "\n");
  if (written) *written = true;
  return prepared;
}

std::optional<PreparedTraineddata> find_prepared_traineddata(const fs::path& source_in, const fs::path& folder,
                                                             std::string* why) {
  const auto fail = [&](std::string reason) -> std::optional<PreparedTraineddata> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  const fs::path source = absolute_path(source_in);
  const fs::path archive = folder / source.filename();
  const fs::path sidecar = sidecar_of(archive);
  std::ifstream in(sidecar);
  if (!in) return fail(fmt::format("no archive prepared in {} (cluetrace tessdata prepare)", folder.string()));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    if (j.at("format").get<int>() != kSidecarFormat) return fail(fmt::format("{}: another format", sidecar.string()));
    const auto now = stamp_of(source);
    if (!now) return fail(fmt::format("{} is not there", source.string()));
    if (j.at("source").get<std::string>() != source.string()) {
      return fail(fmt::format("{} was made from {}", archive.string(), j.at("source").get<std::string>()));
    }
    if (j.at("source_bytes").get<std::uintmax_t>() != now->bytes || j.at("source_mtime_ns").get<std::int64_t>() != now->mtime_ns) {
      return fail(fmt::format("{} changed since {} was made from it", source.string(), archive.string()));
    }
    const auto archive_stamp = stamp_of(archive);
    if (!archive_stamp || archive_stamp->bytes != j.at("archive_bytes").get<std::uintmax_t>()) {
      return fail(fmt::format("{} is missing or not the size it was written at", archive.string()));
    }
    return PreparedTraineddata{archive, source, now->bytes, j.at("source_sha256").get<std::string>()};
  } catch (const nlohmann::json::exception& e) {
    return fail(fmt::format("{} cannot be read: {}", sidecar.string(), e.what()));
  }
}

int tessdata_prepare_command(const std::vector<std::string>& languages, const std::string& tessdata_dir,
                             const std::string& out_dir, std::ostream& out, std::ostream& err) {
  const fs::path from = tessdata_dir.empty() ? system_tessdata_dir() : fs::path(tessdata_dir);
  const fs::path to = out_dir.empty() ? prepared_tessdata_dir() : fs::path(out_dir);
  int failed = 0;
  for (const auto& lang : languages) {
    try {
      if (lang.empty() || lang.find_first_of("/\\+") != std::string::npos) {
        throw std::runtime_error(fmt::format("'{}' is not one Tesseract language name", lang));
      }
      bool written = false;
      const auto p = prepare_traineddata(from / (lang + ".traineddata"), to, &written);
      out << fmt::format("{}: {} ({} from {}, {} bytes, sha256 {})\n", lang, p.archive.string(),
                         written ? "written" : "up to date", p.source.string(), p.source_bytes, p.source_sha256);
    } catch (const std::exception& e) {
      err << "cluetrace tessdata prepare: " << e.what() << "\n";
      ++failed;
    }
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace cluetrace::ocr
