// The contract of ports::CaseStore and ports::DirectoryStore, run against every
// implementation: the in-memory fake, SQLite and PostgreSQL (a throw-away server started
// by the test itself: test_postgres.hpp).

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>
#include <thread>

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <libpq-fe.h>

#include "adapters/pg_store/pg_store.hpp"
#include "adapters/sqlite_store/sqlite_store.hpp"
#include "core/lifecycle.hpp"
#include "fakes/memory_store.hpp"
#include "test_postgres.hpp"

namespace escala {
namespace {

using core::Json;

struct Stores {
  std::shared_ptr<ports::CaseStore> cases;
  std::shared_ptr<ports::DirectoryStore> directory;
  std::shared_ptr<ports::MailStore> mail;
};

struct Backend {
  std::string name;
  // Opens the store at `dir` (a fresh temporary directory, or the same one to reopen).
  std::function<Stores(const std::filesystem::path& dir)> open;
  bool persistent;
  // The backend's numbering promise. Consecutive: a failed creation consumes no number
  // (one writer hands them out). Otherwise numbers are unique and increasing but a failed
  // creation may leave a gap (PostgreSQL: a SEQUENCE shared by every node).
  bool consecutive_numbers = true;
};

std::ostream& operator<<(std::ostream& os, const Backend& b) { return os << b.name; }

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("escala-contract-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    stores_ = GetParam().open(dir_);
  }
  void TearDown() override {
    stores_ = {};
    std::filesystem::remove_all(dir_);
  }

  ports::CaseStore& cases() { return *stores_.cases; }
  ports::DirectoryStore& dir() { return *stores_.directory; }
  ports::MailStore& mail() { return *stores_.mail; }

  core::InboundRecord inbound(const std::string& key, int64_t case_id = 0) {
    core::InboundRecord r;
    r.key = key;
    r.mailbox = "soporte@desk.com";
    r.from = "ana@acme.com";
    r.subject = "Hola";
    r.message_id = key;
    r.raw_sha256 = "00ff";
    r.raw_size = 4;
    r.kind = "normal";
    r.disposition = "ignored";
    r.case_id = case_id;
    r.received_at = now_;
    return r;
  }
  core::OutboxMessage outgoing(const std::string& to, Instant due) {
    core::OutboxMessage m;
    m.kind = "acknowledgement";
    m.envelope_from = "soporte@desk.com";
    m.recipients = {to};
    m.next_attempt_at = due;
    m.created_at = now_;
    return m;
  }

