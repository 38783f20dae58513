// The clue extractors on real formats of European countries, including the tricky ones: numbers without a
// country code, prices with both comma and point, postcodes whose format several countries share.
#include <gtest/gtest.h>

#include "pipeline/config.hpp"
#include "stages/clues/clues_stage.hpp"
#include "stages/clues/extract.hpp"

namespace cluetrace::clues {
namespace {

std::vector<std::string> phones(const PhoneFinder& finder, std::string_view text, const std::map<std::string, double>& hints = {}) {
  std::vector<std::string> out;
  for (const auto& m : finder.find(text, hints)) out.push_back(m.e164);
  return out;
}

const std::vector<std::string> kRegions{"DE", "FR", "GB", "IT", "ES", "NL", "BE", "PL", "CZ", "SE", "DK", "AT", "CH", "PT", "LU"};

TEST(Phones, WrittenWithCountryCodeInTheFormatsOfTenCountries) {
  const PhoneFinder finder(kRegions);
  EXPECT_EQ(phones(finder, "Tel. +49 30 2345678"), std::vector<std::string>{"+49302345678"});
  EXPECT_EQ(phones(finder, "Appelez le +33 1 42 68 53 00"), std::vector<std::string>{"+33142685300"});
  EXPECT_EQ(phones(finder, "Call +44 (0)20 7946 0958 today"), std::vector<std::string>{"+442079460958"});
  EXPECT_EQ(phones(finder, "tel: 0031 20 624 1111"), std::vector<std::string>{"+31206241111"});
  EXPECT_EQ(phones(finder, "+34 912 345 678"), std::vector<std::string>{"+34912345678"});
  EXPECT_EQ(phones(finder, "+39 06 6988 1234"), std::vector<std::string>{"+390669881234"});
  EXPECT_EQ(phones(finder, "+48 22 123 45 67"), std::vector<std::string>{"+48221234567"});
  EXPECT_EQ(phones(finder, "+420 224 812 345"), std::vector<std::string>{"+420224812345"});
  EXPECT_EQ(phones(finder, "+46 8-123 456 78"), std::vector<std::string>{"+46812345678"});
  EXPECT_EQ(phones(finder, "+45 33 12 34 56"), std::vector<std::string>{"+4533123456"});
  const auto m = finder.find("+49 30 2345678");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_TRUE(m[0].international);
  EXPECT_EQ(m[0].region, "DE");
  ASSERT_EQ(m[0].countries.size(), 1u);
  EXPECT_EQ(m[0].countries[0].code, "DE");
}

TEST(Phones, NationalNumbersAreResolvedByTheImagesHints) {
  const PhoneFinder finder(kRegions);
  // Valid as a Berlin number and as numbers elsewhere: the first region wins without hints ...
  const auto plain = finder.find("Tel. 030 2345678");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].e164, "+49302345678");
  EXPECT_FALSE(plain[0].international);
  // ... a French number is found as French even though Germany is tried first ...
  EXPECT_EQ(phones(finder, "01 42 68 53 00"), std::vector<std::string>{"+33142685300"});
  // ... and the hints choose between readings that are valid in several regions.
  const auto dutch = finder.find("020 624 1111", {{"NL", 1.0}});
  ASSERT_EQ(dutch.size(), 1u);
  EXPECT_EQ(dutch[0].e164, "+31206241111");
  EXPECT_EQ(dutch[0].countries.front().code, "NL");
  const auto german = finder.find("020 624 1111", {{"DE", 1.0}});
  ASSERT_EQ(german.size(), 1u);
  EXPECT_NE(german[0].e164, dutch[0].e164);
  EXPECT_FALSE(german[0].alternatives.empty());
}

TEST(Phones, DigitsMisreadAsLettersAreRepairedAndWordsAreNot) {
  EXPECT_EQ(repair_digits("+49 3O 2345l78"), "+49 30 2345178");
  EXPECT_EQ(repair_digits("Info Tel 0l"), "Info Tel 0l");
  const PhoneFinder finder(kRegions);
  EXPECT_EQ(phones(finder, "Tel +49 3O 2345678"), std::vector<std::string>{"+49302345678"});
  EXPECT_TRUE(phones(finder, "Preis 12,99 EUR, 3 Stück, Art. 4711").empty());
  // Short numbers without a country code are postcodes and house numbers, not Luxembourg's short lines.
  EXPECT_TRUE(phones(finder, "Getreidegasse 54, 5020 Salzburg").empty());
  EXPECT_TRUE(phones(finder, "Rue Neuve 12, 1000 Bruxelles").empty());
}

