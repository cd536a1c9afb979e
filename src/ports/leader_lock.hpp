#pragma once
// LeaderLock: leader-only work across the nodes of one desk (issue 6). Some background
// work must run on one node at a time even though every node could do it — today IMAP
// polling: two nodes polling one mailbox would fetch every message twice (the ledger makes
// the second copy harmless, but it doubles the traffic and the IMAP connections). Each
// such job asks its lock before every round and works only while it holds it.
//
// A lock is held by a live process: on PostgreSQL it is a session-level advisory lock on
// a connection of its own, so it is released when the holder's connection ends — a clean
// stop, kill -9, a crash or a network partition — and another node takes it on its next
// attempt. On SQLite one process owns the desk (serve.lock), so the lock is always granted.
//
// Ownership: the composition root makes one lock per job and gives it to the job.
// Thread-safety: all methods may be called from any thread (implementations serialise).
// Failure: hold() answers an error when the database cannot be reached; the caller treats
// that as "not the leader" and asks again later.

#include <functional>
#include <memory>
#include <string>

#include "core/result.hpp"

namespace escala::ports {

class LeaderLock {
 public:
  virtual ~LeaderLock() = default;
  // Whether this process holds the lock now: takes it when it is free, keeps it when
  // already held (after checking the holding session is still alive). Never waits for
  // another holder. true means: do the work of one round, then ask again.
  virtual Result<bool> hold() = 0;
  // Gives the lock up (a clean stop); hold() may take it again later.
  virtual void release() = 0;
};

// The lock of a desk owned by one process (SQLite): always granted.
class SoleLeader final : public LeaderLock {
 public:
  Result<bool> hold() override { return true; }
  void release() override {}
};

// Makes the lock called `name` (e.g. "imap:imaps://host/INBOX user") of one desk.
using LeaderLockFactory = std::function<std::unique_ptr<LeaderLock>(const std::string& name)>;

}  // namespace escala::ports