  core::Case create(const std::string& subject, const std::string& account = "ACME",
                    core::CaseType type = core::CaseType::kRequest, Json fields = Json::object()) {
    core::OpenCaseInput in;
    in.type = type;
    in.account = account;
    in.subject = subject;
    in.channel = "email";
    in.fields = std::move(fields);
    auto r = cases().create([&](int64_t id) {
      return core::open_case(id, in, agent_, now_, ctx_);
    });
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : core::Case{};
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  Stores stores_;
  core::CasePolicy policy_;
  core::CaseContext ctx_{&policy_, core::Money{1000, "USD"}, Seconds{-6 * 3600}};
  core::Actor agent_{5, core::Role::kAgent, 1, "", "Ana"};
  core::Actor customer_{6, core::Role::kCustomer, 0, "ACME", "Cliente"};
  Instant now_ = *parse_iso8601("2026-11-27T15:00:00Z");
};

TEST_P(StoreContract, NumbersAreConsecutiveFromOne) {
  EXPECT_EQ(create("a").id, 1);
  EXPECT_EQ(create("b").id, 2);
  EXPECT_EQ(create("c").id, 3);
}

TEST_P(StoreContract, AFailedCreationConsumesNoNumber) {
  EXPECT_EQ(create("a").id, 1);
  auto r = cases().create([](int64_t) -> Result<core::Change> {
    return make_error(ErrorCode::kInvalidArgument, "no");
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  if (GetParam().consecutive_numbers) EXPECT_EQ(create("b").id, 2);
  else EXPECT_GT(create("b").id, 1);  // a gap is allowed, reuse is not
  EXPECT_EQ(cases().list(ports::CaseQuery{})->total, 2);  // the failed one stored nothing
}

TEST_P(StoreContract, GetReturnsWhatWasStored) {
  Json fields = {{"extension", "204"}, {"direction", "inbound"}};
  core::Case c = create("Extensión caída", "ACME", core::CaseType::kIncident, fields);
  auto got = cases().get(c.id);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got.value());
  const core::Case& g = **got;
  EXPECT_EQ(g.subject, "Extensión caída");
  EXPECT_EQ(g.type, core::CaseType::kIncident);
  EXPECT_EQ(g.status, core::CaseStatus::kAwaitingInfo);
  EXPECT_EQ(g.fields, c.fields);
  EXPECT_EQ(g.missing_fields, c.missing_fields);
  EXPECT_EQ(g.created_at, now_);
  EXPECT_EQ(g.version, c.version);
  EXPECT_EQ(g.account, "ACME");
  auto none = cases().get(999);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.value());
}

TEST_P(StoreContract, UpdateAppliesTheChangeAndAppendsEvents) {
  core::Case c = create("a");
  auto r = cases().update(c.id, [&](const core::Case& cur) {
    return core::escalate(cur, "needs L2", agent_, now_, ctx_);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->level, 2);
  EXPECT_EQ((*cases().get(c.id))->level, 2);
  auto ev = cases().events({c.id, true, 0, 100});
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->items.size(), static_cast<size_t>(r->version));
  EXPECT_EQ(ev->items.back().type, "escalated");
  for (size_t i = 0; i < ev->items.size(); ++i) EXPECT_EQ(ev->items[i].seq, static_cast<int64_t>(i + 1));
}

TEST_P(StoreContract, AFailedUpdateChangesNothing) {
  core::Case c = create("a");
  auto r = cases().update(c.id, [&](const core::Case& cur) {
    return core::resolve(cur, "", agent_, now_, ctx_);  // empty resolution: refused
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ((*cases().get(c.id))->version, c.version);
  auto missing = cases().update(12345, [&](const core::Case& cur) {
    return core::escalate(cur, "x", agent_, now_, ctx_);
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(StoreContract, EventsHideInternalNotesAndPaginate) {
  core::Case c = create("a");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(cases().update(c.id, [&](const core::Case& cur) {
      return core::add_reply(cur, "note " + std::to_string(i), i % 2 == 0, false, agent_, now_, ctx_);
    }).ok());
  }
  auto all = cases().events({c.id, true, 0, 100});
  auto visible = cases().events({c.id, false, 0, 100});
  ASSERT_TRUE(all.ok() && visible.ok());
  EXPECT_EQ(all->total, static_cast<int64_t>(all->items.size()));
  EXPECT_EQ(all->items.size() - visible->items.size(), 3u);
  for (const auto& e : visible->items) EXPECT_FALSE(e.internal);
  // Page by two through everything: every event exactly once, in order.
  std::vector<int64_t> seqs;
  int64_t after = 0;
  for (;;) {
    auto page = cases().events({c.id, true, after, 2});
    ASSERT_TRUE(page.ok());
    for (const auto& e : page->items) seqs.push_back(e.seq);
    if (!page->next_after) break;
    after = *page->next_after;
  }
  ASSERT_EQ(seqs.size(), all->items.size());
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], static_cast<int64_t>(i + 1));
}

TEST_P(StoreContract, ListFiltersAndSearchesWithoutAccents) {
  create("Extensión 204 sin tono", "ACME");
  create("Cambio de contraseña", "ACME");
  create("Llamadas entrantes fallan", "OTHER");
  ports::CaseQuery q;
  q.text = "extension";
  auto r = cases().list(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].subject, "Extensión 204 sin tono");
  q.text = "EXTENSIÓN tono";
  EXPECT_EQ(cases().list(q)->total, 1);
  q.text = "extension fax";
  EXPECT_EQ(cases().list(q)->total, 0);
  q = {};
  q.account = "ACME";
  EXPECT_EQ(cases().list(q)->total, 2);
  q.account = "OTHER";
  EXPECT_EQ(cases().list(q)->items[0].subject, "Llamadas entrantes fallan");
  q = {};
  q.status = core::CaseStatus::kOpen;
  EXPECT_EQ(cases().list(q)->total, 3);  // requests need no data
  q.status = core::CaseStatus::kClosed;
  EXPECT_EQ(cases().list(q)->total, 0);
}

TEST_P(StoreContract, ListFiltersByLastChange) {
  core::Case quiet = create("sin cambios");
  core::Case busy = create("con cambios");
  const Instant later = now_ + std::chrono::hours{48};
  ASSERT_TRUE(cases().update(busy.id, [&](const core::Case& cur) {
    return core::escalate(cur, "needs L2", agent_, later, ctx_);
  }).ok());
  ports::CaseQuery q;
  q.updated_from = later;
  auto r = cases().list(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->items.size(), 1u);
  EXPECT_EQ(r->items[0].id, busy.id);
  q.updated_from = now_;  // at or after: both
  EXPECT_EQ(cases().list(q)->total, 2);
  q.updated_from = later + Millis{1};
  EXPECT_EQ(cases().list(q)->total, 0);
  (void)quiet;
}

TEST_P(StoreContract, SearchFindsRepliesAndFields) {
  core::Case c = create("Problema", "ACME", core::CaseType::kIncident,
                        Json{{"counterpart_number", "+525541708422"}});
  ASSERT_TRUE(cases().update(c.id, [&](const core::Case& cur) {
    return core::add_reply(cur, "El carrier devolvió 486 Busy", false, false, customer_, now_, ctx_);
  }).ok());
  ports::CaseQuery q;
  q.text = "devolvio";
  EXPECT_EQ(cases().list(q)->total, 1);
  q.text = "525541708422";
  EXPECT_EQ(cases().list(q)->total, 1);
}

TEST_P(StoreContract, SearchCountsStopAtTheCapButPagesReachEveryMatch) {
  for (int i = 0; i < 5; ++i) create("troncal " + std::to_string(i));
  create("otra cosa");
  ports::CaseQuery q;
  q.text = "troncal";
  q.search_count_cap = 3;
  q.limit = 2;
  auto first = cases().list(q);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->total, 3);
  EXPECT_FALSE(first->total_exact);
  int seen = 0;
  for (;;) {
    auto page = cases().list(q);
    seen += static_cast<int>(page->items.size());
    if (!page->next_before) break;
    q.before_id = page->next_before;
  }
  EXPECT_EQ(seen, 5);
  q = {};
  q.text = "troncal";
  EXPECT_EQ(cases().list(q)->total, 5);  // under the cap: exact
  EXPECT_TRUE(cases().list(q)->total_exact);
}

TEST_P(StoreContract, ListPaginatesNewestFirstWithoutGapsOrRepeats) {
  for (int i = 0; i < 7; ++i) create("case " + std::to_string(i));
  ports::CaseQuery q;
  q.limit = 3;
  std::vector<int64_t> ids;
  for (;;) {
    auto page = cases().list(q);
    ASSERT_TRUE(page.ok());
    EXPECT_EQ(page->total, 7);
    for (const auto& c : page->items) ids.push_back(c.id);
    if (!page->next_before) break;
    q.before_id = page->next_before;
  }
  EXPECT_EQ(ids, (std::vector<int64_t>{7, 6, 5, 4, 3, 2, 1}));
}

// Regression: a reused prepared read kept its SQLite read transaction open, so reads on
// that connection saw the database as it was at the first read.
TEST_P(StoreContract, ReadsSeeEveryCommittedWrite) {
  core::Case a = create("first");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(cases().get(a.id)->has_value());
  core::Case b = create("second");
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(cases().get(b.id)->has_value());
    EXPECT_EQ(cases().list(ports::CaseQuery{})->total, 2);
  }
  ASSERT_TRUE(cases().update(a.id, [&](const core::Case& cur) {
    return core::escalate(cur, "L2", agent_, now_, ctx_);
  }).ok());
  for (int i = 0; i < 10; ++i) EXPECT_EQ((*cases().get(a.id))->level, 2);
}

TEST_P(StoreContract, BillableItemsAreStoredWithTheChange) {
  Json f = {{"account_id", "ACME"}, {"user_full_name", "Ana"}, {"extension", "204"},
            {"direct_number", false}, {"extension_type", "sip"}, {"ring_groups", Json::array()}};
  core::Case c = create("Alta", "ACME", core::CaseType::kActivation, f);
  EXPECT_EQ(c.status, core::CaseStatus::kOpen);
  auto items = cases().billable_items("ACME");
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].case_id, c.id);
  EXPECT_EQ((*items)[0].charge.amount_cents, 1000);
  EXPECT_TRUE(cases().billable_items("OTHER")->empty());
}

