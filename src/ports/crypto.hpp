#pragma once
// Crypto: password hashing and secret tokens. Implemented over libsodium
// (adapters/sodium_crypto). Thread-safe.

#include <string>

namespace escala::ports {

class Crypto {
 public:
  virtual ~Crypto() = default;
  // An argon2id hash string ("$argon2id$v=19$...") with a random salt.
  virtual std::string hash_password(const std::string& password) = 0;
  // False on mismatch and on a malformed hash.
  virtual bool verify_password(const std::string& hash, const std::string& password) = 0;
  // `bytes` random bytes from the OS CSPRNG, hex encoded.
  virtual std::string random_token(int bytes) = 0;
  // Hex SHA-256, for storing tokens without storing the tokens themselves.
  virtual std::string sha256_hex(const std::string& data) = 0;
  // Hex HMAC-SHA-256 of `data` under `key`: signed links (e.g. "confirm the resolution").
  virtual std::string hmac_sha256_hex(const std::string& key, const std::string& data) = 0;
};

}  // namespace escala::ports
