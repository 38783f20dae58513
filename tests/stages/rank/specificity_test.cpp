// Contract: rank.specificity orders clues by specificity x confidence, ranks 1..n with non-increasing
// scores, explains each score, takes its weights from the config, counts lines of everyday words less than
// lines with a rare word (the real language stage decides which), and merges near-duplicates.
#include <gtest/gtest.h>

#include "pipeline/batch.hpp"
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

Clue at(Clue c, int x, int y, int w, int h) {
  c.box = Box{x, y, w, h};
  return c;
}

// The language stage (real word lists and dictionaries) and then the rank stage, as in the graph.
void language_then_rank(Config& config, ImageRecord& image) {
  prepare_stages(config);
  StageResult language_out, rank_out;
  config.stages[static_cast<std::size_t>(StageKind::language)].stage->process(image, language_out);
  rank_stage(config).process(image, rank_out);
}

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
  for (int i = 0; i < 40; ++i) {
    clues.push_back(make(kAllClueKinds[i % kAllClueKinds.size()], "v" + std::to_string(i), (i % 10) / 10.0));
  }
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

TEST(Specificity, APhoneNumberOutranksAnEverydayWordReadMoreSurely) {
  auto config = load_config_text("", "test");
  auto image = image_with({make(ClueKind::text, "OPEN", 0.99), make(ClueKind::phone, "+493023125678", 0.62)});
  language_then_rank(config, image);
  ASSERT_EQ(image.ranked_clues.size(), 2u);
  EXPECT_EQ(image.ranked_clues[0].kind, ClueKind::phone);
  EXPECT_GT(image.ranked_clues[1].confidence, image.ranked_clues[0].confidence);
  EXPECT_NE(image.ranked_clues[1].explanation.find("only common words"), std::string::npos) << image.ranked_clues[1].explanation;
}

TEST(Specificity, ALineWithARareWordOutranksALineOfEverydayWords) {
  auto config = load_config_text("", "test");
  auto image = image_with({make(ClueKind::text, "Heute offen", 0.95), make(ClueKind::text, "Bäckerei Wiedemann", 0.90)});
  language_then_rank(config, image);
  ASSERT_EQ(image.ranked_clues.size(), 2u);
  EXPECT_EQ(image.ranked_clues[0].value, "Bäckerei Wiedemann");
  EXPECT_GT(image.ranked_clues[0].score, image.ranked_clues[1].score);
  const auto rare = image.ranked_clues[0].details.at("rare_words");
  EXPECT_NE(std::find(rare.begin(), rare.end(), "wiedemann"), rare.end()) << rare.dump();
}

TEST(Specificity, AGlobalBrandCountsLessThanARegionalOne) {
  auto config = load_config_text("", "test");
  auto global = make(ClueKind::logo, "cocacola", 0.9);
  global.details = {{"name", "Coca-Cola"}, {"global", true}};
  auto regional = make(ClueKind::logo, "albertheijn", 0.8);
  regional.details = {{"name", "Albert Heijn"}, {"global", false}};
  auto image = image_with({global, regional});
  StageResult out;
  rank_stage(config).process(image, out);
  EXPECT_EQ(image.ranked_clues[0].value, "albertheijn");
  EXPECT_NE(image.ranked_clues[1].explanation.find("sold everywhere"), std::string::npos);
}

TEST(Specificity, NearDuplicatesBecomeOneClue) {
  auto config = load_config_text("", "test");
  auto logo = at(make(ClueKind::logo, "aldisud", 0.7), 100, 100, 200, 80);
  logo.details = {{"name", "ALDI SÜD"}, {"global", false}};
  auto image = image_with({
      at(make(ClueKind::text, "Café de Sterre", 0.90), 10, 10, 300, 40),   // read from one tile ...
      at(make(ClueKind::text, "CAFÉ DE STERRE", 0.95), 12, 11, 298, 40),   // ... and from the next
      logo,
      at(make(ClueKind::text, "Aldi Süd", 0.93), 110, 110, 180, 60),       // the wordmark, also read as text
      at(make(ClueKind::price, "2.49 EUR", 0.86), 400, 300, 90, 30),
      at(make(ClueKind::text, "2,49 €", 0.96), 400, 300, 90, 30),           // the price's own line
      at(make(ClueKind::text, "Aldi Süd Angebote", 0.93), 500, 500, 300, 40),  // more than the name: kept
  });
  image.regions.push_back({"DE", 0.9, {}, {2, 3}});  // evidence: the logo and the text that merges into it
  StageResult out;
  rank_stage(config).process(image, out);
  std::vector<std::string> values;
  for (const auto& c : image.ranked_clues) values.push_back(c.value);
  ASSERT_EQ(image.ranked_clues.size(), 4u) << ::testing::PrintToString(values);
  const Clue* cafe = nullptr;
  const Clue* aldi = nullptr;
  for (const auto& c : image.ranked_clues) {
    if (c.kind == ClueKind::text && c.value.starts_with("CAF")) cafe = &c;
    if (c.kind == ClueKind::logo) aldi = &c;
  }
  ASSERT_NE(cafe, nullptr);  // the surer reading stays
  EXPECT_EQ(cafe->details.at("merged").size(), 1u);
  ASSERT_NE(aldi, nullptr);
  EXPECT_EQ(aldi->details.at("merged").at(0).at("value"), "Aldi Süd");
  EXPECT_NE(aldi->explanation.find("merged"), std::string::npos);
  for (std::size_t i = 0; i < image.ranked_clues.size(); ++i) EXPECT_EQ(image.ranked_clues[i].rank, static_cast<int>(i) + 1);
  // Both pieces of evidence are now the one logo clue.
  ASSERT_EQ(image.regions[0].evidence.size(), 1u);
  EXPECT_EQ(image.regions[0].evidence[0], aldi->rank);
}

}  // namespace
