#pragma once
// The REST API as a pure function: handle(Request) -> Response. Authenticates, parses and
// checks input strictly, calls the services, and shapes the answer. Never throws: an
// unexpected exception becomes a 500 with nothing stored.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "adapters/http_api/http_types.hpp"
#include "ports/directory_store.hpp"
#include "services/auth_service.hpp"
#include "services/case_events.hpp"
#include "services/case_service.hpp"
#include "services/config_service.hpp"
#include "services/directory_service.hpp"

namespace escala::adapters::http {

struct ApiOptions {
  size_t max_json_body = 1 << 20;  // 1 MiB
  std::string openapi_json;         // served at /api/v1/openapi.json
  // Test desks only (`serve --test-clock`): moves the clock forward, fires the SLA timers
  // that fell due, and returns the new now, behind POST /api/v1/test/clock. Unset: the
  // endpoint does not exist.
  std::function<Instant(Millis)> advance_clock;
  // The email channel's routes (mail gateway, attachments, confirmation link); absent in
  // unit tests that do not need them.
  class MailRoutes* mail = nullptr;
  // The web console (`serve --web-root`): answers GET/HEAD outside /api/ that no route
  // took; absent when the desk serves no console.
  const class StaticFiles* web = nullptr;
  // Browser sessions (browser_session.hpp). Browsers reach the desk over TLS (a proxy in
  // front terminates it): session cookies are Secure and named __Host-escala_session.
  bool secure_cookies = false;
  // Origins (as "host:port") accepted on cookie-authenticated writes besides the request's
  // own Host, e.g. the public URL's when a proxy rewrites Host.
  std::vector<std::string> trusted_origins;
  // Live updates (GET /api/v1/stream, case_stream.hpp): the hub of case changes, which must
  // outlive the server; absent: the endpoint answers 503. Open streams are limited in all
  // and per user; each stays open with a comment line every `stream_heartbeat`.
  services::CaseEvents* events = nullptr;
  int max_streams = 1000;
  int max_streams_per_user = 8;
  std::chrono::milliseconds stream_heartbeat{15'000};
};

class Api {
 public:
  Api(services::CaseService& cases, services::DirectoryService& directory,
      services::AuthService& auth, ports::DirectoryStore& settings, ApiOptions options,
      services::ConfigService* config = nullptr);

  Response handle(const Request& request);

  // True for requests that may wait on a commit, hash a password, or scan many rows
  // (lists, searches, reports): the server runs them off the network threads, so that
  // point reads (a case, its events) are never stuck behind them.
  static bool is_blocking(const Request& request);

 private:
  Response route(const Request& request);

  services::CaseService& cases_;
  services::DirectoryService& directory_;
  services::AuthService& auth_;
  ports::DirectoryStore& settings_;
  ApiOptions options_;
  services::ConfigService* config_;  // calendars; absent in unit tests that do not need them
  std::shared_ptr<class StreamLimits> stream_limits_;
};

}  // namespace escala::adapters::http
