#include "adapters/pg_store/pg_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

#include "adapters/pg_store/pg_case_notifier.hpp"
#include "adapters/pg_store/pg_conn.hpp"
#include "adapters/pg_store/pg_group_commit.hpp"
#include "adapters/pg_store/schema.hpp"
#include "adapters/sql_common/codec.hpp"
#include "adapters/sql_common/dump.hpp"
#include "core/defaults.hpp"
#include "core/text.hpp"

namespace escala::adapters {
namespace {

using core::Json;
using pg::Conn;
using pg::Params;
using pg::PgError;
using pg::Res;

// Any number serialises migrations across nodes; this one spells "esca".
constexpr long long kMigrationLock = 0x65736361;

Error db_error(const std::exception& e) {
  return make_error(ErrorCode::kUnavailable, std::string("database: ") + e.what());
}

// Whether a failure on `c` means the session is gone (the server restarted, shut down or
// ended it), rather than that the statement was refused: the session's open transaction,
// if any, died with it, uncommitted.
bool session_lost(const Conn& c, const PgError& e) {
  const std::string& s = e.sqlstate();
  return c.broken() || s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03";
}

// How many times a call runs again on a fresh connection after its session was lost: a
// restarted database leaves every pooled connection broken, and each is found so once.
constexpr int kReconnects = 2;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

core::Event event_of(const Res& r, int i, int64_t case_id) {
  // Columns: seq, type, at, actor_id, actor_name, actor_role, internal, data.
  core::Event e;
  e.case_id = case_id;
  e.seq = r.i64(i, 0);
  e.type = r.text(i, 1);
  e.at = from_unix_millis(r.i64(i, 2));
  e.actor_id = r.i64(i, 3);
  e.actor_name = r.text(i, 4);
  const std::string role = r.text(i, 5);
  e.actor_role = role == "system" ? core::Role::kSystem
                                  : core::parse_role(role).value_or(core::Role::kSystem);
  e.internal = r.boolean(i, 6);
  e.data = Json::parse(r.text(i, 7), nullptr, false);
  if (e.data.is_discarded()) e.data = Json::object();
  return e;
}

#define ESCALA_PG_OUTBOX_COLUMNS                                                           \
  "id, case_id, kind, envelope_from, recipients, mail, automatic, status, attempts,"       \
  " next_attempt_at, last_error, created_at, sent_at"

core::OutboxMessage outbox_of(const Res& r, int i, int base = 0) {
  core::OutboxMessage m;
  m.id = r.i64(i, base + 0);
  m.case_id = r.i64(i, base + 1);
  m.kind = r.text(i, base + 2);
  m.envelope_from = r.text(i, base + 3);
  Json rc = Json::parse(r.text(i, base + 4), nullptr, false);
  if (rc.is_array())
    for (const auto& x : rc)
      if (x.is_string()) m.recipients.push_back(x.get<std::string>());
  m.mail = sql::outbound_from_doc(r.text(i, base + 5));
  m.automatic = r.boolean(i, base + 6);
  m.status = r.text(i, base + 7);
  m.attempts = static_cast<int>(r.i64(i, base + 8));
  m.next_attempt_at = from_unix_millis(r.i64(i, base + 9));
  m.last_error = r.text(i, base + 10);
  m.created_at = from_unix_millis(r.i64(i, base + 11));
  if (!r.null(i, base + 12)) m.sent_at = from_unix_millis(r.i64(i, base + 12));
  return m;
}

constexpr const char* kInboundColumns =
    "key, mailbox, from_addr, subject, message_id, raw_sha256, raw_size, kind,"
    " disposition, case_id, received_at";

core::InboundRecord inbound_of(const Res& r, int i) {
  core::InboundRecord x;
  x.key = r.text(i, 0);
  x.mailbox = r.text(i, 1);
  x.from = r.text(i, 2);
  x.subject = r.text(i, 3);
  x.message_id = r.text(i, 4);
  x.raw_sha256 = r.text(i, 5);
  x.raw_size = r.i64(i, 6);
  x.kind = r.text(i, 7);
  x.disposition = r.text(i, 8);
  x.case_id = r.i64(i, 9);
  x.received_at = from_unix_millis(r.i64(i, 10));
  return x;
}

constexpr const char* kContactColumns =
    "SELECT id, account, name, email, phone, language, created_at, email_failure FROM contacts ";

std::vector<core::Contact> contacts_of(const Res& r) {
  std::vector<core::Contact> out;
  for (int i = 0; i < r.rows(); ++i) {
    core::Contact c;
    c.id = r.i64(i, 0);
    c.account = r.text(i, 1);
    c.name = r.text(i, 2);
    c.email = r.text(i, 3);
    c.phone = r.text(i, 4);
    c.language = r.text(i, 5);
    c.created_at = from_unix_millis(r.i64(i, 6));
    c.email_failure = r.text(i, 7);
    out.push_back(std::move(c));
  }
  return out;
}

constexpr const char* kUserColumns =
    "SELECT id, email, name, role, level, specialties, account, language, timezone,"
    " password_hash, active, created_at, quiet FROM users ";

std::vector<core::User> users_of(const Res& r) {
  std::vector<core::User> out;
  for (int i = 0; i < r.rows(); ++i) {
    core::User u;
    u.id = r.i64(i, 0);
    u.email = r.text(i, 1);
    u.name = r.text(i, 2);
    u.role = core::parse_role(r.text(i, 3)).value_or(core::Role::kCustomer);
    u.level = static_cast<int>(r.i64(i, 4));
    auto sp = Json::parse(r.text(i, 5), nullptr, false);
    if (sp.is_array())
      for (const auto& x : sp)
        if (x.is_string()) u.specialties.push_back(x.get<std::string>());
    u.account = r.text(i, 6);
    u.language = r.text(i, 7);
    u.timezone = r.text(i, 8);
    u.password_hash = r.text(i, 9);
    u.active = r.boolean(i, 10);
    u.created_at = from_unix_millis(r.i64(i, 11));
    u.quiet = r.boolean(i, 12);
    out.push_back(std::move(u));
  }
  return out;
}

core::Account account_of(const Res& r, int i) {
  core::Account a;
  a.code = r.text(i, 0);
  a.name = r.text(i, 1);
  a.timezone = r.text(i, 2);
  a.language = r.text(i, 3);
  a.contract = sql::contract_from_doc(r.text(i, 4));
  a.created_at = from_unix_millis(r.i64(i, 5));
  return a;
}

}  // namespace

class PgStore::Impl {
 public:
  explicit Impl(const PgOptions& o)
      : conninfo(pg::conninfo_with_options(o.url)),
        node_id(o.node_id),
        pool(conninfo, std::max(1, o.connections)) {
    int writers = o.create_writers;
    // For measurements: ESCALA_PG_CREATE_WRITERS=0 gives each creation its own transaction.
    if (const char* env = std::getenv("ESCALA_PG_CREATE_WRITERS"); env && *env)
      writers = std::atoi(env);
    // For measurements: ESCALA_PG_NOTIFY=0 announces nothing to the other nodes.
    if (const char* env = std::getenv("ESCALA_PG_NOTIFY"); env && std::string(env) == "0")
      node_id.clear();
    if (writers > 0)
      creates = std::make_unique<pg::GroupCommit<CreateJob>>(
          writers, o.max_batch, 10'000,
          [this](std::unique_ptr<Conn>& c, const std::vector<CreateJob*>& jobs) {
            run_create_batch(c, jobs);
          });
  }

