// Group commit of creations (SQLite's writer, PostgreSQL's batch writer): many concurrent
// creations share a transaction, yet each one succeeds or fails on its own. And the
// PostgreSQL search in Spanish and English (migration 9).

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include <libpq-fe.h>

#include "adapters/pg_store/pg_store.hpp"
#include "adapters/pg_store/schema.hpp"
#include "adapters/sql_common/codec.hpp"
#include "adapters/sqlite_store/sqlite_store.hpp"
#include "core/lifecycle.hpp"
#include "test_postgres.hpp"

namespace escala {
namespace {

using core::Json;

std::shared_ptr<ports::DeskStore> open_store(const std::string& backend, const std::string& name) {
  if (backend == "sqlite") {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("escala-gc-" + std::to_string(::getpid()) + "-" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    adapters::SqliteOptions o;
    o.path = (dir / "escala.db").string();
    o.synchronous_full = false;
    auto s = adapters::SqliteStore::open(o);
    if (!s.ok()) throw std::runtime_error(s.error().message);
    return std::move(s).value();
  }
  adapters::PgOptions o;
  o.url = testing::TestPostgres::instance().database_url("escala_gc_" + name + "_" +
                                                         std::to_string(::getpid()));
  auto s = adapters::PgStore::open(o);
  if (!s.ok()) throw std::runtime_error(s.error().message);
  return std::move(s).value();
}

class StoreFixture : public ::testing::Test {
 protected:
  static std::string test_name() {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& ch : name)
      if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
    return name;
  }

  Result<core::Change> open(int64_t id, const std::string& subject) {
    core::OpenCaseInput in;
    in.account = "ACME";
    in.subject = subject;
    in.channel = "email";
    return core::open_case(id, in, agent_, now_, ctx_);
  }

  // Runs `n` creations at once from `n` threads (released together, so they share batches).
  std::vector<Result<core::Case>> concurrently(int n, const std::function<ports::CaseBuilder(int)>& builder) {
    std::vector<std::optional<Result<core::Case>>> out(n);
    std::barrier start(n);
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i)
      threads.emplace_back([&, i] {
        auto build = builder(i);
        start.arrive_and_wait();
        out[i] = store_->create(build);
      });
    for (auto& t : threads) t.join();
    std::vector<Result<core::Case>> results;
    for (auto& r : out) results.push_back(std::move(*r));
    return results;
  }

  std::shared_ptr<ports::DeskStore> store_;
  core::CasePolicy policy_;
  core::CaseContext ctx_{&policy_, core::Money{1000, "USD"}, Seconds{-6 * 3600}};
  core::Actor agent_{5, core::Role::kAgent, 1, "", "Ana"};
  Instant now_ = *parse_iso8601("2026-11-27T15:00:00Z");
};

class GroupCommit : public StoreFixture, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override { store_ = open_store(GetParam(), test_name()); }
};

