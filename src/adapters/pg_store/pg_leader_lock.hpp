#pragma once
// ports::LeaderLock on PostgreSQL: a session-level advisory lock, pg_try_advisory_lock,
// on a connection of its own (never a pooled one: the lock belongs to the session, and
// the pool's connections serve everything else). The lock lives exactly as long as that
// session: when the holding process stops, dies (kill -9) or loses the network, the
// server ends the session and the lock is free for the next node that asks.
//
// Keys: the two-integer form (ESCALA, 32-bit FNV-1a of the name), a space apart from the
// one-bigint lock that serialises migrations. Two names could share a key (a hash): both
// jobs would then have one leader, which is safe, only less spread.
//
// Thread-safety: all methods may be called from any thread (a mutex). Failure: hold()
// answers kUnavailable when the database cannot be reached (and reconnects next time).

#include <memory>
#include <mutex>
#include <string>

#include "ports/leader_lock.hpp"

namespace escala::adapters {

namespace pg {
class Conn;
}

class PgLeaderLock final : public ports::LeaderLock {
 public:
  // `url`: the desk's postgresql:// URL (or libpq key=value pairs); no I/O here.
  PgLeaderLock(std::string url, std::string name);
  ~PgLeaderLock() override;

  Result<bool> hold() override;
  void release() override;

  // The advisory lock's key (objid) for `name`, as pg_locks shows it.
  static int32_t key_of(const std::string& name);

 private:
  std::string conninfo_;
  std::string name_;
  int32_t key_;
  std::mutex mu_;
  std::unique_ptr<pg::Conn> conn_;  // GUARDED_BY(mu_)
  bool held_ = false;               // GUARDED_BY(mu_)
};

}  // namespace escala::adapters