  Status init() {
    try {
      auto c = pool.lease();
      // A session lock: nodes starting together migrate one after the other, and each
      // sees the version the previous one reached.
      c->run("SELECT pg_advisory_lock(" + std::to_string(kMigrationLock) + ")");
      struct Unlock {
        Conn& c;
        ~Unlock() {
          try {
            c.run("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLock) + ")");
          } catch (const std::exception&) {
          }
        }
      } unlock{*c};
      c->run("CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY,"
             " description TEXT NOT NULL)");
      long long current = c->exec("SELECT coalesce(max(version), 0) FROM schema_migrations").i64(0, 0);
      const int latest = pg::migrations().back().version;
      if (current > latest)
        return make_error(ErrorCode::kUnavailable,
                          "the database schema is at version " + std::to_string(current) +
                              ", newer than this build knows (" + std::to_string(latest) +
                              "): upgrade escala");
      for (const auto& m : pg::migrations()) {
        if (m.version <= current) continue;
        c->run("BEGIN");
        for (const auto& stmt : m.statements) c->run(stmt);
        if (m.version == 1)
          c->exec("INSERT INTO settings(key, value) VALUES('defaults', $1)",
                  Params().text(core::deck_defaults().dump()));
        c->exec("INSERT INTO schema_migrations(version, description) VALUES($1, $2)",
                Params().i64(m.version).text(m.description));
        c->run("COMMIT");
        current = m.version;
      }
      version = static_cast<int>(current);
    } catch (const std::exception& e) {
      return db_error(e);
    }
    return ok_status();
  }

  // Runs `fn` in a transaction on a pooled connection: committed when it returns ok,
  // rolled back when it returns an error or throws. Deadlocks and serialization failures
  // run it again (so `fn` must reset what it collects), and so does a session lost before
  // the COMMIT was sent (nothing was committed; the released connection reconnects); a
  // COMMIT that fails is reported as a failure, never run again (its outcome is unknown).
  // A unique violation that `fn` did not expect is kAlreadyExists.
  template <typename F>
  Status tx(F&& fn) {
    int reconnects = 0;
    for (int attempt = 0;; ++attempt) {
      bool lost_before_commit = false;
      try {
        auto c = pool.lease();
        bool committing = false;
        try {
          c->run("BEGIN");
          Status st = fn(*c);
          if (!st.ok()) {
            c->run("ROLLBACK");
            return st;
          }
          committing = true;
          c->run("COMMIT");
          return ok_status();
        } catch (const PgError& e) {
          lost_before_commit = !committing && session_lost(*c, e);
          throw;
        }
      } catch (const PgError& e) {
        // The lease rolled back (or reconnected) on release.
        if (lost_before_commit && reconnects++ < kReconnects) continue;
        if ((e.sqlstate() == "40P01" || e.sqlstate() == "40001") && attempt < 8) continue;
        if (e.sqlstate() == "23505") return make_error(ErrorCode::kAlreadyExists, e.what());
        return db_error(e);
      } catch (const std::exception& e) {
        return db_error(e);
      }
    }
  }

  // A read outside any transaction (run again on a fresh connection when the session was
  // lost).
  template <typename T, typename F>
  Result<T> read(F&& fn) {
    for (int reconnects = 0;; ++reconnects) {
      bool lost = false;
      try {
        auto c = pool.lease();
        try {
          return fn(*c);
        } catch (const PgError& e) {
          lost = session_lost(*c, e);
          throw;
        }
      } catch (const std::exception& e) {
        if (lost && reconnects < kReconnects) continue;
        return db_error(e);
      }
    }
  }

  // Tells the other nodes of committed case changes (pg_case_notifier.hpp): NOTIFY inside
  // the change's transaction, delivered by PostgreSQL only if it commits. Nothing without
  // a node id.
  void announce(Conn& c, const core::Change& ch) const {
    if (node_id.empty() || ch.events.empty()) return;
    c.exec("SELECT pg_notify($1, $2)",
           Params().text(kCaseChannel).text(to_payload(notice_of(node_id, ch.after, ch.events))));
  }
  void announce(Conn& c, const std::vector<core::Change>& changes) const {
    if (node_id.empty()) return;
    pg::ArrayLiteral payloads;
    for (const auto& ch : changes)
      if (!ch.events.empty()) payloads.text(to_payload(notice_of(node_id, ch.after, ch.events)));
    if (payloads.size() == 0) return;
    c.write("SELECT pg_notify($1, p) FROM unnest($2::text[]) p",
           Params().text(kCaseChannel).text(payloads.str()));
  }

  // ---- the parts of a change ----------------------------------------------------------

  static void write_events(Conn& c, const std::vector<core::Event>& events) {
    for (const auto& e : events)
      c.write("INSERT INTO events(case_id, seq, type, at, actor_id, actor_name, actor_role,"
             " internal, data) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)",
             Params()
                 .i64(e.case_id)
                 .i64(e.seq)
                 .text(e.type)
                 .i64(to_unix_millis(e.at))
                 .i64(e.actor_id)
                 .text(e.actor_name)
                 .text(std::string(core::to_string(e.actor_role)))
                 .boolean(e.internal)
                 .text(dump(e.data)));
  }

  static void write_billable(Conn& c, const std::optional<core::BillableItem>& b) {
    if (!b) return;
    c.write("INSERT INTO billable_items(account, case_id, kind, description, amount_cents,"
           " currency, at) VALUES($1, $2, $3, $4, $5, $6, $7)",
           Params()
               .text(b->account)
               .i64(b->case_id)
               .text(b->kind)
               .text(b->description)
               .i64(b->charge.amount_cents)
               .text(b->charge.currency)
               .i64(to_unix_millis(b->at)));
  }

  static void write_notifications(Conn& c, const std::vector<core::Notification>& ns) {
    for (const auto& n : ns)
      c.write("INSERT INTO notifications(user_id, case_id, kind, subject, body, created_at)"
             " VALUES($1, $2, $3, $4, $5, $6)",
             Params()
                 .i64(n.user_id)
                 .i64(n.case_id)
                 .text(n.kind)
                 .text(n.subject)
                 .text(n.body)
                 .i64(to_unix_millis(n.created_at)));
  }

  static void put_blob(Conn& c, const core::StoredBlob& b) {
    const std::string data = b.data ? *b.data : std::string();
    c.write("INSERT INTO blobs(sha256, size, data) VALUES($1, $2, $3)"
           " ON CONFLICT (sha256) DO NOTHING",
           Params().text(b.sha256).i64(static_cast<long long>(data.size())).bytes(data));
  }

  // Writes the ledger entry first of all, so a message already stored fails the change
  // before anything else is written. A concurrent copy waits on the key until the first
  // commits, then finds it taken.
  static Status write_inbound(Conn& c, const core::InboundRecord& r, int64_t case_id) {
    auto res = c.exec(
        "INSERT INTO inbound_mail(key, mailbox, from_addr, subject, message_id, raw_sha256,"
        " raw_size, kind, disposition, case_id, received_at)"
        " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (key) DO NOTHING",
        Params()
            .text(r.key)
            .text(r.mailbox)
            .text(r.from)
            .text(r.subject)
            .text(r.message_id)
            .text(r.raw_sha256)
            .i64(r.raw_size)
            .text(r.kind)
            .text(r.disposition)
            .i64(case_id)
            .i64(to_unix_millis(r.received_at)));
    if (res.affected() == 0) return make_error(ErrorCode::kAlreadyExists, "message already received");
    return ok_status();
  }

  static void write_outbox(Conn& c, const std::vector<core::OutboxMessage>& out,
                           int64_t case_id) {
    for (const auto& m : out)
      c.write("INSERT INTO outbox(case_id, kind, envelope_from, recipients, first_recipient,"
             " mail, automatic, status, attempts, next_attempt_at, last_error, created_at)"
             " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
             Params()
                 .i64(m.case_id ? m.case_id : case_id)
                 .text(m.kind)
                 .text(m.envelope_from)
                 .text(Json(m.recipients).dump())
                 .text(m.recipients.empty() ? "" : core::ascii_lower(m.recipients.front()))
                 .text(sql::outbound_to_doc(m.mail))
                 .boolean(m.automatic)
                 .text(m.status)
                 .i64(m.attempts)
                 .i64(to_unix_millis(m.next_attempt_at))
                 .text(m.last_error)
                 .i64(to_unix_millis(m.created_at)));
  }

