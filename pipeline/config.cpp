#include "pipeline/config.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "pipeline/digest.hpp"

namespace cluetrace {
namespace {

constexpr int kConfigVersion = 1;

Config build_config(const YAML::Node& root, const std::string& source) {
  ConfigProblems problems;
  OptionReader top(root, "", source, problems);
  Config config;
  config.source = source;

  const auto version = top.get_int("version", kConfigVersion, 1, 1000);
  if (version != kConfigVersion) {
    top.problem("version", fmt::format("this cluetrace reads config version {}, the file says {}", kConfigVersion, version));
  }

  auto run = top.child("run");
  config.run.threads = static_cast<int>(run.get_int("threads", 0, 0, 1024));
  config.run.max_in_flight = static_cast<int>(run.get_int("max_in_flight", 0, 0, 1'000'000));
  config.run.large_image_megapixels =
      run.get_double("large_image_megapixels", config.run.large_image_megapixels, 0.0, 1e6);
  config.run.image_timeout_s = run.get_double("image_timeout_s", config.run.image_timeout_s, 0.0, 1e7);
  config.run.crash_limit = static_cast<int>(run.get_int("crash_limit", config.run.crash_limit, 0, 1'000'000));
  config.run.crash_window = static_cast<int>(run.get_int("crash_window", config.run.crash_window, 1, 1'000'000));
  config.run.isolation = run.get_bool("isolation", config.run.isolation);
  run.finish();

  auto decode = top.child("decode");
  config.decode.max_pixels = decode.get_int("max_pixels", config.decode.max_pixels, 1, 1LL << 40);
  config.decode.max_file_bytes = decode.get_int("max_file_bytes", config.decode.max_file_bytes, 1, 1LL << 40);
  decode.finish();

  auto report = top.child("report");
  config.report.text_regions = report.get_bool("text_regions", config.report.text_regions);
  report.finish();

  auto outputs = top.child("outputs");
  auto& out = config.outputs;
  out.html = outputs.get_bool("html", out.html);
  out.full_image = outputs.get_bool("full_image", out.full_image);
  out.database = outputs.get_bool("database", out.database);
  out.summary_csv = outputs.get_bool("summary_csv", out.summary_csv);
  out.vics = outputs.get_bool("vics", out.vics);
  out.vics_form = outputs.get_string("vics_form", out.vics_form, {"cases", "media"});
  out.vics_context = outputs.get_string("vics_context", "");
  out.case_name = outputs.get_string("case_name", "");
  out.links = outputs.get_bool("links", out.links);
  out.crop_margin = outputs.get_double("crop_margin", out.crop_margin, 0.0, 2.0);
  out.crop_max_side = static_cast<int>(outputs.get_int("crop_max_side", out.crop_max_side, 16, 4096));
  out.scenes = outputs.get_bool("scenes", out.scenes);
  out.scene_features = static_cast<int>(outputs.get_int("scene_features", out.scene_features, 50, 10000));
  out.scene_min_inliers = static_cast<int>(outputs.get_int("scene_min_inliers", out.scene_min_inliers, 8, 10000));
  out.objects = outputs.get_bool("objects", out.objects);
  out.object_features = static_cast<int>(outputs.get_int("object_features", out.object_features, 50, 10000));
  out.scene_max_hash_distance = static_cast<int>(outputs.get_int("scene_max_hash_distance", out.scene_max_hash_distance, 0, 64));
  outputs.finish();

  const auto catalog = stage_catalog();
  auto stages = top.child("stages");
  nlohmann::ordered_json stages_effective = nlohmann::ordered_json::object();
  for (const StageKind kind : kAllStageKinds) {
    const std::string kind_name(to_string(kind));
    std::vector<std::string> impl_names;
    for (const auto& impl : catalog) {
      if (impl.kind == kind) impl_names.push_back(impl.name);
    }
    auto block = stages.child(kind_name);
    ConfiguredStage configured;
    configured.kind = kind;
    configured.enabled = block.get_bool("enabled", true);
    configured.impl = block.get_string("impl", impl_names.empty() ? "" : impl_names.front(), impl_names);
    for (const auto& impl : catalog) {
      if (impl.kind != kind || impl.name != configured.impl) continue;
      // Options are validated even for a disabled stage, so a typo never hides.
      auto stage = impl.make(block);
      if (configured.enabled) configured.stage = std::move(stage);
    }
    block.finish();
    stages_effective[kind_name] =
        configured.enabled ? block.effective() : nlohmann::ordered_json{{"enabled", false}};
    config.stages.push_back(std::move(configured));
  }
  stages.finish();
  top.finish();
  if (!problems.empty()) throw ConfigError(std::move(problems));

  // `run` (threads, in-flight bound) and `outputs` do not change reports, so they stay out of the hash:
  // a run resumed with another thread count still matches its earlier reports.
  config.effective = {{"version", kConfigVersion},
                      {"decode", decode.effective()},
                      {"report", report.effective()},
                      {"stages", stages_effective}};
  config.sha256 = sha256_hex(config.effective.dump());
  return config;
}

Config parse_and_build(std::string_view yaml, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ConfigProblems problems;
    problems.add({source, e.mark.line + 1, "", "not valid YAML: " + e.msg});
    throw ConfigError(std::move(problems));
  }
  if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);  // an empty file means all defaults
  return build_config(root, source);
}

}  // namespace

Config load_config_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ConfigProblems problems;
    problems.add({file.string(), 0, "", "cannot open the config file"});
    throw ConfigError(std::move(problems));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_and_build(text.str(), file.string());
}

Config load_config_text(std::string_view yaml, const std::string& source_name) {
  return parse_and_build(yaml, source_name);
}

}  // namespace cluetrace