TEST_P(StoreContract, ConcurrentCreationsGetDistinctConsecutiveNumbers) {
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> ids;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto id = create("concurrent").id;
        std::lock_guard lock(mu);
        ids.insert(id);
      }
    });
  for (auto& t : threads) t.join();
  ASSERT_EQ(ids.size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(*ids.begin(), 1);
  // Without failures even a gap-tolerant store hands out 1..N; the flag states the promise.
  if (GetParam().consecutive_numbers) {
    EXPECT_EQ(*ids.rbegin(), kThreads * kEach);
  }
  EXPECT_EQ(cases().list(ports::CaseQuery{})->total, kThreads * kEach);
}

TEST_P(StoreContract, ConcurrentUpdatesAreNotLost) {
  core::Case c = create("busy");
  constexpr int kThreads = 4, kEach = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i)
        EXPECT_TRUE(cases().update(c.id, [&](const core::Case& cur) {
          return core::add_reply(cur, "x", true, false, agent_, now_, ctx_);
        }).ok());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ((*cases().get(c.id))->version, c.version + kThreads * kEach);
  EXPECT_EQ(cases().events({c.id, true, 0, 1000})->total, c.version + kThreads * kEach);
}

// The received-message ledger: a key is stored once, with its bytes as they came, and a
// change carrying a key already stored is refused whole (kAlreadyExists, nothing written).
TEST_P(StoreContract, AReceivedMessageIsStoredOnce) {
  const std::string raw("\0\xff\r\nbytes", 9);
  auto blob = core::StoredBlob{"00ff", std::make_shared<const std::string>(raw)};
  ASSERT_TRUE(mail().record_inbound(inbound("mid:<a@x>"), {blob}, {}).ok());
  auto again = mail().record_inbound(inbound("mid:<a@x>"), {blob}, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  ASSERT_TRUE(mail().find_inbound("mid:<a@x>")->has_value());
  EXPECT_EQ((*mail().find_inbound("mid:<a@x>"))->from, "ana@acme.com");
  EXPECT_EQ(*mail().get_blob("00ff").value(), raw);

  auto with_key = [&](const std::string& key) {
    return cases().create([&, key](int64_t id) -> Result<core::Change> {
      core::OpenCaseInput in;
      in.account = "ACME";
      in.subject = "por correo";
      auto ch = core::open_case(id, in, agent_, now_, ctx_);
      if (ch.ok()) {
        ch->inbound = inbound(key, id);
        ch->thread_ids = {key};
        ch->outbox = {outgoing("ana@acme.com", now_)};
      }
      return ch;
    });
  };
  auto first = with_key("mid:<b@x>");
  ASSERT_TRUE(first.ok());
  auto dup = with_key("mid:<b@x>");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(cases().list(ports::CaseQuery{})->total, 1);
  EXPECT_EQ(mail().outbox_for_case(first->id)->size(), 1u);
  EXPECT_EQ(*mail().case_for_message_ids({"mid:<b@x>"}).value(), first->id);

  auto upd = cases().update(first->id, [&](const core::Case& cur) -> Result<core::Change> {
    auto ch = core::add_reply(cur, "otra vez", false, false, customer_, now_, ctx_);
    if (ch.ok()) ch->inbound = inbound("mid:<a@x>", cur.id);
    return ch;
  });
  ASSERT_FALSE(upd.ok());
  EXPECT_EQ(upd.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ((*cases().get(first->id))->version, first->version);
}

// Claimed messages are leased: nobody claims them again before the lease ends, and
// concurrent claimers (threads here, nodes on PostgreSQL) never share a message.
TEST_P(StoreContract, OutboxMessagesAreClaimedOncePerLease) {
  std::vector<core::OutboxMessage> out;
  for (int i = 0; i < 40; ++i)
    out.push_back(outgoing("c" + std::to_string(i) + "@acme.com", now_ - Seconds{40 - i}));
  ASSERT_TRUE(mail().record_inbound(inbound("mid:<c@x>"), {}, out).ok());
  auto first = mail().claim_outbox(now_, Millis{60'000}, 2);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].recipients, std::vector<std::string>{"c0@acme.com"});  // oldest first
  EXPECT_EQ((*first)[0].attempts, 1);
  EXPECT_EQ((*first)[0].status, "sending");
  ASSERT_TRUE(mail().outbox_sent((*first)[0].id, now_).ok());

  std::mutex mu;
  std::multiset<int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (;;) {
        auto got = mail().claim_outbox(now_, Millis{60'000}, 3);
        ASSERT_TRUE(got.ok());
        if (got->empty()) return;
        std::lock_guard lock(mu);
        for (const auto& m : *got) claimed.insert(m.id);
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.size(), 38u);
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()).size(), claimed.size());
  // After the lease, the unsent come back (second attempt); the sent one never does.
  auto later = mail().claim_outbox(now_ + Seconds{61}, Millis{60'000}, 100);
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(later->size(), 39u);
  for (const auto& m : *later) EXPECT_NE(m.id, (*first)[0].id);
  EXPECT_EQ(later->front().attempts, 2);
}

// A claim is renewed only while it is still its holder's: the same attempt, still sending.
// Once the lease ran out and another claimer took the message, the old claim is lost.
TEST_P(StoreContract, OutboxClaimsAreRenewedOnlyWhileHeld) {
  std::vector<core::OutboxMessage> out;
  for (int i = 0; i < 3; ++i) out.push_back(outgoing("r" + std::to_string(i) + "@acme.com", now_));
  ASSERT_TRUE(mail().record_inbound(inbound("mid:<r@x>"), {}, out).ok());
  auto mine = mail().claim_outbox(now_, Millis{6'000}, 3);
  ASSERT_TRUE(mine.ok());
  ASSERT_EQ(mine->size(), 3u);
  std::vector<ports::MailStore::OutboxClaim> claims;
  for (const auto& m : *mine) claims.push_back({m.id, m.attempts});
  // Renewed past the first lease: nobody else may claim them at now + 10 s.
  auto renewed = mail().renew_outbox_claims(claims, now_ + Seconds{16});
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(std::set<int64_t>(renewed->begin(), renewed->end()).size(), 3u);
  EXPECT_TRUE(mail().claim_outbox(now_ + Seconds{10}, Millis{6'000}, 10)->empty());
  // One is sent; past the renewed lease another claimer takes the other two.
  ASSERT_TRUE(mail().outbox_sent((*mine)[0].id, now_).ok());
  auto theirs = mail().claim_outbox(now_ + Seconds{17}, Millis{6'000}, 10);
  ASSERT_TRUE(theirs.ok());
  EXPECT_EQ(theirs->size(), 2u);
  // The old holder's renewal keeps nothing: one is finished, two are someone else's.
  auto lost = mail().renew_outbox_claims(claims, now_ + Seconds{30});
  ASSERT_TRUE(lost.ok());
  EXPECT_TRUE(lost->empty());
  // The new holder's renewal works, and the old one's did not move its lease.
  std::vector<ports::MailStore::OutboxClaim> new_claims;
  for (const auto& m : *theirs) new_claims.push_back({m.id, m.attempts});
  EXPECT_EQ(mail().renew_outbox_claims(new_claims, now_ + Seconds{40})->size(), 2u);
  EXPECT_TRUE(mail().claim_outbox(now_ + Seconds{35}, Millis{6'000}, 10)->empty());
  EXPECT_TRUE(mail().renew_outbox_claims({}, now_)->empty());
}

TEST_P(StoreContract, AccountsContactsUsers) {
  core::Account a;
  a.code = "ACME";
  a.name = "Acme SA";
  a.contract = core::Contract{"Plan Pro", core::Money{2500, "USD"}};
  ASSERT_TRUE(dir().create_account(a).ok());
  auto dup = dir().create_account(a);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  auto got = dir().get_account("ACME");
  ASSERT_TRUE(got.ok() && got.value());
  EXPECT_EQ((*got)->contract->activation_charge.amount_cents, 2500);
  EXPECT_FALSE(dir().get_account("NOPE")->has_value());

  core::Contact ct;
  ct.account = "ACME";
  ct.name = "Ana";
  ct.email = "ana@acme.com";
  auto made = dir().create_contact(ct);
  ASSERT_TRUE(made.ok());
  EXPECT_GT(made->id, 0);
  EXPECT_EQ((*dir().get_contact(made->id))->email, "ana@acme.com");
  EXPECT_EQ(dir().list_contacts("ACME")->size(), 1u);

  core::User u;
  u.email = "agent@desk.com";
  u.name = "Agent";
  u.role = core::Role::kAgent;
  u.level = 2;
  u.specialties = {"sip", "teams"};
  u.password_hash = "$argon2id$fake";
  auto user = dir().create_user(u);
  ASSERT_TRUE(user.ok());
  auto again = dir().create_user(u);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  auto found = dir().find_user_by_email("agent@desk.com");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ((*found)->level, 2);
  EXPECT_EQ((*found)->specialties, (std::vector<std::string>{"sip", "teams"}));
  EXPECT_EQ((*found)->role, core::Role::kAgent);
}

TEST_P(StoreContract, SessionsAndSettings) {
  ports::Session s{"abc", 1, now_, now_ + Seconds{60}};
  ASSERT_TRUE(dir().create_session(s).ok());
  auto got = dir().find_session("abc");
  ASSERT_TRUE(got.ok() && got.value());
  EXPECT_EQ((*got)->expires_at, now_ + Seconds{60});
  ASSERT_TRUE(dir().delete_session("abc").ok());
  EXPECT_FALSE(dir().find_session("abc")->has_value());
  ASSERT_TRUE(dir().put_setting("k", Json{{"a", 1}}).ok());
  EXPECT_EQ((*dir().get_setting("k").value())["a"], 1);
}

// Optimistic concurrency for desk settings (e.g. canned replies edited by two supervisors):
// a write that names the value it read lands only if that is still the stored value.
TEST_P(StoreContract, ASettingIsReplacedOnlyIfItIsStillWhatWasRead) {
  auto event = [&](int n) {
    return ports::DirectoryStore::DeskEvent{0, now_, 1, "Sol", "counter_changed", Json{{"n", n}}};
  };
  auto events = [&] { return dir().desk_events(0, 1000).value().size(); };
  ASSERT_TRUE(dir().put_setting_with_event("counter", Json{{"n", 0}}, event(0), Json()).ok())
      << "an absent setting is read as null";
  auto stale = dir().put_setting_with_event("counter", Json{{"n", 9}}, event(9), Json());
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error().code, ErrorCode::kConflict);
  EXPECT_EQ((*dir().get_setting("counter").value())["n"], 0);
  EXPECT_EQ(events(), 1u) << "nothing recorded for a refused write";
  ASSERT_TRUE(dir().put_setting_with_event("counter", Json{{"n", 1}}, event(1), Json{{"n", 0}}).ok());

  // Read, add one, write if unchanged (else read again): no increment is lost.
  constexpr int kThreads = 6, kEach = 10;
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach;) {
        auto read = dir().get_setting("counter");
        ASSERT_TRUE(read.ok() && read.value());
        const Json seen = **read;
        const int n = seen["n"].get<int>() + 1;
        auto st = dir().put_setting_with_event("counter", Json{{"n", n}}, event(n), seen);
        if (st.ok()) {
          ++i;
        } else {
          ASSERT_EQ(st.error().code, ErrorCode::kConflict) << st.error().message;
          ++conflicts;
        }
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ((*dir().get_setting("counter").value())["n"], 1 + kThreads * kEach);
  EXPECT_EQ(events(), static_cast<size_t>(2 + kThreads * kEach));
  std::cout << "concurrent read-modify-write: " << conflicts.load() << " conflicts retried\n";
}

TEST_P(StoreContract, ChangePasswordEndsTheUsersOtherSessions) {
  core::User u;
  u.email = "pw@desk.com";
  u.name = "Pw";
  u.role = core::Role::kAgent;
  u.level = 1;
  u.password_hash = "$argon2id$old";
  auto user = dir().create_user(u);
  ASSERT_TRUE(user.ok());
  u.email = "other@desk.com";
  auto other = dir().create_user(u);
  ASSERT_TRUE(other.ok());
  const int64_t id = user->id;
  for (const char* h : {"keep", "end1", "end2"})
    ASSERT_TRUE(dir().create_session({h, id, now_, now_ + Seconds{60}}).ok());
  ASSERT_TRUE(dir().create_session({"others", other->id, now_, now_ + Seconds{60}}).ok());

  auto ended = dir().change_password(id, "$argon2id$new", "keep");
  ASSERT_TRUE(ended.ok()) << ended.error().message;
  EXPECT_EQ(*ended, 2);
  EXPECT_EQ(dir().get_user(id).value()->password_hash, "$argon2id$new");
  EXPECT_EQ(dir().get_user(other->id).value()->password_hash, "$argon2id$old");
  EXPECT_TRUE(dir().find_session("keep")->has_value());
  EXPECT_FALSE(dir().find_session("end1")->has_value());
  EXPECT_FALSE(dir().find_session("end2")->has_value());
  EXPECT_TRUE(dir().find_session("others")->has_value());  // another user's session stays

  // Empty keep: every session of the user ends.
  auto all = dir().change_password(id, "$argon2id$newer", "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 1);
  EXPECT_FALSE(dir().find_session("keep")->has_value());

  auto missing = dir().change_password(id + 1000, "$argon2id$x", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(dir().find_session("others")->has_value());
}

TEST_P(StoreContract, ReopeningKeepsCasesAndNeverReusesNumbers) {
  if (!GetParam().persistent) GTEST_SKIP() << "in-memory store";
  create("a");
  create("b");
  stores_ = {};
  stores_ = GetParam().open(dir_);
  EXPECT_EQ((*cases().get(2))->subject, "b");
  EXPECT_EQ(create("c").id, 3);
}

// A change with no events that moves the SLA timer (derived state) is kept; timers are
// marks per calendar, found smallest first.
TEST_P(StoreContract, SlaTimersAreKeptAsMarksPerCalendar) {
  auto set_timer = [&](int64_t id, const std::string& calendar, std::optional<int64_t> mark) {
    auto r = cases().update(id, [&](const core::Case& cur) -> Result<core::Change> {
      core::Change ch{cur, {}, std::nullopt, {}};
      ch.after.sla.calendar = calendar;
      ch.after.sla.next_timer_mark = mark ? std::optional<Millis>(Millis{*mark}) : std::nullopt;
      return ch;
    });
    ASSERT_TRUE(r.ok()) << r.error().message;
  };
  core::Case a = create("a"), b = create("b"), c = create("c"), d = create("d");
  set_timer(a.id, "support", 5000);
  set_timer(b.id, "support", 1000);
  set_timer(c.id, "24x7", 500);
  set_timer(d.id, "support", 9000);
  EXPECT_EQ(*cases().next_sla_mark("support"), Millis{1000});
  EXPECT_EQ(*cases().next_sla_mark("24x7"), Millis{500});
  EXPECT_FALSE(cases().next_sla_mark("nights")->has_value());
  EXPECT_EQ(*cases().cases_with_due_timers("support", Millis{5000}, 10),
            (std::vector<int64_t>{b.id, a.id}));
  EXPECT_EQ(*cases().cases_with_due_timers("support", Millis{9000}, 2),
            (std::vector<int64_t>{b.id, a.id}));
  EXPECT_TRUE(cases().cases_with_due_timers("24x7", Millis{499}, 10)->empty());
  EXPECT_EQ((*cases().get(b.id))->sla.next_timer_mark, Millis{1000});
  // A timer no longer pending leaves the index.
  set_timer(b.id, "support", std::nullopt);
  EXPECT_EQ(*cases().next_sla_mark("support"), Millis{5000});
  EXPECT_FALSE((*cases().get(b.id))->sla.next_timer_mark);
  // A store created by this version has no timers kept as instants.
  auto legacy = cases().update_cases_with_legacy_timers(
      [](const core::Case& cur) -> Result<core::Change> {
        return core::Change{cur, {}, std::nullopt, {}};
      });
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(*legacy, 0);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, StoreContract,
    ::testing::Values(
        Backend{"memory",
                [](const std::filesystem::path&) {
                  auto m = std::make_shared<fakes::MemoryStore>();
                  return Stores{m, m, m};
                },
                false},
        Backend{"sqlite",
                [](const std::filesystem::path& dir) {
                  adapters::SqliteOptions o;
                  o.path = (dir / "escala.db").string();
                  o.synchronous_full = false;  // durability is the integration tests' concern
                  auto s = adapters::SqliteStore::open(o);
                  if (!s.ok()) throw std::runtime_error(s.error().message);
                  std::shared_ptr<adapters::SqliteStore> sp = std::move(s).value();
                  return Stores{sp, sp, sp};
                },
                true},
        Backend{"postgres",
                [](const std::filesystem::path& dir) {
                  // One database per store directory: reopening the same directory
                  // reopens the same database.
                  adapters::PgOptions o;
                  o.url = testing::TestPostgres::instance().database_url(
                      "escala_" + std::to_string(std::hash<std::string>{}(dir.string())));
                  auto s = adapters::PgStore::open(o);
                  if (!s.ok()) throw std::runtime_error(s.error().message);
                  std::shared_ptr<adapters::PgStore> sp = std::move(s).value();
                  return Stores{sp, sp, sp};
                },
                true, false}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace escala

namespace escala {
namespace {

// The history is append-only at the database level too (D7): even a direct SQL statement
// cannot rewrite or remove an event.
TEST(SqliteStore, EventsCannotBeUpdatedOrDeleted) {
  auto dir = std::filesystem::temp_directory_path() / ("escala-append-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  adapters::SqliteOptions o;
  o.path = (dir / "escala.db").string();
  {
    auto store = adapters::SqliteStore::open(o);
    ASSERT_TRUE(store.ok());
    EXPECT_GE((*store)->schema_version(), 2);
    core::CasePolicy policy;
    core::CaseContext ctx{&policy, std::nullopt, Seconds{0}};
    core::OpenCaseInput in;
    in.subject = "x";
    ASSERT_TRUE((*store)->create([&](int64_t id) {
      return core::open_case(id, in, core::Actor::system(), Instant{}, ctx);
    }).ok());
  }
  soci::session sql(soci::sqlite3, "db=" + o.path);
  EXPECT_THROW(sql << "UPDATE events SET type = 'forged'", soci::soci_error);
  EXPECT_THROW(sql << "DELETE FROM events", soci::soci_error);
  int n = 0;
  sql << "SELECT count(*) FROM events", soci::into(n);
  EXPECT_GT(n, 0);
  std::filesystem::remove_all(dir);
}

// A desk upgraded from schema 6 kept each case's next SLA timer as an instant; the store
// finds those cases once, and storing their mark forgets the instant.
TEST(SqliteStore, TimersKeptAsInstantsAreConvertedOnce) {
  auto dir = std::filesystem::temp_directory_path() / ("escala-legacy-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  adapters::SqliteOptions o;
  o.path = (dir / "escala.db").string();
  core::CasePolicy policy;
  core::CaseContext ctx{&policy, std::nullopt, Seconds{0}};
  core::OpenCaseInput in;
  in.subject = "x";
  {
    auto store = adapters::SqliteStore::open(o);
    ASSERT_TRUE(store.ok());
    for (int i = 0; i < 3; ++i)
      ASSERT_TRUE((*store)->create([&](int64_t id) {
        return core::open_case(id, in, core::Actor::system(), Instant{}, ctx);
      }).ok());
  }
  {
    soci::session sql(soci::sqlite3, "db=" + o.path);
    sql << "UPDATE cases SET sla_next_at = 1234, sla_calendar = NULL, sla_mark = NULL WHERE id <> 2";
  }
  auto store = adapters::SqliteStore::open(o);
  ASSERT_TRUE(store.ok());
  std::vector<int64_t> seen;
  auto converted = (*store)->update_cases_with_legacy_timers(
      [&](const core::Case& cur) -> Result<core::Change> {
        seen.push_back(cur.id);
        core::Change ch{cur, {}, std::nullopt, {}};
        ch.after.sla.calendar = "support";
        ch.after.sla.next_timer_mark = Millis{777 + cur.id};
        return ch;
      });
  ASSERT_TRUE(converted.ok()) << converted.error().message;
  EXPECT_EQ(*converted, 2);
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(*(*store)->next_sla_mark("support"), Millis{778});
  auto again = (*store)->update_cases_with_legacy_timers(
      [](const core::Case& cur) -> Result<core::Change> {
        return core::Change{cur, {}, std::nullopt, {}};
      });
  EXPECT_EQ(*again, 0);
  (*store).reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace escala

namespace escala {
namespace {

// The same guarantee on PostgreSQL: triggers refuse UPDATE, DELETE and TRUNCATE of events
// and desk events, whoever sends the statement.
TEST(PgStore, EventsCannotBeUpdatedOrDeleted) {
  const std::string url = testing::TestPostgres::instance().database_url(
      "escala_append_" + std::to_string(::getpid()));
  adapters::PgOptions o;
  o.url = url;
  auto store = adapters::PgStore::open(o);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_GE((*store)->schema_version(), 7);
  core::CasePolicy policy;
  core::CaseContext ctx{&policy, std::nullopt, Seconds{0}};
  core::OpenCaseInput in;
  in.subject = "x";
  ASSERT_TRUE((*store)->create([&](int64_t id) {
    return core::open_case(id, in, core::Actor::system(), Instant{}, ctx);
  }).ok());
  ASSERT_TRUE((*store)->put_setting_with_event(
      "k", Json{{"a", 1}}, {0, Instant{}, 0, "system", "setting_changed", Json::object()}).ok());
  PGconn* c = PQconnectdb((url + "?options=-c%20client_min_messages%3Dwarning").c_str());
  ASSERT_EQ(PQstatus(c), CONNECTION_OK);
  for (const char* forge : {"UPDATE events SET type = 'forged'", "DELETE FROM events",
                            "TRUNCATE events", "DELETE FROM desk_events"}) {
    PGresult* r = PQexec(c, forge);
    EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR) << forge;
    PQclear(r);
  }
  PGresult* r = PQexec(c, "SELECT count(*) FROM events");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK);
  EXPECT_GT(std::atoi(PQgetvalue(r, 0, 0)), 0);
  PQclear(r);
  PQfinish(c);
}

}  // namespace
}  // namespace escala
