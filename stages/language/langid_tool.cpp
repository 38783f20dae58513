#include "stages/language/langid_tool.hpp"

#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "stages/language/language_stage.hpp"

namespace cluetrace::language {

int langid_command(Stage* stage, const LangIdCommand& command, std::ostream& out, std::ostream& err) {
  auto* language = dynamic_cast<LanguageStage*>(stage);
  if (language == nullptr) {
    err << "cluetrace langid: the config's language stage is disabled or not language.evidence\n";
    return 1;
  }
  std::unique_ptr<LanguageIdentifier> own;
  const LanguageIdentifier* identifier = nullptr;
  try {
    if (command.languages.empty()) {
      language->prepare();
      language->load();
      identifier = &language->identifier();
    } else {
      auto options = language->options().langid;
      options.languages = command.languages;
      own = std::make_unique<LanguageIdentifier>(options);
      identifier = own.get();
    }
  } catch (const std::exception& e) {
    err << "cluetrace langid: language.evidence: " << e.what() << '\n';
    return 1;
  }
  auto handle = [&](std::istream& in) {
    std::string line;
    while (std::getline(in, line)) {
      const auto guesses = identifier->identify(line);
      if (guesses.empty()) {
        out << "und\t0\n";
        continue;
      }
      out << fmt::format("{}\t{:.4f}", guesses[0].code, guesses[0].probability);
      if (command.distribution) {
        for (std::size_t i = 1; i < guesses.size(); ++i) out << fmt::format("\t{}:{:.4f}", guesses[i].code, guesses[i].probability);
      }
      out << '\n';
    }
  };
  if (command.files.empty()) handle(std::cin);
  for (const auto& f : command.files) {
    if (f == "-") {
      handle(std::cin);
      continue;
    }
    std::ifstream in(f);
    if (!in) {
      err << "cluetrace langid: cannot open " << f << '\n';
      return 1;
    }
    handle(in);
  }
  return 0;
}

}  // namespace cluetrace::language
