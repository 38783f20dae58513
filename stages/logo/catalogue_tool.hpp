// `cluetrace catalogue build|add|list|check`: the analyst's side of the logo catalogue. The CLI only
// parses arguments; these functions do the work and print to `out`.
#pragma once

#include <filesystem>
#include <ostream>
#include <string>
#include <vector>

namespace cluetrace::logo {

// The default catalogue of this installation (models/logos/catalogue.yaml, or $CLUETRACE_MODELS_DIR).
std::filesystem::path default_catalogue_path();

// Compiles (or brings up to date) the feature index beside the catalogue. Returns 0, or 1 with a message.
int catalogue_build(const std::filesystem::path& catalogue, std::ostream& out, std::ostream& err);
int catalogue_list(const std::filesystem::path& catalogue, std::ostream& out, std::ostream& err);
// Prints weak and confusable brands; returns 0 when none, 3 when some were found, 1 when it cannot run.
int catalogue_check(const std::filesystem::path& catalogue, std::ostream& out, std::ostream& err);

struct AddRequest {
  std::filesystem::path catalogue;  // created when it does not exist
  std::string id, name, category = "other", source;
  std::vector<std::string> countries;  // "DE" or "DE=0.5"
  bool global = false;
  std::vector<std::string> colours;  // "#RRGGBB"
  std::vector<std::string> images;   // "photo.jpg" or "photo.jpg:x,y,w,h" (only the box is copied)
  std::vector<std::string> svgs;
};
// Adds a brand (or more references to an existing one), copies the references (photo crops only,
// never the whole photo) under refs/<id>/ beside the catalogue, and rebuilds the index.
int catalogue_add(const AddRequest& request, std::ostream& out, std::ostream& err);

}  // namespace cluetrace::logo
