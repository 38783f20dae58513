// Scene matching on generated backgrounds: a second view of a room is found, also among hundreds of
// near-identical frames of another room (a video cut into stills), whose shared features are left out of the
// index so the search does not scan the whole case for each of them.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/case/scenes.hpp"

namespace {

// A busy background: rectangles, circles and lines of random colours on a random flat colour.
cv::Mat room(std::uint64_t seed) {
  cv::RNG rng(seed);
  cv::Mat img(600, 800, CV_8UC3, cv::Scalar(rng.uniform(60, 200), rng.uniform(60, 200), rng.uniform(60, 200)));
  const auto colour = [&] { return cv::Scalar(rng.uniform(0, 256), rng.uniform(0, 256), rng.uniform(0, 256)); };
  for (int i = 0; i < 120; ++i) {
    const cv::Point a(rng.uniform(0, img.cols), rng.uniform(0, img.rows));
    const cv::Point b(a.x + rng.uniform(-90, 90), a.y + rng.uniform(-90, 90));
    switch (i % 3) {
      case 0: cv::rectangle(img, a, b, colour(), cv::FILLED); break;
      case 1: cv::circle(img, a, rng.uniform(5, 40), colour(), rng.uniform(-1, 4)); break;
      default: cv::line(img, a, b, colour(), rng.uniform(1, 5)); break;
    }
  }
  return img;
}

// The same room from a little to the side: a mild perspective change.
cv::Mat second_view(const cv::Mat& img) {
  const std::vector<cv::Point2f> from{{0, 0}, {800, 0}, {800, 600}, {0, 600}};
  const std::vector<cv::Point2f> to{{30, 12}, {780, 0}, {790, 590}, {12, 585}};
  cv::Mat out;
  cv::warpPerspective(img, out, cv::getPerspectiveTransform(from, to), img.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

bool linked(const std::vector<cluetrace::SceneMatch>& found, std::size_t a, std::size_t b) {
  return std::any_of(found.begin(), found.end(), [&](const auto& m) { return m.a == std::min(a, b) && m.b == std::max(a, b); });
}

}  // namespace

// Two signatures verified the way OpenCV's brute-force matcher does it: knnMatch (k = 2) with the ratio test,
// then a RANSAC homography and its distinct inlier places (4-pixel cells).
int verified_with_bf_matcher(const cluetrace::SceneSignature& a, const cluetrace::SceneSignature& b) {
  cv::BFMatcher matcher(cv::NORM_HAMMING);
  std::vector<std::vector<cv::DMatch>> knn;
  matcher.knnMatch(a.descriptors, b.descriptors, knn, 2);
  std::vector<cv::Point2f> from, to;
  for (const auto& m : knn) {
    if (m.size() < 2 || !(m[0].distance < 0.8f * m[1].distance)) continue;
    from.push_back(a.points[static_cast<std::size_t>(m[0].queryIdx)]);
    to.push_back(b.points[static_cast<std::size_t>(m[0].trainIdx)]);
  }
  if (from.size() < 8) return 0;
  cv::Mat inliers;
  if (cv::findHomography(from, to, cv::RANSAC, 5.0, inliers, 2000, 0.995).empty()) return 0;
  std::vector<std::pair<int, int>> seen;
  for (std::size_t i = 0; i < to.size(); ++i) {
    if (inliers.at<uchar>(static_cast<int>(i))) seen.emplace_back(static_cast<int>(to[i].x / 4), static_cast<int>(to[i].y / 4));
  }
  std::sort(seen.begin(), seen.end());
  return static_cast<int>(std::unique(seen.begin(), seen.end()) - seen.begin());
}

// The case's own matcher (a Hamming search of its own, and no RANSAC where too few places match) decides every
// pair as OpenCV's brute-force matcher did: the same inliers where a pair reaches the threshold, below it where not.
TEST(SceneMatching, PairsAreVerifiedAsWithOpenCvsBruteForceMatcher) {
  std::vector<cluetrace::SceneSignature> signatures;
  for (std::uint64_t seed = 11; seed < 15; ++seed) {
    const cv::Mat img = room(seed);
    signatures.push_back(cluetrace::scene_signature(img, {}, 600));
    signatures.push_back(cluetrace::scene_signature(second_view(img), {}, 600));
    // The same room with its middle masked out, as a clue's box is.
    signatures.push_back(cluetrace::scene_signature(second_view(img), {{200, 150, 400, 300}}, 600));
  }
  constexpr int kMinInliers = 20;
  int same_scene = 0;
  for (std::size_t i = 0; i < signatures.size(); ++i) {
    for (std::size_t j = 0; j < signatures.size(); ++j) {
      if (i == j) continue;
      const int expected = verified_with_bf_matcher(signatures[i], signatures[j]);
      const int got = cluetrace::verify_scene_pair(signatures[i], signatures[j], kMinInliers);
      if (expected >= kMinInliers) {
        ++same_scene;
        EXPECT_EQ(got, expected) << i << " ~ " << j;
      } else {
        EXPECT_LT(got, kMinInliers) << i << " ~ " << j << " (OpenCV's matcher: " << expected << ")";
      }
    }
  }
  EXPECT_GE(same_scene, 24) << "each room's three signatures match each other both ways";
}

TEST(SceneMatching, ASecondViewIsFoundAmongHundredsOfNearIdenticalFrames) {
  std::vector<cluetrace::SceneSignature> signatures;
  const cv::Mat a = room(1);
  signatures.push_back(cluetrace::scene_signature(a, {}, 600));
  signatures.push_back(cluetrace::scene_signature(second_view(a), {}, 600));
  // 200 stills of one other room, each with its own sensor noise.
  const cv::Mat b = room(2);
  constexpr std::size_t kFrames = 200;
  for (std::size_t i = 0; i < kFrames; ++i) {
    cv::Mat noise(b.size(), CV_16SC3);
    cv::randn(noise, 0, 3);
    cv::Mat frame;
    b.convertTo(frame, CV_16SC3);
    frame += noise;
    frame.convertTo(frame, CV_8UC3);
    signatures.push_back(cluetrace::scene_signature(frame, {}, 600));
  }
  cluetrace::SceneMatchOptions options;
  ASSERT_GE(signatures.size(), options.exhaustive_below) << "the indexed path is what this test is about";
  std::size_t verified = 0;
  const auto found = cluetrace::match_scenes(signatures, options, &verified);

  EXPECT_TRUE(linked(found, 0, 1)) << "the second view of the first room";
  for (std::size_t i = 2; i < signatures.size(); ++i) {
    EXPECT_FALSE(linked(found, 0, i) || linked(found, 1, i)) << "the first room is not frame " << i;
  }
  // Every still is linked to some other still of its room (by its hash, when its features are all common).
  std::size_t frames_linked = 0;
  for (std::size_t i = 2; i < signatures.size(); ++i) {
    frames_linked += std::any_of(found.begin(), found.end(), [&](const auto& m) { return (m.a == i || m.b == i) && m.a >= 2; });
  }
  EXPECT_EQ(frames_linked, kFrames);
  // Verification stays linear: a few candidates per picture, not every pair of the 200 (19,900).
  EXPECT_LE(verified, signatures.size() * 2 * options.candidates_per_image);
}

namespace {

// A background of 600 random features, and the same background seen again: the points moved and scaled a
// little, each descriptor with a few bits flipped (as bench/scale/make_scale_case makes them).
cluetrace::SceneSignature random_background(cv::RNG& rng) {
  cluetrace::SceneSignature s;
  s.width = cluetrace::kSceneSide;
  s.height = 600;
  s.phash = (static_cast<std::uint64_t>(rng.next()) << 32) | rng.next();
  s.descriptors = cv::Mat(600, 32, CV_8U);
  rng.fill(s.descriptors, cv::RNG::UNIFORM, 0, 256);
  for (int r = 0; r < 600; ++r) s.points.emplace_back(rng.uniform(0.f, 800.f), rng.uniform(0.f, 600.f));
  return s;
}

cluetrace::SceneSignature seen_again(const cluetrace::SceneSignature& a, cv::RNG& rng) {
  cluetrace::SceneSignature s = a;
  s.descriptors = a.descriptors.clone();
  const float dx = rng.uniform(-30.f, 30.f), k = rng.uniform(0.92f, 1.08f);
  for (int r = 0; r < s.descriptors.rows; ++r) {
    s.points[static_cast<std::size_t>(r)] = {a.points[static_cast<std::size_t>(r)].x * k + dx, a.points[static_cast<std::size_t>(r)].y * k};
    for (int f = 0; f < 6; ++f) s.descriptors.at<unsigned char>(r, rng.uniform(0, 32)) ^= static_cast<unsigned char>(1 << rng.uniform(0, 8));
  }
  s.phash = a.phash ^ (std::uint64_t{1} << rng.uniform(0, 64));
  return s;
}

}  // namespace

// The large-case path (beyond kScenesInMemory signatures): with a memory budget so small that the LSH keys and
// their votes go through dozens of partition files, it finds exactly what it finds in memory, every second view
// among 2,400 pictures, and leaves no file behind.
TEST(SceneMatching, ALargeCaseMatchedThroughFilesFindsWhatItFindsInMemory) {
  cv::RNG rng(20261202);
  std::vector<cluetrace::SceneSignature> signatures;
  std::vector<std::pair<std::size_t, std::size_t>> views;
  while (signatures.size() < 2400) {
    if (!signatures.empty() && signatures.size() % 20 == 0) {
      views.emplace_back(signatures.size() - 1, signatures.size());
      signatures.push_back(seen_again(signatures.back(), rng));
    } else {
      signatures.push_back(random_background(rng));
    }
  }
  ASSERT_GT(signatures.size(), cluetrace::kScenesInMemory);
  const cluetrace::SignatureLoader load = [&](std::size_t i) { return std::optional(signatures[i]); };

  cluetrace::SceneMatchOptions in_memory;
  std::size_t verified_in_memory = 0;
  const auto expected = cluetrace::match_scenes_from(load, signatures.size(), in_memory, &verified_in_memory);

  const auto spill = std::filesystem::temp_directory_path() / ("cluetrace-spill-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(spill);
  cluetrace::SceneMatchOptions through_files;
  through_files.memory_budget = 256 << 10;  // 64 KiB partitions: the keys of 2,400 pictures (4.9 MB) in 75 files
  through_files.spill_folder = spill;
  std::size_t verified_through_files = 0;
  const auto found = cluetrace::match_scenes_from(load, signatures.size(), through_files, &verified_through_files);

  EXPECT_TRUE(std::filesystem::is_empty(spill)) << "the partition files are removed";
  std::filesystem::remove_all(spill);
  EXPECT_EQ(verified_through_files, verified_in_memory);
  ASSERT_EQ(found.size(), expected.size());
  for (std::size_t i = 0; i < found.size(); ++i) {
    EXPECT_EQ(found[i].a, expected[i].a);
    EXPECT_EQ(found[i].b, expected[i].b);
    EXPECT_EQ(found[i].inliers, expected[i].inliers);
  }
  for (const auto& [a, b] : views) EXPECT_TRUE(linked(found, a, b)) << "picture " << b << " is a second view of " << a;
  EXPECT_EQ(found.size(), views.size()) << "random backgrounds match nothing else";
}
