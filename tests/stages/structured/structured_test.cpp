// The structured-clue stages on real inputs: barcodes drawn by zxing's own writer, EXIF written by Exiv2 into
// a real JPEG, the real aspell and hunspell dictionaries and language data, and the region fusion of real clues.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <ZXing/BitMatrix.h>
#include <ZXing/MultiFormatWriter.h>
#include <exiv2/exiv2.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/models.hpp"
#include "stages/barcode/zxing_stage.hpp"
#include "stages/language/langid.hpp"
#include "stages/language/language_stage.hpp"
#include "pipeline/decode.hpp"
#include "stages/metadata/exiv2_stage.hpp"
#include "stages/region/fusion_stage.hpp"
#include "tests/support/test_support.hpp"

namespace cluetrace {
namespace {

namespace fs = std::filesystem;
using test::decoded_record;
using test::options_from_yaml;

// A photo-like scene (grey, some texture) with a code drawn at (x, y).
cv::Mat scene_with_code(ZXing::BarcodeFormat format, const std::string& content, int module_width, double angle) {
  const auto matrix = ZXing::MultiFormatWriter(format).setMargin(10).encode(content, 0, 0);
  cv::Mat code(matrix.height(), matrix.width(), CV_8UC1);
  for (int y = 0; y < matrix.height(); ++y) {
    for (int x = 0; x < matrix.width(); ++x) code.at<uchar>(y, x) = matrix.get(x, y) ? 20 : 235;
  }
  const int rows = format == ZXing::BarcodeFormat::EAN13 ? 60 : code.rows;
  cv::resize(code, code, {code.cols * module_width, rows * module_width}, 0, 0, cv::INTER_NEAREST);
  cv::Mat scene(900, 1200, CV_8UC1, cv::Scalar(150));
  cv::randu(scene, cv::Scalar(120), cv::Scalar(180));
  cv::GaussianBlur(scene, scene, {0, 0}, 3);
  code.copyTo(scene(cv::Rect(300, 250, code.cols, code.rows)));
  const cv::Mat turn = cv::getRotationMatrix2D({600, 450}, angle, 1.0);
  cv::warpAffine(scene, scene, turn, scene.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  cv::Mat bgr;
  cv::cvtColor(scene, bgr, cv::COLOR_GRAY2BGR);
  return bgr;
}

std::vector<Clue> run_stage(Stage& stage, ImageRecord& record) {
  stage.prepare();
  StageResult out;
  stage.process(record, out);
  return out.clues;
}

const Clue* find_kind(const std::vector<Clue>& clues, ClueKind kind) {
  for (const auto& c : clues) {
    if (c.kind == kind) return &c;
  }
  return nullptr;
}

// What the barcode stage (default options unless `yaml` says otherwise) finds in a scene.
std::vector<Clue> read_codes(const cv::Mat& scene, const std::string& yaml = "{}") {
  barcode::ZxingStage stage(options_from_yaml<barcode::BarcodeOptions>(yaml));
  auto record = decoded_record(scene);
  return run_stage(stage, record);
}

TEST(Barcode, Ean13ReadWithTheCountryOfItsGs1Prefix) {
  const auto clues = read_codes(scene_with_code(ZXing::BarcodeFormat::EAN13, "4006381333931", 3, 8));
  const auto* code = find_kind(clues, ClueKind::barcode);
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->value, "4006381333931");
  ASSERT_FALSE(code->countries.empty());
  EXPECT_EQ(code->countries[0].code, "DE");
  EXPECT_EQ(code->details["gs1_prefix"], "400");
  ASSERT_TRUE(code->box.has_value());
  EXPECT_NEAR(code->box->x, 300, 80);  // where it was drawn (rotated by 8 degrees about the centre)
}

TEST(Barcode, SmallTiltedBlurredRetailCodesAreReadToo) {
  // Two-pixel bars, tilted and blurred as on a label across the room: OpenCV's reader finds what zxing's scan
  // lines do not.
  // (zxing-cpp 1.4 alone, opencv_retail: false, misses this one.)
  cv::Mat scene = scene_with_code(ZXing::BarcodeFormat::EAN13, "5901234123457", 2, 12);
  cv::GaussianBlur(scene, scene, {0, 0}, 1.1);
  const auto clues = read_codes(scene);
  const auto* code = find_kind(clues, ClueKind::barcode);
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->value, "5901234123457");
  ASSERT_FALSE(code->countries.empty());
  EXPECT_EQ(code->countries[0].code, "PL");
}

TEST(Barcode, RestrictedAndBookPrefixesSayNothingAboutPlace) {
  for (const std::string digits : {"9783161484100", "2012345678903"}) {  // ISBN, in-store
    const auto clues = read_codes(scene_with_code(ZXing::BarcodeFormat::EAN13, digits, 3, 0));
    const auto* code = find_kind(clues, ClueKind::barcode);
    ASSERT_NE(code, nullptr) << digits;
    EXPECT_EQ(code->value, digits);
    EXPECT_TRUE(code->countries.empty()) << digits;
  }
}

TEST(Barcode, QrWithAWebAddressBecomesAUrlClue) {
  const auto clues = read_codes(scene_with_code(ZXing::BarcodeFormat::QRCode, "HTTPS://WWW.EXAMPLE.PL/SKLEP", 4, 20));
  const auto* url = find_kind(clues, ClueKind::url);
  ASSERT_NE(url, nullptr);
  EXPECT_EQ(url->value, "HTTPS://WWW.EXAMPLE.PL/SKLEP");  // as encoded
  ASSERT_EQ(url->countries.size(), 1u);
  EXPECT_EQ(url->countries[0].code, "PL");
}

TEST(Barcode, ABrokenPrefixTableStopsTheStageAtStartWithTheFileAndLine) {
  test::TempDir dir;
  test::write_text(dir / "prefixes.tsv", "from\tto\tcountry\talso\tmeaning\n000\t499\tUS\t\tx\n600\t999\t\t\ty\n");
  barcode::ZxingStage stage(options_from_yaml<barcode::BarcodeOptions>("prefixes: " + (dir / "prefixes.tsv").string()));
  try {
    stage.prepare();
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("prefixes.tsv:3"), std::string::npos) << e.what();
  }
}

