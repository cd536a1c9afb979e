#pragma once
// ports::Crypto over libsodium: argon2id (interactive limits), randombytes, SHA-256.

#include <memory>

#include "core/result.hpp"
#include "ports/crypto.hpp"

namespace escala::adapters {

class SodiumCrypto final : public ports::Crypto {
 public:
  // Fails when libsodium cannot initialise (no entropy source).
  static Result<std::unique_ptr<SodiumCrypto>> create();

  std::string hash_password(const std::string& password) override;
  bool verify_password(const std::string& hash, const std::string& password) override;
  std::string random_token(int bytes) override;
  std::string sha256_hex(const std::string& data) override;
  std::string hmac_sha256_hex(const std::string& key, const std::string& data) override;

 private:
  SodiumCrypto() = default;
};

}  // namespace escala::adapters