  // The rest of the email part (the ledger entry went first).
  static void write_mail_part(Conn& c, const core::Change& ch) {
    const int64_t case_id = ch.after.id;
    for (const auto& b : ch.blobs) put_blob(c, b);
    for (const auto& id : ch.thread_ids)
      c.write("INSERT INTO mail_threads(message_id, case_id) VALUES($1, $2)"
             " ON CONFLICT (message_id) DO UPDATE SET case_id = excluded.case_id",
             Params().text(id).i64(case_id));
    write_outbox(c, ch.outbox, case_id);
  }

  // A case's SLA timer: its calendar and mark, or NULLs.
  static std::optional<std::string> timer_calendar(const core::SlaState& sla) {
    if (!sla.next_timer_mark) return std::nullopt;
    return sla.calendar;
  }
  static std::optional<long long> timer_mark(const core::SlaState& sla) {
    if (!sla.next_timer_mark) return std::nullopt;
    return sla.next_timer_mark->count();
  }

  static void insert_case(Conn& c, const core::Change& ch) {
    const core::Case& k = ch.after;
    c.exec("INSERT INTO cases(id, type, status, level, severity, account, assignee_id,"
           " created_at, updated_at, doc, sla_calendar, sla_mark)"
           " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
           Params()
               .i64(k.id)
               .text(std::string(core::to_string(k.type)))
               .text(std::string(core::to_string(k.status)))
               .i64(k.level)
               .text(std::string(core::to_string(k.severity)))
               .text(k.account)
               .i64(k.assignee_id.value_or(0))
               .i64(to_unix_millis(k.created_at))
               .i64(to_unix_millis(k.updated_at))
               .text(sql::case_to_doc(k))
               .opt_text(timer_calendar(k.sla))
               .opt_i64(timer_mark(k.sla)));
    c.exec("INSERT INTO case_text(case_id, subject, body, messages) VALUES($1, $2, $3, $4)",
           Params().i64(k.id).text(k.subject).text(sql::case_search_text(k)).text(
               sql::events_search_text(ch.events)));
    write_events(c, ch.events);
    write_billable(c, ch.billable);
    write_notifications(c, ch.notifications);
    write_mail_part(c, ch);
  }

  static void update_case(Conn& c, const core::Case& before, const core::Change& ch) {
    const core::Case& k = ch.after;
    c.exec("UPDATE cases SET status = $1, level = $2, severity = $3, account = $4,"
           " assignee_id = $5, updated_at = $6, doc = $7, sla_calendar = $8, sla_mark = $9,"
           " sla_next_at = NULL WHERE id = $10",
           Params()
               .text(std::string(core::to_string(k.status)))
               .i64(k.level)
               .text(std::string(core::to_string(k.severity)))
               .text(k.account)
               .i64(k.assignee_id.value_or(0))
               .i64(to_unix_millis(k.updated_at))
               .text(sql::case_to_doc(k))
               .opt_text(timer_calendar(k.sla))
               .opt_i64(timer_mark(k.sla))
               .i64(k.id));
    const std::string added = sql::events_search_text(ch.events);
    if (!added.empty())
      c.exec("UPDATE case_text SET messages = messages || $1 WHERE case_id = $2",
             Params().text(added).i64(k.id));
    const std::string body = sql::case_search_text(k);
    if (body != sql::case_search_text(before) || k.subject != before.subject)
      c.exec("UPDATE case_text SET subject = $1, body = $2 WHERE case_id = $3",
             Params().text(k.subject).text(body).i64(k.id));
    write_events(c, ch.events);
    write_billable(c, ch.billable);
    write_notifications(c, ch.notifications);
    write_mail_part(c, ch);
  }

  // The case, locked until the end of the transaction: concurrent updates of one case
  // (from any node) run one after the other, each on the state the previous committed.
  static Result<std::optional<core::Case>> lock_case(Conn& c, int64_t id) {
    auto r = c.exec("SELECT doc FROM cases WHERE id = $1 FOR UPDATE", Params().i64(id));
    if (r.rows() == 0) return std::optional<core::Case>();
    auto k = sql::case_from_doc(r.text(0, 0));
    if (!k.ok()) return k.error();
    return std::optional<core::Case>(std::move(k).value());
  }

  // ---- group commit of creations --------------------------------------------------------

  struct CreateJob : pg::GroupJob {
    const ports::CaseBuilder* build = nullptr;
    std::optional<Result<core::Case>> result;
  };

  Result<core::Case> create(const ports::CaseBuilder& build) {
    if (!creates) return create_one(build);
    CreateJob job;
    job.build = &build;
    if (!creates->submit(job))
      return make_error(ErrorCode::kUnavailable, "too many pending writes; retry");
    return std::move(*job.result);
  }

  // One creation in its own transaction (a batch's members after the batch failed).
  Result<core::Case> create_one(const ports::CaseBuilder& build) {
    std::optional<core::Case> out;
    auto st = tx([&](Conn& c) -> Status {
      const int64_t id = c.exec("SELECT nextval('case_numbers')").i64(0, 0);
      auto change = build(id);
      if (!change.ok()) return change.error();
      if (change->inbound) ESCALA_TRY(write_inbound(c, *change->inbound, id));
      insert_case(c, *change);
      announce(c, *change);
      out = std::move(change->after);
      return ok_status();
    });
    if (!st.ok()) return st.error();
    return std::move(*out);
  }

  // Runs on a writer thread: numbers for the whole batch in one statement, the builders in
  // queue order (a failed builder's number goes to the next one), then the rows in
  // multi-row statements, the NOTIFY and the COMMIT in one pipeline: two round trips.
  void run_create_batch(std::unique_ptr<Conn>& conn, const std::vector<CreateJob*>& jobs) {
    int commit_at = -2;  // the COMMIT's place in the pipeline, once sent
    std::vector<CreateJob*> stored;
    std::vector<core::Change> changes;
    try {
      if (!conn) conn = std::make_unique<Conn>(conninfo);
      Conn& c = *conn;
      // The numbers first, outside the transaction (a sequence is not transactional).
      auto r = c.exec("SELECT nextval('case_numbers') FROM generate_series(1, $1)",
                      Params().i64(static_cast<long long>(jobs.size())));
      std::vector<int64_t> numbers;
      for (int i = 0; i < r.rows(); ++i) numbers.push_back(r.i64(i, 0));
      std::sort(numbers.begin(), numbers.end());
      changes.reserve(jobs.size());
      bool begun = false;  // a mail's ledger entry needs its answer: it is written first
      for (CreateJob* j : jobs) {
        const int64_t id = numbers[changes.size()];
        auto change = (*j->build)(id);
        if (!change.ok()) {
          j->result = change.error();
          continue;
        }
        if (change->inbound) {
          if (!begun) c.run("BEGIN");
          begun = true;
          auto st = write_inbound(c, *change->inbound, id);
          if (!st.ok()) {
            j->result = st.error();
            continue;
          }
        }
        changes.push_back(std::move(change).value());
        stored.push_back(j);
      }
      c.pipeline_begin();
      if (!begun) c.write("BEGIN");
      if (!changes.empty()) {
        insert_cases(c, changes);
        announce(c, changes);
      }
      commit_at = c.write("COMMIT");
      c.pipeline_sync();
    } catch (const std::exception& e) {
      if (conn) conn->recover();
      const auto* failed = dynamic_cast<const pg::PipelineError*>(&e);
      if (failed && commit_at >= 0 && (failed->index() < 0 || failed->index() == commit_at)) {
        // The outcome of the COMMIT is unknown: acknowledge nothing, repeat nothing.
        for (CreateJob* j : stored) j->result = db_error(e);
      } else {
        // Rolled back: nothing of the batch is stored. Each creation alone, so one bad
        // write cannot fail the others.
        for (CreateJob* j : jobs) j->result = create_one(*j->build);
      }
      return;
    }
    for (size_t i = 0; i < stored.size(); ++i) stored[i]->result = std::move(changes[i].after);
  }

