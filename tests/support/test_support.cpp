#include "tests/support/test_support.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <oneapi/tbb/task_arena.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/digest.hpp"
#include "pipeline/memory_gate.hpp"
#include "pipeline/stage.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace cluetrace::test {

fs::path source_dir() { return CLUETRACE_SOURCE_DIR; }
fs::path shared_dir() { return CLUETRACE_SHARED_DIR; }
fs::path cli_path() { return CLUETRACE_CLI; }

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = fs::temp_directory_path() / ("cluetrace-test-" + std::to_string(rd()));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary folder");
}

TempDir::~TempDir() {
  std::error_code ec;
  // Restore permissions a test may have taken away, so removal works.
  for (auto it = fs::recursive_directory_iterator(path_, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_symlink(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::remove_all(path_, ec);
}

cv::Mat text_image(const std::vector<std::string>& lines, int width, double scale) {
  const int line_height = static_cast<int>(40 * scale);
  cv::Mat image(line_height * static_cast<int>(lines.size()) + line_height, width, CV_8UC3, cv::Scalar(235, 240, 245));
  int y = line_height;
  for (const auto& line : lines) {
    cv::putText(image, line, {20, y}, cv::FONT_HERSHEY_SIMPLEX, scale, cv::Scalar(20, 20, 20), 3, cv::LINE_AA);
    y += line_height;
  }
  return image;
}

cv::Mat brand_sign() {
  cv::Mat m(160, 360, CV_8UC3, cv::Scalar(30, 110, 220));
  cv::putText(m, "KONZ", {18, 110}, cv::FONT_HERSHEY_TRIPLEX, 3.0, cv::Scalar(255, 255, 255), 7);
  cv::circle(m, {320, 40}, 22, cv::Scalar(255, 255, 255), cv::FILLED);
  cv::rectangle(m, cv::Rect(300, 90, 40, 50), cv::Scalar(20, 20, 20), cv::FILLED);
  return m;
}

std::vector<unsigned char> encode(const cv::Mat& image, const std::string& ext) {
  std::vector<unsigned char> bytes;
  if (!cv::imencode(ext, image, bytes)) throw std::runtime_error("cannot encode " + ext);
  return bytes;
}

void write_bytes(const fs::path& path, const std::vector<unsigned char>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::vector<unsigned char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

namespace {

std::vector<char*> make_argv(const std::vector<std::string>& args, std::string& program) {
  program = cli_path().string();
  std::vector<char*> argv{program.data()};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

}  // namespace

int spawn_cli(const std::vector<std::string>& args, const fs::path& log, const std::vector<std::string>& extra_env) {
  std::string program;
  auto argv = make_argv(args, program);
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) env_text.emplace_back(*e);
  env_text.insert(env_text.end(), extra_env.begin(), extra_env.end());
  std::vector<char*> env;
  for (auto& e : env_text) env.push_back(e.data());
  env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + program);
  return pid;
}

CliResult run_cli(const std::vector<std::string>& args, const std::vector<std::string>& extra_env) {
  TempDir scratch;
  const auto log = scratch / "output.txt";
  const int pid = spawn_cli(args, log, extra_env);
  int status = 0;
  waitpid(pid, &status, 0);
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(log);
  std::ostringstream text;
  text << in.rdbuf();
  result.output = text.str();
  return result;
}

ImageRecord decoded_record(const cv::Mat& pixels) {
  ImageRecord image;
  image.pixels = pixels;
  image.width = pixels.cols;
  image.height = pixels.rows;
  image.decoded = true;
  image.stage_results.resize(kAllStageKinds.size());
  return image;
}

ImageRecord line_record(const cv::Mat& pixels) {
  auto image = decoded_record(pixels);
  const auto w = static_cast<float>(pixels.cols), h = static_cast<float>(pixels.rows);
  image.text_regions = {TextRegion{{cv::Point2f(0, 0), {w, 0}, {w, h}, {0, h}}, 0.9}};
  return image;
}

std::vector<nlohmann::json> read_reports(const fs::path& out_dir) {
  std::ifstream in(out_dir / "reports.jsonl");
  std::vector<nlohmann::json> reports;
  std::string line;
  while (std::getline(in, line)) reports.push_back(nlohmann::json::parse(line));
  return reports;
}

nlohmann::json read_json(const fs::path& file) {
  std::ifstream in(file);
  return nlohmann::json::parse(in);
}

std::vector<std::string> snapshot_tree(const fs::path& dir) {
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    ::lstat(it->path().c_str(), &st);
    std::string line = it->path().string() + " mode=" + std::to_string(st.st_mode) +
                       " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) {
      const auto bytes = read_bytes(it->path());
      line += " sha256=" + sha256_hex(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    }
    entries.push_back(line);
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

std::future<void> in_two_thread_arena(std::function<void()> work) {
  return std::async(std::launch::async, [work = std::move(work)] {
    oneapi::tbb::task_arena arena(2);
    arena.execute(work);
  });
}

LargeWorkingSetsHeld::LargeWorkingSetsHeld() {
  std::promise<void> inside;
  auto entered = inside.get_future();
  holder_ = in_two_thread_arena([this, &inside] {
    large_working_sets().run([&] {
      inside.set_value();
      release_.get_future().wait();
    });
  });
  entered.wait();
}

LargeWorkingSetsHeld::~LargeWorkingSetsHeld() { release(); }

void LargeWorkingSetsHeld::release() {
  if (released_) return;
  released_ = true;
  release_.set_value();
  holder_.get();
}

}  // namespace cluetrace::test
