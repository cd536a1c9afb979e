// Live updates across nodes on PostgreSQL (pg_case_notifier.hpp) on a throw-away cluster:
// a store with a node id NOTIFYs each committed case change in its transaction (and nothing
// of a change that did not commit), another node's listener hears it, a node ignores its
// own, and a listener whose session the server ended reconnects, says it may have missed
// changes, and hears again. Also the store's own connections after their sessions were
// ended: the next call succeeds on a fresh connection.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "adapters/pg_store/pg_case_notifier.hpp"
#include "adapters/pg_store/pg_store.hpp"
#include "core/lifecycle.hpp"
#include "test_postgres.hpp"

namespace escala {
namespace {

using adapters::CaseNotice;
using adapters::PgCaseListener;
using namespace std::chrono_literals;

std::string url() {
  static const std::string u = testing::TestPostgres::instance().database_url("escala_notify");
  return u;
}

// What a listener heard, with waits bounded by a deadline.
class Heard {
 public:
  void notice(const CaseNotice& n) {
    std::lock_guard lock(mu_);
    notices_.push_back(n);
    cv_.notify_all();
  }
  void gap() {
    std::lock_guard lock(mu_);
    ++gaps_;
    cv_.notify_all();
  }
  // The notice of case `id` (version `version`), waiting up to `within`.
  std::optional<CaseNotice> wait_for(int64_t id, int64_t version, std::chrono::milliseconds within) {
    std::unique_lock lock(mu_);
    std::optional<CaseNotice> found;
    cv_.wait_for(lock, within, [&] {
      for (const auto& n : notices_)
        if (n.case_id == id && n.version == version) found = n;
      return found.has_value();
    });
    return found;
  }
  bool wait_gaps(int n, std::chrono::milliseconds within) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, within, [&] { return gaps_ >= n; });
  }
  size_t count_for(int64_t id) {
    std::lock_guard lock(mu_);
    size_t k = 0;
    for (const auto& n : notices_) k += n.case_id == id;
    return k;
  }
  int gaps() {
    std::lock_guard lock(mu_);
    return gaps_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CaseNotice> notices_;
  int gaps_ = 0;
};

std::unique_ptr<PgCaseListener> listener(const std::string& node, Heard& heard) {
  auto l = std::make_unique<PgCaseListener>(
      adapters::PgListenerOptions{.url = url(), .node_id = node},
      [&heard](const CaseNotice& n) { heard.notice(n); }, [&heard] { heard.gap(); });
  l->start();
  return l;
}

bool listening_within(PgCaseListener& l, std::chrono::milliseconds within) {
  const auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    if (l.listening()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return l.listening();
}

std::unique_ptr<adapters::PgStore> store(const std::string& node) {
  adapters::PgOptions o;
  o.url = url();
  o.node_id = node;
  auto s = adapters::PgStore::open(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(s).value() : nullptr;
}

Result<core::Case> open_case(adapters::PgStore& s, const std::string& account = "") {
  static core::CasePolicy policy;
  core::CaseContext ctx{&policy, std::nullopt, Seconds{0}};
  core::OpenCaseInput in;
  in.subject = "Sin tono en la extensión 204";
  in.account = account;
  return s.create([&](int64_t id) {
    return core::open_case(id, in, core::Actor::system(), Instant{}, ctx);
  });
}

// A change of one event of `type` to case `id`.
Result<core::Case> add_event(adapters::PgStore& s, int64_t id, const std::string& type,
                             bool internal, bool fail = false) {
  return s.update(id, [&](const core::Case& cur) -> Result<core::Change> {
    core::Change ch{cur, {}, std::nullopt, {}};
    core::Event e;
    e.case_id = cur.id;
    e.seq = cur.version + 1;
    e.type = type;
    e.internal = internal;
    ch.events.push_back(e);
    ch.after.version = cur.version + 1;
    if (fail) return make_error(ErrorCode::kInvalidArgument, "refused by the rule");
    return ch;
  });
}

// The backends of sessions whose last statement starts with `query_prefix`, ended by the
// server (as a database restart or an administrator would); answers how many.
int terminate_backends(const std::string& where) {
  PGconn* c = PQconnectdb((url() + "?options=-c%20client_min_messages%3Dwarning").c_str());
  EXPECT_EQ(PQstatus(c), CONNECTION_OK);
  PGresult* r = PQexec(c, ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                           " WHERE pid <> pg_backend_pid() AND datname = current_database()"
                           " AND backend_type = 'client backend' AND " + where).c_str());
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c);
  const int n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoi(PQgetvalue(r, 0, 0)) : 0;
  PQclear(r);
  PQfinish(c);
  return n;
}

TEST(PgCaseNotice, PayloadIsTinyAndRoundTrips) {
  core::Case k;
  k.id = 123456789;
  k.version = 42;
  k.account = std::string(32, 'A');  // the longest account code
  std::vector<core::Event> events(3);
  events[0].type = "assigned";
  events[0].internal = true;
  events[1].type = "reply";
  events[2].type = "note";
  const CaseNotice n = adapters::notice_of("0123456789abcdef", k, events);
  EXPECT_EQ(n.kind, "assigned");
  EXPECT_EQ(n.public_kind, "reply");
  const std::string p = adapters::to_payload(n);
  EXPECT_LT(p.size(), 200u) << p;
  auto back = adapters::parse_payload(p);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->node, "0123456789abcdef");
  EXPECT_EQ(back->case_id, 123456789);
  EXPECT_EQ(back->version, 42);
  EXPECT_EQ(back->kind, "assigned");
  EXPECT_EQ(back->public_kind, "reply");
  EXPECT_EQ(back->account, k.account);
  for (const char* junk : {"", "hello", "[]", "{\"c\":1}", "{\"n\":\"x\",\"c\":\"1\",\"v\":1,"
                           "\"k\":\"a\",\"p\":\"\",\"a\":\"\"}"})
    EXPECT_FALSE(adapters::parse_payload(junk).has_value()) << junk;
}

