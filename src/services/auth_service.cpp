#include "services/auth_service.hpp"

#include "services/directory_service.hpp"

namespace escala::services {
namespace {
constexpr size_t kMaxTrackedClients = 100'000;
}

AuthService::AuthService(ports::DirectoryStore& store, ports::Crypto& crypto,
                         const ports::Clock& clock, AuthOptions options)
    : store_(store), crypto_(crypto), clock_(clock), options_(options) {
  dummy_hash_ = crypto_.hash_password(crypto_.random_token(16));
}

bool AuthService::limited(const std::string& key, Instant now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  if (it == failures_.end()) return false;
  if (now - it->second.window_start >= options_.failure_window) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= options_.max_failures;
}

void AuthService::record_failure(const std::string& key, Instant now) {
  std::lock_guard lock(mu_);
  if (failures_.size() >= kMaxTrackedClients) {
    // Drop expired windows; if all are live, forget the oldest half rather than grow.
    for (auto it = failures_.begin(); it != failures_.end();)
      it = now - it->second.window_start >= options_.failure_window ? failures_.erase(it)
                                                                     : std::next(it);
    if (failures_.size() >= kMaxTrackedClients) failures_.clear();
  }
  auto& f = failures_[key];
  if (f.count == 0 || now - f.window_start >= options_.failure_window) {
    f.count = 0;
    f.window_start = now;
  }
  ++f.count;
}

Result<LoginResult> AuthService::login(const std::string& email_in, const std::string& password,
                                       const std::string& client) {
  const Instant now = clock_.now();
  const std::string email = normalize_email(email_in);
  const std::string email_key = "email:" + email;
  const std::string client_key = "client:" + client;
  if (limited(email_key, now) || limited(client_key, now))
    return make_error(ErrorCode::kRateLimited,
                      "too many failed sign-in attempts; try again in a few minutes");
  auto user = store_.find_user_by_email(email);
  if (!user.ok()) return user.error();
  bool good = false;
  if (user.value() && user.value()->active) {
    good = crypto_.verify_password(user.value()->password_hash, password);
  } else {
    (void)crypto_.verify_password(dummy_hash_, password);
  }
  if (!good) {
    record_failure(email_key, now);
    record_failure(client_key, now);
    return make_error(ErrorCode::kUnauthenticated, "wrong email or password");
  }
  LoginResult out;
  out.token = crypto_.random_token(32);
  out.expires_at = now + options_.token_ttl;
  out.user = **user;
  ports::Session s;
  s.token_hash = crypto_.sha256_hex(out.token);
  s.user_id = out.user.id;
  s.created_at = now;
  s.expires_at = out.expires_at;
  ESCALA_TRY(store_.create_session(s));
  return out;
}

Result<core::User> AuthService::authenticate(const std::string& token) {
  if (token.empty() || token.size() > 256)
    return make_error(ErrorCode::kUnauthenticated, "missing or malformed token");
  const Instant now = clock_.now();
  const std::string hash = crypto_.sha256_hex(token);
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && now - it->second.checked_at < options_.session_cache_ttl &&
        now < it->second.expires_at)
      return it->second.user;
  }
  auto s = store_.find_session(hash);
  if (!s.ok()) return s.error();
  if (!s.value() || s.value()->expires_at <= now)
    return make_error(ErrorCode::kUnauthenticated, "the token is unknown or has expired");
  auto u = store_.get_user(s.value()->user_id);
  if (!u.ok()) return u.error();
  if (!u.value() || !u.value()->active)
    return make_error(ErrorCode::kUnauthenticated, "the user no longer exists");
  {
    std::unique_lock lock(cache_mu_);
    if (revoked_.count(hash))
      return make_error(ErrorCode::kUnauthenticated, "the token is unknown or has expired");
    if (cache_.size() >= options_.session_cache_size) cache_.clear();
    cache_[hash] = CachedSession{**u, s.value()->expires_at, now};
  }
  return **u;
}

Status AuthService::logout(const std::string& token) {
  const std::string hash = crypto_.sha256_hex(token);
  const Instant now = clock_.now();
  {
    std::unique_lock lock(cache_mu_);
    cache_.erase(hash);
    if (revoked_.size() >= options_.session_cache_size) {
      for (auto it = revoked_.begin(); it != revoked_.end();)
        it = it->second <= now ? revoked_.erase(it) : std::next(it);
    }
    revoked_[hash] = now + options_.token_ttl;
  }
  return store_.delete_session(hash);
}

}  // namespace escala::services
