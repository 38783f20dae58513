// Fuzz target: the readers of reports.jsonl: what --resume keeps (pipeline/report_store.hpp) and how the case
// outputs read each line (pipeline/case/case_outputs.hpp). Any text: no crash, no exception, and what they keep
// holds the fields the rest of the program relies on.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pipeline/case/case_outputs.hpp"
#include "pipeline/report_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto kept = cluetrace::read_kept_reports(text, std::string(64, 'a'));
  for (const auto& [path, status] : kept.status) {
    if (status != "ok" && status != "partial" && status != "failed") std::abort();
  }
  if (!kept.text.empty() && kept.text.back() != '\n') std::abort();
  cluetrace::for_each_complete_line(text, [](std::string_view line) {
    std::string problem;
    const auto report = cluetrace::parse_report_line(line, problem);
    if (!report) {
      if (problem.empty()) std::abort();
      return;
    }
    // What the HTML, CSV, VICS and database writers read without checking.
    const auto& r = *report;
    if (!r["image"]["path"].is_string() || !r["status"].is_string() || !r["clues"].is_array()) std::abort();
    for (const auto& c : r["clues"]) {
      if (!c["rank"].is_number_integer() || c["rank"].get<std::int64_t>() < 1 || !c["value"].is_string() ||
          !c["score"].is_number() || !c["confidence"].is_number()) {
        std::abort();
      }
    }
  });
  return 0;
}