  // insert_case for many new cases: the case rows, search texts and events in one
  // statement each; the rarer parts (billable item, notifications, mail) row by row.
  // Keep the columns in step with insert_case.
  static void insert_cases(Conn& c, const std::vector<core::Change>& changes) {
    pg::ArrayLiteral id, type, status, level, severity, account, assignee, created, updated,
        doc, sla_calendar, sla_mark;
    pg::ArrayLiteral t_id, t_subject, t_body, t_messages;
    pg::ArrayLiteral e_case, e_seq, e_type, e_at, e_actor, e_name, e_role, e_internal, e_data;
    for (const auto& ch : changes) {
      const core::Case& k = ch.after;
      id.i64(k.id);
      type.text(core::to_string(k.type));
      status.text(core::to_string(k.status));
      level.i64(k.level);
      severity.text(core::to_string(k.severity));
      account.text(k.account);
      assignee.i64(k.assignee_id.value_or(0));
      created.i64(to_unix_millis(k.created_at));
      updated.i64(to_unix_millis(k.updated_at));
      doc.text(sql::case_to_doc(k));
      if (auto cal = timer_calendar(k.sla)) sla_calendar.text(*cal);
      else sla_calendar.null();
      sla_mark.opt_i64(timer_mark(k.sla));
      t_id.i64(k.id);
      t_subject.text(k.subject);
      t_body.text(sql::case_search_text(k));
      t_messages.text(sql::events_search_text(ch.events));
      for (const auto& e : ch.events) {
        e_case.i64(e.case_id);
        e_seq.i64(e.seq);
        e_type.text(e.type);
        e_at.i64(to_unix_millis(e.at));
        e_actor.i64(e.actor_id);
        e_name.text(e.actor_name);
        e_role.text(core::to_string(e.actor_role));
        e_internal.boolean(e.internal);
        e_data.text(dump(e.data));
      }
    }
    c.write("INSERT INTO cases(id, type, status, level, severity, account, assignee_id,"
           " created_at, updated_at, doc, sla_calendar, sla_mark) SELECT * FROM"
           " unnest($1::bigint[], $2::text[], $3::text[], $4::integer[], $5::text[],"
           " $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[], $11::text[],"
           " $12::bigint[])",
           Params()
               .text(id.str())
               .text(type.str())
               .text(status.str())
               .text(level.str())
               .text(severity.str())
               .text(account.str())
               .text(assignee.str())
               .text(created.str())
               .text(updated.str())
               .text(doc.str())
               .text(sla_calendar.str())
               .text(sla_mark.str()));
    c.write("INSERT INTO case_text(case_id, subject, body, messages)"
           " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])",
           Params().text(t_id.str()).text(t_subject.str()).text(t_body.str()).text(
               t_messages.str()));
    if (e_case.size() > 0)
      c.write("INSERT INTO events(case_id, seq, type, at, actor_id, actor_name, actor_role,"
             " internal, data) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[],"
             " $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::boolean[], $9::text[])",
             Params()
                 .text(e_case.str())
                 .text(e_seq.str())
                 .text(e_type.str())
                 .text(e_at.str())
                 .text(e_actor.str())
                 .text(e_name.str())
                 .text(e_role.str())
                 .text(e_internal.str())
                 .text(e_data.str()));
    for (const auto& ch : changes) {
      write_billable(c, ch.billable);
      write_notifications(c, ch.notifications);
      write_mail_part(c, ch);
    }
  }

  std::string conninfo;
  std::string node_id;  // PgOptions::node_id
  pg::Pool pool;
  int version = 0;
  // Last: destroyed first, so the writers finish (and may still use the pool) before the
  // pool goes.
  std::unique_ptr<pg::GroupCommit<CreateJob>> creates;
};

Result<std::unique_ptr<PgStore>> PgStore::open(const PgOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  auto st = impl->init();
  if (!st.ok()) return st.error();
  return std::unique_ptr<PgStore>(new PgStore(std::move(impl)));
}

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgStore::~PgStore() = default;
int PgStore::schema_version() const { return impl_->version; }

// ---- CaseStore ----------------------------------------------------------------------------

Result<core::Case> PgStore::create(const ports::CaseBuilder& build) {
  return impl_->create(build);
}

Result<core::Case> PgStore::update(int64_t id, const ports::CaseMutator& mutate) {
  std::optional<core::Case> out;
  auto st = impl_->tx([&](Conn& c) -> Status {
    auto current = Impl::lock_case(c, id);
    if (!current.ok()) return current.error();
    if (!current.value()) return make_error(ErrorCode::kNotFound, "no such case");
    auto change = mutate(**current);
    if (!change.ok()) return change.error();
    const bool timer_moved =
        change->after.sla.next_timer_mark != (*current)->sla.next_timer_mark;
    const bool mail = change->inbound || !change->outbox.empty() || !change->thread_ids.empty();
    if (change->events.empty() && !timer_moved && !mail) {
      out = std::move(**current);
      return ok_status();
    }
    if (change->inbound) ESCALA_TRY(Impl::write_inbound(c, *change->inbound, id));
    Impl::update_case(c, **current, *change);
    impl_->announce(c, *change);
    out = std::move(change->after);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return std::move(*out);
}

Result<std::optional<core::Case>> PgStore::get(int64_t id) {
  return impl_->read<std::optional<core::Case>>([&](Conn& c) -> Result<std::optional<core::Case>> {
    auto r = c.exec("SELECT doc FROM cases WHERE id = $1", Params().i64(id));
    if (r.rows() == 0) return std::optional<core::Case>();
    auto k = sql::case_from_doc(r.text(0, 0));
    if (!k.ok()) return k.error();
    return std::optional<core::Case>(std::move(k).value());
  });
}

Result<ports::CasePage> PgStore::list(const ports::CaseQuery& q) {
  // The same terms as the SQLite store's FTS query (letters and digits, folded), all
  // required, each in Spanish or English (stemmed: escala_tsquery, migration 9); the
  // database folds accents of the stored text with unaccent.
  std::string terms;
  for (const auto& t : core::search_terms(q.text)) {
    if (t.size() > 64) continue;
    if (!terms.empty()) terms += ' ';
    terms += t;
  }
  if (!q.text.empty() && terms.empty()) return ports::CasePage{};
  return impl_->read<ports::CasePage>([&](Conn& c) -> Result<ports::CasePage> {
    Params p;
    std::string where;
    if (!terms.empty())
      where += " AND f.tsv @@ escala_tsquery(" + p.add_text(terms) + ")";
    if (q.status) where += " AND c.status = " + p.add_text(std::string(core::to_string(*q.status)));
    if (q.level) where += " AND c.level = " + p.add_i64(*q.level);
    if (q.severity)
      where += " AND c.severity = " + p.add_text(std::string(core::to_string(*q.severity)));
    if (q.type) where += " AND c.type = " + p.add_text(std::string(core::to_string(*q.type)));
    if (q.account) where += " AND c.account = " + p.add_text(*q.account);
    if (q.assignee) where += " AND c.assignee_id = " + p.add_i64(*q.assignee);
    if (q.created_from) where += " AND c.created_at >= " + p.add_i64(to_unix_millis(*q.created_from));
    if (q.created_before)
      where += " AND c.created_at < " + p.add_i64(to_unix_millis(*q.created_before));
    if (q.updated_from) where += " AND c.updated_at >= " + p.add_i64(to_unix_millis(*q.updated_from));
    const std::string from = terms.empty()
                                 ? " FROM cases c WHERE true"
                                 : " FROM case_text f JOIN cases c ON c.id = f.case_id WHERE true";
    ports::CasePage page;
    if (q.count_total) {
      if (terms.empty()) {
        page.total = c.exec(std::string("SELECT count(*)") + from + where, p).i64(0, 0);
      } else {
        // Counting every match of a frequent word costs more than the search: stop at
        // the cap and say so, as the SQLite store does.
        const long long total =
            c.exec("SELECT count(*) FROM (SELECT 1" + from + where + " LIMIT " +
                       std::to_string(q.search_count_cap + 1) + ") m",
                   p)
                .i64(0, 0);
        if (total > q.search_count_cap) {
          page.total = q.search_count_cap;
          page.total_exact = false;
        } else {
          page.total = total;
        }
      }
    }
    Params rp = p;
    std::string rows_where = where;
    if (q.before_id) rows_where += " AND c.id < " + rp.add_i64(*q.before_id);
    auto r = c.exec("SELECT c.doc" + from + rows_where + " ORDER BY c.id DESC LIMIT " +
                        rp.add_i64(q.limit + 1),
                    rp);
    for (int i = 0; i < r.rows(); ++i) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.next_before = page.items.back().id;
        break;
      }
      auto k = sql::case_from_doc(r.text(i, 0));
      if (!k.ok()) return k.error();
      page.items.push_back(std::move(k).value());
    }
    return page;
  });
}

Result<ports::EventPage> PgStore::events(const ports::EventQuery& q) {
  return impl_->read<ports::EventPage>([&](Conn& c) -> Result<ports::EventPage> {
    ports::EventPage page;
    page.total = c.exec("SELECT count(*) FROM events WHERE case_id = $1 AND (NOT internal OR $2)",
                        Params().i64(q.case_id).boolean(q.include_internal))
                     .i64(0, 0);
    auto r = c.exec(
        "SELECT seq, type, at, actor_id, actor_name, actor_role, internal, data FROM events"
        " WHERE case_id = $1 AND seq > $2 AND (NOT internal OR $3) ORDER BY seq LIMIT $4",
        Params().i64(q.case_id).i64(q.after_seq).boolean(q.include_internal).i64(q.limit + 1));
    for (int i = 0; i < r.rows(); ++i) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.next_after = page.items.back().seq;
        break;
      }
      page.items.push_back(event_of(r, i, q.case_id));
    }
    return page;
  });
}

