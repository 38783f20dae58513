// Contract: `cluetrace export-crops` writes each selected clue's crop (with its margin) as a new PNG with
// no metadata, cut from the original file only while its SHA-256 still matches the report; it refuses,
// with the reason, a crop in which a face or a person is detected (a real photograph: tests/data/astronaut.jpg).
#include <gtest/gtest.h>

#include <algorithm>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/case/export_crops.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace::test {
namespace {

namespace fs = std::filesystem;

// A notice board: a text panel, and beside it (within a generous margin of the text) a portrait.
cv::Mat board_with_portrait() {
  cv::Mat board(700, 1000, CV_8UC3, cv::Scalar(200, 210, 215));
  const cv::Mat portrait = cv::imread((source_dir() / "tests" / "data" / "astronaut.jpg").string());
  portrait.copyTo(board(cv::Rect(620, 60, portrait.cols, portrait.rows)));
  const cv::Mat note = text_image({"Zimmer frei"}, 420, 1.5);
  note.copyTo(board(cv::Rect(150, 200, note.cols, note.rows)));
  return board;
}

TEST(ExportCrops, TheDetectorsFindTheFaceInARealPhotoAndNothingInText) {
  PersonGuard guard(default_cascades_dir());
  const cv::Mat portrait = cv::imread((source_dir() / "tests" / "data" / "astronaut.jpg").string());
  ASSERT_FALSE(portrait.empty());
  const auto reason = guard.reason_to_refuse(portrait);
  ASSERT_TRUE(reason.has_value());
  EXPECT_NE(reason->find("face"), std::string::npos) << *reason;
  EXPECT_FALSE(guard.reason_to_refuse(text_image({"Baeckerei Wiedemann", "Tel. 030 2312 5678"}, 620, 1.5)).has_value());
}

TEST(ExportCrops, ACropNextToAFaceInTheImageIsRefusedOneFarFromItIsNot) {
  PersonGuard guard(default_cascades_dir());
  const cv::Mat portrait = cv::imread((source_dir() / "tests" / "data" / "astronaut.jpg").string());
  const auto found = guard.find(portrait);
  const auto face = std::find_if(found.begin(), found.end(), [](const auto& d) { return d.what.find("face") != std::string::npos; });
  ASSERT_NE(face, found.end());
  // Just below the chin: no face inside this rectangle, but it touches the head's surroundings.
  const cv::Rect below(face->where.x, face->where.y + face->where.height + 2, face->where.width, face->where.height / 4);
  EXPECT_TRUE(guard.reason_to_refuse(below, found).has_value());
  // The flag's corner, far from anyone.
  const cv::Rect corner(0, 0, 30, 30);
  ASSERT_FALSE(std::any_of(found.begin(), found.end(), [&](const auto& d) { return (d.where & corner).area() > 0; }));
  EXPECT_FALSE(guard.reason_to_refuse(corner, found).has_value());
}

TEST(ExportCrops, WritesCleanCropsRefusesFacesAndChangedFiles) {
  TempDir dir;
  fs::create_directories(dir / "case");
  cv::Mat flyer(500, 900, CV_8UC3, cv::Scalar(180, 190, 200));
  const cv::Mat note = text_image({"Baeckerei Wiedemann", "Tel. 030 2312 5678"}, 620, 1.5);
  note.copyTo(flyer(cv::Rect(100, 100, note.cols, note.rows)));
  write_bytes(dir / "case" / "flyer.jpg", encode(flyer, ".jpg"));
  write_bytes(dir / "case" / "board.jpg", encode(board_with_portrait(), ".jpg"));
  const auto run = run_cli({"run", "--out", (dir / "out").string(), (dir / "case").string()});
  ASSERT_EQ(run.exit_code, 0) << run.output;

  // A margin of three box sizes: the board's text crop reaches the portrait.
  const auto r = run_cli({"export-crops", (dir / "out").string(), "--out", (dir / "crops").string(), "--margin", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto manifest = read_json(dir / "crops" / "manifest.json");
  std::size_t written = 0, refused_faces = 0;
  for (const auto& entry : manifest) {
    const bool board = entry["image"].get<std::string>().ends_with("board.jpg");
    if (entry.contains("file")) {
      EXPECT_FALSE(board) << "a crop holding a face was written: " << entry.dump();
      const auto bytes = read_bytes(dir / "crops" / entry["file"].get<std::string>());
      const std::string text(bytes.begin(), bytes.end());
      EXPECT_TRUE(text.starts_with("\x89PNG"));
      EXPECT_EQ(text.find("Exif"), std::string::npos);
      EXPECT_EQ(text.find("eXIf"), std::string::npos);
      const cv::Mat crop = cv::imdecode(bytes, cv::IMREAD_COLOR);
      EXPECT_EQ(crop.cols, entry["crop"][2].get<int>());
      ++written;
    } else {
      ASSERT_TRUE(entry.contains("refused")) << entry.dump();
      if (board) {
        const std::string why = entry["refused"];
        EXPECT_TRUE(why.find("face") != std::string::npos || why.find("person") != std::string::npos) << why;
        ++refused_faces;
      }
    }
  }
  EXPECT_GE(written, 1u) << manifest.dump(2);
  EXPECT_GE(refused_faces, 1u) << manifest.dump(2);

  // The file changed after the run: nothing is cut from it.
  write_bytes(dir / "case" / "flyer.jpg", encode(flyer + cv::Scalar(1, 1, 1), ".jpg"));
  const auto again = run_cli({"export-crops", (dir / "out").string(), "--out", (dir / "crops2").string(), "--kind", "phone"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  const auto second = read_json(dir / "crops2" / "manifest.json");
  ASSERT_FALSE(second.empty());
  for (const auto& entry : second) {
    EXPECT_FALSE(entry.contains("file")) << entry.dump();
    EXPECT_NE(entry.value("refused", "").find("changed"), std::string::npos) << entry.dump();
  }
}

}  // namespace
}  // namespace cluetrace::test
