// What `cluetrace review` answers, apart from HTTP: the cases it opened (their clues.sqlite, read and written),
// the triage decisions, the crops, the whole image on request, query by example and the publication export.
// Each call takes the request's parameters and gives JSON or bytes; review_server.cpp maps URLs onto them.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cluetrace {

struct ObjectQuery;

// A request the analyst got wrong (a bad parameter, an unknown image): HTTP 400/404 with the message.
struct ReviewError : std::runtime_error {
  ReviewError(int code, const std::string& message) : std::runtime_error(message), status(code) {}
  int status;
};

struct ReviewOptions {
  std::vector<std::filesystem::path> cases;  // output folders, each with clues.sqlite
  std::filesystem::path root;                // relative image paths in the reports start here
  std::string analyst;                       // recorded with every decision
  bool read_only = false;                    // only look (find-object): the case may be on read-only storage
};

// A parameter of the request by name ("" when absent).
using Params = std::function<std::string(const std::string&)>;

struct Bytes {
  std::string data, content_type;
};

class ReviewApi {
 public:
  // Opens every case (read-write: the decisions are written there). Throws std::runtime_error naming the
  // folder when one has no case database.
  explicit ReviewApi(ReviewOptions options);
  ~ReviewApi();
  ReviewApi(const ReviewApi&) = delete;
  ReviewApi& operator=(const ReviewApi&) = delete;

  nlohmann::json case_info();
  // The image `which` names in a case: its number, its path as the report gives it, or a SHA-256 prefix (8+).
  std::optional<long long> find_image(int case_index, const std::string& which);
  nlohmann::json images(const Params& p);
  nlohmann::json image(const Params& p);
  nlohmann::json clues(const Params& p);
  nlohmann::json decide(const nlohmann::json& body);
  nlohmann::json mark_reviewed(const nlohmann::json& body);
  // A stored clue crop: `relative` is the path the API gave (crops/...), nothing else is served.
  Bytes crop(int case_index, const std::string& relative);
  // The whole image, only when the analyst asks (the page shows it blurred and grey until clicked).
  Bytes whole(const Params& p);
  // The region a query matched, outlined, with a margin: a crop, not the whole image.
  Bytes region(const Params& p);
  // Query by example from a box on an image of a case ({"case", "id", "box"}) or from an uploaded crop.
  nlohmann::json query_region(const nlohmann::json& body);
  nlohmann::json query_crop(const std::string& image_bytes);
  // The clues marked "publish" of one case, through export-crops (faces and people refused) into
  // <case>/publication.
  nlohmann::json export_publication(const nlohmann::json& body);

 private:
  struct Case;
  struct Original;
  static Original original_of(Case& c, int index, long long id, const std::filesystem::path& root);
  Case& case_at(int index);
  int case_param(const Params& p) const;  // the request's "case" (default 0), checked
  nlohmann::json run_query(const ObjectQuery& query);  // over every case
  ReviewOptions options_;
  std::vector<std::unique_ptr<Case>> cases_;
};

}  // namespace cluetrace
