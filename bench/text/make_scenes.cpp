// Generates synthetic "background" scenes with ground truth for the text benchmark: labels, signs and
// flyers in eleven European languages, rendered with Debian's fonts, then rotated, warped, blurred,
// noised and JPEG-compressed. Deterministic for a given --seed.
//
//   make_text_scenes --out DIR [--count N] [--seed S] [--fonts DIR] [--clues 1] [--megapixels M]
//
// DIR/scene_NNNN.jpg and DIR/truth.jsonl: {"image", "language", "texts": [{"text", "box", "quad"}]}.
// With --clues 1 (the structured-clue benchmark), scenes go round fourteen countries: each holds a product label
// with a phone number (national or international format, valid in the country's numbering plan), a price in
// the country's currency and style, a web address, a postal address and, in most scenes, an EAN-13 with one of
// the country's GS1 prefixes and often a regional brand of the default logo catalogue, among ordinary text
// objects; truth adds "country", "phones" (E.164), "barcodes", "urls", "prices", "brands".
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <ZXing/BitMatrix.h>
#include <ZXing/MultiFormatWriter.h>
#include <nlohmann/json.hpp>
#include <opencv2/freetype.hpp>
#include <phonenumbers/phonenumberutil.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fs = std::filesystem;

namespace {

struct Language {
  const char* code;
  const char* tld;
  std::vector<const char*> words;
};

// Everyday shop, label and sign vocabulary, written for this benchmark.
const std::vector<Language> kLanguages{
    {"de", "de", {"Bäckerei", "Angebot", "Öffnungszeiten", "Straße", "Geschäft", "Frühstück", "Käse", "Milch", "Brötchen",
                  "Apotheke", "Getränke", "Kühlschrank", "Müller", "Größe", "Preis", "Willkommen", "Zahnpasta",
                  "Waschmittel", "Gemüse", "Fleisch", "Schokolade", "Sonderangebot", "Eingang", "Hähnchen", "Würstchen"}},
    {"fr", "fr", {"Boulangerie", "Fromage", "Épicerie", "Entrée", "Fermé", "Ouvert", "Lait", "Crème", "Pâtisserie",
                  "Château", "Marché", "Gâteau", "Réduction", "Fraîche", "Hôtel", "Pharmacie", "Légumes", "Beurre",
                  "Café", "Bière", "Sortie", "Bienvenue", "Qualité", "Noël", "Dentifrice"}},
    {"nl", "nl", {"Bakkerij", "Aanbieding", "Kaas", "Melk", "Winkel", "Openingstijden", "Welkom", "Uitgang", "Ingang",
                  "Groente", "Vlees", "Brood", "Korting", "Prijs", "Koffie", "Apotheek", "Zuivel", "Gratis", "Verse",
                  "Bloemen", "Straat", "Fiets", "Huishouden", "Schoonmaak", "Tandpasta"}},
    {"es", "es", {"Panadería", "Oferta", "Leche", "Queso", "Tienda", "Horario", "Bienvenido", "Salida", "Entrada",
                  "Farmacia", "Niños", "España", "Mañana", "Jamón", "Azúcar", "Aceite", "Descuento", "Precio",
                  "Pescadería", "Limón", "Jabón", "Baño", "Teléfono", "Calle", "Carnicería"}},
    {"it", "it", {"Panetteria", "Offerta", "Latte", "Formaggio", "Negozio", "Orario", "Benvenuti", "Uscita",
                  "Ingresso", "Farmacia", "Caffè", "Città", "Prezzo", "Sconto", "Gelateria", "Pasticceria", "Verdure",
                  "Carne", "Pane", "Olio", "Vino", "Bottega", "Qualità", "Perché", "Dentifricio"}},
    {"pt", "pt", {"Padaria", "Promoção", "Leite", "Queijo", "Loja", "Horário", "Saída", "Entrada", "Farmácia", "Pão",
                  "Açúcar", "Preço", "Desconto", "Mercearia", "Limão", "Sabão", "Água", "Coração", "Manhã",
                  "Português", "Atenção", "Informação", "Avenida", "Frango", "Talho"}},
    {"pl", "pl", {"Piekarnia", "Promocja", "Mleko", "Sklep", "Godziny", "Witamy", "Wyjście", "Wejście", "Apteka",
                  "Kawa", "Chleb", "Cena", "Zniżka", "Warzywa", "Mięso", "Masło", "Łódź", "Źródło", "Świeże",
                  "Żywność", "Cukier", "Księgarnia", "Ulica", "Pieczywo", "Kurczak"}},
    {"cs", "cz", {"Pekárna", "Nabídka", "Mléko", "Obchod", "Otevřeno", "Vítejte", "Východ", "Vchod", "Lékárna",
                  "Káva", "Chléb", "Cena", "Sleva", "Zelenina", "Maso", "Máslo", "Čerstvé", "Potraviny", "Cukr",
                  "Knihkupectví", "Ulice", "Řeznictví", "Pivo", "Děkujeme", "Drogerie"}},
    {"sv", "se", {"Bageri", "Erbjudande", "Mjölk", "Butik", "Öppettider", "Välkommen", "Utgång", "Ingång", "Apotek",
                  "Kaffe", "Bröd", "Pris", "Rabatt", "Grönsaker", "Kött", "Smör", "Färsk", "Livsmedel", "Socker",
                  "Bokhandel", "Gatan", "Kyckling", "Tvättmedel", "Tandkräm", "Ostbutik"}},
    {"da", "dk", {"Bageri", "Tilbud", "Mælk", "Butik", "Åbningstider", "Velkommen", "Udgang", "Indgang", "Apotek",
                  "Kaffe", "Brød", "Pris", "Rabat", "Grøntsager", "Kød", "Smør", "Frisk", "Dagligvarer", "Sukker",
                  "Boghandel", "Gade", "Kylling", "Vaskemiddel", "Tandpasta", "Rugbrød"}},
    {"en", "co.uk", {"Bakery", "Special", "Offer", "Milk", "Cheese", "Store", "Opening", "Hours", "Welcome", "Exit",
                     "Entrance", "Pharmacy", "Coffee", "Bread", "Price", "Discount", "Vegetables", "Butter", "Fresh",
                     "Groceries", "Sugar", "Bookshop", "Street", "Chicken", "Detergent"}},
};

// Facts for the clue scenes, written for this benchmark: real street-address and postcode formats, the
// currency as shops write it, and the country's GS1 prefix range.
struct Country {
  const char* code;      // ISO 3166-1 alpha-2, also the phone region
  const char* language;  // into kLanguages
  const char* tld;
  int gs1_from, gs1_to;
  std::vector<const char*> addresses;  // "{n}" is the house number
  const char* price;                   // "{a}" amount, "{c}" cents
  const char* phone_word;
  std::vector<std::pair<const char*, const char*>> brands;  // name as printed, id in the default logo catalogue
};

const std::vector<Country> kCountries{
    {"DE", "de", "de", 400, 440, {"Hauptstraße {n}, 10115 Berlin", "Bahnhofstraße {n}, 80331 München", "Lindenweg {n}, 50667 Köln"}, "{a},{c} €", "Tel.", {{"EDEKA", "edeka"}, {"Commerzbank", "commerzbank"}, {"Deutsche Post", "deutschepost"}}},
    {"FR", "fr", "fr", 300, 379, {"{n} rue de la Paix, 75002 Paris", "{n} place Bellecour, 69002 Lyon", "{n} quai du Port, 13002 Marseille"}, "{a},{c} €", "Tél.", {{"Franprix", "franprix"}, {"Darty", "darty"}, {"Grand Frais", "grandfrais"}}},
    {"NL", "nl", "nl", 870, 879, {"Kerkstraat {n}, 1017 GC Amsterdam", "Coolsingel {n}, 3011 AD Rotterdam", "Oudegracht {n}, 3511 AP Utrecht"}, "€ {a},{c}", "Tel.", {{"Ziggo", "ziggo"}, {"Odido", "odido"}}},
    {"ES", "es", "es", 840, 849, {"Calle Mayor {n}, 28013 Madrid", "Carrer de Balmes {n}, 08007 Barcelona", "Calle Sierpes {n}, 41004 Sevilla"}, "{a},{c} €", "Tel.", {{"Iberia", "iberia"}, {"CaixaBank", "caixabank"}}},
    {"IT", "it", "it", 800, 839, {"Via Roma {n}, 00184 Roma", "Corso Buenos Aires {n}, 20124 Milano", "Via dei Calzaiuoli {n}, 50122 Firenze"}, "€ {a},{c}", "Tel.", {{"Fineco", "fineco"}}},
    {"PT", "pt", "pt", 560, 560, {"Rua Augusta {n}, 1100-053 Lisboa", "Rua de Santa Catarina {n}, 4000-447 Porto"}, "{a},{c} €", "Tel.", {{"Continente", "continente"}}},
    {"PL", "pl", "pl", 590, 590, {"ul. Marszałkowska {n}, 00-624 Warszawa", "ul. Floriańska {n}, 31-019 Kraków", "ul. Długa {n}, 80-827 Gdańsk"}, "{a},{c} zł", "tel.", {{"Żabka", "zabka"}}},
    {"CZ", "cs", "cz", 859, 859, {"Národní {n}, 110 00 Praha", "Masarykova {n}, 602 00 Brno"}, "{a} Kč", "tel.", {}},
    {"SE", "sv", "se", 730, 739, {"Drottninggatan {n}, 111 51 Stockholm", "Kungsgatan {n}, 411 19 Göteborg"}, "{a},{c} kr", "Tel.", {{"TV4 Play", "tv4play"}}},
    {"DK", "da", "dk", 570, 579, {"Strøget {n}, 1160 København", "Søndergade {n}, 8000 Aarhus"}, "{a},{c} kr.", "Tlf.", {}},
    // Countries that share a language with a larger neighbour: the language alone points to the wrong one.
    {"AT", "de", "at", 900, 919, {"Mariahilfer Straße {n}, 1060 Wien", "Getreidegasse {n}, 5020 Salzburg"}, "€ {a},{c}", "Tel.", {}},
    {"CH", "de", "ch", 760, 769, {"Bahnhofstrasse {n}, 8001 Zürich", "Marktgasse {n}, 3011 Bern"}, "CHF {a}.{c}", "Tel.", {{"Thurgauer Kantonalbank", "thurgauerkantonalbank"}}},
    {"BE", "fr", "be", 540, 549, {"Rue Neuve {n}, 1000 Bruxelles", "Rue de la Cathédrale {n}, 4000 Liège"}, "{a},{c} €", "Tél.", {}},
    {"GB", "en", "co.uk", 500, 509, {"{n} High Street, London SW1A 2AA", "{n} Market Street, Manchester M1 1PT"}, "£{a}.{c}", "Tel.", {{"Argos", "argos"}, {"Morrisons", "morrisons"}, {"ASDA", "asda"}}},
};

struct Font {
  std::string path;
  cv::Ptr<cv::freetype::FreeType2> face;
};

struct Line {
  std::string text;
  std::array<cv::Point2f, 4> quad;
};

class Generator {
 public:
  Generator(std::uint32_t seed, std::vector<Font> fonts) : rng_(seed), fonts_(std::move(fonts)) {}

