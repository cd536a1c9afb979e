#pragma once
// The inbound SMTP listener: an ESMTP server (RFC 5321) that takes mail for the desk and
// hands each accepted message to an SmtpHandler. Start reading here, then
// smtp_listener.cpp (one Session coroutine per connection).
//
// Extensions: SIZE, 8BITMIME, PIPELINING, ENHANCEDSTATUSCODES, SMTPUTF8 and STARTTLS
// (RFC 3207; advertised only when a certificate and key are configured). No AUTH: this is
// an MX-style listener; relaying is decided by SmtpHandler::accept_recipient.
//
// Threads: `network_threads` threads each run their own io_context; a connection lives on
// one of them. SmtpHandler methods never run on a network thread: they run on the
// listener's worker pool (`worker_threads`), so a handler may block (database, disk).
//
// Failure: untrusted input never crashes the server nor blocks other connections; a bad
// client gets an SMTP error reply, and is disconnected after too many errors, an idle
// timeout (421) or a broken connection. Bad configuration (address, certificate, spool
// folder) is reported by listen(). No exception escapes the listener; one thrown by the
// handler is answered as a temporary failure (451).
//
// The message bytes are passed on exactly as received, except for dot-unstuffing: no
// Received: header is added, line endings are not rewritten (bare LF is tolerated).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace escala::adapters::smtp {

struct SmtpEnvelope {
  std::string helo;                  // the EHLO/HELO argument
  std::string mail_from;             // the reverse path without <>; empty for bounces (<>)
  std::vector<std::string> rcpt_to;  // accepted recipients only, without <>
  std::string peer;                  // "address:port" of the client
  bool tls = false;                  // the message came over STARTTLS
};

// One received message. Small messages are held in `data` (and `path` is empty); above
// SmtpListenerOptions::spool_threshold the bytes are written, as they arrive, to a spool
// file at `path` (mode 0600; `data` is empty). The listener removes the file after
// deliver() returns: a handler that wants to keep it must copy it or rename it away.
struct SpooledMessage {
  std::string data;
  std::string path;
  int64_t size = 0;  // bytes of the message, in `data` or in the file
};

// What the desk does with mail. Both methods run on a worker thread, possibly several
// at once for different connections: implementations must be thread-safe.
class SmtpHandler {
 public:
  virtual ~SmtpHandler() = default;
  // Whether mail for `address` (as given in RCPT TO, without <>) is taken. false →
  // "550 5.1.1 <address>: recipient not accepted here".
  virtual bool accept_recipient(std::string_view address) = 0;
  // Takes one message for all its accepted recipients. The reply to the client:
  //   ok                             → 250 2.0.0 Ok: <returned id>
  //   kUnavailable, kInternal        → 451 4.3.0 (the client retries later)
  //   kRateLimited                   → 451 4.7.1
  //   kPayloadTooLarge               → 552 5.3.4
  //   kInvalidArgument               → 554 5.6.0 <error message>
  //   kPermissionDenied, kUnauthenticated → 554 5.7.1 <error message>
  //   any other code                 → 554 5.0.0 <error message>
  // The error message is sent to the client (one line, control characters removed).
  virtual Result<std::string> deliver(const SmtpEnvelope& envelope,
                                      const SpooledMessage& message) = 0;
};

struct SmtpListenerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;                      // 0 picks a free port; see SmtpListener::port()
  std::string hostname = "escala.local";  // in the greeting and the EHLO reply
  int64_t max_message_bytes = 25 * 1024 * 1024;
  size_t spool_threshold = 1 * 1024 * 1024;  // larger messages go to a spool file
  std::string spool_dir;                     // empty: the system temporary folder
  int max_recipients = 100;
  int max_connections = 1000;               // beyond: "421" at the greeting
  std::chrono::seconds idle_timeout{300};   // waiting for a command or for DATA bytes
  std::string tls_cert_file, tls_key_file;  // PEM; both set → STARTTLS is offered
  int network_threads = 1;
  int worker_threads = 16;
};

// Thread-safety: listen(), start() and stop() are called by the owner, in that order,
// from one thread; port() may be called from any thread after listen(). The handler must
// outlive the listener. stop() is final (a stopped listener is not restarted).
class SmtpListener {
 public:
  SmtpListener(SmtpListenerOptions options, SmtpHandler& handler);
  ~SmtpListener();  // stops
  SmtpListener(const SmtpListener&) = delete;
  SmtpListener& operator=(const SmtpListener&) = delete;

  // Checks the options, loads the TLS certificate and binds. kInvalidArgument for a bad
  // address, certificate, key or spool folder; kUnavailable when the port is taken.
  Status listen();
  uint16_t port() const;
  // Starts the network threads and returns; connections are served until stop().
  void start();
  // Stops accepting, drops open connections, waits for the network threads and for the
  // handler calls in flight to return. Idempotent.
  void stop();

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace escala::adapters::smtp