// A JPEG with camera and GPS fields written by Exiv2.
std::filesystem::path photo_with_gps(const std::filesystem::path& dir, const char* lat, const char* lat_ref,
                                     const char* lon, const char* lon_ref) {
  const auto file = dir / "photo.jpg";
  cv::imwrite(file.string(), cv::Mat(120, 160, CV_8UC3, cv::Scalar(90, 120, 150)));
  auto image = Exiv2::ImageFactory::open(file.string());
  image->readMetadata();
  auto& exif = image->exifData();
  exif["Exif.Image.Make"] = "Canon";
  exif["Exif.Image.Model"] = "Canon EOS 80D";
  exif["Exif.Photo.DateTimeOriginal"] = "2021:06:05 14:03:11";
  exif["Exif.GPSInfo.GPSLatitude"] = lat;
  exif["Exif.GPSInfo.GPSLatitudeRef"] = lat_ref;
  exif["Exif.GPSInfo.GPSLongitude"] = lon;
  exif["Exif.GPSInfo.GPSLongitudeRef"] = lon_ref;
  image->writeMetadata();
  return file;
}

// The file read, hashed and decoded as the graph's decode node does it.
ImageRecord decoded_file(const std::filesystem::path& file) {
  ImageRecord record;
  record.input = {file, file.string()};
  read_and_decode(record, DecodeOptions{});
  record.stage_results.resize(kAllStageKinds.size());
  EXPECT_TRUE(record.decoded) << file;
  return record;
}

std::vector<Clue> metadata_of(ImageRecord& record) {
  metadata::Exiv2Stage stage(options_from_yaml<metadata::MetadataOptions>("if_borders_missing: error"));
  return run_stage(stage, record);
}

std::vector<Clue> metadata_of(const std::filesystem::path& file) {
  auto record = decoded_file(file);
  return metadata_of(record);
}

TEST(Metadata, CameraTimeAndGpsWithTheCountryFromTheBorders) {
  test::TempDir dir;
  // Munich: 48 deg 8' 13" N, 11 deg 34' 31" E.
  const auto clues = metadata_of(photo_with_gps(dir.path(), "48/1 8/1 13/1", "N", "11/1 34/1 31/1", "E"));
  const auto* gps = find_kind(clues, ClueKind::gps);
  ASSERT_NE(gps, nullptr);
  EXPECT_EQ(gps->value, "48.136944,11.575278");
  ASSERT_EQ(gps->countries.size(), 1u);
  EXPECT_EQ(gps->countries[0].code, "DE");
  bool camera = false, time = false;
  for (const auto& c : clues) {
    if (c.kind == ClueKind::metadata && c.value == "Canon EOS 80D") camera = true;
    if (c.kind == ClueKind::metadata && c.value == "2021:06:05 14:03:11") time = true;
  }
  EXPECT_TRUE(camera);
  EXPECT_TRUE(time);
}