TEST_P(GroupCommit, AFailingBuilderFailsOnlyItsOwnCreation) {
  for (int round = 0; round < 5; ++round) {
    auto results = concurrently(24, [&](int i) -> ports::CaseBuilder {
      return [this, i, round](int64_t id) -> Result<core::Change> {
        if (i % 4 == 1) return make_error(ErrorCode::kInvalidArgument, "bad " + std::to_string(i));
        return open(id, "r" + std::to_string(round) + " ok " + std::to_string(i));
      };
    });
    std::set<int64_t> ids;
    for (int i = 0; i < 24; ++i) {
      if (i % 4 == 1) {
        ASSERT_FALSE(results[i].ok());
        EXPECT_EQ(results[i].error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(results[i].error().message, "bad " + std::to_string(i));
      } else {
        ASSERT_TRUE(results[i].ok()) << results[i].error().message;
        EXPECT_EQ(results[i]->subject, "r" + std::to_string(round) + " ok " + std::to_string(i));
        ids.insert(results[i]->id);
        auto got = store_->get(results[i]->id);
        ASSERT_TRUE(got.ok() && got->has_value());
        EXPECT_EQ((*got)->subject, results[i]->subject);
      }
    }
    EXPECT_EQ(ids.size(), 18u);
  }
  EXPECT_EQ(store_->list(ports::CaseQuery{})->total, 5 * 18);
}

// A creation whose write fails in the database (two events with one number: the primary
// key refuses them) is refused alone; the others of its batch are stored.
TEST_P(GroupCommit, AWriteTheDatabaseRefusesFailsOnlyItsOwnCreation) {
  auto results = concurrently(16, [&](int i) -> ports::CaseBuilder {
    return [this, i](int64_t id) -> Result<core::Change> {
      auto ch = open(id, "case " + std::to_string(i));
      if (ch.ok() && i == 7) ch->events.push_back(ch->events.front());
      return ch;
    };
  });
  for (int i = 0; i < 16; ++i) {
    if (i == 7) {
      EXPECT_FALSE(results[i].ok());
    } else {
      ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].error().message;
    }
  }
  auto all = store_->list(ports::CaseQuery{});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->total, 15);
  for (const auto& c : all->items) EXPECT_NE(c.subject, "case 7");
}

// The same received message creating two cases at once: one is stored, the other gets
// kAlreadyExists, even inside one batch.
TEST_P(GroupCommit, ConcurrentCopiesOfOneMessageMakeOneCase) {
  auto results = concurrently(12, [&](int i) -> ports::CaseBuilder {
    return [this, i](int64_t id) -> Result<core::Change> {
      auto ch = open(id, "copy " + std::to_string(i));
      if (!ch.ok()) return ch;
      core::InboundRecord r;
      r.key = i % 2 ? "mid:<same@x>" : "mid:<own-" + std::to_string(i) + "@x>";
      r.mailbox = "soporte@desk.com";
      r.from = "ana@acme.com";
      r.message_id = r.key;
      r.kind = "normal";
      r.disposition = "new_case";
      r.case_id = id;
      r.received_at = now_;
      ch->inbound = r;
      return ch;
    };
  });
  int same_ok = 0, same_dup = 0;
  for (int i = 0; i < 12; ++i) {
    if (i % 2 == 0) {
      EXPECT_TRUE(results[i].ok());
      continue;
    }
    if (results[i].ok()) ++same_ok;
    else if (results[i].error().code == ErrorCode::kAlreadyExists) ++same_dup;
  }
  EXPECT_EQ(same_ok, 1);
  EXPECT_EQ(same_dup, 5);
  EXPECT_EQ(store_->list(ports::CaseQuery{})->total, 7);
}

