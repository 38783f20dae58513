// Scene matching on generated backgrounds: a second view of a room is found, also among hundreds of
// near-identical frames of another room (a video cut into stills), whose shared features are left out of the
// index so the search does not scan the whole case for each of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

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
