#pragma once
// The optional configuration file of `escala serve --config FILE` (TOML):
//
//   [http]
//   max_json_body_bytes = 1048576
//   network_threads = 2
//   [auth]
//   token_ttl_hours = 12
//   [store]
//   synchronous = "full"   # or "normal": survives a crash of the process, not of the machine

#include <string>

#include "core/result.hpp"
#include "core/time.hpp"

namespace escala::app {

struct Config {
  size_t max_json_body = 1 << 20;
  int network_threads = 2;
  Seconds token_ttl{12 * 3600};
  bool synchronous_full = true;
};

// An empty path gives the defaults. Unknown keys and bad values are errors.
Result<Config> load_config(const std::string& path);

}  // namespace escala::app