TEST_P(GroupCommit, ManyConcurrentCreationsGetUniqueNumbersAndAllAreStored) {
  constexpr int kThreads = 16, kEach = 50;
  std::mutex mu;
  std::set<int64_t> ids;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        auto r = store_->create([&](int64_t id) { return open(id, "t" + std::to_string(t)); });
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard lock(mu);
        ids.insert(r->id);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(store_->list(ports::CaseQuery{})->total, kThreads * kEach);
  // Every case has its history (the events of a batch went with their cases).
  for (int64_t id : {*ids.begin(), *ids.rbegin()}) {
    auto ev = store_->events({id, true, 0, 100});
    ASSERT_TRUE(ev.ok());
    EXPECT_GT(ev->total, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Stores, GroupCommit, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// ---- PostgreSQL search: Spanish and English stemming, no accents ---------------------------

class PgSearch : public StoreFixture {};

TEST_F(PgSearch, StemsSpanishAndEnglishWithoutAccents) {
  store_ = open_store("postgres", "search");
  auto mk = [&](const std::string& subject) {
    auto r = store_->create([&](int64_t id) { return open(id, subject); });
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->id : 0;
  };
  const int64_t a = mk("La extensión 204 no recibe llamadas");
  const int64_t b = mk("Outbound calls drop after 30 seconds");
  const int64_t c = mk("Buzón de voz lleno");
  auto ids = [&](const std::string& text) {
    ports::CaseQuery q;
    q.text = text;
    auto r = store_->list(q);
    EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message);
    std::set<int64_t> out;
    if (r.ok())
      for (const auto& k : r->items) out.insert(k.id);
    return out;
  };
  using S = std::set<int64_t>;
  EXPECT_EQ(ids("extension"), S{a});      // no accent in the query
  EXPECT_EQ(ids("EXTENSIÓN"), S{a});
  EXPECT_EQ(ids("llamada"), S{a});        // Spanish stem: llamadas ~ llamada
  EXPECT_EQ(ids("Llamadas extension"), S{a});
  EXPECT_EQ(ids("call"), S{b});           // English stem: calls ~ call
  EXPECT_EQ(ids("calling dropped"), S{b});
  EXPECT_EQ(ids("buzon"), S{c});
  EXPECT_EQ(ids("llamada call"), S{});    // every word must match
  EXPECT_EQ(ids("204"), S{a});
  EXPECT_EQ(ids("30"), S{b});
  // Any input is read as words: operators, quotes and stop words are no errors.
  EXPECT_EQ(ids("llamadas & | ! <-> ( ) ' \" : * \\"), S{a});
  EXPECT_EQ(ids("de la"), S{});
  EXPECT_EQ(ids("!!!"), S{});
  EXPECT_EQ(ids("extension:*"), S{a});
}

// Migration 9 rebuilds the search column of the cases stored before it.
TEST(PgStoreMigration, CasesStoredBeforeMigration9AreFoundByStem) {
  const std::string url = testing::TestPostgres::instance().database_url(
      "escala_mig9_" + std::to_string(::getpid()));
  PGconn* c = PQconnectdb((url + "?options=-c%20client_min_messages%3Dwarning").c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK);
  auto run = [&](const std::string& sql) {
    PGresult* r = PQexec(c, sql.c_str());
    const auto st = PQresultStatus(r);
    EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) << sql << ": " << PQresultErrorMessage(r);
    PQclear(r);
  };
  // The schema as the store left it at version 6, with one case in it.
  run("CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, description TEXT NOT NULL)");
  for (const auto& m : adapters::pg::migrations()) {
    if (m.version > 6) break;
    for (const auto& stmt : m.statements) run(stmt);
    run("INSERT INTO schema_migrations VALUES(" + std::to_string(m.version) + ", 'x')");
  }
  core::CasePolicy policy;
  core::CaseContext ctx{&policy, std::nullopt, Seconds{0}};
  core::OpenCaseInput in;
  in.subject = "Llamadas perdidas en la extensión";
  auto ch = core::open_case(1, in, core::Actor::system(), Instant{}, ctx);
  ASSERT_TRUE(ch.ok());
  const std::string doc = adapters::sql::case_to_doc(ch->after);
  const char* params[2] = {doc.c_str(), in.subject.c_str()};
  PGresult* r = PQexecParams(c,
      "WITH k AS (INSERT INTO cases(id, type, status, level, severity, account, assignee_id,"
      " created_at, updated_at, doc) VALUES(1, 'request', 'open', 1, 'S3', '', 0, 0, 0, $1))"
      " INSERT INTO case_text(case_id, subject, body, messages) VALUES(1, $2, '', '')",
      2, nullptr, params, nullptr, nullptr, 0);
  ASSERT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
  PQclear(r);
  run("SELECT setval('case_numbers', 1)");
  PQfinish(c);

  adapters::PgOptions o;
  o.url = url;
  auto store = adapters::PgStore::open(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), adapters::pg::migrations().back().version);
  ports::CaseQuery q;
  q.text = "llamada extension";
  auto found = (*store)->list(q);
  ASSERT_TRUE(found.ok()) << found.error().message;
  ASSERT_EQ(found->items.size(), 1u);
  EXPECT_EQ(found->items[0].id, 1);
}

}  // namespace
}  // namespace escala
