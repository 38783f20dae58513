// Contract: INPUTs expand to the right images — folders walked recursively and in a stable order,
// content decides over names, loops and repeats reported rather than followed, FIFOs never opened.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "pipeline/inputs.hpp"
#include "tests/support/test_support.hpp"

namespace fs = std::filesystem;
using namespace cluetrace;
using namespace cluetrace::test;

namespace {

std::vector<std::string> names(const std::vector<InputItem>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(fs::path(i.display_path).filename().string());
  return out;
}

class Inputs : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "b_sub" / "deep");
    const auto png = encode(cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(128)), ".png");
    write_bytes(dir_ / "a.png", png);
    write_bytes(dir_ / "b_sub" / "deep" / "c.jpg", encode(cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(50)), ".jpg"));
    write_bytes(dir_ / "b_sub" / "no_extension", png);                 // image by content
    write_text(dir_ / "b_sub" / "notes.txt", "plain text");             // neither: skipped
    write_text(dir_ / "b_sub" / "fake.jpg", "plain text");              // image by name: gets a (failed) report
    write_bytes(dir_ / "b_sub" / "zero", {});                           // empty: gets a (failed) report
    fs::create_symlink(dir_ / "a.png", dir_ / "b_sub" / "link_to_a.png");  // the same file again
    fs::create_directory_symlink(dir_, dir_ / "b_sub" / "loop");
    fs::create_symlink(dir_ / "missing.png", dir_ / "dangling.png");
    ::mkfifo((dir_ / "pipe.jpg").c_str(), 0644);
  }
  TempDir root_;
  fs::path dir_ = root_ / "case";
};

TEST_F(Inputs, WalksFoldersByContentAndReportsWhatItSkips) {
  const auto set = collect_inputs({dir_.string()});
  EXPECT_EQ(names(set.images), (std::vector<std::string>{"a.png", "c.jpg", "fake.jpg", "no_extension", "zero"}));
  std::vector<std::string> skipped, problems;
  for (const auto& n : set.skipped) skipped.push_back(fs::path(n.path).filename().string() + ": " + n.reason);
  for (const auto& n : set.problems) problems.push_back(fs::path(n.path).filename().string() + ": " + n.reason);
  EXPECT_EQ(set.skipped.size(), 3u) << ::testing::PrintToString(skipped);  // link_to_a.png, notes.txt, pipe.jpg
  EXPECT_EQ(set.problems.size(), 2u) << ::testing::PrintToString(problems);  // dangling.png, loop
  bool saw_loop = false;
  for (const auto& p : problems) saw_loop = saw_loop || (p.find("loop") != std::string::npos);
  EXPECT_TRUE(saw_loop);
  // Paths are shown as found under the given folder.
  EXPECT_EQ(set.images[0].display_path, (dir_ / "a.png").string());
}

TEST_F(Inputs, ListFilesAndExplicitFiles) {
  const auto list = root_ / "list.txt";
  write_text(list, "# evidence items\n" + (dir_ / "b_sub" / "notes.txt").string() + "\n\n" +
                       (dir_ / "b_sub" / "deep").string() + "\n");
  const auto set = collect_inputs({"@" + list.string()});
  // A file named explicitly always gets a report, even when its content is not an image.
  EXPECT_EQ(names(set.images), (std::vector<std::string>{"notes.txt", "c.jpg"}));
}

TEST_F(Inputs, TheSameFileTwiceIsReportedOnce) {
  const auto set = collect_inputs({(dir_ / "a.png").string(), (dir_ / "b_sub" / "link_to_a.png").string()});
  EXPECT_EQ(set.images.size(), 1u);
  EXPECT_EQ(set.skipped.size(), 1u);
}

TEST_F(Inputs, MissingInputOrListIsAnError) {
  EXPECT_THROW(collect_inputs({(dir_ / "nope.jpg").string()}), InputError);
  EXPECT_THROW(collect_inputs({"@" + (dir_ / "nope.txt").string()}), InputError);
}

}  // namespace
