// `cluetrace langid`: the language identifier on its own, one text per input line, so it can be measured
// apart from images: prints "<code>\t<probability>" per line ("und\t0" when a line has no word).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "pipeline/stage.hpp"

namespace cluetrace::language {

struct LangIdCommand {
  std::vector<std::string> files;      // read in order; none or "-" = standard input
  std::vector<std::string> languages;  // override the config's list when not empty
  bool distribution = false;           // print every language's probability, not just the best
};

// `stage`: the configured language stage (must be language.evidence). Returns the exit code.
int langid_command(Stage* stage, const LangIdCommand& command, std::ostream& out, std::ostream& err);

}  // namespace cluetrace::language
