#pragma once
// The HTTP/1.1 server: Beast over Asio with C++20 coroutines. Network threads read and
// write; requests that may block (writes waiting on a commit, password hashing) run on a
// separate worker pool so that many can wait for the same group commit.

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "adapters/http_api/http_types.hpp"
#include "core/result.hpp"

namespace escala::adapters::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;  // 0 picks a free port
  int network_threads = 2;
  int worker_threads = 64;
  size_t max_body = 1 << 20;          // larger bodies get 413
  // A larger limit for some paths (e.g. raw messages from the mail gateway): given the
  // request target, the limit for its body; unset or 0 means max_body.
  std::function<size_t(std::string_view target)> body_limit_for;
  size_t max_header = 16 * 1024;
  int read_timeout_seconds = 30;
  int max_connections = 10'000;
};

using Handler = std::function<Response(const Request&)>;
using BlockingPredicate = std::function<bool(const Request&)>;

class Server {
 public:
  // Binds and listens; fails when the address is taken or invalid.
  static Result<std::unique_ptr<Server>> create(ServerOptions options, Handler handler,
                                                BlockingPredicate is_blocking);
  ~Server();

  unsigned short port() const;
  // Serves until stop() (from any thread or a signal handler thread).
  void run();
  void stop();

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace escala::adapters::http