  std::pair<cv::Mat, std::vector<Line>> scene(const Language& lang) {
    const int width = uniform(1024, 1600), height = width * 3 / 4;
    cv::Mat img = background(width, height);
    std::vector<Line> lines;
    std::vector<cv::Rect> used;
    const int objects = uniform(3, 7);
    for (int o = 0; o < objects; ++o) place_object(img, lang, lines, used);
    finish(img);
    return {img, lines};
  }

  struct ClueTruth {
    std::vector<std::string> phones, barcodes, urls, prices, brands;
  };

  // A scene from `country` with a product label holding its clues, among ordinary text objects.
  std::tuple<cv::Mat, std::vector<Line>, ClueTruth> clue_scene(const Country& country, const Language& lang) {
    const int width = uniform(1024, 1600), height = width * 3 / 4;
    cv::Mat img = background(width, height);
    std::vector<Line> lines;
    std::vector<cv::Rect> used;
    ClueTruth truth;
    for (int attempt = 0; attempt < 8 && !place_label(img, country, lang, lines, used, truth); ++attempt) truth = {};
    // The other objects carry words only: their phone numbers and addresses would be clues the truth lacks.
    words_only_ = true;
    for (int o = uniform(1, 3); o > 0; --o) place_object(img, lang, lines, used);
    words_only_ = false;
    finish(img);
    return {img, lines, truth};
  }

