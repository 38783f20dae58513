# Writes OUTPUT, a C++ source defining cluetrace::default_config_yaml() with the bytes of INPUT.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
file(CONFIGURE OUTPUT ${OUTPUT} CONTENT
"// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace cluetrace {\nnamespace { constexpr char kText[] = {${bytes} '\\0'}; }\nstd::string_view default_config_yaml() { return {kText, sizeof(kText) - 1}; }\n}  // namespace cluetrace\n")