TEST(PgCaseNotifier, OtherNodesHearCommittedChangesAndANodeIgnoresItsOwn) {
  Heard on_b, on_a;
  auto b = listener("node-b", on_b);
  auto a = listener("node-a", on_a);
  ASSERT_TRUE(listening_within(*b, 5s));
  ASSERT_TRUE(listening_within(*a, 5s));
  auto writer = store("node-a");
  ASSERT_TRUE(writer);

  auto created = open_case(*writer, "ACME");
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto heard = on_b.wait_for(created->id, created->version, 2s);
  ASSERT_TRUE(heard.has_value()) << "node B did not hear the creation";
  EXPECT_EQ(heard->node, "node-a");
  EXPECT_EQ(heard->kind, "created");
  EXPECT_EQ(heard->account, "ACME");

  auto noted = add_event(*writer, created->id, "note", /*internal=*/true);
  ASSERT_TRUE(noted.ok()) << noted.error().message;
  heard = on_b.wait_for(created->id, noted->version, 2s);
  ASSERT_TRUE(heard.has_value()) << "node B did not hear the update";
  EXPECT_EQ(heard->kind, "note");
  EXPECT_EQ(heard->public_kind, "");  // internal only: customers are not told

  // A change that does not commit is never announced: a failed rule, a failed builder.
  auto refused = add_event(*writer, created->id, "reply", false, /*fail=*/true);
  EXPECT_FALSE(refused.ok());
  auto not_built = writer->create([](int64_t) -> Result<core::Change> {
    return make_error(ErrorCode::kInvalidArgument, "no");
  });
  EXPECT_FALSE(not_built.ok());
  // A later change is heard; nothing arrived for the refused one before it (NOTIFYs of one
  // sender arrive in commit order).
  auto replied = add_event(*writer, created->id, "reply", false);
  ASSERT_TRUE(replied.ok());
  ASSERT_TRUE(on_b.wait_for(created->id, replied->version, 2s).has_value());
  EXPECT_EQ(on_b.count_for(created->id), 3u);  // created, note, reply: nothing else

  // Node A's own listener heard none of node A's changes.
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(on_a.count_for(created->id), 0u);
  EXPECT_EQ(on_a.gaps() + on_b.gaps(), 0);
}

TEST(PgCaseNotifier, AListenerReconnectsAfterItsSessionIsEndedAndReportsTheGap) {
  Heard heard;
  auto l = listener("node-r", heard);
  ASSERT_TRUE(listening_within(*l, 5s));
  EXPECT_EQ(l->connections(), 1u);
  EXPECT_EQ(terminate_backends("query LIKE 'LISTEN %'"), 1);
  ASSERT_TRUE(heard.wait_gaps(1, 3s)) << "no gap reported after the reconnection";
  ASSERT_TRUE(listening_within(*l, 3s));
  EXPECT_EQ(l->connections(), 2u);

  auto writer = store("node-w");
  ASSERT_TRUE(writer);
  auto created = open_case(*writer);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(heard.wait_for(created->id, created->version, 2s).has_value())
      << "nothing heard after the reconnection";
  l->stop();
  EXPECT_FALSE(l->listening());
}

// Task of the store: sessions ended under its pooled connections and its group-commit
// writers (as by a database restart) cost no failed call once the database answers again.
TEST(PgStore, CallsSucceedAfterTheServerEndedEverySession) {
  auto s = store("");
  ASSERT_TRUE(s);
  auto first = open_case(*s);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_TRUE(add_event(*s, first->id, "note", true).ok());
  ASSERT_TRUE(s->get(first->id).ok());
  EXPECT_GE(terminate_backends("application_name = 'escala'"), 1);
  std::this_thread::sleep_for(100ms);  // the backends end a moment after the signal
  auto read = s->get(first->id);
  ASSERT_TRUE(read.ok()) << read.error().message;
  ASSERT_TRUE(read->has_value());
  auto created = open_case(*s);
  EXPECT_TRUE(created.ok()) << created.error().message;
  auto updated = add_event(*s, first->id, "note", true);
  EXPECT_TRUE(updated.ok()) << updated.error().message;
}

}  // namespace
}  // namespace escala
