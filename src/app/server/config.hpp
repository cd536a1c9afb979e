#pragma once
// The optional configuration file of `escala serve --config FILE` (TOML):
//
//   [http]
//   max_json_body_bytes = 1048576
//   network_threads = 2
//   behind_tls = true      # browsers reach the desk over https (a proxy terminates TLS):
//                          # Secure session cookies; default: true when mail.public_url is https
//   max_streams = 1000     # open live-update streams (GET /api/v1/stream), in all
//   max_streams_per_user = 8
//   stream_heartbeat_seconds = 15   # a comment line on a silent stream, for proxies
//   [auth]
//   token_ttl_hours = 12
//   [store]
//   synchronous = "full"   # or "normal": survives a crash of the process, not of the machine
//   [smtp]                 # the listener (--smtp)
//   max_message_bytes = 26214400
//   hostname = "mail.example.com"
//   tls_cert = "/etc/escala/cert.pem"   # with tls_key: STARTTLS is offered
//   tls_key = "/etc/escala/key.pem"
//   [relay]                # outbound (--smtp-relay)
//   starttls = true
//   verify_peer = true
//   username = "escala"
//   password = "…"
//   connections = 4        # parallel connections to the relay
//   lease_seconds = 6      # an outbox claim not renewed for this long is retried by another
//                          # sender (node); renewed every third of it while sending
//   [mail]
//   public_url = "https://desk.example.com"   # for links in emails
//   [[imap]]               # one table per hosted mailbox to poll
//   url = "imaps://imap.gmail.com:993/INBOX"
//   username = "sosporte24@callmyway.com"
//   password_file = "/etc/escala/imap-sosporte24"   # or password = "…"
//   mailbox = "sosporte24@callmyway.com"   # the desk mailbox it receives for
//   after_store = "seen"   # or a folder to move stored messages to
//   interval_seconds = 30

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace escala::app {

struct Config {
  size_t max_json_body = 1 << 20;
  int network_threads = 2;
  std::optional<bool> behind_tls;  // unset: from public_url's scheme
  int max_streams = 1000;
  int max_streams_per_user = 8;
  Seconds stream_heartbeat{15};
  Seconds token_ttl{12 * 3600};
  bool synchronous_full = true;
  int64_t smtp_max_message_bytes = 25 * 1024 * 1024;
  std::string smtp_hostname = "escala.local";
  std::string smtp_tls_cert, smtp_tls_key;
  bool relay_starttls = false;
  bool relay_verify_peer = true;
  std::string relay_username, relay_password;
  int relay_connections = 4;
  Seconds outbox_lease{6};
  std::string public_url;  // empty: http://<--http address>
  struct Imap {
    std::string url, username, password, mailbox, after_store = "seen";
    bool starttls = false, verify_peer = true;
    int interval_seconds = 30;
  };
  std::vector<Imap> imap;
};

// An empty path gives the defaults. Unknown keys and bad values are errors.
Result<Config> load_config(const std::string& path);

}  // namespace escala::app
