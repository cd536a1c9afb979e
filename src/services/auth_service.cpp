#include "services/auth_service.hpp"

#include "services/directory_service.hpp"

#include "core/text.hpp"

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
  auto s = session(token);
  if (!s.ok()) return s.error();
  return std::move(s->user);
}

Result<SessionInfo> AuthService::session(const std::string& token) {
  if (token.empty() || token.size() > 256)
    return make_error(ErrorCode::kUnauthenticated, "missing or malformed token");
  const Instant now = clock_.now();
  std::string hash = crypto_.sha256_hex(token);
  {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && now - it->second.checked_at < options_.session_cache_ttl &&
        now < it->second.expires_at)
      return SessionInfo{it->second.user, it->second.expires_at, hash};
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
    if (auto pc = password_changes_.find(u.value()->id);
        pc != password_changes_.end() && hash != pc->second.kept &&
        s.value()->created_at < pc->second.at)
      return make_error(ErrorCode::kUnauthenticated,
                        "the session ended when the password was changed");
    if (cache_.size() >= options_.session_cache_size) cache_.clear();
    cache_[hash] = CachedSession{**u, s.value()->expires_at, now};
  }
  return SessionInfo{std::move(**u), s.value()->expires_at, std::move(hash)};
}

std::string AuthService::csrf_token(const std::string& session_token) {
  return crypto_.hmac_sha256_hex(session_token, "escala csrf token v1");
}

bool AuthService::csrf_token_matches(const std::string& session_token,
                                     const std::string& presented) {
  if (presented.empty() || presented.size() > 256) return false;
  return core::constant_time_equal(csrf_token(session_token), presented);
}

Result<int64_t> AuthService::change_password(const core::User& user, const std::string& token,
                                             const std::string& current_password,
                                             const std::string& new_password) {
  const Instant now = clock_.now();
  const std::string key = "password:" + std::to_string(user.id);
  if (limited(key, now))
    return make_error(ErrorCode::kRateLimited,
                      "too many wrong current passwords; try again in a few minutes");
  ESCALA_TRY(validate_new_password(new_password, "new_password"));
  // The stored hash, not a cached copy: another change may have just happened.
  auto fresh = store_.get_user(user.id);
  if (!fresh.ok()) return fresh.error();
  if (!fresh.value() || !fresh.value()->active)
    return make_error(ErrorCode::kUnauthenticated, "the user no longer exists");
  if (!crypto_.verify_password(fresh.value()->password_hash, current_password)) {
    record_failure(key, now);
    return make_error(ErrorCode::kPermissionDenied, "the current password is wrong",
                      "current_password");
  }
  if (new_password == current_password)
    return make_error(ErrorCode::kInvalidArgument, "must differ from the current password",
                      "new_password");
  const std::string keep = crypto_.sha256_hex(token);
  auto ended = store_.change_password(user.id, crypto_.hash_password(new_password), keep);
  if (!ended.ok()) return ended.error();
  {
    std::unique_lock lock(cache_mu_);
    for (auto it = cache_.begin(); it != cache_.end();)
      it = it->second.user.id == user.id && it->first != keep ? cache_.erase(it) : std::next(it);
    if (password_changes_.size() >= options_.session_cache_size) {
      // Entries older than a token's life protect nothing: every session they guard expired.
      for (auto it = password_changes_.begin(); it != password_changes_.end();)
        it = now - it->second.at >= options_.token_ttl ? password_changes_.erase(it)
                                                        : std::next(it);
      if (password_changes_.size() >= options_.session_cache_size) password_changes_.clear();
    }
    // Sessions created in the same millisecond as the change are not covered (`<`): a
    // sign-in right after it must work.
    password_changes_[user.id] = PasswordChange{now, keep};
  }
  return ended;
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