TEST(Metadata, TheMetadataComesFromTheBytesThatWereHashedNotTheFileAsItIsNow) {
  test::TempDir dir;
  auto record = decoded_file(photo_with_gps(dir.path(), "48/1 8/1 13/1", "N", "11/1 34/1 31/1", "E"));  // Munich
  // The file changes after it was hashed (a copy still being written, a tampered file): the report's hashes
  // describe the first bytes, so must its metadata.
  photo_with_gps(dir.path(), "41/1 54/1 8/1", "N", "12/1 27/1 11/1", "E");  // Rome
  const auto clues = metadata_of(record);
  const auto* gps = find_kind(clues, ClueKind::gps);
  ASSERT_NE(gps, nullptr);
  ASSERT_FALSE(gps->countries.empty());
  EXPECT_EQ(gps->countries[0].code, "DE") << gps->value;
}

TEST(Metadata, SmallStatesInsideOthersAndPointsAtSea) {
  test::TempDir dir;
  // St Peter's Square, Vatican City (inside Rome): the smaller territory wins.
  auto clues = metadata_of(photo_with_gps(dir.path(), "41/1 54/1 8/1", "N", "12/1 27/1 11/1", "E"));
  ASSERT_NE(find_kind(clues, ClueKind::gps), nullptr);
  ASSERT_EQ(find_kind(clues, ClueKind::gps)->countries.size(), 1u);
  EXPECT_EQ(find_kind(clues, ClueKind::gps)->countries[0].code, "VA");
  // Mid-Atlantic: a position, no country.
  clues = metadata_of(photo_with_gps(dir.path(), "40/1 0/1 0/1", "N", "35/1 0/1 0/1", "W"));
  ASSERT_NE(find_kind(clues, ClueKind::gps), nullptr);
  EXPECT_TRUE(find_kind(clues, ClueKind::gps)->countries.empty());
}

TEST(Metadata, AnImageWithoutMetadataGivesNoClueAndNoError) {
  test::TempDir dir;
  const auto file = dir / "plain.png";
  cv::imwrite(file.string(), cv::Mat(50, 50, CV_8UC3, cv::Scalar(1, 2, 3)));
  EXPECT_TRUE(metadata_of(file).empty());
}

language::LanguageOptions language_options() { return options_from_yaml<language::LanguageOptions>("{}"); }

// Either kind of spelling dictionary (aspell's, the default, and hunspell's) names the language of short texts.
TEST(Language, ShortTextsInElevenLanguages) {
  for (const auto kind : {language::DictionaryKind::aspell, language::DictionaryKind::hunspell}) {
    SCOPED_TRACE(std::string(language::dictionary_kind_name(kind)));
    auto options = language_options().langid;
    options.dictionaries = kind;
    const language::LanguageIdentifier id(options);
    const std::pair<const char*, const char*> cases[] = {
        {"frische Brötchen", "de"}, {"fromage frais", "fr"},   {"verse melk", "nl"},     {"pan recién hecho", "es"},
        {"formaggio fresco", "it"}, {"pão quente", "pt"},       {"świeże pieczywo", "pl"}, {"čerstvé pečivo", "cs"},
        {"färskt bröd", "sv"},      {"friskt brød", "da"},      {"fresh bread", "en"},
    };
    for (const auto& [text, code] : cases) {
      const auto guesses = id.identify(text);
      ASSERT_FALSE(guesses.empty()) << text;
      EXPECT_EQ(guesses[0].code, code) << text;
    }
    EXPECT_TRUE(id.identify("12,99 € / 500").empty());  // no word: no guess
    for (const auto& source : id.sources()) EXPECT_NE(source.find(std::string(language::dictionary_kind_name(kind)) + " "), std::string::npos) << source;
  }
}

