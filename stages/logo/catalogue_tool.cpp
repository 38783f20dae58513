#include "stages/logo/catalogue_tool.hpp"

#include <algorithm>
#include <chrono>
#include <regex>

#include <fmt/format.h>
#include <fmt/ostream.h>

#include "pipeline/image_codecs.hpp"
#include "pipeline/models.hpp"
#include "pipeline/timing.hpp"
#include "stages/logo/catalogue.hpp"
#include "stages/logo/kd_trees.hpp"
#include "stages/logo/shape.hpp"
#include "stages/logo/matcher.hpp"

namespace cluetrace::logo {
namespace fs = std::filesystem;

fs::path default_catalogue_path() { return resolve_model_path("", "logos/catalogue.yaml"); }

namespace {

FeatureIndexFile build_and_write(const Catalogue& c, std::ostream& out) {
  std::optional<FeatureIndexFile> previous;
  if (fs::is_regular_file(c.index_file())) {
    try {
      previous = read_index(c.index_file());
    } catch (const std::exception& e) {
      fmt::print(out, "previous index unreadable ({}); building from scratch\n", e.what());
    }
  }
  const auto start = std::chrono::steady_clock::now();
  auto index = build_index(c, previous ? &*previous : nullptr, [&](const std::string& m) { fmt::print(out, "{}\n", m); });
  ShapeMatcher::prepare(index);  // the silhouettes' models too, so that the stage need not make them at each start
  if (const cv::Mat rows = descriptor_matrix(index); !rows.empty())  // and the KD-trees over the descriptors
    index.kd_trees = save_kd_trees(*build_kd_trees(rows), rows);
  write_index(index, c.index_file());
  std::size_t features = 0;
  for (const auto& r : index.references) features += r.keypoints.size();
  fmt::print(out, "{}: {} brands, {} reference views, {} features; index {} written in {:.1f} s\n", c.file.string(),
             c.brands.size(), index.references.size(), features, c.index_file().string(), ms_since(start) / 1000);
  return index;
}

// Runs one subcommand: its exit status, or 1 with the error on `err`, named by the subcommand.
template <typename Body>
int guarded(const char* command, std::ostream& err, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    fmt::print(err, "cluetrace catalogue {}: {}\n", command, e.what());
    return 1;
  }
}

}  // namespace

int catalogue_build(const fs::path& catalogue, std::ostream& out, std::ostream& err) {
  return guarded("build", err, [&] {
    build_and_write(load_catalogue(catalogue), out);
    return 0;
  });
}

int catalogue_list(const fs::path& catalogue, std::ostream& out, std::ostream& err) {
  return guarded("list", err, [&] {
    const auto c = load_catalogue(catalogue);
    for (const auto& b : c.brands) {
      std::string where = b.global ? "global" : "";
      for (const auto& cw : b.countries) where += fmt::format("{}{}={:g}", where.empty() ? "" : ",", cw.code, cw.weight);
      fmt::print(out, "{}\t{}\t{}\t{}\t{} reference(s)\n", b.id, b.name, b.category, where, b.references.size());
    }
    fmt::print(err, "{}: {} brands\n", c.file.string(), c.brands.size());
    return 0;
  });
}

int catalogue_check(const fs::path& catalogue, std::ostream& out, std::ostream& err) {
  return guarded("check", err, [&] {
    const auto c = load_catalogue(catalogue);
    if (!fs::is_regular_file(c.index_file()))
      throw std::runtime_error(fmt::format("no index beside it: run `cluetrace catalogue build {}`", catalogue.string()));
    Matcher matcher(read_index(c.index_file()), MatchOptions{});
    const auto findings = check_catalogue(c, matcher);
    for (const auto& f : findings) fmt::print(out, "{}\t{}\t{}\n", f.brand, f.severity, f.message);
    std::size_t weak = 0, confusable = 0;
    for (const auto& f : findings) (f.severity == "weak" ? weak : confusable) += 1;
    fmt::print(err, "{}: {} brands checked: {} weak, {} other findings\n", c.file.string(), c.brands.size(), weak, confusable);
    return findings.empty() ? 0 : 3;
  });
}

