#pragma once
// Transport-neutral request and response: the API is a function from one to the other, so
// it is tested without sockets and served by any transport.

#include <chrono>
#include <functional>
#include <memory>
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

// The body of a long-lived answer (Server-Sent Events, GET /api/v1/stream): after the
// headers the server sends what the stream pushes, as it comes, until the client goes away
// or alive() says no. The server never blocks a thread on it: pushes wake the connection's
// write loop. The stream object lives as long as the connection.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Called once, on the connection's thread, after the headers were sent (`body`, if any,
  // goes first). `push` queues text for the client: it never blocks, may be called from any
  // thread, and does nothing once the connection ended. A client that does not read what
  // is queued (more than a limit) is disconnected.
  virtual void start(std::function<void(std::string)> push) = 0;
  // How long the connection may stay silent: then the server asks alive() and, when it
  // says yes, sends heartbeat() so that proxies keep the connection open.
  virtual std::chrono::milliseconds heartbeat_interval() const { return std::chrono::seconds(15); }
  virtual std::string heartbeat() const { return ": keep-alive\n\n"; }
  // Called on the connection's thread at each heartbeat: false ends the stream (e.g. the
  // session that opened it ended).
  virtual bool alive() { return true; }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<ResponseStream> stream;  // set: a long-lived answer (see above)
};

}  // namespace escala::adapters::http
