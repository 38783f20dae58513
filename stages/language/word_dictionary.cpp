#include "stages/language/word_dictionary.hpp"

#include <aspell.h>
#include <iconv.h>
#include <sys/mman.h>

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <hunspell/hunspell.hxx>

namespace cluetrace::language {
namespace {

const iconv_t kNoConverter = reinterpret_cast<iconv_t>(-1);  // iconv_open's failure

// iconv's conversion from UTF-8 to `charset`; throws naming the file that declares the charset.
iconv_t converter_to(const std::string& charset, const std::filesystem::path& declared_in) {
  const iconv_t converter = iconv_open(charset.c_str(), "UTF-8");
  if (converter == kNoConverter) {
    throw std::runtime_error(fmt::format("{}: cannot convert UTF-8 to its charset {}", declared_in.string(), charset));
  }
  return converter;
}

// A word in a dictionary's charset; false when it holds a letter the charset has not (then not one of its words).
class CharsetConversion {
 public:
  CharsetConversion(const std::string& charset, const std::filesystem::path& declared_in)
      : utf8_(charset == "UTF-8" || charset == "utf-8"), converter_(utf8_ ? kNoConverter : converter_to(charset, declared_in)) {}
  ~CharsetConversion() {
    if (converter_ != kNoConverter) iconv_close(converter_);
  }
  CharsetConversion(const CharsetConversion&) = delete;
  CharsetConversion& operator=(const CharsetConversion&) = delete;

  bool convert(const std::string& word, std::string& out) const {
    if (utf8_) {
      out = word;
      return true;
    }
    std::string in = word;
    out.assign(word.size() * 2 + 4, '\0');
    char* ip = in.data();
    char* op = out.data();
    std::size_t il = in.size(), ol = out.size();
    iconv(converter_, nullptr, nullptr, nullptr, nullptr);  // a fresh conversion state
    if (iconv(converter_, &ip, &il, &op, &ol) == static_cast<std::size_t>(-1)) return false;
    out.resize(out.size() - ol);
    return true;
  }

