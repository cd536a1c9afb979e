// ports::LeaderLock on PostgreSQL (PgLeaderLock) on a throw-away cluster: one holder at a
// time per name, the lock goes with the holder's session (a clean release, a closed
// connection, a session the server ended), and SoleLeader always grants.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "adapters/pg_store/pg_conn.hpp"
#include "adapters/pg_store/pg_leader_lock.hpp"
#include "test_postgres.hpp"

namespace escala {
namespace {

using adapters::PgLeaderLock;

std::string url() {
  static const std::string u = testing::TestPostgres::instance().database_url("escala_leader");
  return u;
}

bool held(ports::LeaderLock& lock) {
  auto r = lock.hold();
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() && *r;
}

// A closed or terminated session's backend ends a moment after the client lets go (libpq
// sends Terminate and does not wait), so the lock is free "soon", not at once: asks for up
// to 2 s.
bool taken_within_2s(ports::LeaderLock& lock) {
  for (int i = 0; i < 200; ++i) {
    if (held(lock)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST(PgLeaderLock, OneHolderUntilItsConnectionCloses) {
  auto first = std::make_unique<PgLeaderLock>(url(), "imap:one");
  PgLeaderLock second(url(), "imap:one");
  EXPECT_TRUE(held(*first));
  EXPECT_FALSE(held(second));
  EXPECT_TRUE(held(*first));  // asking again keeps it
  EXPECT_FALSE(held(second));
  first.reset();  // the holder's connection closes (as when its process dies)
  EXPECT_TRUE(taken_within_2s(second));
  PgLeaderLock third(url(), "imap:one");
  EXPECT_FALSE(held(third));
}

TEST(PgLeaderLock, ReleaseHandsItOver) {
  PgLeaderLock a(url(), "imap:two"), b(url(), "imap:two");
  EXPECT_TRUE(held(a));
  EXPECT_FALSE(held(b));
  a.release();
  EXPECT_TRUE(held(b));
  EXPECT_FALSE(held(a));
}

TEST(PgLeaderLock, NamesAreIndependent) {
  PgLeaderLock a(url(), "imap:mailbox-a"), b(url(), "imap:mailbox-b");
  EXPECT_NE(PgLeaderLock::key_of("imap:mailbox-a"), PgLeaderLock::key_of("imap:mailbox-b"));
  EXPECT_TRUE(held(a));
  EXPECT_TRUE(held(b));
}

// The server ends the holder's session (a network partition, an administrator, a database
// failover): another node takes the lock, and the old holder learns it lost it.
TEST(PgLeaderLock, ASessionEndedByTheServerLosesTheLock) {
  PgLeaderLock a(url(), "imap:three"), b(url(), "imap:three");
  ASSERT_TRUE(held(a));
  ASSERT_FALSE(held(b));
  adapters::pg::Conn admin(adapters::pg::conninfo_with_options(url()));
  auto killed = admin.exec(
      "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
      " AND classid = 1163084609 AND objid = ($1::int4)::oid AND granted",
      adapters::pg::Params().i64(PgLeaderLock::key_of("imap:three")));
  ASSERT_EQ(killed.i64(0, 0), 1);
  // pg_terminate_backend signals; the session ends a moment later.
  EXPECT_TRUE(taken_within_2s(b));
  auto again = a.hold();  // its session is gone: it reconnects and finds the lock taken
  EXPECT_TRUE(again.ok() && !*again);
}

TEST(SoleLeader, AlwaysGranted) {
  ports::SoleLeader lock;
  EXPECT_TRUE(held(lock));
  EXPECT_TRUE(held(lock));
}

}  // namespace
}  // namespace escala