Result<std::vector<core::BillableItem>> PgStore::billable_items(const std::string& account) {
  using Out = std::vector<core::BillableItem>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT id, case_id, kind, description, amount_cents, currency, at"
                    " FROM billable_items WHERE account = $1 ORDER BY id",
                    Params().text(account));
    Out out;
    for (int i = 0; i < r.rows(); ++i) {
      core::BillableItem b;
      b.id = r.i64(i, 0);
      b.account = account;
      b.case_id = r.i64(i, 1);
      b.kind = r.text(i, 2);
      b.description = r.text(i, 3);
      b.charge = core::Money{r.i64(i, 4), r.text(i, 5)};
      b.at = from_unix_millis(r.i64(i, 6));
      out.push_back(std::move(b));
    }
    return out;
  });
}

Result<std::optional<Millis>> PgStore::next_sla_mark(const std::string& calendar) {
  using Out = std::optional<Millis>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT min(sla_mark) FROM cases WHERE sla_calendar = $1"
                    " AND sla_mark IS NOT NULL",
                    Params().text(calendar));
    if (r.null(0, 0)) return Out();
    return Out(Millis{r.i64(0, 0)});
  });
}

Result<std::vector<int64_t>> PgStore::cases_with_due_timers(const std::string& calendar,
                                                            Millis mark, int limit) {
  using Out = std::vector<int64_t>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT id FROM cases WHERE sla_calendar = $1 AND sla_mark IS NOT NULL"
                    " AND sla_mark <= $2 ORDER BY sla_mark LIMIT $3",
                    Params().text(calendar).i64(mark.count()).i64(limit));
    Out out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(r.i64(i, 0));
    return out;
  });
}

Result<std::vector<core::Notification>> PgStore::notifications(int64_t user_id, int64_t before_id,
                                                               int limit) {
  using Out = std::vector<core::Notification>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT id, case_id, kind, subject, body, created_at FROM notifications"
                    " WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                    Params().i64(user_id).i64(before_id > 0 ? before_id : INT64_MAX).i64(limit));
    Out out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(core::Notification{r.i64(i, 0), user_id, r.i64(i, 1), r.text(i, 2),
                                       r.text(i, 3), r.text(i, 4), from_unix_millis(r.i64(i, 5))});
    return out;
  });
}

Result<int64_t> PgStore::update_cases_with_legacy_timers(const ports::CaseMutator& mutate) {
  int64_t changed = 0;
  auto st = impl_->tx([&](Conn& c) -> Status {
    changed = 0;
    // In pages by id (locks taken in id order, as single updates take one), so memory
    // stays bounded; each visited case loses its instant.
    for (;;) {
      auto r = c.exec("SELECT id, doc FROM cases WHERE sla_next_at IS NOT NULL"
                      " ORDER BY id LIMIT 1000 FOR UPDATE");
      if (r.rows() == 0) break;
      for (int i = 0; i < r.rows(); ++i) {
        auto current = sql::case_from_doc(r.text(i, 1));
        if (!current.ok()) return current.error();
        auto change = mutate(*current);
        if (!change.ok()) return change.error();
        Impl::update_case(c, *current, *change);  // clears sla_next_at
        ++changed;
      }
    }
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return changed;
}

// ---- DirectoryStore -----------------------------------------------------------------------

Result<core::Account> PgStore::create_account(const core::Account& a) {
  auto st = impl_->tx([&](Conn& c) -> Status {
    auto r = c.exec("INSERT INTO accounts(code, name, timezone, language, contract, created_at)"
                    " VALUES($1, $2, $3, $4, $5, $6) ON CONFLICT (code) DO NOTHING",
                    Params()
                        .text(a.code)
                        .text(a.name)
                        .text(a.timezone)
                        .text(a.language)
                        .text(sql::contract_to_doc(a.contract))
                        .i64(to_unix_millis(a.created_at)));
    if (r.affected() == 0)
      return make_error(ErrorCode::kAlreadyExists, "the account code is taken", "code");
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return a;
}

Result<core::Account> PgStore::update_account(const core::Account& a) {
  auto st = impl_->tx([&](Conn& c) -> Status {
    auto r = c.exec("UPDATE accounts SET name = $1, timezone = $2, language = $3, contract = $4"
                    " WHERE code = $5",
                    Params()
                        .text(a.name)
                        .text(a.timezone)
                        .text(a.language)
                        .text(sql::contract_to_doc(a.contract))
                        .text(a.code));
    if (r.affected() == 0) return make_error(ErrorCode::kNotFound, "no account " + a.code);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return a;
}

Result<std::optional<core::Account>> PgStore::get_account(const std::string& code) {
  using Out = std::optional<core::Account>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT code, name, timezone, language, contract, created_at FROM accounts"
                    " WHERE code = $1",
                    Params().text(code));
    if (r.rows() == 0) return Out();
    return Out(account_of(r, 0));
  });
}

Result<std::vector<core::Account>> PgStore::list_accounts(const std::string& after, int limit) {
  using Out = std::vector<core::Account>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT code, name, timezone, language, contract, created_at FROM accounts"
                    " WHERE code > $1 ORDER BY code LIMIT $2",
                    Params().text(after).i64(limit));
    Out out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(account_of(r, i));
    return out;
  });
}

