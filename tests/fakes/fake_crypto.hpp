#pragma once
// A fast, deterministic ports::Crypto for unit tests: "hashes" are tagged plain text.
// Never for production: the real one is adapters/sodium_crypto.

#include <atomic>
#include <functional>
#include <string>

#include "ports/crypto.hpp"

namespace escala::fakes {

class FakeCrypto final : public ports::Crypto {
 public:
  std::string hash_password(const std::string& p) override { return "plain:" + p; }
  bool verify_password(const std::string& h, const std::string& p) override {
    return h == "plain:" + p;
  }
  std::string random_token(int) override { return "token-" + std::to_string(++counter_); }
  std::string sha256_hex(const std::string& d) override {
    return "h" + std::to_string(std::hash<std::string>{}(d));
  }
  std::string hmac_sha256_hex(const std::string& k, const std::string& d) override {
    return "m" + std::to_string(std::hash<std::string>{}(k + '\0' + d));
  }

 private:
  std::atomic<int> counter_{0};
};

}  // namespace escala::fakes