int catalogue_add(const AddRequest& req, std::ostream& out, std::ostream& err) {
  return guarded("add", err, [&] {
    // Everything that names a file or goes into the YAML is checked before anything is written: an id like
    // "../../x" would otherwise place references outside the catalogue and leave a catalogue no run accepts.
    if (!valid_brand_id(req.id)) {
      throw std::runtime_error(fmt::format("--id \"{}\": must be lower-case letters, digits, '.', '_', '+', '-' (starting with a letter or digit)", req.id));
    }
    for (const auto& col : req.colours) {
      if (!valid_colour(col)) throw std::runtime_error(fmt::format("--colour \"{}\" is not #RRGGBB", col));
    }
    for (const auto& spec : req.countries) {
      const auto eq = spec.find('=');
      const auto code = spec.substr(0, eq);
      if (!valid_country_code(code)) throw std::runtime_error(fmt::format("--country \"{}\": \"{}\" is not an upper-case ISO 3166-1 alpha-2 code", spec, code));
      if (eq != std::string::npos) {
        double w = 0;
        try {
          w = std::stod(spec.substr(eq + 1));
        } catch (const std::exception&) {
          w = -1;
        }
        if (!(w > 0 && w <= 1)) throw std::runtime_error(fmt::format("--country \"{}\": the weight must be in (0, 1]", spec));
      }
    }
    Catalogue c;
    if (fs::exists(req.catalogue)) {
      c = load_catalogue(req.catalogue);
    } else {
      c.file = req.catalogue;
      c.name = req.catalogue.stem().string();
      if (!c.file.parent_path().empty()) fs::create_directories(c.file.parent_path());
    }
    if (req.images.empty() && req.svgs.empty()) throw std::runtime_error("give at least one --image or --svg");
    Brand* brand = c.find(req.id);
    if (!brand) {
      Brand b;
      b.id = req.id;
      b.name = req.name.empty() ? req.id : req.name;
      b.category = req.category;
      c.brands.push_back(b);
      brand = &c.brands.back();
    } else if (!req.name.empty()) {
      brand->name = req.name;
    }
    if (!req.source.empty()) brand->source = req.source;
    if (req.global) {
      brand->global = true;
      brand->countries.clear();
    }
    for (const auto& spec : req.countries) {
      const auto eq = spec.find('=');
      CountryWeight cw{spec.substr(0, eq), eq == std::string::npos ? 1.0 : std::stod(spec.substr(eq + 1))};
      std::erase_if(brand->countries, [&](const CountryWeight& x) { return x.code == cw.code; });
      brand->countries.push_back(cw);
      brand->global = false;
    }
    for (const auto& col : req.colours)
      if (std::find(brand->colours.begin(), brand->colours.end(), col) == brand->colours.end()) brand->colours.push_back(col);

    const fs::path ref_dir = c.folder() / "refs" / req.id;
    fs::create_directories(ref_dir);
    auto next_name = [&](const std::string& ext) {
      for (int n = 1;; ++n) {
        const fs::path p = ref_dir / fmt::format("{}-{}{}", req.id, n, ext);
        if (!fs::exists(p)) return p;
      }
    };
    static const std::regex spec_re(R"(^(.*):(\d+),(\d+),(\d+),(\d+)$)");
    for (const auto& spec : req.images) {
      std::smatch m;
      fs::path file = spec;
      std::optional<Box> box;
      if (std::regex_match(spec, m, spec_re) && !fs::exists(spec)) {
        file = m[1].str();
        box = Box{std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]), std::stoi(m[5])};
      }
      // Only the mark is kept: a crop, re-encoded, so no other part of the photo and none of its metadata.
      cv::Mat original = codecs::imread(file.string(), cv::IMREAD_COLOR);
      if (original.empty()) throw std::runtime_error(file.string() + ": not a readable image");
      cv::Rect r(0, 0, original.cols, original.rows);
      if (box) r &= cv::Rect(box->x, box->y, box->width, box->height);
      if (r.width < 8 || r.height < 8)
        throw std::runtime_error(fmt::format("{}: the box {} lies outside the {}x{} image or is smaller than 8x8", file.string(),
                                             spec, original.cols, original.rows));
      const fs::path dest = next_name(".png");
      if (!codecs::imwrite(dest.string(), original(r))) throw std::runtime_error(dest.string() + ": cannot write");
      brand->references.push_back({fs::relative(dest, c.folder()), std::nullopt});
      fmt::print(out, "{}: reference {} ({}x{} crop of {})\n", req.id, dest.string(), r.width, r.height, file.string());
    }
    for (const auto& svg : req.svgs) {
      (void)render_reference_bgra(svg, std::nullopt, 64);  // fails here, with the file's name, if it cannot be drawn
      const fs::path dest = next_name(".svg");
      fs::copy_file(svg, dest);
      brand->references.push_back({fs::relative(dest, c.folder()), std::nullopt});
      fmt::print(out, "{}: reference {}\n", req.id, dest.string());
    }
    // Validate by writing and reading back (the same checks as any catalogue), then index.
    save_catalogue(c);
    const auto reread = load_catalogue(c.file);
    build_and_write(reread, out);
    return 0;
  });
}

}  // namespace cluetrace::logo