Result<core::Contact> PgStore::create_contact(const core::Contact& ct) {
  core::Contact out = ct;
  auto st = impl_->tx([&](Conn& c) -> Status {
    if (c.exec("SELECT 1 FROM accounts WHERE code = $1", Params().text(ct.account)).rows() == 0)
      return make_error(ErrorCode::kNotFound, "no account " + ct.account);
    out.id = c.exec("INSERT INTO contacts(account, name, email, phone, language, created_at)"
                    " VALUES($1, $2, $3, $4, $5, $6) RETURNING id",
                    Params()
                        .text(ct.account)
                        .text(ct.name)
                        .text(ct.email)
                        .text(ct.phone)
                        .text(ct.language)
                        .i64(to_unix_millis(ct.created_at)))
                 .i64(0, 0);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::optional<core::Contact>> PgStore::get_contact(int64_t id) {
  using Out = std::optional<core::Contact>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto found = contacts_of(c.exec(std::string(kContactColumns) + "WHERE id = $1", Params().i64(id)));
    if (found.empty()) return Out();
    return Out(std::move(found.front()));
  });
}

Result<std::vector<core::Contact>> PgStore::list_contacts(const std::string& account) {
  using Out = std::vector<core::Contact>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    return contacts_of(
        c.exec(std::string(kContactColumns) + "WHERE account = $1 ORDER BY id", Params().text(account)));
  });
}

Result<std::vector<core::Contact>> PgStore::find_contacts_by_email(const std::string& email) {
  using Out = std::vector<core::Contact>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    return contacts_of(c.exec(std::string(kContactColumns) + "WHERE lower(email) = $1 ORDER BY id",
                              Params().text(core::ascii_lower(email))));
  });
}

Result<std::optional<std::string>> PgStore::account_for_email_domain(const std::string& domain) {
  using Out = std::optional<std::string>;
  if (domain.empty()) return Out();
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    // The domain is matched as a suffix after '@' without LIKE (no wildcard to escape).
    auto r = c.exec("SELECT account FROM contacts WHERE right(lower(email), $2) = $1"
                    " ORDER BY id LIMIT 1",
                    Params().text("@" + core::ascii_lower(domain)).i64(static_cast<long long>(domain.size()) + 1));
    if (r.rows() == 0) return Out();
    return Out(r.text(0, 0));
  });
}

Result<int64_t> PgStore::set_email_failure(const std::string& email, const std::string& failure) {
  int64_t changed = 0;
  auto st = impl_->tx([&](Conn& c) -> Status {
    changed = c.exec("UPDATE contacts SET email_failure = $1 WHERE lower(email) = $2"
                     " AND email_failure <> $1",
                     Params().text(failure).text(core::ascii_lower(email)))
                  .affected();
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return changed;
}

Result<core::User> PgStore::create_user(const core::User& u) {
  core::User out = u;
  auto st = impl_->tx([&](Conn& c) -> Status {
    auto r = c.exec("INSERT INTO users(email, name, role, level, specialties, account, language,"
                    " timezone, password_hash, active, created_at)"
                    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                    " ON CONFLICT (email) DO NOTHING RETURNING id",
                    Params()
                        .text(u.email)
                        .text(u.name)
                        .text(std::string(core::to_string(u.role)))
                        .i64(u.level)
                        .text(Json(u.specialties).dump())
                        .text(u.account)
                        .text(u.language)
                        .text(u.timezone)
                        .text(u.password_hash)
                        .boolean(u.active)
                        .i64(to_unix_millis(u.created_at)));
    if (r.rows() == 0) return make_error(ErrorCode::kAlreadyExists, "the email is taken", "email");
    out.id = r.i64(0, 0);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::optional<core::User>> PgStore::get_user(int64_t id) {
  using Out = std::optional<core::User>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto users = users_of(c.exec(std::string(kUserColumns) + "WHERE id = $1", Params().i64(id)));
    if (users.empty()) return Out();
    return Out(std::move(users.front()));
  });
}

Result<std::optional<core::User>> PgStore::find_user_by_email(const std::string& email) {
  using Out = std::optional<core::User>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto users = users_of(c.exec(std::string(kUserColumns) + "WHERE email = $1", Params().text(email)));
    if (users.empty()) return Out();
    return Out(std::move(users.front()));
  });
}

Result<std::vector<core::User>> PgStore::list_users(int64_t after_id, int limit) {
  using Out = std::vector<core::User>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    return users_of(c.exec(std::string(kUserColumns) + "WHERE id > $1 ORDER BY id LIMIT $2",
                           Params().i64(after_id).i64(limit)));
  });
}

// Rows of a table of ours (the name is never user input).
Result<int64_t> PgStore::count_rows(const char* table) {
  return impl_->read<int64_t>([&](Conn& c) -> Result<int64_t> {
    return static_cast<int64_t>(c.exec(std::string("SELECT count(*) FROM ") + table).i64(0, 0));
  });
}

Result<int64_t> PgStore::count_users() { return count_rows("users"); }
Result<int64_t> PgStore::count_accounts() { return count_rows("accounts"); }

Status PgStore::set_user_quiet(int64_t user_id, bool quiet) {
  return impl_->tx([&](Conn& c) -> Status {
    if (c.exec("UPDATE users SET quiet = $1 WHERE id = $2", Params().boolean(quiet).i64(user_id))
            .affected() == 0)
      return make_error(ErrorCode::kNotFound, "no such user");
    return ok_status();
  });
}

Status PgStore::create_session(const ports::Session& s) {
  return impl_->tx([&](Conn& c) -> Status {
    // Expired sessions are swept as new ones arrive, so the table stays small.
    c.exec("DELETE FROM sessions WHERE expires_at < $1", Params().i64(to_unix_millis(s.created_at)));
    c.exec("INSERT INTO sessions(token_hash, user_id, created_at, expires_at)"
           " VALUES($1, $2, $3, $4)",
           Params()
               .text(s.token_hash)
               .i64(s.user_id)
               .i64(to_unix_millis(s.created_at))
               .i64(to_unix_millis(s.expires_at)));
    return ok_status();
  });
}

Result<std::optional<ports::Session>> PgStore::find_session(const std::string& token_hash) {
  using Out = std::optional<ports::Session>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT user_id, created_at, expires_at FROM sessions WHERE token_hash = $1",
                    Params().text(token_hash));
    if (r.rows() == 0) return Out();
    return Out(ports::Session{token_hash, r.i64(0, 0), from_unix_millis(r.i64(0, 1)),
                              from_unix_millis(r.i64(0, 2))});
  });
}

Status PgStore::delete_session(const std::string& token_hash) {
  return impl_->tx([&](Conn& c) -> Status {
    c.exec("DELETE FROM sessions WHERE token_hash = $1", Params().text(token_hash));
    return ok_status();
  });
}

Result<int64_t> PgStore::change_password(int64_t user_id, const std::string& password_hash,
                                         const std::string& keep_token_hash) {
  int64_t ended = 0;
  auto st = impl_->tx([&](Conn& c) -> Status {
    if (c.exec("UPDATE users SET password_hash = $1 WHERE id = $2",
               Params().text(password_hash).i64(user_id))
            .affected() == 0)
      return make_error(ErrorCode::kNotFound, "no such user");
    ended = c.exec("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2",
                   Params().i64(user_id).text(keep_token_hash))
                .affected();
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return ended;
}

Result<std::optional<core::Json>> PgStore::get_setting(const std::string& key) {
  using Out = std::optional<core::Json>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT value FROM settings WHERE key = $1", Params().text(key));
    if (r.rows() == 0) return Out();
    auto j = Json::parse(r.text(0, 0), nullptr, false);
    if (j.is_discarded()) return make_error(ErrorCode::kInternal, "setting " + key + " is not JSON");
    return Out(std::move(j));
  });
}

