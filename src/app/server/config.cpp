#include "app/server/config.hpp"

#include <toml++/toml.h>

#include <fstream>

namespace escala::app {

Result<Config> load_config(const std::string& path) {
  Config c;
  if (path.empty()) return c;
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string(path) + ": " + std::string(e.description()), "config");
  }
  for (auto&& [section, value] : t) {
    if (section != "http" && section != "auth" && section != "store" && section != "smtp" &&
        section != "relay" && section != "mail" && section != "imap")
      return make_error(ErrorCode::kUnknownField, "unknown section", std::string(section.str()));
  }
  if (auto v = t["http"]["max_json_body_bytes"].value<int64_t>()) {
    if (*v < 1024 || *v > (64 << 20))
      return make_error(ErrorCode::kInvalidArgument, "must be 1 KiB to 64 MiB", "http.max_json_body_bytes");
    c.max_json_body = static_cast<size_t>(*v);
  }
  if (auto v = t["http"]["network_threads"].value<int64_t>()) {
    if (*v < 1 || *v > 64)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 64", "http.network_threads");
    c.network_threads = static_cast<int>(*v);
  }
  if (auto v = t["http"]["max_streams"].value<int64_t>()) {
    if (*v < 1 || *v > 100'000)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 100000", "http.max_streams");
    c.max_streams = static_cast<int>(*v);
  }
  if (auto v = t["http"]["max_streams_per_user"].value<int64_t>()) {
    if (*v < 1 || *v > 1000)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 1000", "http.max_streams_per_user");
    c.max_streams_per_user = static_cast<int>(*v);
  }
  if (auto v = t["http"]["stream_heartbeat_seconds"].value<int64_t>()) {
    if (*v < 1 || *v > 300)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 300", "http.stream_heartbeat_seconds");
    c.stream_heartbeat = Seconds{*v};
  }
  if (auto* v = t["http"]["behind_tls"].node()) {
    if (!v->is_boolean())
      return make_error(ErrorCode::kInvalidArgument, "must be true or false", "http.behind_tls");
    c.behind_tls = v->value<bool>();
  }
  if (auto v = t["auth"]["token_ttl_hours"].value<int64_t>()) {
    if (*v < 1 || *v > 24 * 90)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 2160", "auth.token_ttl_hours");
    c.token_ttl = Seconds{*v * 3600};
  }
  if (auto v = t["store"]["synchronous"].value<std::string>()) {
    if (*v != "full" && *v != "normal")
      return make_error(ErrorCode::kInvalidArgument, "must be full or normal", "store.synchronous");
    c.synchronous_full = *v == "full";
  }
  if (auto v = t["smtp"]["max_message_bytes"].value<int64_t>()) {
    if (*v < 64 * 1024 || *v > (int64_t{1} << 30))
      return make_error(ErrorCode::kInvalidArgument, "must be 64 KiB to 1 GiB", "smtp.max_message_bytes");
    c.smtp_max_message_bytes = *v;
  }
  if (auto v = t["smtp"]["hostname"].value<std::string>()) c.smtp_hostname = *v;
  if (auto v = t["smtp"]["tls_cert"].value<std::string>()) c.smtp_tls_cert = *v;
  if (auto v = t["smtp"]["tls_key"].value<std::string>()) c.smtp_tls_key = *v;
  if (c.smtp_tls_cert.empty() != c.smtp_tls_key.empty())
    return make_error(ErrorCode::kInvalidArgument, "tls_cert and tls_key go together", "smtp.tls_key");
  if (auto v = t["relay"]["starttls"].value<bool>()) c.relay_starttls = *v;
  if (auto v = t["relay"]["verify_peer"].value<bool>()) c.relay_verify_peer = *v;
  if (auto v = t["relay"]["username"].value<std::string>()) c.relay_username = *v;
  if (auto v = t["relay"]["password"].value<std::string>()) c.relay_password = *v;
  if (auto v = t["relay"]["connections"].value<int64_t>()) {
    if (*v < 1 || *v > 64)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 64", "relay.connections");
    c.relay_connections = static_cast<int>(*v);
  }
  if (auto v = t["relay"]["lease_seconds"].value<int64_t>()) {
    if (*v < 1 || *v > 3600)
      return make_error(ErrorCode::kInvalidArgument, "must be 1 to 3600", "relay.lease_seconds");
    c.outbox_lease = Seconds{*v};
  }
  if (auto v = t["mail"]["public_url"].value<std::string>()) c.public_url = *v;
  if (auto* list = t["imap"].as_array()) {
    for (size_t i = 0; i < list->size(); ++i) {
      auto* tab = (*list)[i].as_table();
      const std::string where = "imap[" + std::to_string(i) + "]";
      if (!tab) return make_error(ErrorCode::kInvalidArgument, "expected a table", where);
      Config::Imap m;
      auto str = [&](const char* key, std::string& out) {
        if (auto v = (*tab)[key].value<std::string>()) out = *v;
      };
      str("url", m.url);
      str("username", m.username);
      str("password", m.password);
      str("mailbox", m.mailbox);
      str("after_store", m.after_store);
      if (auto f = (*tab)["password_file"].value<std::string>()) {
        std::ifstream in(*f);
        if (!in) return make_error(ErrorCode::kInvalidArgument, "cannot read " + *f, where + ".password_file");
        std::getline(in, m.password);
      }
      if (auto v = (*tab)["starttls"].value<bool>()) m.starttls = *v;
      if (auto v = (*tab)["verify_peer"].value<bool>()) m.verify_peer = *v;
      if (auto v = (*tab)["interval_seconds"].value<int64_t>()) {
        if (*v < 1 || *v > 86400)
          return make_error(ErrorCode::kInvalidArgument, "must be 1 to 86400", where + ".interval_seconds");
        m.interval_seconds = static_cast<int>(*v);
      }
      if (m.url.empty() || m.username.empty() || m.mailbox.empty())
        return make_error(ErrorCode::kInvalidArgument, "url, username and mailbox are required", where);
      c.imap.push_back(std::move(m));
    }
  } else if (t.contains("imap")) {
    return make_error(ErrorCode::kInvalidArgument, "use [[imap]] tables", "imap");
  }
  return c;
}

}  // namespace escala::app
