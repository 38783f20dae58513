// Contract: the case outputs survive what a reports.jsonl can hold after hands and tools have been at it
// (a line that is not a report, a clue with a broken box, a hash that is not one), and the helpers that stand
// between image text and an analyst's spreadsheet or terminal neutralise what they must.
#include <gtest/gtest.h>

#include <fstream>

#include <fmt/format.h>
#include <oneapi/tbb/task_arena.h>

#include "pipeline/case/case_outputs.hpp"
#include "pipeline/case/exchange.hpp"
#include "pipeline/case/html.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/json_schema.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::test {
namespace {

TEST(CaseOutputs, LinesThatAreNotReportsAreLeftOutAndTheRestIsWritten) {
  TempDir dir;
  const std::string good = R"({"schema":"clue-report/1","image":{"path":"a.jpg","sha256":")" + std::string(64, 'a') +
                           R"(","md5":")" + std::string(32, 'b') + R"(","hashes_complete":true},"status":"ok","errors":[],)"
                           R"("clues":[{"rank":1,"kind":"phone","value":"+493023125678","confidence":0.9,"score":0.86,"box":[1,2,3]},)"
                           R"({"rank":2,"kind":"no-such-kind","value":"x","confidence":0.9,"score":0.1},)"
                           R"J({"rank":3,"kind":"text","value":"=HYPERLINK(\"x\")","confidence":0.9,"score":0.1}],"languages":[],"regions":[]})J";
  const std::string odd_hash = R"({"image":{"path":"../../etc/b.jpg","sha256":"../../../../etc/passwd"},"clues":"not a list"})";
  write_text(dir / "reports.jsonl", "{}\n[1,2]\n" + good + "\n" + odd_hash + "\n{\"image\":{\"path\":\"torn");
  OutputOptions options;
  const auto out = write_case_outputs(dir.path(), options);
  EXPECT_TRUE(out.problems.empty()) << ::testing::PrintToString(out.problems);
  EXPECT_EQ(out.images, 2u);  // the good report and the one with the odd hash; {} , [1,2] and the torn line are not reports
  for (const char* name : {"index.html", "clues.sqlite", "summary.csv", "vics.json", "links.json"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / name)) << name;
  }
  std::ifstream csv(dir / "summary.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("+493023125678"), std::string::npos);  // a plain number stays as it is
  EXPECT_NE(text.find("\"'=HYPERLINK"), std::string::npos);  // a formula does not
  EXPECT_EQ(text.find("no-such-kind"), std::string::npos);
}

TEST(CaseOutputs, FieldsOfTheWrongTypeCostOnlyThemselves) {
  TempDir dir;
  auto report = [](const std::string& path, const std::string& clue) {
    return R"({"schema":"clue-report/1","image":{"path":")" + path + R"(","sha256":")" + std::string(64, 'a') +
           R"(","width":"wide"},"status":"ok","errors":[{"stage":1}],"clues":[)" + clue +
           R"(],"languages":[{"code":"de","probability":"high"}],"regions":[{"code":"DE","probability":0.5,"evidence":["1"]}],"timings_ms":[]})";
  };
  // One line with a rank written as text (and other wrongly typed fields) among ordinary ones: the HTML and
  // every other output still cover all of them.
  write_text(dir / "reports.jsonl",
             report("odd.jpg", R"({"rank":"1","kind":"text","value":"ODD SHOP","confidence":"high","score":null,"countries":[{"code":"DE","weight":"1"}],"words":[{"text":1}],"details":[]})") + "\n" +
                 report("fine.jpg", R"({"rank":1,"kind":"text","value":"FINE SHOP","confidence":0.9,"score":0.5})") + "\n");
  OutputOptions options;
  const auto out = write_case_outputs(dir.path(), options);
  EXPECT_TRUE(out.problems.empty()) << ::testing::PrintToString(out.problems);
  EXPECT_EQ(out.images, 2u);
  std::ifstream html(dir / "pages" / "00001.html");
  const std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  EXPECT_NE(page.find("ODD SHOP"), std::string::npos);
  std::ifstream csv(dir / "summary.csv");
  const std::string text((std::istreambuf_iterator<char>(csv)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("ODD SHOP"), std::string::npos);
  EXPECT_NE(text.find("FINE SHOP"), std::string::npos);
}

