#pragma once
// Transport-neutral request and response: the API is a function from one to the other, so
// it is tested without sockets and served by any transport.

#include <string>
#include <utility>
#include <vector>

namespace escala::adapters::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as received
  std::string authorization;
  std::string content_type;
  std::string body;
  std::string client;  // remote address, for rate limits
  std::string accept;           // Accept: the console's shell answers text/html navigations
  std::string accept_encoding;  // Accept-Encoding: precompressed console assets
  // Browser sessions (browser_session.hpp): the Cookie header, X-CSRF-Token, and where the
  // request says it comes from (Origin, Sec-Fetch-Site, Host).
  std::string cookie;
  std::string csrf_token;
  std::string origin;
  std::string sec_fetch_site;
  std::string host;
  bool tls = false;  // arrived over TLS on this socket (the desk itself does not terminate TLS yet)
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace escala::adapters::http