 private:
  std::string fill(std::string pattern, const char* key, const std::string& value) {
    const auto at = pattern.find(key);
    return at == std::string::npos ? pattern : pattern.replace(at, std::string_view(key).size(), value);
  }

  // A number valid in the country's plan: the plan's example number with its last digits redrawn.
  std::string phone_number(const Country& country, bool international, std::string& e164) {
    using i18n::phonenumbers::PhoneNumber;
    using i18n::phonenumbers::PhoneNumberUtil;
    const auto* util = PhoneNumberUtil::GetInstance();
    PhoneNumber number;
    util->GetExampleNumberForType(country.code, chance(0.5) ? PhoneNumberUtil::MOBILE : PhoneNumberUtil::FIXED_LINE, &number);
    const auto example = number.national_number();
    for (int attempt = 0; attempt < 100; ++attempt) {
      number.set_national_number(example - example % 10000 + static_cast<std::uint64_t>(uniform(0, 9999)));
      if (util->IsValidNumberForRegion(number, country.code)) break;
      number.set_national_number(example);
    }
    util->Format(number, PhoneNumberUtil::E164, &e164);
    std::string written;
    util->Format(number, international ? PhoneNumberUtil::INTERNATIONAL : PhoneNumberUtil::NATIONAL, &written);
    return written;
  }