TEST(CaseOutputs, VicsInTheCaseFormAndTheFlatMediaFormBothMatchOurSchema) {
  TempDir dir;
  const std::string report = R"({"schema":"clue-report/1","image":{"path":"case/a.jpg","sha256":")" + std::string(64, 'a') +
                             R"(","md5":")" + std::string(32, 'b') + R"(","sha1":")" + std::string(40, 'c') +
                             R"(","bytes":10,"format":"jpeg","hashes_complete":true},"status":"ok","errors":[],)"
                             R"("clues":[{"rank":1,"kind":"phone","value":"+493023125678","confidence":0.9,"score":0.86}],)"
                             R"("languages":[{"code":"de","probability":1.0}],"regions":[{"code":"DE","probability":0.9}]})";
  write_text(dir / "reports.jsonl", report + "\n");
  const auto schema = JsonSchema::from_file(source_dir() / "docs" / "vics-export.schema.json");
  for (const std::string form : {"cases", "media"}) {
    OutputOptions options;
    options.vics_form = form;
    const auto out = write_case_outputs(dir.path(), options);
    ASSERT_TRUE(out.problems.empty()) << ::testing::PrintToString(out.problems);
    const auto vics = read_json(dir / "vics.json");
    const auto violations = schema.validate(vics);
    EXPECT_TRUE(violations.empty()) << form << ": " << violations.front().instance_path << " " << violations.front().message;
    const auto& media = form == "cases" ? vics["value"][0]["Media"][0] : vics["value"][0];
    EXPECT_EQ(media["MD5"], std::string(32, 'B')) << vics.dump();
    EXPECT_NE(media["Tags"].get<std::string>().find("phone:+493023125678"), std::string::npos);
    EXPECT_TRUE(vics["@odata.context"].get<std::string>().ends_with(form == "cases" ? "#Cases" : "#Media"));
  }
}

TEST(CaseOutputs, SpreadsheetAndTerminalSafety) {
  EXPECT_EQ(csv_cell("+4930123456"), "+4930123456");
  EXPECT_EQ(csv_cell("=1+1"), "'=1+1");
  EXPECT_EQ(csv_cell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(csv_cell("-2+3"), "'-2+3");
  EXPECT_EQ(csv_cell("a;=cmd"), "a;'=cmd");
  EXPECT_EQ(csv_cell("\xEF\xBC\x9D" "1"), "'\xEF\xBC\x9D" "1");  // full-width =
  EXPECT_EQ(csv_cell("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(terminal_safe("ok\x1b]52;c;AAAA\x07"), "ok\\x1B]52;c;AAAA\\x07");
  EXPECT_EQ(terminal_safe("\xC2\x9B" "31m"), "\\u009B31m");  // C1 CSI
  EXPECT_EQ(terminal_safe("Müller"), "Müller");
  EXPECT_EQ(html_escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;");
}

}  // namespace
}  // namespace cluetrace::test

namespace cluetrace::test {
namespace {

std::string read_all(const std::filesystem::path& file) {
  std::ifstream in(file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A larger case: 1,203 reports, one country, scores falling with the report's place. The image pages are
// written by several threads and the overview's 500-row pages are cut from one pass over each list: every
// image is on exactly one overview page, best score first, and has its own page; pages of an earlier, larger
// case in the folder are removed.
TEST(CaseOutputs, EveryImageIsOnOneOverviewPageInScoreOrderAndHasItsOwnPage) {
  TempDir dir;
  constexpr int kImages = 1203;
  std::string jsonl;
  for (int i = 0; i < kImages; ++i) {
    const std::string sha = fmt::format("{:064x}", i + 1);
    jsonl += fmt::format(
        R"({{"image":{{"path":"img/{:04}.jpg","sha256":"{}","md5":"{}"}},"status":"ok","errors":[],)"
        R"("clues":[{{"rank":1,"kind":"phone","value":"+49302312{:04}","confidence":0.9,"score":{:.6f}}}],)"
        R"("languages":[],"regions":[{{"code":"DE","probability":0.9}}]}})"
        "\n",
        i, sha, std::string(32, 'b'), i, 1.0 - i / 2000.0);
  }
  write_text(dir / "reports.jsonl", jsonl);
  std::filesystem::create_directories(dir / "pages");
  write_text(dir / "pages" / "01300.html", "a page of an earlier, larger case");
  OutputOptions options;
  const auto out = oneapi::tbb::task_arena(2).execute([&] { return write_case_outputs(dir.path(), options); });
  ASSERT_TRUE(out.problems.empty()) << ::testing::PrintToString(out.problems);

  EXPECT_FALSE(std::filesystem::exists(dir / "pages" / "01300.html"));
  std::size_t pages = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir / "pages")) pages += e.path().extension() == ".html";
  EXPECT_EQ(pages, static_cast<std::size_t>(kImages));
  for (int id : {1, 600, kImages}) {
    const auto page = read_all(dir / page_path(static_cast<std::size_t>(id - 1)));
    EXPECT_NE(page.find(fmt::format("img/{:04}.jpg", id - 1)), std::string::npos) << id;
  }

  // The country's list: pages 1..3, in order, each image once.
  std::vector<int> order;
  for (int p = 1; p <= 3; ++p) {
    const auto page = read_all(dir / "overview" / fmt::format("country-DE-{}.html", p));
    ASSERT_FALSE(page.empty()) << "page " << p;
    EXPECT_NE(page.find(fmt::format("page {} of 3", p)), std::string::npos);
    for (std::size_t at = page.find("img/"); at != std::string::npos; at = page.find("img/", at + 1)) {
      order.push_back(std::stoi(page.substr(at + 4, 4)));
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "overview" / "country-DE-4.html"));
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kImages));
  for (int i = 0; i < kImages; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i) << "best score first";
}

}  // namespace
}  // namespace cluetrace::test