TEST(WebAddresses, UrlsWithCountryDomains) {
  auto urls = find_urls("Mehr auf www.edeka.de/angebote und bei shop.example.co.uk.");
  ASSERT_EQ(urls.size(), 2u);
  EXPECT_EQ(urls[0].value, "www.edeka.de/angebote");
  EXPECT_EQ(urls[0].country, "DE");
  EXPECT_EQ(urls[1].host, "shop.example.co.uk");
  EXPECT_EQ(urls[1].country, "GB");
  urls = find_urls("HTTPS://WWW.ALBERTHEIJN.NL");
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_TRUE(urls[0].value.starts_with("https:")) << urls[0].value;  // scheme kept, lower case
  EXPECT_EQ(urls[0].host, "www.albertheijn.nl");
  EXPECT_EQ(urls[0].country, "NL");
  // OCR splits addresses at their dots: rejoined, and read in the original text's span.
  for (const char* split : {"Besuchen Sie www. baeckerei-konz.de", "Besuchen Sie www baeckerei-konz.de", "Besuchen Sie www.baeckerei-konz. de"}) {
    const auto found = find_urls(split);
    ASSERT_EQ(found.size(), 1u) << split;
    EXPECT_EQ(found[0].value, "www.baeckerei-konz.de") << split;
    EXPECT_EQ(found[0].as_read, std::string(split).substr(13)) << split;
  }
  EXPECT_TRUE(find_urls("Das ist das Ende. De facto nicht").empty());
  // OCR reads a hyphen as a dash now and then.
  EXPECT_EQ(find_urls("www.baeckerei\u2014konz.de")[0].value, "www.baeckerei-konz.de");
  // Generic and marketed-as-generic domains say nothing about place; city domains do.
  EXPECT_EQ(find_urls("www.example.com")[0].country, "");
  EXPECT_EQ(find_urls("www.startup.io")[0].country, "");
  EXPECT_EQ(find_urls("www.visit.berlin")[0].country, "DE");
  // Abbreviations and words run together are not addresses.
  EXPECT_TRUE(find_urls("z.B. Preis.Das ist gut, Nr.5 und 12.99").empty());
}

TEST(WebAddresses, EmailAddresses) {
  const auto mails = find_emails("Kontakt: info@baeckerei-mueller.at oder Service@Post.CZ");
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_EQ(mails[0].value, "info@baeckerei-mueller.at");
  EXPECT_EQ(mails[0].country, "AT");
  EXPECT_EQ(mails[1].value, "service@post.cz");
  EXPECT_EQ(mails[1].country, "CZ");
  EXPECT_TRUE(find_emails("@home and user@localhost").empty());
}

TEST(Prices, CommaAndPointCurrenciesBeforeAndAfter) {
  struct Case {
    const char* text;
    const char* amount;
    const char* currency;
  };
  const Case cases[] = {
      {"nur 12,99 €", "12.99", "EUR"},       {"€ 3.49", "3.49", "EUR"},        {"1.299,00 EUR", "1299.00", "EUR"},
      {"£1,299.00", "1299.00", "GBP"},       {"19,90 zł", "19.90", "PLN"},    {"129 Kč", "129.00", "CZK"},
      {"49,95 kr", "49.95", "kr"},           {"CHF 12.50", "12.50", "CHF"},   {"Preis 5,- €", "5.00", "EUR"},
      {"1 290 Ft", "290.00", "HUF"},         {"DKK 1.495,00", "1495.00", "DKK"},  {"39 KČ", "39.00", "CZK"},
      {"17,71 zt", "17.71", "PLN"},
  };
  for (const auto& c : cases) {
    const auto found = find_prices(c.text);
    ASSERT_FALSE(found.empty()) << c.text;
    EXPECT_EQ(found.back().amount, c.amount) << c.text;
    EXPECT_EQ(found.back().currency, c.currency) << c.text;
  }
  EXPECT_EQ(find_prices("12,99 €")[0].decimal_separator, ',');
  EXPECT_EQ(find_prices("£12.99")[0].decimal_separator, '.');
  // No currency, no price; currency letters inside words are not currencies.
  EXPECT_TRUE(find_prices("Nr. 12,99 und 500 g").empty());
  EXPECT_TRUE(find_prices("Luft 12 und Kleid 30").empty());
}