Status PgStore::put_setting(const std::string& key, const core::Json& value) {
  return impl_->tx([&](Conn& c) -> Status {
    c.exec("INSERT INTO settings(key, value) VALUES($1, $2)"
           " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
           Params().text(key).text(value.dump()));
    return ok_status();
  });
}

Status PgStore::put_setting_with_event(const std::string& key, const core::Json& value,
                                       const DeskEvent& event,
                                       const std::optional<core::Json>& expected) {
  return impl_->tx([&](Conn& c) -> Status {
    if (expected) {
      // Writers of this key take turns until commit (an absent row has nothing to lock
      // with FOR UPDATE), then compare with what the caller read.
      c.exec("SELECT pg_advisory_xact_lock(hashtext('escala.setting'), hashtext($1))",
             Params().text(key));
      auto r = c.exec("SELECT value FROM settings WHERE key = $1", Params().text(key));
      const Json now = r.rows() ? Json::parse(r.text(0, 0), nullptr, false) : Json();
      if (now != *expected)
        return make_error(ErrorCode::kConflict, "setting " + key + " changed since it was read");
    }
    c.exec("INSERT INTO settings(key, value) VALUES($1, $2)"
           " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
           Params().text(key).text(value.dump()));
    c.exec("INSERT INTO desk_events(at, actor_id, actor_name, type, data)"
           " VALUES($1, $2, $3, $4, $5)",
           Params()
               .i64(to_unix_millis(event.at))
               .i64(event.actor_id)
               .text(event.actor_name)
               .text(event.type)
               .text(event.data.dump()));
    return ok_status();
  });
}

Result<std::vector<ports::DirectoryStore::DeskEvent>> PgStore::desk_events(int64_t before_id,
                                                                          int limit) {
  using Out = std::vector<DeskEvent>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT id, at, actor_id, actor_name, type, data FROM desk_events"
                    " WHERE id < $1 ORDER BY id DESC LIMIT $2",
                    Params().i64(before_id > 0 ? before_id : INT64_MAX).i64(limit));
    Out out;
    for (int i = 0; i < r.rows(); ++i)
      out.push_back(DeskEvent{r.i64(i, 0), from_unix_millis(r.i64(i, 1)), r.i64(i, 2),
                              r.text(i, 3), r.text(i, 4),
                              core::Json::parse(r.text(i, 5), nullptr, false)});
    return out;
  });
}

// ---- MailStore ----------------------------------------------------------------------------

Result<std::optional<core::InboundRecord>> PgStore::find_inbound(const std::string& key) {
  using Out = std::optional<core::InboundRecord>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec(std::string("SELECT ") + kInboundColumns + " FROM inbound_mail WHERE key = $1",
                    Params().text(key));
    if (r.rows() == 0) return Out();
    return Out(inbound_of(r, 0));
  });
}

Status PgStore::record_inbound(const core::InboundRecord& record,
                               const std::vector<core::StoredBlob>& blobs,
                               const std::vector<core::OutboxMessage>& outbox) {
  return impl_->tx([&](Conn& c) -> Status {
    ESCALA_TRY(Impl::write_inbound(c, record, record.case_id));
    for (const auto& b : blobs) Impl::put_blob(c, b);
    Impl::write_outbox(c, outbox, record.case_id);
    return ok_status();
  });
}

Result<std::optional<int64_t>> PgStore::case_for_message_ids(const std::vector<std::string>& ids) {
  using Out = std::optional<int64_t>;
  if (ids.empty()) return Out();
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    // The most recent id first: a reply's In-Reply-To names the latest message.
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      auto r = c.exec("SELECT case_id FROM mail_threads WHERE message_id = $1", Params().text(*it));
      if (r.rows() > 0) return Out(r.i64(0, 0));
    }
    return Out();
  });
}

Result<std::optional<std::string>> PgStore::get_blob(const std::string& sha256) {
  using Out = std::optional<std::string>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    // Binary results: the bytes as stored, no hex decoding.
    auto r = c.exec("SELECT data FROM blobs WHERE sha256 = $1", Params().text(sha256),
                    pg::ResultFormat::kBinary);
    if (r.rows() == 0) return Out();
    return Out(r.text(0, 0));
  });
}

Result<std::vector<core::OutboxMessage>> PgStore::claim_outbox(Instant now, Millis lease, int limit) {
  std::vector<core::OutboxMessage> out;
  auto st = impl_->tx([&](Conn& c) -> Status {
    out.clear();
    // SKIP LOCKED: nodes claiming at once take disjoint messages instead of waiting on
    // each other; a row another node holds is simply someone else's work.
    auto r = c.exec(
        "WITH due AS (SELECT id, next_attempt_at FROM outbox"
        " WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1"
        " ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)"
        " UPDATE outbox o SET status = 'sending', attempts = o.attempts + 1,"
        " next_attempt_at = $3 FROM due WHERE o.id = due.id"
        " RETURNING due.next_attempt_at, o.id, o.case_id, o.kind, o.envelope_from,"
        " o.recipients, o.mail, o.automatic, o.status, o.attempts, o.next_attempt_at,"
        " o.last_error, o.created_at, o.sent_at",
        Params().i64(to_unix_millis(now)).i64(limit).i64(to_unix_millis(now + lease)));
    std::vector<std::pair<long long, core::OutboxMessage>> claimed;
    for (int i = 0; i < r.rows(); ++i) claimed.emplace_back(r.i64(i, 0), outbox_of(r, i, 1));
    // Oldest first (RETURNING keeps no order).
    std::sort(claimed.begin(), claimed.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second.id < b.second.id;
    });
    for (auto& [due, m] : claimed) out.push_back(std::move(m));
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<int64_t>> PgStore::renew_outbox_claims(const std::vector<OutboxClaim>& claims,
                                                          Instant until) {
  std::vector<int64_t> held;
  if (claims.empty()) return held;
  std::string ids = "{", attempts = "{";  // array literals of integers
  for (const auto& c : claims) {
    if (ids.size() > 1) ids += ',', attempts += ',';
    ids += std::to_string(c.id);
    attempts += std::to_string(c.attempt);
  }
  ids += '}', attempts += '}';
  auto st = impl_->tx([&](Conn& c) -> Status {
    held.clear();
    // A claim is (id, attempt): a message re-claimed by another sender after its lease ran
    // out has a higher attempt, so its old holder's renewal changes nothing.
    auto r = c.exec(
        "UPDATE outbox o SET next_attempt_at = $1 FROM unnest($2::bigint[], $3::int[]) AS k(id, a)"
        " WHERE o.id = k.id AND o.attempts = k.a AND o.status = 'sending' RETURNING o.id",
        Params().i64(to_unix_millis(until)).text(ids).text(attempts));
    for (int i = 0; i < r.rows(); ++i) held.push_back(r.i64(i, 0));
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return held;
}

Status PgStore::outbox_sent(int64_t id, Instant at) {
  return impl_->tx([&](Conn& c) -> Status {
    c.exec("UPDATE outbox SET status = 'sent', sent_at = $1, last_error = '' WHERE id = $2",
           Params().i64(to_unix_millis(at)).i64(id));
    return ok_status();
  });
}

Status PgStore::outbox_retry(int64_t id, Instant next_at, const std::string& error) {
  return impl_->tx([&](Conn& c) -> Status {
    c.exec("UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = $2"
           " WHERE id = $3 AND status <> 'sent'",
           Params().i64(to_unix_millis(next_at)).text(error).i64(id));
    return ok_status();
  });
}

Status PgStore::outbox_failed(int64_t id, const std::string& error) {
  return impl_->tx([&](Conn& c) -> Status {
    c.exec("UPDATE outbox SET status = 'failed', last_error = $1 WHERE id = $2 AND status <> 'sent'",
           Params().text(error).i64(id));
    return ok_status();
  });
}

Result<std::optional<Instant>> PgStore::next_outbox_due() {
  using Out = std::optional<Instant>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT min(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending')");
    if (r.null(0, 0)) return Out();
    return Out(from_unix_millis(r.i64(0, 0)));
  });
}

Result<std::vector<core::OutboxMessage>> PgStore::outbox_for_case(int64_t case_id) {
  using Out = std::vector<core::OutboxMessage>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT " ESCALA_PG_OUTBOX_COLUMNS
                    " FROM outbox WHERE case_id = $1 ORDER BY id LIMIT 1000",
                    Params().i64(case_id));
    Out out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(outbox_of(r, i));
    return out;
  });
}

