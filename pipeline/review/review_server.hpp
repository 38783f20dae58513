// `cluetrace review CASE... [--port N]`: the review app over HTTP, on 127.0.0.1 only. Every URL starts with a
// random token (printed once, in the URL to open); a request without it, or addressed to another host name, is
// refused. Pages come with a strict Content-Security-Policy and load nothing from outside the machine.
#pragma once

#include <functional>
#include <string>

#include "pipeline/review/review_api.hpp"

namespace cluetrace {

struct ServeOptions {
  ReviewOptions review;
  int port = 0;  // 0: any free port
  // Called once the server listens, with the URL to open (http://127.0.0.1:PORT/TOKEN/).
  std::function<void(const std::string& url)> on_ready;
};

// Serves until SIGINT or SIGTERM. Throws std::runtime_error when a case cannot be opened or the port is taken.
void serve_review(const ServeOptions& options);

// 32 random hex digits from the system's CSPRNG (OpenSSL).
std::string random_token();

}  // namespace cluetrace