TEST(Postcodes, UniqueFormatsNameTheirCountry) {
  const auto code = [](std::string_view text) {
    const auto found = find_postcodes(text);
    return found.empty() ? std::string("-") : found[0].value + ":" + found[0].countries[0].code + "/" + std::to_string(found[0].countries.size());
  };
  EXPECT_EQ(code("Damrak 1, 1012 LG Amsterdam"), "1012 LG:NL/1");
  EXPECT_EQ(code("London SW1A 1AA"), "SW1A 1AA:GB/1");
  EXPECT_EQ(code("Rua Augusta 1100-053 Lisboa"), "1100-053:PT/1");
  EXPECT_EQ(code("ul. Marszałkowska 1, 00-624 Warszawa"), "00-624:PL/1");
  EXPECT_EQ(code("D-10115 Berlin"), "10115:DE/1");
  EXPECT_EQ(code("A-1010 Wien"), "1010:AT/1");
}

TEST(Postcodes, ADistinctivePostcodeIsNotANationalPhoneNumberOfAnotherCountry) {
  // "4000-447" is also a valid Luxembourg number; in an address line it is Porto's postcode.
  auto config = load_config_text("", "test");
  auto& stage = *config.stages[static_cast<std::size_t>(StageKind::clues)].stage;
  stage.prepare();
  ImageRecord image;
  image.stage_results.resize(kAllStageKinds.size());
  Clue line;
  line.kind = ClueKind::text;
  line.value = "Rua de Santa Catarina 96, 4000-447 Porto";
  line.confidence = 0.95;
  image.stage_results[static_cast<std::size_t>(StageKind::ocr)].clues.push_back(line);
  StageResult out;
  stage.process(image, out);
  std::map<std::string, std::string> found;
  for (const auto& c : out.clues) found[std::string(to_string(c.kind))] = c.value;
  EXPECT_FALSE(found.contains("phone")) << found["phone"];
  EXPECT_EQ(found["postcode"], "4000-447");
}

TEST(Postcodes, SharedFormatsPointToEveryCountryAndNeedAPlace) {
  auto found = find_postcodes("Hauptstr. 5, 10115 Berlin");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].value, "10115");
  EXPECT_GT(found[0].countries.size(), 3u);  // DE, FR, IT, ES ... collide on five digits
  found = find_postcodes("Václavské nám. 1, 110 00 Praha");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].value, "110 00");
  found = find_postcodes("Rue Neuve 1, 1000 Bruxelles");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].value, "1000");
  // Numbers without a place after them, or inside longer numbers, are not postcodes.
  EXPECT_TRUE(find_postcodes("Artikel 10115 kostet").empty());
  EXPECT_TRUE(find_postcodes("Tel 030 12345 678").empty());
  EXPECT_TRUE(find_postcodes("Gewicht 1.500 Gramm").empty());
}

TEST(Dates, NumericAndNamedInSeveralLanguages) {
  const auto iso = [](std::string_view text) {
    const auto found = find_dates(text);
    return found.empty() ? std::string("-") : found[0].iso;
  };
  EXPECT_EQ(iso("MHD 31.12.2024"), "2024-12-31");
  EXPECT_EQ(iso("best before 05/03/25"), "2025-03-05");
  EXPECT_EQ(iso("exp 2025-03-05"), "2025-03-05");
  EXPECT_EQ(iso("12/31/2024"), "2024-12-31");
  EXPECT_EQ(iso("12. März 2024"), "2024-03-12");
  EXPECT_EQ(iso("3 de marzo de 2024"), "2024-03-03");
  EXPECT_EQ(iso("le 14 juillet 2023"), "2023-07-14");
  EXPECT_EQ(iso("5 maja 2022"), "2022-05-05");
  EXPECT_EQ(iso("March 3, 2024"), "2024-03-03");
  EXPECT_EQ(iso("31.02.2024"), "-");
  EXPECT_EQ(iso("12,99 and 1.2.3"), "-");
}

}  // namespace
}  // namespace cluetrace::clues
