// Contract: rank.specificity orders clues by kind weight x confidence, ranks 1..n with non-increasing
// scores, explains each score, and takes its weights from the config.
#include <gtest/gtest.h>

#include "pipeline/config.hpp"
#include "stages/rank/specificity.hpp"

using namespace cluetrace;

namespace {

Clue make(ClueKind kind, const std::string& value, double confidence) {
  Clue c;
  c.kind = kind;
  c.value = value;
  c.confidence = confidence;
  return c;
}

ImageRecord image_with(std::vector<Clue> clues) {
  ImageRecord image;
  image.stage_results.resize(kAllStageKinds.size());
  image.stage_results[0].clues = std::move(clues);
  return image;
}

Stage& rank_stage(Config& config) { return *config.stages[static_cast<std::size_t>(StageKind::rank)].stage; }

TEST(Specificity, PhoneOutranksACommonWordReadMoreSurely) {
  auto config = load_config_text("", "test");
  auto image = image_with({make(ClueKind::text, "the", 0.97), make(ClueKind::phone, "+493012345678", 0.80)});
  StageResult out;
  rank_stage(config).process(image, out);
  ASSERT_TRUE(image.ranked);
  ASSERT_EQ(image.ranked_clues.size(), 2u);
  EXPECT_EQ(image.ranked_clues[0].kind, ClueKind::phone);
  EXPECT_EQ(image.ranked_clues[0].rank, 1);
  EXPECT_EQ(image.ranked_clues[1].rank, 2);
  EXPECT_GE(image.ranked_clues[0].score, image.ranked_clues[1].score);
  for (const auto& c : image.ranked_clues) EXPECT_FALSE(c.explanation.empty());
}

TEST(Specificity, WeightsComeFromTheConfig) {
  auto config = load_config_text("stages:\n  rank:\n    weights:\n      text: 1.0\n      phone: 0.1\n", "test");
  auto image = image_with({make(ClueKind::phone, "+493012345678", 0.8), make(ClueKind::text, "Edeka", 0.9)});
  StageResult out;
  rank_stage(config).process(image, out);
  EXPECT_EQ(image.ranked_clues[0].value, "Edeka");
  EXPECT_NEAR(image.ranked_clues[0].score, 0.9, 1e-9);
  EXPECT_NEAR(image.ranked_clues[1].score, 0.08, 1e-9);
}

TEST(Specificity, ManyCluesAreRankedWithNonIncreasingScores) {
  auto config = load_config_text("", "test");
  std::vector<Clue> clues;
  for (int i = 0; i < 40; ++i) clues.push_back(make(kAllClueKinds[i % kAllClueKinds.size()], "v", (i % 10) / 10.0));
  auto image = image_with(clues);
  StageResult out;
  rank_stage(config).process(image, out);
  ASSERT_EQ(image.ranked_clues.size(), 40u);
  for (std::size_t i = 0; i < image.ranked_clues.size(); ++i) {
    EXPECT_EQ(image.ranked_clues[i].rank, static_cast<int>(i) + 1);
    if (i > 0) {
      EXPECT_LE(image.ranked_clues[i].score, image.ranked_clues[i - 1].score);
    }
  }
}

}  // namespace