Result<int64_t> PgStore::count_automatic_to(const std::string& address, Instant since) {
  return impl_->read<int64_t>([&](Conn& c) -> Result<int64_t> {
    return static_cast<int64_t>(
        c.exec("SELECT count(*) FROM outbox WHERE automatic AND first_recipient = $1"
               " AND created_at >= $2",
               Params().text(core::ascii_lower(address)).i64(to_unix_millis(since)))
            .i64(0, 0));
  });
}

Result<std::vector<std::pair<std::string, int64_t>>> PgStore::outbox_counts() {
  using Out = std::vector<std::pair<std::string, int64_t>>;
  return impl_->read<Out>([&](Conn& c) -> Result<Out> {
    auto r = c.exec("SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status");
    Out out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0), r.i64(i, 1));
    return out;
  });
}

// ---- moving a desk (escala export / import) ---------------------------------------------

Status PgStore::export_rows(const DumpRowSink& sink) {
  try {
    auto c = impl_->pool.lease();
    // One snapshot for every table; the desk may keep serving.
    c->run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    for (const auto& t : sql::dump_tables()) {
      std::string q = "DECLARE dump_rows NO SCROLL CURSOR FOR SELECT ";
      for (size_t i = 0; i < t.columns.size(); ++i) {
        const auto& col = t.columns[i];
        q += i ? ", " : "";
        switch (col.kind) {
          case sql::ColumnKind::kBool: q += col.name + "::int"; break;
          case sql::ColumnKind::kBytes: q += "encode(" + col.name + ", 'base64')"; break;
          default: q += col.name;
        }
      }
      c->run(q + " FROM " + t.name + " ORDER BY " + t.order_by);
      for (;;) {
        Res r = c->exec_once("FETCH 500 FROM dump_rows", Params());
        for (int i = 0; i < r.rows(); ++i) {
          Json row = Json::array();
          for (int k = 0; k < static_cast<int>(t.columns.size()); ++k) {
            if (r.null(i, k)) {
              row.push_back(nullptr);
              continue;
            }
            switch (t.columns[static_cast<size_t>(k)].kind) {
              case sql::ColumnKind::kInt:
              case sql::ColumnKind::kBool: row.push_back(static_cast<int64_t>(r.i64(i, k))); break;
              case sql::ColumnKind::kText: row.push_back(r.text(i, k)); break;
              case sql::ColumnKind::kBytes: {
                std::string b64 = r.text(i, k);  // PostgreSQL breaks lines every 76 characters
                b64.erase(std::remove(b64.begin(), b64.end(), '\n'), b64.end());
                row.push_back(Json{{"base64", std::move(b64)}});
                break;
              }
            }
          }
          if (auto st = sink(t.name, row); !st.ok()) {
            c->run("ROLLBACK");
            return st;
          }
        }
        if (r.rows() < 500) break;
      }
      c->run("CLOSE dump_rows");
    }
    c->run("COMMIT");
    return ok_status();
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Status PgStore::import_rows(const DumpRowSource& next) {
  bool started = false;
  return impl_->tx([&](Conn& c) -> Status {
    // The rows are a stream: a transaction that has to run again cannot read them twice.
    if (started)
      return make_error(ErrorCode::kUnavailable,
                        "the import was interrupted by a conflicting transaction; drop the "
                        "target database and run it again");
    started = true;
    Res held = c.exec("SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM users)"
                      " + (SELECT count(*) FROM accounts)");
    if (held.i64(0, 0) > 0)
      return make_error(ErrorCode::kAlreadyExists,
                        "the target desk already holds cases, users or accounts; import into a new one");
    // The settings a fresh desk writes for itself (defaults, secrets) give way to the
    // imported ones.
    c.exec("DELETE FROM settings");
    std::map<std::string, std::string> inserts;
    std::string table;
    Json row;
    for (;;) {
      auto more = next(table, row);
      if (!more.ok()) return more.error();
      if (!*more) break;
      const sql::DumpTable* t = sql::find_dump_table(table);
      if (!t) return make_error(ErrorCode::kInvalidArgument, "unknown table " + table, "table");
      if (!row.is_array() || row.size() != t->columns.size())
        return make_error(ErrorCode::kInvalidArgument,
                          "a row of " + table + " needs " + std::to_string(t->columns.size()) +
                              " values");
      std::string& q = inserts[table];
      if (q.empty()) {
        std::string marks;
        q = "INSERT INTO " + table + "(";
        for (size_t i = 0; i < t->columns.size(); ++i) {
          q += (i ? ", " : "") + t->columns[i].name;
          const std::string n = "$" + std::to_string(i + 1);
          marks += (i ? ", " : "") +
                   (t->columns[i].kind == sql::ColumnKind::kBytes ? "decode(" + n + ", 'base64')" : n);
        }
        q += ") VALUES(" + marks + ")";
      }
      Params p;
      for (size_t i = 0; i < row.size(); ++i) {
        const Json& v = row[i];
        const auto& col = t->columns[i];
        const std::string where = table + "." + col.name;
        if (v.is_null()) {
          p.null();
          continue;
        }
        switch (col.kind) {
          case sql::ColumnKind::kInt:
          case sql::ColumnKind::kBool:
            if (!v.is_number_integer())
              return make_error(ErrorCode::kInvalidArgument, "must be an integer", where);
            if (col.kind == sql::ColumnKind::kBool) p.boolean(v.get<int64_t>() != 0);
            else p.i64(v.get<int64_t>());
            break;
          case sql::ColumnKind::kText:
            if (!v.is_string())
              return make_error(ErrorCode::kInvalidArgument, "must be a string", where);
            p.text(v.get<std::string>());
            break;
          case sql::ColumnKind::kBytes:
            if (!v.is_object() || !v.contains("base64") || !v["base64"].is_string())
              return make_error(ErrorCode::kInvalidArgument, "must be {\"base64\": ...}", where);
            p.text(v["base64"].get<std::string>());
            break;
        }
      }
      c.exec(q, p);
    }
    // Numbering continues after what was imported.
    c.exec("SELECT setval('case_numbers', GREATEST((SELECT coalesce(max(id), 0) FROM cases), 1),"
           " (SELECT count(*) FROM cases) > 0)");
    for (const char* t : {"contacts", "users", "billable_items", "notifications", "desk_events", "outbox"})
      c.exec(std::string("SELECT setval(pg_get_serial_sequence('") + t + "', 'id'),"
             " GREATEST(coalesce(max(id), 0), 1), max(id) IS NOT NULL) FROM " + t);
    return ok_status();
  });
}

}  // namespace escala::adapters
