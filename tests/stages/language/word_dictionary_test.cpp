// The language stage's spelling dictionaries (stages/language/word_dictionary.hpp): aspell's and hunspell's, the
// real Debian dictionaries.
#include "stages/language/word_dictionary.hpp"

#include <aspell.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "pipeline/options.hpp"
#include "stages/language/language_stage.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace {
namespace {

namespace fs = std::filesystem;
using language::DictionaryKind;

std::unique_ptr<language::WordDictionary> open(DictionaryKind kind, const std::string& code) {
  const fs::path dir = kind == DictionaryKind::hunspell ? fs::path("/usr/share/hunspell") : fs::path();
  return language::open_dictionary(language::locate_dictionary(kind, code, dir));
}

// An environment variable set for one scope, and put back as it was.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* was = std::getenv(name)) was_ = was;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (was_) ::setenv(name_, was_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> was_;
};

TEST(WordDictionary, BothKindsSpellInflectedFormsAndRefuseLettersTheirCharsetHasNot) {
  for (const auto kind : {DictionaryKind::aspell, DictionaryKind::hunspell}) {
    SCOPED_TRACE(std::string(language::dictionary_kind_name(kind)));
    const auto de = open(kind, "de"), fr = open(kind, "fr"), pl = open(kind, "pl"), cs = open(kind, "cs"), es = open(kind, "es"),
               en = open(kind, "en");
    EXPECT_TRUE(de->spells("Häuser"));   // a plural, in an ISO 8859-1 dictionary
    EXPECT_TRUE(fr->spells("gâteaux"));
    EXPECT_TRUE(pl->spells("świeże"));   // ISO 8859-2
    EXPECT_TRUE(cs->spells("město"));
    EXPECT_TRUE(en->spells("bakeries"));
    EXPECT_FALSE(en->spells("qwzzyx"));
    EXPECT_FALSE(de->spells("bakeries"));
    // "ě" is not in Spanish's ISO 8859-1: not a Spanish word (aspell itself, given it, answered yes).
    EXPECT_FALSE(es->spells("město"));
    EXPECT_TRUE(es->spells("ciudad"));
  }
}

// Aspell reads a personal word list from the home folder and settings from ASPELL_CONF by default; the tool's
// answers must not depend on the account that runs it.
TEST(WordDictionary, AspellReadsNothingOfTheAccountRunningIt) {
  test::TempDir home;
  test::write_text(home / ".aspell.en_US.pws", "personal_ws-1.1 en 1\nqwzzyx\n");
  test::write_text(home / "other.pws", "personal_ws-1.1 en 1\nzzqwyx\n");
  const ScopedEnv set_home("HOME", home.path().string());
  const ScopedEnv set_conf("ASPELL_CONF", "personal " + (home / "other.pws").string());
  // The control: a speller with aspell's own settings reads the list ASPELL_CONF names.
  {
    AspellConfig* config = new_aspell_config();
    aspell_config_replace(config, "lang", "en_US");
    AspellCanHaveError* made = new_aspell_speller(config);
    delete_aspell_config(config);
    ASSERT_EQ(aspell_error_number(made), 0u) << aspell_error_message(made);
    AspellSpeller* speller = to_aspell_speller(made);
    EXPECT_EQ(aspell_speller_check(speller, "zzqwyx", -1), 1);  // ASPELL_CONF's list
    delete_aspell_speller(speller);
  }
  const auto en = open(DictionaryKind::aspell, "en");
  EXPECT_FALSE(en->spells("qwzzyx"));
  EXPECT_FALSE(en->spells("zzqwyx"));
  EXPECT_TRUE(en->spells("bread"));
}

// Resident kB of this process's mappings of aspell's word lists (/proc/self/smaps).
long resident_word_list_kb() {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_list = false;
  long kb = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < line.find(' ')) {
      in_list = line.size() > 4 && line.compare(line.size() - 4, 4, ".rws") == 0;
    } else if (in_list && line.rfind("Rss:", 0) == 0) {
      kb += std::stol(line.substr(4));
    }
  }
  return kb;
}

// The lookups map the word lists' pages into the process; unmapping them leaves the answers as they were.
TEST(WordDictionary, AspellsPagesAreUnmappedAndMappedAgainByTheNextLookup) {
  const auto cs = open(DictionaryKind::aspell, "cs"), pl = open(DictionaryKind::aspell, "pl");
  EXPECT_GT(language::mapped_word_list_bytes(), 50u << 20);  // Czech's alone is ~63 MB
  language::unmap_word_list_pages();
  const long before = resident_word_list_kb();
  const char* words[] = {"město", "pečivo", "čerstvé", "obchod", "ulice", "náměstí", "cena", "mléko"};
  for (const char* w : words) EXPECT_TRUE(cs->spells(w)) << w;
  EXPECT_TRUE(pl->spells("pieczywo"));
  const long looked_up = resident_word_list_kb();
  EXPECT_GT(looked_up, before);
  language::unmap_word_list_pages();
  EXPECT_LT(resident_word_list_kb(), looked_up);
  EXPECT_LE(resident_word_list_kb(), before);
  for (const char* w : words) EXPECT_TRUE(cs->spells(w)) << w;
  EXPECT_FALSE(cs->spells("qwzzyx"));
}

TEST(WordDictionary, TheConfigNamesTheKindAndRefusesAnUnknownOne) {
  const auto read = [](const std::string& yaml, ConfigProblems& problems) {
    OptionReader reader(YAML::Load(yaml), "stages.language", "test", problems);
    auto options = language::LanguageOptions::read(reader);
    reader.finish();
    return options;
  };
  {
    ConfigProblems problems;
    EXPECT_EQ(read("{}", problems).langid.dictionaries, DictionaryKind::aspell);
    EXPECT_EQ(read("{dictionaries: hunspell}", problems).langid.dictionaries, DictionaryKind::hunspell);
    EXPECT_TRUE(problems.empty()) << problems.to_string();
  }
  // run.json names the library that reads them, with its version.
  EXPECT_EQ(language::dictionary_library(DictionaryKind::aspell).rfind("GNU Aspell 0.", 0), 0u);
  ConfigProblems problems;
  read("{dictionaries: ispell}", problems);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems.to_string().find("dictionaries"), std::string::npos) << problems.to_string();
  EXPECT_NE(problems.to_string().find("'ispell'"), std::string::npos) << problems.to_string();
}

}  // namespace
}  // namespace cluetrace
