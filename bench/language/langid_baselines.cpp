// The language-identification baselines the benchmark compares `cluetrace langid` with, on the same lines:
// CLD2 (libcld2, Debian) and exttextcat (libexttextcat, Debian), both restricted to the given languages:
// CLD2's best of its top three that is in the set, exttextcat with only those languages' fingerprints.
//
//   langid_baselines --languages de,fr,... < lines.txt   ->   "<cld2 code>\t<exttextcat code>" per line
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <cld2/public/compact_lang_det.h>
#include <cld2/public/encodings.h>
#include <libexttextcat/textcat.h>

namespace CLD2 {
const char* LanguageCode(Language lang);  // lang_script.h, exported by libcld2
}

int main(int argc, char** argv) {
  std::vector<std::string> languages;
  std::string fpdb = "/usr/share/libexttextcat";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--languages") {
      std::stringstream list(argv[i + 1]);
      for (std::string c; std::getline(list, c, ',');) languages.push_back(c);
    } else if (std::string(argv[i]) == "--fpdb") {
      fpdb = argv[i + 1];
    }
  }
  if (languages.empty()) {
    std::cerr << "usage: langid_baselines --languages de,fr,... [--fpdb DIR] < lines\n";
    return 2;
  }
  auto in_set = [&](const std::string& code) {
    for (const auto& l : languages) {
      if (l == code) return true;
    }
    return false;
  };
  // exttextcat restricted to the set: a config naming only their fingerprints.
  const std::string conf = "/tmp/langid_baselines_" + std::to_string(::getpid()) + ".conf";
  {
    std::ofstream out(conf);
    for (const auto& l : languages) out << l << ".lm\t" << l << "--utf8\n";
  }
  void* textcat = special_textcat_Init(conf.c_str(), (fpdb + "/").c_str());
  std::remove(conf.c_str());
  if (!textcat) {
    std::cerr << "exttextcat: cannot load fingerprints from " << fpdb << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(std::cin, line)) {
    CLD2::Language top3[3];
    int percent3[3];
    int text_bytes = 0;
    bool reliable = false;
    CLD2::ExtDetectLanguageSummary(line.data(), static_cast<int>(line.size()), true, top3, percent3, &text_bytes, &reliable);
    std::string cld2 = "und";
    for (const auto lang : top3) {
      std::string code = CLD2::LanguageCode(lang);
      if (in_set(code)) {
        cld2 = code;
        break;
      }
    }
    std::string tc = "und";
    const char* result = textcat_Classify(textcat, line.data(), line.size());
    if (result && result[0] == '[') {
      // "[de--utf8][nl--utf8]": the first candidate's language.
      std::string r(result);
      const auto end = r.find_first_of("-]", 1);
      tc = r.substr(1, end - 1);
      if (!in_set(tc)) tc = "und";
    }
    std::cout << cld2 << '\t' << tc << '\n';
  }
  textcat_Done(textcat);
  return 0;
}