  // A valid EAN-13 with one of the country's GS1 prefixes.
  std::string ean13(const Country& country) {
    std::string digits = std::to_string(uniform(country.gs1_from, country.gs1_to));
    while (digits.size() < 12) digits += static_cast<char>('0' + uniform(0, 9));
    int sum = 0;
    for (std::size_t i = 0; i < 12; ++i) sum += (digits[i] - '0') * (i % 2 ? 3 : 1);
    return digits + static_cast<char>('0' + (10 - sum % 10) % 10);
  }

  bool place_label(cv::Mat& img, const Country& country, const Language& lang, std::vector<Line>& lines,
                   std::vector<cv::Rect>& used, ClueTruth& truth) {
    std::vector<std::string> texts;
    if (!country.brands.empty() && chance(0.6)) {
      const auto& [name, id] = pick(country.brands);
      texts.push_back(name);
      truth.brands.push_back(id);
    }
    texts.push_back(pick(lang.words) + std::string(" ") + pick(lang.words));
    std::string e164;
    const bool international = chance(0.5);
    texts.push_back(std::string(country.phone_word) + " " + phone_number(country, international, e164));
    truth.phones.push_back(e164);
    const std::string amount = std::to_string(uniform(1, 199)), cents = std::to_string(uniform(10, 99));
    texts.push_back(fill(fill(country.price, "{a}", amount), "{c}", cents));
    truth.prices.push_back(amount + "." + (std::string(country.price).find("{c}") == std::string::npos ? "00" : cents));
    std::string name;
    for (const char c : std::string(pick(lang.words))) {
      if (static_cast<unsigned char>(c) < 0x80) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    texts.push_back("www." + name + "-shop." + country.tld);
    truth.urls.push_back(texts.back());
    texts.push_back(fill(pick(country.addresses), "{n}", std::to_string(uniform(1, 120))));

    const Font& font = pick(fonts_);
    const int text_h = uniform(24, 48);
    int max_w = 0;
    for (const auto& t : texts) {
      int baseline = 0;
      max_w = std::max(max_w, font.face->getTextSize(t, text_h, -1, &baseline).width);
    }
    cv::Mat code;
    if (chance(0.8)) {
      const std::string digits = ean13(country);
      const auto matrix = ZXing::MultiFormatWriter(ZXing::BarcodeFormat::EAN13).setMargin(10).encode(digits, 0, 0);
      const int module = uniform(2, 3);
      code = cv::Mat(uniform(50, 80), matrix.width() * module, CV_8UC3);
      for (int x = 0; x < code.cols; ++x) code.col(x).setTo(matrix.get(x / module, 0) ? cv::Scalar(25, 25, 25) : cv::Scalar(245, 245, 245));
      truth.barcodes.push_back(digits);
      max_w = std::max(max_w, code.cols);
    }
    const int pad = text_h / 2 + 6, gap = text_h / 3;
    const int n = static_cast<int>(texts.size());
    const cv::Size size(max_w + 2 * pad, n * text_h + (n - 1) * gap + 2 * pad + (code.empty() ? 0 : code.rows + gap));
    if (size.width >= img.cols - 20 || size.height >= img.rows - 20) return false;
    cv::Mat patch(size, CV_8UC3, colour(205, 255));
    const cv::Scalar ink = colour(0, 60);
    std::vector<std::pair<std::string, cv::Rect>> boxes;
    int y = pad;
    for (const auto& text : texts) {
      int baseline = 0;
      const cv::Size ts = font.face->getTextSize(text, text_h, -1, &baseline);
      font.face->putText(patch, text, {pad, y}, text_h, ink, -1, cv::LINE_AA, false);
      boxes.emplace_back(text, cv::Rect(pad, y, ts.width, text_h));
      y += text_h + gap;
    }
    if (!code.empty()) code.copyTo(patch(cv::Rect(pad, y, code.cols, code.rows)));
    return paste(img, patch, boxes, lines, used, 8.0);
  }

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  double real(double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(rng_); }
  bool chance(double p) { return real(0, 1) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[static_cast<std::size_t>(uniform(0, static_cast<int>(v.size()) - 1))]; }

  cv::Scalar colour(int lo, int hi) { return cv::Scalar(uniform(lo, hi), uniform(lo, hi), uniform(lo, hi)); }

  cv::Mat background(int w, int h) {
    cv::Mat img(h, w, CV_8UC3);
    const cv::Scalar a = colour(60, 220), b = colour(60, 220);
    for (int y = 0; y < h; ++y) {
      const double t = static_cast<double>(y) / h;
      img.row(y).setTo(a * (1 - t) + b * t);
    }
    // Furniture-like blocks and clutter without text.
    for (int k = uniform(4, 12); k > 0; --k) {
      const cv::Rect r(uniform(-100, w), uniform(-100, h), uniform(40, w / 2), uniform(40, h / 2));
      cv::rectangle(img, r, colour(20, 235), cv::FILLED);
    }
    for (int k = uniform(10, 40); k > 0; --k) {
      cv::line(img, {uniform(0, w), uniform(0, h)}, {uniform(0, w), uniform(0, h)}, colour(0, 255), uniform(1, 4));
    }
    cv::GaussianBlur(img, img, cv::Size(0, 0), real(1.0, 3.0));
    return img;
  }

  std::string phrase(const Language& lang) {
    switch (words_only_ ? 9 : uniform(0, 9)) {
      case 0: {  // a phone number
        std::string digits;
        for (int i = 0; i < 8; ++i) digits += static_cast<char>('0' + uniform(0, 9));
        return "Tel. 0" + std::to_string(uniform(20, 89)) + " " + digits.substr(0, 4) + " " + digits.substr(4);
      }
      case 1:  // a price
        return std::to_string(uniform(1, 99)) + (chance(0.7) ? "," : ".") + std::to_string(uniform(10, 99)) + " " +
               (chance(0.8) ? "€" : "EUR");
      case 2: {  // a web address
        std::string name = pick(lang.words);
        std::string ascii;
        for (const char c : name) {
          if (static_cast<unsigned char>(c) < 0x80) ascii += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        return "www." + ascii + "-" + std::to_string(uniform(1, 99)) + "." + lang.tld;
      }
      default: {
        std::string text;
        for (int n = uniform(1, 3); n > 0; --n) text += std::string(text.empty() ? "" : " ") + pick(lang.words);
        return text;
      }
    }
  }

  void place_object(cv::Mat& img, const Language& lang, std::vector<Line>& lines, std::vector<cv::Rect>& used) {
    const Font& font = pick(fonts_);
    const int text_h = uniform(18, 64);
    const int n_lines = uniform(1, 3);
    std::vector<std::string> texts;
    int max_w = 0;
    for (int i = 0; i < n_lines; ++i) {
      texts.push_back(phrase(lang));
      int baseline = 0;
      max_w = std::max(max_w, font.face->getTextSize(texts.back(), text_h, -1, &baseline).width);
    }
    const int pad = text_h / 2 + 4, gap = text_h / 3;
    const cv::Size size(max_w + 2 * pad, n_lines * text_h + (n_lines - 1) * gap + 2 * pad);
    if (size.width >= img.cols - 20 || size.height >= img.rows - 20) return;
    const bool dark = chance(0.25);
    const cv::Scalar paper = dark ? colour(10, 90) : colour(185, 255);
    const cv::Scalar ink = dark ? colour(200, 255) : colour(0, 70);
    cv::Mat patch(size, CV_8UC3, paper);
    std::vector<std::pair<std::string, cv::Rect>> boxes;
    int y = pad;
    for (const auto& text : texts) {
      int baseline = 0;
      const cv::Size ts = font.face->getTextSize(text, text_h, -1, &baseline);
      const int x = pad + (chance(0.5) ? 0 : (max_w - ts.width) / 2);
      font.face->putText(patch, text, {x, y}, text_h, ink, -1, cv::LINE_AA, false);
      boxes.emplace_back(text, cv::Rect(x, y, ts.width, text_h));
      y += text_h + gap;
    }
    paste(img, patch, boxes, lines, used, 20.0);
  }

  // Turns `patch` (with the text boxes drawn on it), tilts it a little in perspective and pastes it where it
  // covers no earlier object; the text boxes go to `lines` in image pixels. False when it found no place.
  bool paste(cv::Mat& img, const cv::Mat& patch, const std::vector<std::pair<std::string, cv::Rect>>& boxes,
             std::vector<Line>& lines, std::vector<cv::Rect>& used, double max_angle) {
    const cv::Size size = patch.size();
    // Rotation and mild perspective, then paste where it does not cover earlier objects.
    const double angle = chance(0.6) ? real(-max_angle, max_angle) : real(-4, 4);
    const cv::Point2f c(static_cast<float>(size.width) / 2, static_cast<float>(size.height) / 2);
    cv::Mat rot = cv::getRotationMatrix2D(c, angle, 1.0);
    cv::Mat h = cv::Mat::eye(3, 3, CV_64F);
    rot.copyTo(h.rowRange(0, 2));
    const double k = real(-0.15, 0.15) / size.width;
    cv::Mat persp = (cv::Mat_<double>(3, 3) << 1, 0, 0, 0, 1, 0, k, 0, 1);
    h = persp * h;
    std::vector<cv::Point2f> corners{{0, 0}, {static_cast<float>(size.width), 0},
                                     {static_cast<float>(size.width), static_cast<float>(size.height)},
                                     {0, static_cast<float>(size.height)}};
    std::vector<cv::Point2f> warped;
    cv::perspectiveTransform(corners, warped, h);
    const cv::Rect bound = cv::boundingRect(warped);
    if (bound.width + 20 >= img.cols || bound.height + 20 >= img.rows) return false;  // too big once rotated
    for (int attempt = 0; attempt < 30; ++attempt) {
      const int ox = uniform(10, img.cols - bound.width - 10) - bound.x;
      const int oy = uniform(10, img.rows - bound.height - 10) - bound.y;
      const cv::Rect at(bound.x + ox, bound.y + oy, bound.width, bound.height);
      if (at.x < 0 || at.y < 0 || at.br().x > img.cols || at.br().y > img.rows) continue;
      bool overlaps = false;
      for (const auto& u : used) overlaps = overlaps || (u & at).area() > 0;
      if (overlaps) continue;
      const cv::Mat shift = (cv::Mat_<double>(3, 3) << 1, 0, ox, 0, 1, oy, 0, 0, 1);
      const cv::Mat full = shift * h;
      cv::Mat layer, mask;
      cv::warpPerspective(patch, layer, full, img.size(), cv::INTER_LINEAR);
      cv::warpPerspective(cv::Mat(size, CV_8U, cv::Scalar(255)), mask, full, img.size(), cv::INTER_LINEAR);
      layer.copyTo(img, mask > 128);
      used.push_back(at);
      for (const auto& [text, box] : boxes) {
        std::vector<cv::Point2f> q{{static_cast<float>(box.x), static_cast<float>(box.y)},
                                   {static_cast<float>(box.br().x), static_cast<float>(box.y)},
                                   {static_cast<float>(box.br().x), static_cast<float>(box.br().y)},
                                   {static_cast<float>(box.x), static_cast<float>(box.br().y)}};
        std::vector<cv::Point2f> out;
        cv::perspectiveTransform(q, out, full);
        lines.push_back({text, {out[0], out[1], out[2], out[3]}});
      }
      return true;
    }
    return false;
  }

  void finish(cv::Mat& img) {
    if (chance(0.6)) cv::GaussianBlur(img, img, cv::Size(0, 0), real(0.4, 1.1));
    cv::Mat noise(img.size(), CV_16SC3);
    cv::randn(noise, 0, real(1, 6));
    cv::Mat wide;
    img.convertTo(wide, CV_16SC3);
    wide += noise;
    wide.convertTo(img, CV_8UC3);
  }

  std::mt19937 rng_;
  std::vector<Font> fonts_;
  bool words_only_ = false;
};

std::vector<Font> load_fonts(const fs::path& dir) {
  std::vector<std::string> paths;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    const auto ext = entry.path().extension().string();
    if (ext == ".ttf" && entry.path().filename().string().find("Mono") == std::string::npos) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Font> fonts;
  for (const auto& p : paths) {
    auto face = cv::freetype::createFreeType2();
    face->loadFontData(p, 0);
    fonts.push_back({p, face});
  }
  return fonts;
}

}  // namespace

int main(int argc, char** argv) {
  fs::path out;
  int count = 60;
  bool clues = false;
  double megapixels = 0;  // 0: as generated (1-2 MP); else every scene is resized to about this many
  std::uint32_t seed = 1;
  fs::path font_dir = "/usr/share/fonts/truetype";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--out") out = argv[i + 1];
    else if (key == "--count") count = std::stoi(argv[i + 1]);
    else if (key == "--seed") seed = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    else if (key == "--fonts") font_dir = argv[i + 1];
    else if (key == "--clues") clues = std::string(argv[i + 1]) == "1";
    else if (key == "--megapixels") megapixels = std::stod(argv[i + 1]);
    else {
      std::cerr << "unknown option " << key << "\n";
      return 2;
    }
  }
  if (out.empty()) {
    std::cerr << "usage: make_text_scenes --out DIR [--count N] [--seed S] [--fonts DIR] [--clues 1] [--megapixels M]\n";
    return 2;
  }
  fs::create_directories(out);
  const auto fonts = load_fonts(font_dir);
  if (fonts.empty()) {
    std::cerr << "no .ttf fonts under " << font_dir << "\n";
    return 1;
  }
  Generator gen(seed, fonts);
  std::ofstream truth(out / "truth.jsonl");
  std::mt19937 jpeg_rng(seed * 7919u + 1);
  for (int i = 0; i < count; ++i) {
    const Country* country = clues ? &kCountries[static_cast<std::size_t>(i) % kCountries.size()] : nullptr;
    const auto& lang = country ? *std::find_if(kLanguages.begin(), kLanguages.end(), [&](const Language& l) {
      return std::string_view(l.code) == country->language;
    }) : kLanguages[static_cast<std::size_t>(i) % kLanguages.size()];
    cv::Mat img;
    std::vector<Line> lines;
    Generator::ClueTruth clue_truth;
    if (country) std::tie(img, lines, clue_truth) = gen.clue_scene(*country, lang);
    else std::tie(img, lines) = gen.scene(lang);
    if (megapixels > 0) {
      // Large photos: the same scene drawn at a camera's resolution (text and truth scaled alike).
      const double f = std::sqrt(megapixels * 1e6 / static_cast<double>(img.total()));
      cv::resize(img, img, {}, f, f, f > 1 ? cv::INTER_CUBIC : cv::INTER_AREA);
      for (auto& line : lines) {
        for (auto& p : line.quad) p *= static_cast<float>(f);
      }
    }
    char name[32];
    std::snprintf(name, sizeof name, "scene_%04d.jpg", i);
    const int quality = std::uniform_int_distribution<int>(55, 92)(jpeg_rng);
    cv::imwrite((out / name).string(), img, {cv::IMWRITE_JPEG_QUALITY, quality});
    nlohmann::json texts = nlohmann::json::array();
    for (const auto& line : lines) {
      const cv::Rect box = cv::boundingRect(std::vector<cv::Point2f>(line.quad.begin(), line.quad.end()));
      nlohmann::json quad = nlohmann::json::array();
      for (const auto& p : line.quad) quad.push_back({std::round(p.x * 10) / 10, std::round(p.y * 10) / 10});
      texts.push_back({{"text", line.text}, {"box", {box.x, box.y, box.width, box.height}}, {"quad", quad}});
    }
    nlohmann::json record{{"image", name}, {"language", lang.code}, {"texts", texts}};
    if (country) {
      record["country"] = country->code;
      record["phones"] = clue_truth.phones;
      record["barcodes"] = clue_truth.barcodes;
      record["urls"] = clue_truth.urls;
      record["prices"] = clue_truth.prices;
      record["brands"] = clue_truth.brands;
    }
    truth << record.dump() << "\n";
  }
  std::cerr << "wrote " << count << " scenes with " << fonts.size() << " fonts to " << out << "\n";
  return 0;
}
