#pragma once
// Sign-in: passwords checked against argon2id hashes, random bearer tokens stored only as
// hashes, token expiry, and a limit on failed attempts per address and per client.

#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>
#include <string>

#include "core/model.hpp"
#include "ports/clock.hpp"
#include "ports/crypto.hpp"
#include "ports/directory_store.hpp"

namespace escala::services {

struct AuthOptions {
  Seconds token_ttl{12 * 3600};
  int max_failures = 5;          // per email and per client within the window
  Seconds failure_window{15 * 60};
  // A verified token is trusted for this long without reading the store again. Logout on
  // this process takes effect at once; a deactivated user or a logout elsewhere within
  // this delay.
  Seconds session_cache_ttl{5};
  size_t session_cache_size = 50'000;
};

struct LoginResult {
  std::string token;
  Instant expires_at{};
  core::User user;
};

// A live session: who, until when, and the stored hash of its token.
struct SessionInfo {
  core::User user;
  Instant expires_at{};
  std::string token_hash;
};

class AuthService {
 public:
  AuthService(ports::DirectoryStore& store, ports::Crypto& crypto, const ports::Clock& clock,
              AuthOptions options = {});

  // kUnauthenticated on a wrong email or password (the same message for both),
  // kRateLimited after too many failures.
  Result<LoginResult> login(const std::string& email, const std::string& password,
                            const std::string& client);
  // The signed-in user for a bearer token; kUnauthenticated when unknown or expired.
  Result<core::User> authenticate(const std::string& token);
  // The same, with the session's expiry.
  Result<SessionInfo> session(const std::string& token);
  Status logout(const std::string& token);

  // The CSRF token of a browser session: an HMAC of a fixed label under the session token,
  // so it is per session, stored nowhere, the same on every node, and tells nothing about
  // the session token. Cookie-authenticated writes must present it (X-CSRF-Token).
  std::string csrf_token(const std::string& session_token);
  // Constant-time comparison of a presented CSRF token with the session's.
  bool csrf_token_matches(const std::string& session_token, const std::string& presented);

  // Replaces the password of `user` (signed in with `token`) after checking the current
  // one, and ends the user's other sessions; answers how many ended. kPermissionDenied
  // (field current_password) on a wrong current password, kInvalidArgument (field
  // new_password) when the new one breaks the rules or equals the current one,
  // kRateLimited after too many wrong current passwords.
  Result<int64_t> change_password(const core::User& user, const std::string& token,
                                  const std::string& current_password,
                                  const std::string& new_password);

  Seconds token_ttl() const { return options_.token_ttl; }

 private:
  bool limited(const std::string& key, Instant now);
  void record_failure(const std::string& key, Instant now);

  struct CachedSession {
    core::User user;
    Instant expires_at{};
    Instant checked_at{};
  };

  struct Failures {
    int count = 0;
    Instant window_start{};
  };

  ports::DirectoryStore& store_;
  ports::Crypto& crypto_;
  const ports::Clock& clock_;
  AuthOptions options_;
  std::mutex mu_;
  std::map<std::string, Failures> failures_;  // GUARDED_BY(mu_)
  std::string dummy_hash_;  // verified against on unknown emails, to keep timing even
  std::shared_mutex cache_mu_;
  std::unordered_map<std::string, CachedSession> cache_;  // GUARDED_BY(cache_mu_), by token hash
  // Tokens logged out by this process, until they would have expired: an authentication
  // that read the session just before the logout must not put it back in the cache.
  std::unordered_map<std::string, Instant> revoked_;  // GUARDED_BY(cache_mu_)
  // Password changes by this process, by user: sessions created before `at`, except
  // `kept`, ended; the same race as above must not bring one back into the cache.
  struct PasswordChange {
    Instant at{};
    std::string kept;
  };
  std::unordered_map<int64_t, PasswordChange> password_changes_;  // GUARDED_BY(cache_mu_)
};

}  // namespace escala::services
