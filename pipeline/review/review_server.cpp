#include "pipeline/review/review_server.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "pipeline/review/assets.hpp"

namespace cluetrace {
namespace {

using json = nlohmann::json;

// The only address the server listens on: this machine's loopback.
constexpr const char* kLoopback = "127.0.0.1";

constexpr const char* kPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

std::string content_type_of(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

void send_json(httplib::Response& res, const json& body, int status = 200) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json; charset=utf-8");
}

// Runs `fn`, turning what the analyst got wrong into 4xx with the message and anything else into 500.
template <typename Fn>
void answer(const httplib::Request& req, httplib::Response& res, Fn&& fn) {
  try {
    fn();
  } catch (const ReviewError& e) {
    send_json(res, {{"error", e.what()}}, e.status);
  } catch (const std::exception& e) {
    spdlog::error("review: {} {}: {}", req.method, req.path, e.what());
    send_json(res, {{"error", e.what()}}, 500);
  }
}

json json_body(const httplib::Request& req) {
  if (!req.get_header_value("Content-Type").starts_with("application/json")) {
    // A page elsewhere can post a form to us, but not JSON without asking first (and we allow no one).
    throw ReviewError(415, "send JSON (Content-Type: application/json)");
  }
  auto body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) throw ReviewError(400, "the body is not a JSON object");
  return body;
}

Params params_of(const httplib::Request& req) {
  return [&req](const std::string& name) { return req.has_param(name.c_str()) ? req.get_param_value(name.c_str()) : std::string(); };
}

}  // namespace

std::string random_token() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) throw std::runtime_error("no random numbers from OpenSSL for the access token");
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

void serve_review(const ServeOptions& options) {
  ReviewApi api(options.review);
  const std::string token = random_token();
  const std::string base = "/" + token;
  httplib::Server server;
  server.set_payload_max_length(64u << 20);
  server.set_read_timeout(30);

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(kLoopback);
    if (port < 0) throw std::runtime_error(fmt::format("cannot listen on {}", kLoopback));
  } else if (!server.bind_to_port(kLoopback, port)) {
    throw std::runtime_error(fmt::format("cannot listen on {}:{} (in use?)", kLoopback, port));
  }
  const std::string hosts[] = {fmt::format("{}:{}", kLoopback, port), fmt::format("localhost:{}", port)};

  server.set_pre_routing_handler([&](const httplib::Request& req, httplib::Response& res) {
    // Another host name is a page elsewhere reaching us through DNS it controls: refused, whatever the path.
    const std::string host = req.get_header_value("Host");
    const bool known_host = host == hosts[0] || host == hosts[1];
    const bool has_token = req.path.size() > base.size() && req.path[base.size()] == '/' &&
                           CRYPTO_memcmp(req.path.data(), base.data(), base.size()) == 0;
    if (!known_host || !has_token) {
      res.status = 403;
      res.set_content("refused: this address needs the access token printed by `cluetrace review`\n", "text/plain; charset=utf-8");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy", kPolicy);
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");  // the token is in every URL
    res.set_header("X-Frame-Options", "DENY");
    res.set_header("Cross-Origin-Resource-Policy", "same-origin");
    res.set_header("Cache-Control", "no-store");
  });

  auto asset = [&](const std::string& name) {
    return [name](const httplib::Request&, httplib::Response& res) {
      const auto bytes = review_asset(name);
      if (!bytes) {
        res.status = 404;
        return;
      }
      res.set_content(std::string(*bytes), content_type_of(name).c_str());
    };
  };
  server.Get(base + "/", asset("index.html"));
  server.Get(base + "/index.html", asset("index.html"));
  server.Get(base + "/app.js", asset("app.js"));
  server.Get(base + "/app.css", asset("app.css"));

  auto get_json = [&](const std::string& path, json (ReviewApi::*fn)(const Params&)) {
    server.Get(base + path, [&api, fn](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, [&] { send_json(res, (api.*fn)(params_of(req))); });
    });
  };
  get_json("/api/images", &ReviewApi::images);
  get_json("/api/image", &ReviewApi::image);
  get_json("/api/clues", &ReviewApi::clues);
  server.Get(base + "/api/case", [&api](const httplib::Request& req, httplib::Response& res) {
    answer(req, res, [&] { send_json(res, api.case_info()); });
  });
  auto get_bytes = [&](const std::string& path, Bytes (ReviewApi::*fn)(const Params&)) {
    server.Get(base + path, [&api, fn](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, [&] {
        const Bytes b = (api.*fn)(params_of(req));
        res.set_content(b.data, b.content_type.c_str());
      });
    });
  };
  get_bytes("/api/whole", &ReviewApi::whole);
  get_bytes("/api/region", &ReviewApi::region);
  server.Get(base + R"(/crop/(\d{1,6})/(crops/[0-9a-f]{2}/[0-9a-f]{64}-\d{1,6}\.jpg))", [&api](const httplib::Request& req, httplib::Response& res) {
    answer(req, res, [&] {
      const Bytes b = api.crop(std::stoi(req.matches[1].str()), req.matches[2].str());
      res.set_content(b.data, b.content_type.c_str());
    });
  });

  auto post_json = [&](const std::string& path, json (ReviewApi::*fn)(const json&)) {
    server.Post(base + path, [&api, fn](const httplib::Request& req, httplib::Response& res) {
      answer(req, res, [&] { send_json(res, (api.*fn)(json_body(req))); });
    });
  };
  post_json("/api/decision", &ReviewApi::decide);
  post_json("/api/reviewed", &ReviewApi::mark_reviewed);
  post_json("/api/export", &ReviewApi::export_publication);
  server.Post(base + "/api/query", [&api](const httplib::Request& req, httplib::Response& res) {
    answer(req, res, [&] {
      const std::string type = req.get_header_value("Content-Type");
      if (type.starts_with("image/png") || type.starts_with("image/jpeg") || type.starts_with("image/webp")) {
        send_json(res, api.query_crop(req.body));
      } else {
        send_json(res, api.query_region(json_body(req)));
      }
    });
  });

  // Stopped by SIGINT or SIGTERM: the signals wait for a thread of their own, which stops the server.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::atomic<bool> ended{false};
  std::thread watcher([&] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    // A signal before the server is listening: stop() would be lost, so wait until it listens (or has ended).
    while (!server.is_running() && !ended) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    server.stop();
  });
  bool listened = false;
  try {
    const std::string url = fmt::format("http://{}:{}{}/", kLoopback, port, base);
    if (options.on_ready) options.on_ready(url);
    listened = server.listen_after_bind();
  } catch (...) {
    ended = true;
    pthread_kill(watcher.native_handle(), SIGTERM);
    watcher.join();
    throw;
  }
  // Ended on its own (not by a signal): wake the watcher so it can be joined.
  ended = true;
  pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  if (!listened) throw std::runtime_error(fmt::format("the server on {}:{} stopped unexpectedly", kLoopback, port));
}

}  // namespace cluetrace