// A copy of a dictionary folder gives the same answer as the original.
void expect_polish_from(const language::LangIdOptions& options) {
  const language::LanguageIdentifier copied(options);
  const auto guesses = copied.identify("świeże pieczywo");
  ASSERT_FALSE(guesses.empty());
  EXPECT_EQ(guesses[0].code, "pl");
}

// Rewrites the line of `file` that starts with `key` (the charset a dictionary declares) as `line`; a link to
// the original is replaced by a file of its own.
void declare_in(const fs::path& file, const std::string& key, const std::string& line) {
  std::string text;
  {
    std::ifstream in(file, std::ios::binary);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto at = text.find(key);
  ASSERT_NE(at, std::string::npos) << file;
  text.replace(at, text.find('\n', at) - at, line);
  fs::remove(file);
  test::write_text(file, text);
}

// The identifier refuses to start, naming each of `named`, whether its dictionaries open now or later: the
// language stage opens them while a run's first images go through the other stages, and what stops its start
// must stop it before the run begins.
void expect_refused_naming(const language::LangIdOptions& options, const std::vector<std::string>& named) {
  for (const auto dictionaries : {language::LanguageIdentifier::Dictionaries::now, language::LanguageIdentifier::Dictionaries::later}) {
    try {
      language::LanguageIdentifier broken(options, dictionaries);
      FAIL() << "the identifier started";
    } catch (const std::runtime_error& e) {
      for (const auto& name : named) EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

// What stops the language stage's start is named with its file: a charset iconv does not know (an ISO 8859-2
// dictionary, Polish, is read through iconv), or a missing dictionary. Hunspell's here; aspell's below.
TEST(Language, AnUnknownCharsetOrAMissingDictionaryStopsTheStartNamingIt) {
  auto options = language_options().langid;
  options.dictionaries = language::DictionaryKind::hunspell;
  test::TempDir dir;
  for (const auto& code : options.languages) {
    const auto locale = language::hunspell_locale(code);
    for (const char* ext : {".aff", ".dic"}) fs::copy_file(options.hunspell_dir / (locale + ext), dir / (locale + ext));
  }
  options.hunspell_dir = dir.path();
  expect_polish_from(options);
  declare_in(dir / "da_DK.aff", "SET ", "SET X-NO-SUCH-CHARSET");  // where hunspell reads it
  expect_refused_naming(options, {"da_DK.aff", "X-NO-SUCH-CHARSET"});
  fs::remove(dir / "sv_SE.dic");  // Swedish comes before Danish
  expect_refused_naming(options, {"'sv'", "hunspell-sv"});
}

// The same for aspell's dictionaries, from a copy of aspell's folder (its files linked): a language data file
// declaring a charset iconv does not know, and a missing dictionary.
TEST(Language, AnUnknownAspellCharsetOrAMissingAspellDictionaryStopsTheStartNamingIt) {
  auto options = language_options().langid;
  ASSERT_EQ(options.dictionaries, language::DictionaryKind::aspell);  // the default
  const auto own = language::locate_dictionary(language::DictionaryKind::aspell, "pl", {});
  test::TempDir dir;
  for (const auto& folder : {own.dir, own.main.parent_path()})
    for (const auto& entry : fs::directory_iterator(folder))
      if (!fs::exists(dir / entry.path().filename().string())) fs::create_symlink(entry.path(), dir / entry.path().filename().string());
  options.aspell_dir = dir.path();
  expect_polish_from(options);
  declare_in(dir / "pl.dat", "charset", "charset x-no-such-charset");
  expect_refused_naming(options, {"pl.dat", "x-no-such-charset"});
  fs::remove(dir / "pl.dat");
  fs::create_symlink(own.main, dir / "pl.dat");  // Polish as it was: the missing dictionary below is the error
  fs::remove(dir / "sv.multi");
  expect_refused_naming(options, {"'sv'", "aspell-sv"});
}

TEST(Language, TheStageSetsEachLinesAndTheImagesLanguages) {
  language::LanguageStage stage(language_options());
  auto record = decoded_record(cv::Mat(10, 10, CV_8UC3));
  record.stage_results.resize(kAllStageKinds.size());
  for (const char* line : {"Sonderangebot für alle Kunden", "Öffnungszeiten Montag bis Freitag", "Coca-Cola"}) {
    Clue c;
    c.kind = ClueKind::text;
    c.value = line;
    c.confidence = 0.9;
    record.stage_results[1].clues.push_back(c);
  }
  StageResult out;
  stage.prepare();
  // The dictionaries load apart (Stage::load, while a worker's first images run): asked before, the stage
  // refuses rather than score every word as missing from them.
  try {
    stage.process(record, out);
    FAIL() << "the stage read text before its dictionaries were loaded";
  } catch (const std::logic_error& e) {
    EXPECT_NE(std::string(e.what()).find("aspell dictionary was asked before it was loaded"), std::string::npos) << e.what();
  }
  record.text_languages.clear();
  record.text_words.clear();
  stage.load();
  stage.process(record, out);
  ASSERT_FALSE(record.languages.empty());
  EXPECT_EQ(record.languages[0].code, "de");
  EXPECT_GT(record.languages[0].probability, 0.6);
  ASSERT_TRUE(record.text_languages.count("Sonderangebot für alle Kunden"));
  EXPECT_EQ(record.text_languages["Sonderangebot für alle Kunden"][0].code, "de");
}

Clue clue_with(ClueKind kind, const std::string& value, std::vector<CountryWeight> countries, double confidence = 0.9) {
  Clue c;
  c.kind = kind;
  c.value = value;
  c.confidence = confidence;
  c.countries = std::move(countries);
  return c;
}

std::vector<RegionGuess> fuse(std::vector<Clue> clues, std::vector<LanguageGuess> languages = {}) {
  region::FusionStage stage(options_from_yaml<region::FusionOptions>("{}"));
  auto record = decoded_record(cv::Mat(10, 10, CV_8UC3));
  record.stage_results.resize(kAllStageKinds.size());
  record.stage_results[5].clues = std::move(clues);
  record.languages = std::move(languages);
  StageResult out;
  stage.process(record, out);
  return record.regions;
}

std::vector<CountryWeight> euro() {
  std::vector<CountryWeight> out;
  for (const char* c : {"AT", "BE", "HR", "CY", "EE", "FI", "FR", "DE", "GR", "IE", "IT", "LV", "LT", "LU", "MT", "NL", "PT", "SK", "SI", "ES"}) out.push_back({c, 1.0 / 20});
  return out;
}

TEST(Region, AgreeingEvidenceIsSureContradictingEvidenceIsNot) {
  const auto agree = fuse({clue_with(ClueKind::phone, "+49302345678", {{"DE", 1}}), clue_with(ClueKind::url, "www.example.de", {{"DE", 1}}),
                           clue_with(ClueKind::price, "2.99 EUR", euro())},
                          {{"de", 0.9}});
  ASSERT_FALSE(agree.empty());
  EXPECT_EQ(agree[0].code, "DE");
  EXPECT_GT(agree[0].probability, 0.9);
  EXPECT_EQ(agree[0].evidence_clues.size(), 3u);

  const auto contradict = fuse({clue_with(ClueKind::phone, "+49302345678", {{"DE", 1}}), clue_with(ClueKind::url, "www.example.fr", {{"FR", 1}})});
  ASSERT_GE(contradict.size(), 2u);
  EXPECT_LT(contradict[0].probability, 0.9);
  EXPECT_EQ(contradict[1].code, "FR");
  EXPECT_GT(contradict[1].probability, 0.1);
  EXPECT_LT(contradict[0].probability, agree[0].probability);
}

TEST(Region, EvidenceThatFitsManyCountriesWeighsLittle) {
  EXPECT_TRUE(fuse({}).empty());  // nothing localises: no guess
  const auto euro_only = fuse({clue_with(ClueKind::price, "2.99 EUR", euro())});
  ASSERT_FALSE(euro_only.empty());
  EXPECT_LT(euro_only[0].probability, 0.1);  // flat over the euro area
  // The euro does not outvote a national phone number from outside the euro area.
  const auto pl = fuse({clue_with(ClueKind::phone, "+48221234567", {{"PL", 1}}), clue_with(ClueKind::price, "2.99 EUR", euro())});
  ASSERT_FALSE(pl.empty());
  EXPECT_EQ(pl[0].code, "PL");
  // English says little: a Dutch number decides.
  const auto nl = fuse({clue_with(ClueKind::phone, "+31206241111", {{"NL", 1}})}, {{"en", 1.0}});
  EXPECT_EQ(nl[0].code, "NL");
}

}  // namespace
}  // namespace cluetrace