 private:
  bool utf8_;
  iconv_t converter_;
};

// The first word after `key` at the start of a line of `file` ("SET UTF-8" in a hunspell .aff, "charset
// iso8859-1" in an aspell .dat); `fallback` when no line has it.
std::string declared_value(const std::filesystem::path& file, std::string_view key, const std::string& fallback) {
  std::ifstream in(file, std::ios::binary);
  std::string line;
  for (bool first = true; std::getline(in, line); first = false) {
    if (first && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a byte-order mark
    if (line.rfind(key, 0) != 0 || line.size() <= key.size() || !std::isspace(static_cast<unsigned char>(line[key.size()]))) continue;
    std::istringstream words(line.substr(key.size()));
    std::string value;
    if (words >> value) return value;
  }
  return fallback;
}

std::string aspell_setting(const char* key) {
  AspellConfig* config = new_aspell_config();
  const char* value = aspell_config_retrieve(config, key);
  std::string out = value ? value : "";
  delete_aspell_config(config);
  return out;
}

class HunspellDictionary final : public WordDictionary {
 public:
  explicit HunspellDictionary(const DictionarySource& source)
      : aff_(source.dir / (source.name + ".aff")),
        dic_(source.dir / (source.name + ".dic")),
        hunspell_(aff_.c_str(), dic_.c_str()),
        conversion_(hunspell_.get_dict_encoding().empty() ? std::string("ISO8859-1") : hunspell_.get_dict_encoding(), aff_) {}

  bool spells(const std::string& word) override {
    std::string in_charset;
    return conversion_.convert(word, in_charset) && hunspell_.spell(in_charset);
  }

 private:
  std::filesystem::path aff_, dic_;
  Hunspell hunspell_;
  CharsetConversion conversion_;
};

// Where aspell is sent for the files it would read from the account's home folder: a path that cannot exist.
constexpr const char* kNowhere = "/nonexistent/cluetrace-reads-no-aspell-home";

class AspellDictionary final : public WordDictionary {
 public:
  explicit AspellDictionary(const DictionarySource& source) : conversion_(source.charset, source.main) {
    AspellConfig* config = new_aspell_config();
    const auto set = [&](const char* key, const std::string& value) {
      if (aspell_config_replace(config, key, value.c_str()) == 0) {
        const std::string why = aspell_config_error_message(config);
        delete_aspell_config(config);
        throw std::runtime_error(fmt::format("{}: aspell refused {} = {}: {}", source.describe(), key, value, why));
      }
    };
    set("master", source.name);
    set("lang", source.name);
    set("dict-dir", source.dir.string());
    set("data-dir", source.main.parent_path().string());
    set("encoding", "utf-8");
    // The dictionary as Debian ships it, nothing of the account running the tool: no personal word list,
    // replacement list or configuration file is read (they live in the home folder), no words run together.
    set("home-dir", kNowhere);
    set("personal", std::string(kNowhere) + "/personal.pws");
    set("repl", std::string(kNowhere) + "/replacements.prepl");
    set("per-conf", std::string(kNowhere) + "/aspell.conf");
    set("clear-extra-dicts", "");
    set("ignore-case", "false");
    set("run-together", "false");
    AspellCanHaveError* made = new_aspell_speller(config);
    delete_aspell_config(config);
    if (aspell_error_number(made) != 0) {
      const std::string why = aspell_error_message(made);
      delete_aspell_can_have_error(made);
      throw std::runtime_error(fmt::format("{}: aspell cannot open it: {}", source.describe(), why));
    }
    speller_ = to_aspell_speller(made);
  }
  ~AspellDictionary() override { delete_aspell_speller(speller_); }
  AspellDictionary(const AspellDictionary&) = delete;
  AspellDictionary& operator=(const AspellDictionary&) = delete;

  bool spells(const std::string& word) override {
    // aspell takes the word in UTF-8 and converts it itself, but passes a letter its charset has not as another
    // one ("město" was a Spanish word): the conversion is checked first.
    std::string in_charset;
    return conversion_.convert(word, in_charset) && aspell_speller_check(speller_, word.c_str(), static_cast<int>(word.size())) == 1;
  }

 private:
  CharsetConversion conversion_;
  AspellSpeller* speller_ = nullptr;
};

}  // namespace

std::string_view dictionary_kind_name(DictionaryKind kind) { return kind == DictionaryKind::aspell ? "aspell" : "hunspell"; }

DictionaryKind parse_dictionary_kind(std::string_view name) {
  if (name == "aspell") return DictionaryKind::aspell;
  if (name == "hunspell") return DictionaryKind::hunspell;
  throw std::invalid_argument(fmt::format("'{}' is not a dictionary kind (aspell or hunspell)", name));
}

std::string dictionary_library(DictionaryKind kind) {
  if (kind == DictionaryKind::aspell) return fmt::format("GNU Aspell {}", aspell_version_string());
  return "hunspell";  // libhunspell has no call that tells its version
}

std::string DictionarySource::describe() const {
  return fmt::format("{} {} ({}, {})", dictionary_kind_name(kind), name, dir.string(), charset);
}

std::string dictionary_name(DictionaryKind kind, std::string_view language) {
  struct Names {
    std::string_view language, hunspell, aspell;
  };
  static constexpr Names table[] = {{"de", "de_DE", "de_DE"}, {"fr", "fr_FR", "fr_FR"}, {"nl", "nl_NL", "nl"},
                                    {"es", "es_ES", "es"},    {"it", "it_IT", "it"},    {"pt", "pt_PT", "pt_PT"},
                                    {"pl", "pl_PL", "pl"},    {"cs", "cs_CZ", "cs"},    {"sv", "sv_SE", "sv"},
                                    {"da", "da_DK", "da"},    {"en", "en_US", "en_US"}};
  for (const auto& n : table) {
    if (n.language == language) return std::string(kind == DictionaryKind::aspell ? n.aspell : n.hunspell);
  }
  return {};
}

DictionarySource locate_dictionary(DictionaryKind kind, const std::string& language, const std::filesystem::path& dir) {
  DictionarySource s;
  s.kind = kind;
  s.language = language;
  s.name = dictionary_name(kind, language);
  const std::string package = fmt::format("Debian package {}-{}", dictionary_kind_name(kind), language);
  if (s.name.empty()) throw std::runtime_error(fmt::format("no {} dictionary is known for '{}'", dictionary_kind_name(kind), language));
  if (kind == DictionaryKind::hunspell) {
    s.dir = dir;
    s.main = dir / (s.name + ".aff");
    if (!std::filesystem::exists(s.main) || !std::filesystem::exists(dir / (s.name + ".dic"))) {
      throw std::runtime_error(fmt::format("no hunspell dictionary for '{}' in {} ({})", language, dir.string(), package));
    }
    s.charset = declared_value(s.main, "SET", "ISO8859-1");  // as hunspell reads it
  } else {
    s.dir = dir.empty() ? std::filesystem::path(aspell_setting("dict-dir")) : dir;
    const std::filesystem::path data = dir.empty() ? std::filesystem::path(aspell_setting("data-dir")) : dir;
    if (!std::filesystem::exists(s.dir / (s.name + ".multi"))) {  // what aspell opens for a master dictionary's name
      throw std::runtime_error(fmt::format("no aspell dictionary for '{}' in {} (no {}.multi; {})", language, s.dir.string(), s.name, package));
    }
    // The language's data file: "pt_PT.dat", or the language's own for a country's dictionary ("de_DE": de.dat).
    s.main = data / (s.name + ".dat");
    if (!std::filesystem::exists(s.main)) s.main = data / (s.name.substr(0, s.name.find('_')) + ".dat");
    if (!std::filesystem::exists(s.main)) {
      throw std::runtime_error(fmt::format("no aspell language data for '{}' in {} (no {}; {})", language, data.string(), s.main.filename().string(), package));
    }
    s.charset = declared_value(s.main, "charset", "iso8859-1");
  }
  CharsetConversion check(s.charset, s.main);  // one iconv cannot convert to stops the start here, naming the file
  return s;
}

std::unique_ptr<WordDictionary> open_dictionary(const DictionarySource& source) {
  if (source.kind == DictionaryKind::hunspell) return std::make_unique<HunspellDictionary>(source);
  return std::make_unique<AspellDictionary>(source);
}

namespace {

struct MappedRange {
  void* start;
  std::size_t length;
};

std::vector<MappedRange> mapped_word_lists() {
  std::vector<MappedRange> ranges;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    // "start-end perms offset dev inode path"
    if (line.size() < 4 || line.compare(line.size() - 4, 4, ".rws") != 0) continue;
    std::istringstream fields(line);
    std::string span;
    fields >> span;
    const auto dash = span.find('-');
    if (dash == std::string::npos) continue;
    const auto start = std::stoull(span.substr(0, dash), nullptr, 16), end = std::stoull(span.substr(dash + 1), nullptr, 16);
    if (end > start) ranges.push_back({reinterpret_cast<void*>(start), static_cast<std::size_t>(end - start)});
  }
  return ranges;
}

}  // namespace

void unmap_word_list_pages() {
  // Read-only shared file mappings: MADV_DONTNEED only drops this process's page-table entries.
  for (const auto& r : mapped_word_lists()) {
    ::madvise(r.start, r.length, MADV_RANDOM);
    ::madvise(r.start, r.length, MADV_DONTNEED);
  }
}

std::size_t mapped_word_list_bytes() {
  std::size_t total = 0;
  for (const auto& r : mapped_word_lists()) total += r.length;
  return total;
}

}  // namespace cluetrace::language
