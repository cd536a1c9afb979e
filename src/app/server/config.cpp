#include "app/server/config.hpp"

#include <toml++/toml.h>

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
    if (section != "http" && section != "auth" && section != "store")
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
  return c;
}

}  // namespace escala::app
