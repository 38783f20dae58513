// Generates synthetic "background" scenes with ground truth for the text benchmark: labels, signs and
// flyers in eleven European languages, rendered with Debian's fonts, then rotated, warped, blurred,
// noised and JPEG-compressed. Deterministic for a given --seed.
//
//   make_text_scenes --out DIR [--count N] [--seed S] [--fonts DIR]
//
// DIR/scene_NNNN.jpg and DIR/truth.jsonl: {"image", "language", "texts": [{"text", "box", "quad"}]}.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/freetype.hpp>
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

 private:
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
    switch (uniform(0, 9)) {
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
    // Rotation and mild perspective, then paste where it does not cover earlier objects.
    const double angle = chance(0.6) ? real(-20, 20) : real(-4, 4);
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
    if (bound.width + 20 >= img.cols || bound.height + 20 >= img.rows) return;  // too big once rotated
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
      return;
    }
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
  std::uint32_t seed = 1;
  fs::path font_dir = "/usr/share/fonts/truetype";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    if (key == "--out") out = argv[i + 1];
    else if (key == "--count") count = std::stoi(argv[i + 1]);
    else if (key == "--seed") seed = static_cast<std::uint32_t>(std::stoul(argv[i + 1]));
    else if (key == "--fonts") font_dir = argv[i + 1];
    else {
      std::cerr << "unknown option " << key << "\n";
      return 2;
    }
  }
  if (out.empty()) {
    std::cerr << "usage: make_text_scenes --out DIR [--count N] [--seed S] [--fonts DIR]\n";
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
    const auto& lang = kLanguages[static_cast<std::size_t>(i) % kLanguages.size()];
    auto [img, lines] = gen.scene(lang);
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
    truth << nlohmann::json{{"image", name}, {"language", lang.code}, {"texts", texts}}.dump() << "\n";
  }
  std::cerr << "wrote " << count << " scenes with " << fonts.size() << " fonts to " << out << "\n";
  return 0;
}
