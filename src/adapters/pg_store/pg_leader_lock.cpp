#include "adapters/pg_store/pg_leader_lock.hpp"

#include "adapters/pg_store/pg_conn.hpp"

namespace escala::adapters {
namespace {
// The first key of the two-integer advisory locks Escala takes: "ESCA".
constexpr int32_t kLockSpace = 0x45534341;
}  // namespace

int32_t PgLeaderLock::key_of(const std::string& name) {
  uint32_t h = 2166136261u;  // FNV-1a, 32 bits: stable across builds and machines
  for (unsigned char ch : name) {
    h ^= ch;
    h *= 16777619u;
  }
  return static_cast<int32_t>(h);
}

PgLeaderLock::PgLeaderLock(std::string url, std::string name)
    : conninfo_(pg::conninfo_with_options(url)), name_(std::move(name)), key_(key_of(name_)) {}

PgLeaderLock::~PgLeaderLock() = default;  // closing the session releases the lock

Result<bool> PgLeaderLock::hold() {
  std::lock_guard lock(mu_);
  const pg::Params key = pg::Params().i64(kLockSpace).i64(key_);
  try {
    if (conn_ && held_) {
      // Held while the session lives; a round trip proves it does. A session that broke
      // lost the lock with it (another node may hold it now): start over below.
      conn_->exec("SELECT 1");
      return true;
    }
  } catch (const std::exception&) {
    conn_.reset();
    held_ = false;
  }
  try {
    if (!conn_) conn_ = std::make_unique<pg::Conn>(conninfo_);
    auto r = conn_->exec("SELECT pg_try_advisory_lock($1::int4, $2::int4)", key);
    held_ = r.boolean(0, 0);
    return held_;
  } catch (const std::exception& e) {
    conn_.reset();
    held_ = false;
    return make_error(ErrorCode::kUnavailable,
                      "leader lock '" + name_ + "': " + std::string(e.what()));
  }
}

void PgLeaderLock::release() {
  std::lock_guard lock(mu_);
  if (!conn_ || !held_) return;
  try {
    conn_->exec("SELECT pg_advisory_unlock($1::int4, $2::int4)",
                pg::Params().i64(kLockSpace).i64(key_));
  } catch (const std::exception&) {
    conn_.reset();  // the session is gone, and the lock with it
  }
  held_ = false;
}

}  // namespace escala::adapters
