#include "pipeline/options.hpp"

#include <fmt/format.h>

#include "pipeline/fold.hpp"

namespace cluetrace {

std::string ConfigProblem::to_string() const {
  std::string where = file;
  if (line > 0) where += fmt::format(":{}", line);
  return fmt::format("{}: {}: {}", where, key_path.empty() ? "(top level)" : key_path, message);
}

std::string ConfigProblems::to_string() const {
  std::string out;
  for (const auto& p : problems_) out += p.to_string() + "\n";
  return out;
}

OptionReader::OptionReader(YAML::Node node, std::string key_path, std::string file, ConfigProblems& problems)
    : node_(std::move(node)), key_path_(std::move(key_path)), file_(std::move(file)), problems_(&problems) {
  if (!node_.IsDefined()) node_ = YAML::Node();
  if (node_.IsDefined() && !node_.IsNull() && !node_.IsMap()) {
    problems_->add({file_, node_.Mark().line + 1, key_path_, "expected a mapping of keys to values"});
    node_ = YAML::Node();
  }
}

std::string OptionReader::path_of(std::string_view key) const {
  return key_path_.empty() ? std::string(key) : key_path_ + "." + std::string(key);
}

int OptionReader::line_of(std::string_view key) const {
  if (!node_.IsMap()) return 0;
  const YAML::Node& const_node = node_;
  const YAML::Node value = const_node[std::string(key)];
  if (!value.IsDefined()) return node_.Mark().line + 1;
  return value.Mark().line + 1;
}

void OptionReader::problem(std::string_view key, std::string message) {
  problems_->add({file_, line_of(key), path_of(key), std::move(message)});
}

YAML::Node OptionReader::lookup(std::string_view key) {
  known_.emplace(key);
  if (!node_.IsMap()) return YAML::Node();
  // yaml-cpp's const lookup does not insert; copy first so we never mutate the document.
  const YAML::Node& const_node = node_;
  const YAML::Node value = const_node[std::string(key)];
  // A missing key yields yaml-cpp's "zombie" node, which throws on most calls: use a plain null node.
  return value.IsDefined() ? value : YAML::Node();
}

namespace {
std::string describe_node(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  if (node.IsNull()) return "nothing (null)";
  return "'" + node.Scalar() + "'";
}
}  // namespace

bool OptionReader::get_bool(std::string_view key, bool fallback) {
  const auto value = lookup(key);
  bool result = fallback;
  if (value.IsDefined() && !value.IsNull()) {
    bool parsed = false;
    if (value.IsScalar() && YAML::convert<bool>::decode(value, parsed)) {
      result = parsed;
    } else {
      problem(key, "expected true or false, got " + describe_node(value));
    }
  }
  effective_[std::string(key)] = result;
  return result;
}

std::int64_t OptionReader::get_int(std::string_view key, std::int64_t fallback, std::int64_t min, std::int64_t max) {
  const auto value = lookup(key);
  std::int64_t result = fallback;
  if (value.IsDefined() && !value.IsNull()) {
    std::int64_t parsed = 0;
    if (value.IsScalar() && YAML::convert<std::int64_t>::decode(value, parsed)) {
      if (parsed < min || parsed > max) {
        problem(key, fmt::format("{} is out of range [{}, {}]", parsed, min, max));
      } else {
        result = parsed;
      }
    } else {
      problem(key, "expected a whole number, got " + describe_node(value));
    }
  }
  effective_[std::string(key)] = result;
  return result;
}

double OptionReader::get_double(std::string_view key, double fallback, double min, double max) {
  const auto value = lookup(key);
  double result = fallback;
  if (value.IsDefined() && !value.IsNull()) {
    double parsed = 0;
    if (value.IsScalar() && YAML::convert<double>::decode(value, parsed)) {
      if (!(parsed >= min && parsed <= max)) {
        problem(key, fmt::format("{} is out of range [{}, {}]", parsed, min, max));
      } else {
        result = parsed;
      }
    } else {
      problem(key, "expected a number, got " + describe_node(value));
    }
  }
  effective_[std::string(key)] = result;
  return result;
}

std::string OptionReader::get_string(std::string_view key, std::string fallback,
                                     const std::vector<std::string>& allowed) {
  const auto value = lookup(key);
  std::string result = std::move(fallback);
  if (value.IsDefined() && !value.IsNull()) {
    if (value.IsScalar() && !is_valid_utf8(value.Scalar())) {
      // Reports, run.json and the config hash are JSON: text in a config must be UTF-8.
      problem(key, "not valid UTF-8 text (save the config file as UTF-8)");
    } else if (value.IsScalar()) {
      const auto& text = value.Scalar();
      bool ok = allowed.empty();
      for (const auto& a : allowed) ok = ok || a == text;
      if (ok) {
        result = text;
      } else {
        problem(key, fmt::format("'{}' is not one of: {}", text, fmt::join(allowed, ", ")));
      }
    } else {
      problem(key, "expected a string, got " + describe_node(value));
    }
  }
  effective_[std::string(key)] = result;
  return result;
}

std::vector<std::string> OptionReader::get_string_list(std::string_view key, std::vector<std::string> fallback) {
  const auto value = lookup(key);
  std::vector<std::string> result = std::move(fallback);
  if (value.IsDefined() && !value.IsNull()) {
    if (value.IsSequence()) {
      std::vector<std::string> parsed;
      bool ok = true;
      for (const auto& item : value) {
        if (!item.IsScalar()) {
          problem(key, "every item must be a string, got " + describe_node(item));
          ok = false;
          break;
        }
        if (!is_valid_utf8(item.Scalar())) {
          problem(key, "an item is not valid UTF-8 text (save the config file as UTF-8)");
          ok = false;
          break;
        }
        parsed.push_back(item.Scalar());
      }
      if (ok) result = std::move(parsed);
    } else {
      problem(key, "expected a list of strings, got " + describe_node(value));
    }
  }
  effective_[std::string(key)] = result;
  return result;
}

OptionReader OptionReader::child(std::string_view key) {
  return OptionReader(lookup(key), path_of(key), file_, *problems_);
}

void OptionReader::adopt(std::string_view key, const OptionReader& nested) {
  effective_[std::string(key)] = nested.effective();
}

void OptionReader::finish() {
  if (!node_.IsMap()) return;
  for (const auto& entry : node_) {
    const auto name = entry.first.Scalar();
    if (!known_.contains(name)) {
      problems_->add({file_, entry.first.Mark().line + 1, path_of(name), "unknown key"});
    }
  }
}

ClueWeights read_clue_weights(OptionReader& options, std::string_view key, double (*fallback)(ClueKind), double max) {
  ClueWeights weights{};
  auto child = options.child(key);
  for (const auto kind : kAllClueKinds) {
    weights[static_cast<std::size_t>(kind)] = child.get_double(to_string(kind), fallback(kind), 0.0, max);
  }
  child.finish();
  options.adopt(key, child);
  return weights;
}

}  // namespace cluetrace
