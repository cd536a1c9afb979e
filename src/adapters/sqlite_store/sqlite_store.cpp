#include "adapters/sqlite_store/sqlite_store.hpp"

#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <functional>
#include <mutex>
#include <semaphore>
#include <thread>

#include "adapters/sql_common/codec.hpp"
#include "adapters/sql_common/dump.hpp"
#include "adapters/sqlite_store/schema.hpp"
#include "adapters/sqlite_store/stmt_cache.hpp"
#include "core/text.hpp"

namespace escala::adapters {
namespace {

using core::Json;
using Session = soci::session;

Error db_error(const std::exception& e) {
  return make_error(ErrorCode::kUnavailable, std::string("database: ") + e.what());
}

// A bound parameter of a dynamically built query. Kept in a deque so addresses stay valid.
struct Param {
  bool is_int = false;
  long long i = 0;
  std::string s;
};

class Query {
 public:
  void add(const std::string& sql_part) { sql_ += sql_part; }
  void bind_int(long long v) { params_.push_back(Param{true, v, {}}); }
  void bind_text(std::string v) { params_.push_back(Param{false, 0, std::move(v)}); }
  const std::string& sql() const { return sql_; }
  void exchange_uses(soci::statement& st) {
    for (auto& p : params_) {
      if (p.is_int) st.exchange(soci::use(p.i));
      else st.exchange(soci::use(p.s));
    }
  }

 private:
  std::string sql_;
  std::deque<Param> params_;
};

core::Event read_event_row(long long case_id, long long seq, const std::string& type, long long at,
                           long long actor_id, const std::string& actor_name,
                           const std::string& actor_role, int internal, const std::string& data) {
  core::Event e;
  e.case_id = case_id;
  e.seq = seq;
  e.type = type;
  e.at = from_unix_millis(at);
  e.actor_id = actor_id;
  e.actor_name = actor_name;
  e.actor_role = actor_role == "system" ? core::Role::kSystem
                                        : core::parse_role(actor_role).value_or(core::Role::kSystem);
  e.internal = internal != 0;
  e.data = Json::parse(data, nullptr, false);
  if (e.data.is_discarded()) e.data = Json::object();
  return e;
}

}  // namespace

class SqliteStore::Impl {
 public:
  explicit Impl(SqliteOptions o) : opt(std::move(o)) {}

  ~Impl() {
    {
      std::lock_guard lock(q_mu);
      stopping = true;
    }
    q_cv.notify_all();
    if (thread.joinable()) thread.join();
  }

  std::unique_ptr<Session> connect() {
    auto s = std::make_unique<Session>(soci::sqlite3, "db=" + opt.path + " timeout=30");
    *s << "PRAGMA journal_mode=WAL";
    *s << (opt.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    *s << "PRAGMA foreign_keys=ON";
    *s << "PRAGMA busy_timeout=30000";
    return s;
  }

  Status init() {
    try {
      writer = connect();
      *writer << "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY,"
                 " description TEXT NOT NULL)";
      long long current = 0;
      soci::indicator ind;
      *writer << "SELECT max(version) FROM schema_migrations", soci::into(current, ind);
      if (ind == soci::i_null) current = 0;
      for (const auto& m : sqlite::migrations()) {
        if (m.version <= current) continue;
        soci::transaction tx(*writer);
        for (const auto& stmt : m.statements) *writer << stmt;
        if (m.version == 1) {
          std::string defaults = sqlite::seed_defaults_json();
          *writer << "INSERT INTO settings(key, value) VALUES('defaults', :v)",
              soci::use(defaults);
        }
        int v = m.version;
        std::string d = m.description;
        *writer << "INSERT INTO schema_migrations(version, description) VALUES(:v, :d)",
            soci::use(v), soci::use(d);
        tx.commit();
        current = m.version;
      }
      version = static_cast<int>(current);
      *writer << "SELECT value FROM counters WHERE name = 'case'", soci::into(next_case_id);
      ++next_case_id;
      for (int i = 0; i < std::max(1, opt.read_connections); ++i)
        readers.push_back(std::make_unique<Reader>(connect()));
    } catch (const std::exception& e) {
      return db_error(e);
    }
    thread = std::thread([this] { run_writer(); });
    return ok_status();
  }

  // ---- writes -------------------------------------------------------------------------

  struct Job {
    std::function<Status(Session&)> run;
    Status result;
    std::binary_semaphore done{0};  // released by the writer once the batch is durable
  };

  // Runs `fn` inside the next group commit and returns once that commit is durable. `fn`
  // must either fail before it writes anything, or throw (which rolls the batch back and
  // retries the others alone).
  Status write(std::function<Status(Session&)> fn) {
    Job job{std::move(fn), {}};
    bool wake;
    {
      std::lock_guard lock(q_mu);
      if (stopping) return make_error(ErrorCode::kUnavailable, "the store is shutting down");
      if (static_cast<int>(queue.size()) >= opt.max_queue)
        return make_error(ErrorCode::kUnavailable, "too many pending writes; retry");
      queue.push_back(&job);
      wake = writer_idle;
    }
    if (wake) q_cv.notify_one();
    job.done.acquire();
    return job.result;
  }

  void run_writer() {
    sqlite::StmtCache cache(handle(*writer));
    tl_stmts = &cache;
    struct Unset {
      ~Unset() { tl_stmts = nullptr; }
    } unset;
    std::vector<Job*> batch;
    for (;;) {
      batch.clear();
      {
        std::unique_lock lock(q_mu);
        writer_idle = true;
        q_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        writer_idle = false;
        if (queue.empty()) return;  // stopping
        while (!queue.empty() && static_cast<int>(batch.size()) < opt.max_batch) {
          batch.push_back(queue.front());
          queue.pop_front();
        }
      }
      run_batch(batch);
      // Each caller wakes alone: no herd of waiters re-checking a shared condition.
      for (Job* j : batch) j->done.release();
    }
  }

  void run_batch(const std::vector<Job*>& batch) {
    const int64_t saved_next = next_case_id;
    try {
      *writer << "BEGIN IMMEDIATE";
      for (Job* j : batch) j->result = j->run(*writer);
      if (next_case_id != saved_next) {
        // One counter write per batch, in the batch's transaction: numbers are never reused.
        long long last = next_case_id - 1;
        *writer << "UPDATE counters SET value = :v WHERE name = 'case'", soci::use(last);
      }
      *writer << "COMMIT";
    } catch (const std::exception& e) {
      try {
        *writer << "ROLLBACK";
      } catch (const std::exception&) {
      }
      next_case_id = saved_next;
      if (batch.size() == 1) {
        batch[0]->result = db_error(e);
        return;
      }
      for (Job* j : batch) run_batch({j});  // isolate the failing write
    }
  }

  // ---- reads ----------------------------------------------------------------------------

  // A read connection with the statements of the hot read paths prepared once.
  struct Reader {
    explicit Reader(std::unique_ptr<Session> s) : session(std::move(s)) {
      get_case = std::make_unique<soci::statement>(
          (session->prepare << "SELECT doc FROM cases WHERE id = :id", soci::use(case_id),
           soci::into(doc, doc_ind)));
    }
    Result<std::optional<core::Case>> read_case(long long id) {
      case_id = id;
      bool found = get_case->execute(true);
      // A stepped statement that is not reset keeps its read transaction, and with it an
      // old snapshot of the database, open: reset at once (regression: stale reads).
      static_cast<soci::sqlite3_statement_backend*>(get_case->get_backend())->reset();
      if (!found) return std::optional<core::Case>();
      auto c = sql::case_from_doc(doc);
      if (!c.ok()) return c.error();
      return std::optional<core::Case>(std::move(c).value());
    }

    std::unique_ptr<Session> session;
    long long case_id = 0;
    std::string doc;
    soci::indicator doc_ind = soci::i_ok;
    std::unique_ptr<soci::statement> get_case;
    // For the C-API reads (64-bit integers: SOCI's row types SQLite INTEGER columns as
    // int and truncated epoch milliseconds — regression: outbox times read as 1970).
    sqlite::StmtCache cache{static_cast<soci::sqlite3_session_backend*>(session->get_backend())->conn_};
  };

  class Lease {
   public:
    Lease(Impl& impl, std::unique_ptr<Reader> r) : impl_(impl), r_(std::move(r)) {}
    ~Lease() {
      {
        std::lock_guard lock(impl_.pool_mu);
        impl_.readers.push_back(std::move(r_));
      }
      impl_.pool_cv.notify_one();
    }
    Session& operator*() { return *r_->session; }
    Reader& reader() { return *r_; }

   private:
    Impl& impl_;
    std::unique_ptr<Reader> r_;
  };

  Lease lease() {
    std::unique_lock lock(pool_mu);
    pool_cv.wait(lock, [&] { return !readers.empty(); });
    auto r = std::move(readers.back());
    readers.pop_back();
    return Lease(*this, std::move(r));
  }

  // ---- case rows --------------------------------------------------------------------------

  // The writer thread's statement cache (set in run_writer: every write job runs there).
  static inline thread_local sqlite::StmtCache* tl_stmts = nullptr;
  static sqlite::StmtCache& stmts() {
    if (!tl_stmts) throw std::logic_error("a write outside the writer thread");
    return *tl_stmts;
  }

  static void write_events(Session&, const std::vector<core::Event>& events) {
    for (const auto& e : events) {
      const std::string role(core::to_string(e.actor_role));
      const std::string data = e.data.dump(-1, ' ', false, Json::error_handler_t::replace);
      stmts()
          .get("INSERT INTO events(case_id, seq, type, at, actor_id, actor_name, actor_role,"
               " internal, data) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, e.case_id)
          .bind(2, e.seq)
          .bind(3, e.type)
          .bind(4, to_unix_millis(e.at))
          .bind(5, e.actor_id)
          .bind(6, e.actor_name)
          .bind(7, role)
          .bind(8, e.internal ? 1LL : 0LL)
          .bind(9, data)
          .run();
    }
  }

  static void write_billable(Session& sql, const std::optional<core::BillableItem>& b) {
    if (!b) return;
    std::string account = b->account, kind = b->kind, desc = b->description,
                cur = b->charge.currency;
    long long case_id = b->case_id, amount = b->charge.amount_cents, at = to_unix_millis(b->at);
    sql << "INSERT INTO billable_items(account, case_id, kind, description, amount_cents,"
           " currency, at) VALUES(:a, :c, :k, :d, :m, :cu, :at)",
        soci::use(account), soci::use(case_id), soci::use(kind), soci::use(desc),
        soci::use(amount), soci::use(cur), soci::use(at);
  }

  static void write_notifications(Session& sql, const std::vector<core::Notification>& ns) {
    for (const auto& n : ns) {
      long long user = n.user_id, case_id = n.case_id, at = to_unix_millis(n.created_at);
      std::string kind = n.kind, subject = n.subject, body = n.body;
      sql << "INSERT INTO notifications(user_id, case_id, kind, subject, body, created_at)"
             " VALUES(:u, :c, :k, :s, :b, :a)",
          soci::use(user), soci::use(case_id), soci::use(kind), soci::use(subject),
          soci::use(body), soci::use(at);
    }
  }

  // ---- the email channel's part of a change ------------------------------------------------

  static sqlite_api::sqlite3* handle(Session& sql) {
    return static_cast<soci::sqlite3_session_backend*>(sql.get_backend())->conn_;
  }

  // Bytes go through the C API: bound as BLOBs without a copy, whatever they contain.
  static void put_blob(Session&, const core::StoredBlob& b) {
    static const std::string kEmpty;
    const std::string& data = b.data ? *b.data : kEmpty;
    stmts()
        .get("INSERT OR IGNORE INTO blobs(sha256, size, data) VALUES(?, ?, ?)")
        .bind(1, b.sha256)
        .bind(2, static_cast<long long>(data.size()))
        .bind_blob(3, data)
        .run();
  }

  // Fails (before anything is written) when the received message is already stored.
  static Status check_inbound(Session&, const std::optional<core::InboundRecord>& in) {
    if (!in) return ok_status();
    auto st = stmts().get("SELECT 1 FROM inbound_mail WHERE key = ?");
    if (st.bind(1, in->key).row())
      return make_error(ErrorCode::kAlreadyExists, "message already received");
    return ok_status();
  }

  static void write_inbound(Session&, const core::InboundRecord& r, int64_t case_id) {
    stmts()
        .get("INSERT INTO inbound_mail(key, mailbox, from_addr, subject, message_id, raw_sha256,"
             " raw_size, kind, disposition, case_id, received_at)"
             " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, r.key)
        .bind(2, r.mailbox)
        .bind(3, r.from)
        .bind(4, r.subject)
        .bind(5, r.message_id)
        .bind(6, r.raw_sha256)
        .bind(7, static_cast<long long>(r.raw_size))
        .bind(8, r.kind)
        .bind(9, r.disposition)
        .bind(10, static_cast<long long>(case_id))
        .bind(11, to_unix_millis(r.received_at))
        .run();
  }

  static void write_outbox(Session&, const std::vector<core::OutboxMessage>& out,
                           int64_t case_id) {
    for (const auto& m : out) {
      const std::string rcpts = Json(m.recipients).dump();
      const std::string first = m.recipients.empty() ? "" : core::ascii_lower(m.recipients.front());
      const std::string doc = sql::outbound_to_doc(m.mail);
      stmts()
          .get("INSERT INTO outbox(case_id, kind, envelope_from, recipients, first_recipient,"
               " mail, automatic, status, attempts, next_attempt_at, last_error, created_at)"
               " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
          .bind(1, static_cast<long long>(m.case_id ? m.case_id : case_id))
          .bind(2, m.kind)
          .bind(3, m.envelope_from)
          .bind(4, rcpts)
          .bind(5, first)
          .bind(6, doc)
          .bind(7, m.automatic ? 1LL : 0LL)
          .bind(8, m.status)
          .bind(9, static_cast<long long>(m.attempts))
          .bind(10, to_unix_millis(m.next_attempt_at))
          .bind(11, m.last_error)
          .bind(12, to_unix_millis(m.created_at))
          .run();
    }
  }

  static void write_mail_part(Session& sql, const core::Change& ch) {
    const long long case_id = ch.after.id;
    for (const auto& b : ch.blobs) put_blob(sql, b);
    if (ch.inbound) write_inbound(sql, *ch.inbound, case_id);
    for (const auto& id : ch.thread_ids)
      stmts()
          .get("INSERT OR REPLACE INTO mail_threads(message_id, case_id) VALUES(?, ?)")
          .bind(1, id)
          .bind(2, case_id)
          .run();
    write_outbox(sql, ch.outbox, case_id);
  }

  // A case's SLA timer: its calendar and mark (parameters i and i + 1), or NULLs.
  static void bind_timer(sqlite::Stmt& st, int i, const core::SlaState& sla) {
    if (sla.next_timer_mark) {
      st.bind(i, sla.calendar).bind(i + 1, static_cast<long long>(sla.next_timer_mark->count()));
    } else {
      st.bind_null(i).bind_null(i + 1);
    }
  }

  static void insert_case(Session& sql, const core::Change& ch) {
    const core::Case& c = ch.after;
    const std::string type(core::to_string(c.type)), status(core::to_string(c.status)),
        severity(core::to_string(c.severity)), doc = sql::case_to_doc(c);
    {
      auto st = stmts().get(
          "INSERT INTO cases(id, type, status, level, severity, account, assignee_id,"
          " created_at, updated_at, doc, sla_calendar, sla_mark)"
          " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      st.bind(1, c.id).bind(2, type).bind(3, status).bind(4, static_cast<long long>(c.level));
      st.bind(5, severity).bind(6, c.account).bind(7, c.assignee_id.value_or(0));
      st.bind(8, to_unix_millis(c.created_at)).bind(9, to_unix_millis(c.updated_at)).bind(10, doc);
      bind_timer(st, 11, c.sla);
      st.run();
    }
    const std::string body = sql::case_search_text(c), messages = sql::events_search_text(ch.events);
    stmts()
        .get("INSERT INTO case_text(rowid, subject, body, messages) VALUES(?, ?, ?, ?)")
        .bind(1, c.id)
        .bind(2, c.subject)
        .bind(3, body)
        .bind(4, messages)
        .run();
    write_events(sql, ch.events);
    write_billable(sql, ch.billable);
    write_notifications(sql, ch.notifications);
    write_mail_part(sql, ch);
    // The case counter is written once per batch, in run_batch.
  }

  static void update_case(Session& sql, const core::Case& before, const core::Change& ch) {
    const core::Case& c = ch.after;
    const std::string status(core::to_string(c.status)), severity(core::to_string(c.severity)),
        doc = sql::case_to_doc(c);
    {
      auto st = stmts().get(
          "UPDATE cases SET status = ?, level = ?, severity = ?, account = ?, assignee_id = ?,"
          " updated_at = ?, doc = ?, sla_calendar = ?, sla_mark = ?, sla_next_at = NULL"
          " WHERE id = ?");
      st.bind(1, status).bind(2, static_cast<long long>(c.level)).bind(3, severity);
      st.bind(4, c.account).bind(5, c.assignee_id.value_or(0));
      st.bind(6, to_unix_millis(c.updated_at)).bind(7, doc);
      bind_timer(st, 8, c.sla);
      st.bind(10, c.id).run();
    }
    const std::string added = sql::events_search_text(ch.events);
    if (!added.empty())
      stmts()
          .get("UPDATE case_text SET messages = messages || ? WHERE rowid = ?")
          .bind(1, added)
          .bind(2, c.id)
          .run();
    const std::string body = sql::case_search_text(c);
    if (body != sql::case_search_text(before) || c.subject != before.subject)
      stmts()
          .get("UPDATE case_text SET subject = ?, body = ? WHERE rowid = ?")
          .bind(1, c.subject)
          .bind(2, body)
          .bind(3, c.id)
          .run();
    write_events(sql, ch.events);
    write_billable(sql, ch.billable);
    write_notifications(sql, ch.notifications);
    write_mail_part(sql, ch);
  }

  static Result<std::optional<core::Case>> read_case(Session&, long long id) {
    auto st = stmts().get("SELECT doc FROM cases WHERE id = ?");
    if (!st.bind(1, id).row()) return std::optional<core::Case>();
    auto c = sql::case_from_doc(st.text_at(0));
    if (!c.ok()) return c.error();
    return std::optional<core::Case>(std::move(c).value());
  }

  SqliteOptions opt;
  std::unique_ptr<Session> writer;  // the writer thread's (and init's) only
  int version = 0;
  int64_t next_case_id = 1;  // writer thread only

  std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<Job*> queue;
  bool stopping = false;
  bool writer_idle = false;  // GUARDED_BY(q_mu): the writer waits on q_cv
  std::thread thread;

  std::mutex pool_mu;
  std::condition_variable pool_cv;
  std::vector<std::unique_ptr<Reader>> readers;
};

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const SqliteOptions& options) {
  auto impl = std::make_unique<Impl>(options);
  auto st = impl->init();
  if (!st.ok()) return st.error();
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;
int SqliteStore::schema_version() const { return impl_->version; }

// ---- CaseStore ----------------------------------------------------------------------------

Result<core::Case> SqliteStore::create(const ports::CaseBuilder& build) {
  std::optional<core::Case> out;
  auto st = impl_->write([&](Session& sql) -> Status {
    auto change = build(impl_->next_case_id);
    if (!change.ok()) return change.error();
    ESCALA_TRY(Impl::check_inbound(sql, change->inbound));
    Impl::insert_case(sql, *change);
    ++impl_->next_case_id;
    out = std::move(change->after);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return std::move(*out);
}

Result<core::Case> SqliteStore::update(int64_t id, const ports::CaseMutator& mutate) {
  std::optional<core::Case> out;
  auto st = impl_->write([&](Session& sql) -> Status {
    auto current = Impl::read_case(sql, id);
    if (!current.ok()) return current.error();
    if (!current.value()) return make_error(ErrorCode::kNotFound, "no such case");
    auto change = mutate(**current);
    if (!change.ok()) return change.error();
    ESCALA_TRY(Impl::check_inbound(sql, change->inbound));
    const bool timer_moved =
        change->after.sla.next_timer_mark != (*current)->sla.next_timer_mark;
    const bool mail = change->inbound || !change->outbox.empty() || !change->thread_ids.empty();
    if (change->events.empty() && !timer_moved && !mail) {
      out = std::move(**current);
      return ok_status();
    }
    Impl::update_case(sql, **current, *change);
    out = std::move(change->after);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return std::move(*out);
}

Result<std::optional<core::Case>> SqliteStore::get(int64_t id) {
  try {
    auto lease = impl_->lease();
    return lease.reader().read_case(id);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<ports::CasePage> SqliteStore::list(const ports::CaseQuery& q) {
  try {
    const std::string fts = sql::fts_query(q.text);
    if (!q.text.empty() && fts.empty()) return ports::CasePage{};
    Query where;
    auto filter = [&](const char* sql_part) { where.add(std::string(" AND ") + sql_part); };
    if (!fts.empty()) {
      where.add(" AND case_text MATCH ?");
      where.bind_text(fts);
    }
    if (q.status) { filter("c.status = ?"); where.bind_text(std::string(core::to_string(*q.status))); }
    if (q.level) { filter("c.level = ?"); where.bind_int(*q.level); }
    if (q.severity) { filter("c.severity = ?"); where.bind_text(std::string(core::to_string(*q.severity))); }
    if (q.type) { filter("c.type = ?"); where.bind_text(std::string(core::to_string(*q.type))); }
    if (q.account) { filter("c.account = ?"); where.bind_text(*q.account); }
    if (q.assignee) { filter("c.assignee_id = ?"); where.bind_int(*q.assignee); }
    if (q.created_from) { filter("c.created_at >= ?"); where.bind_int(to_unix_millis(*q.created_from)); }
    if (q.created_before) { filter("c.created_at < ?"); where.bind_int(to_unix_millis(*q.created_before)); }
    if (q.updated_from) { filter("c.updated_at >= ?"); where.bind_int(to_unix_millis(*q.updated_from)); }

    const std::string from = fts.empty()
        ? " FROM cases c WHERE 1=1"
        : " FROM case_text f JOIN cases c ON c.id = f.rowid WHERE 1=1";
    const std::string order_key = fts.empty() ? "c.id" : "f.rowid";

    auto lease = impl_->lease();
    Session& s = *lease;
    ports::CasePage page;
    if (q.count_total) {
      // Counting every match of a frequent word joins hundreds of thousands of rows (half
      // a second at 1M cases): full-text counts stop at kSearchCountCap and say so.
      Query count = where;
      long long total = 0;
      std::string sql_text = "SELECT count(*)" + from + count.sql();
      if (!fts.empty()) {
        sql_text = "SELECT count(*) FROM (SELECT 1" + from + count.sql() + " LIMIT " +
                   std::to_string(q.search_count_cap + 1) + ")";
      }
      soci::statement st(s);
      st.exchange(soci::into(total));
      count.exchange_uses(st);
      st.alloc();
      st.prepare(sql_text);
      st.define_and_bind();
      st.execute(true);
      if (!fts.empty() && total > q.search_count_cap) {
        page.total = q.search_count_cap;
        page.total_exact = false;
      } else {
        page.total = total;
      }
    }
    Query rows = where;
    if (q.before_id) {
      rows.add(" AND " + order_key + " < ?");
      rows.bind_int(*q.before_id);
    }
    rows.add(" ORDER BY " + order_key + " DESC LIMIT ?");
    rows.bind_int(q.limit + 1);
    std::string doc;
    soci::statement st(s);
    st.exchange(soci::into(doc));
    rows.exchange_uses(st);
    st.alloc();
    st.prepare("SELECT c.doc" + from + rows.sql());
    st.define_and_bind();
    st.execute(false);
    while (st.fetch()) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.next_before = page.items.back().id;
        break;
      }
      auto c = sql::case_from_doc(doc);
      if (!c.ok()) return c.error();
      page.items.push_back(std::move(c).value());
    }
    return page;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<ports::EventPage> SqliteStore::events(const ports::EventQuery& q) {
  try {
    auto lease = impl_->lease();
    Session& s = *lease;
    long long case_id = q.case_id, after = q.after_seq, limit = q.limit + 1;
    int include_internal = q.include_internal ? 1 : 0;
    ports::EventPage page;
    long long total = 0;
    s << "SELECT count(*) FROM events WHERE case_id = :c AND (internal = 0 OR :ii = 1)",
        soci::use(case_id), soci::use(include_internal), soci::into(total);
    page.total = total;
    long long seq = 0, at = 0, actor = 0;
    std::string type, name, role, data;
    int internal = 0;
    soci::statement st = (s.prepare << "SELECT seq, type, at, actor_id, actor_name, actor_role,"
                                       " internal, data FROM events WHERE case_id = :c AND"
                                       " seq > :a AND (internal = 0 OR :ii = 1)"
                                       " ORDER BY seq LIMIT :n",
                          soci::use(case_id), soci::use(after), soci::use(include_internal),
                          soci::use(limit), soci::into(seq), soci::into(type), soci::into(at),
                          soci::into(actor), soci::into(name), soci::into(role),
                          soci::into(internal), soci::into(data));
    st.execute(false);
    while (st.fetch()) {
      if (static_cast<int>(page.items.size()) == q.limit) {
        page.next_after = page.items.back().seq;
        break;
      }
      page.items.push_back(
          read_event_row(case_id, seq, type, at, actor, name, role, internal, data));
    }
    return page;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::BillableItem>> SqliteStore::billable_items(const std::string& account) {
  try {
    auto lease = impl_->lease();
    Session& s = *lease;
    std::vector<core::BillableItem> out;
    long long id, case_id, amount, at;
    std::string acc = account, kind, desc, cur;
    soci::statement st = (s.prepare << "SELECT id, case_id, kind, description, amount_cents,"
                                       " currency, at FROM billable_items WHERE account = :a"
                                       " ORDER BY id",
                          soci::use(acc), soci::into(id), soci::into(case_id), soci::into(kind),
                          soci::into(desc), soci::into(amount), soci::into(cur), soci::into(at));
    st.execute(false);
    while (st.fetch()) {
      core::BillableItem b;
      b.id = id;
      b.account = account;
      b.case_id = case_id;
      b.kind = kind;
      b.description = desc;
      b.charge = core::Money{amount, cur};
      b.at = from_unix_millis(at);
      out.push_back(std::move(b));
    }
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::optional<Millis>> SqliteStore::next_sla_mark(const std::string& calendar) {
  try {
    auto lease = impl_->lease();
    long long mark = 0;
    soci::indicator ind = soci::i_null;
    std::string cal = calendar;
    *lease << "SELECT min(sla_mark) FROM cases WHERE sla_calendar = :c AND sla_mark IS NOT NULL",
        soci::use(cal), soci::into(mark, ind);
    if (ind == soci::i_null) return std::optional<Millis>();
    return std::optional<Millis>(Millis{mark});
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<int64_t>> SqliteStore::cases_with_due_timers(const std::string& calendar,
                                                                Millis mark, int limit) {
  try {
    auto lease = impl_->lease();
    std::string cal = calendar;
    long long m = mark.count(), n = limit, id = 0;
    soci::statement st = ((*lease).prepare << "SELECT id FROM cases WHERE sla_calendar = :c"
                                              " AND sla_mark IS NOT NULL AND sla_mark <= :m"
                                              " ORDER BY sla_mark LIMIT :n",
                          soci::use(cal), soci::use(m), soci::use(n), soci::into(id));
    st.execute(false);
    std::vector<int64_t> out;
    while (st.fetch()) out.push_back(id);
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::Notification>> SqliteStore::notifications(int64_t user_id,
                                                                   int64_t before_id,
                                                                   int limit) {
  try {
    auto lease = impl_->lease();
    long long uid = user_id, before = before_id > 0 ? before_id : INT64_MAX, n = limit;
    long long id = 0, case_id = 0, at = 0;
    std::string kind, subject, body;
    soci::statement st = ((*lease).prepare << "SELECT id, case_id, kind, subject, body, created_at"
                                              " FROM notifications WHERE user_id = :u AND id < :b"
                                              " ORDER BY id DESC LIMIT :n",
                          soci::use(uid), soci::use(before), soci::use(n), soci::into(id),
                          soci::into(case_id), soci::into(kind), soci::into(subject),
                          soci::into(body), soci::into(at));
    st.execute(false);
    std::vector<core::Notification> out;
    while (st.fetch())
      out.push_back(core::Notification{id, user_id, case_id, kind, subject, body, from_unix_millis(at)});
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

// ---- DirectoryStore -----------------------------------------------------------------------

namespace {

struct AccountRow {
  std::string code, name, timezone, language, contract;
  long long created_at = 0;
  core::Account to_account() const {
    core::Account a;
    a.code = code;
    a.name = name;
    a.timezone = timezone;
    a.language = language;
    a.contract = sql::contract_from_doc(contract);
    a.created_at = from_unix_millis(created_at);
    return a;
  }
};

struct UserRow {
  long long id = 0, level = 0, created_at = 0;
  int active = 1, quiet = 0;
  std::string email, name, role, specialties, account, language, timezone, password_hash;
  core::User to_user() const {
    core::User u;
    u.id = id;
    u.email = email;
    u.name = name;
    u.role = core::parse_role(role).value_or(core::Role::kCustomer);
    u.level = static_cast<int>(level);
    auto sp = Json::parse(specialties, nullptr, false);
    if (sp.is_array())
      for (const auto& x : sp)
        if (x.is_string()) u.specialties.push_back(x.get<std::string>());
    u.account = account;
    u.language = language;
    u.timezone = timezone;
    u.password_hash = password_hash;
    u.active = active != 0;
    u.quiet = quiet != 0;
    u.created_at = from_unix_millis(created_at);
    return u;
  }
};

constexpr const char* kUserColumns =
    "SELECT id, email, name, role, level, specialties, account, language, timezone,"
    " password_hash, active, created_at, quiet FROM users ";

template <typename Stmt>
Stmt& bind_user(Stmt& st, UserRow& r) {
  st.exchange(soci::into(r.id));
  st.exchange(soci::into(r.email));
  st.exchange(soci::into(r.name));
  st.exchange(soci::into(r.role));
  st.exchange(soci::into(r.level));
  st.exchange(soci::into(r.specialties));
  st.exchange(soci::into(r.account));
  st.exchange(soci::into(r.language));
  st.exchange(soci::into(r.timezone));
  st.exchange(soci::into(r.password_hash));
  st.exchange(soci::into(r.active));
  st.exchange(soci::into(r.created_at));
  st.exchange(soci::into(r.quiet));
  return st;
}

// Runs a users query with one bound parameter and collects the rows.
template <typename P>
std::vector<core::User> query_users(Session& s, const std::string& where, P param,
                                    long long limit = 1) {
  UserRow r;
  soci::statement st(s);
  bind_user(st, r);
  st.exchange(soci::use(param));
  st.exchange(soci::use(limit));
  st.alloc();
  st.prepare(std::string(kUserColumns) + where);
  st.define_and_bind();
  st.execute(false);
  std::vector<core::User> out;
  while (st.fetch()) out.push_back(r.to_user());
  return out;
}

}  // namespace

Result<core::Account> SqliteStore::create_account(const core::Account& a) {
  auto st = impl_->write([&](Session& s) -> Status {
    int n = 0;
    std::string code = a.code;
    s << "SELECT count(*) FROM accounts WHERE code = :c", soci::use(code), soci::into(n);
    if (n > 0) return make_error(ErrorCode::kAlreadyExists, "the account code is taken", "code");
    std::string name = a.name, tz = a.timezone, lang = a.language,
                contract = sql::contract_to_doc(a.contract);
    long long created = to_unix_millis(a.created_at);
    s << "INSERT INTO accounts(code, name, timezone, language, contract, created_at)"
         " VALUES(:c, :n, :t, :l, :k, :a)",
        soci::use(code), soci::use(name), soci::use(tz), soci::use(lang), soci::use(contract),
        soci::use(created);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return a;
}

Result<core::Account> SqliteStore::update_account(const core::Account& a) {
  auto st = impl_->write([&](Session& s) -> Status {
    int n = 0;
    std::string code = a.code;
    s << "SELECT count(*) FROM accounts WHERE code = :c", soci::use(code), soci::into(n);
    if (n == 0) return make_error(ErrorCode::kNotFound, "no account " + code);
    std::string name = a.name, tz = a.timezone, lang = a.language,
                contract = sql::contract_to_doc(a.contract);
    s << "UPDATE accounts SET name = :n, timezone = :t, language = :l, contract = :k"
         " WHERE code = :c",
        soci::use(name), soci::use(tz), soci::use(lang), soci::use(contract), soci::use(code);
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return a;
}

Result<std::optional<core::Account>> SqliteStore::get_account(const std::string& code) {
  try {
    // Read for every change of a case of the account: a cached statement.
    auto lease = impl_->lease();
    auto q = lease.reader().cache.get(
        "SELECT code, name, timezone, language, contract, created_at FROM accounts WHERE code = ?");
    if (!q.bind(1, code).row()) return std::optional<core::Account>();
    AccountRow r{q.text_at(0), q.text_at(1), q.text_at(2), q.text_at(3), q.text_at(4), q.int_at(5)};
    return std::optional<core::Account>(r.to_account());
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::Account>> SqliteStore::list_accounts(const std::string& after,
                                                              int limit) {
  try {
    auto lease = impl_->lease();
    AccountRow r;
    std::string a = after;
    long long n = limit;
    soci::statement st = ((*lease).prepare << "SELECT code, name, timezone, language, contract,"
                                              " created_at FROM accounts WHERE code > :a"
                                              " ORDER BY code LIMIT :n",
                          soci::use(a), soci::use(n), soci::into(r.code), soci::into(r.name),
                          soci::into(r.timezone), soci::into(r.language),
                          soci::into(r.contract), soci::into(r.created_at));
    st.execute(false);
    std::vector<core::Account> out;
    while (st.fetch()) out.push_back(r.to_account());
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<core::Contact> SqliteStore::create_contact(const core::Contact& c) {
  core::Contact out = c;
  auto st = impl_->write([&](Session& s) -> Status {
    int n = 0;
    std::string account = c.account;
    s << "SELECT count(*) FROM accounts WHERE code = :c", soci::use(account), soci::into(n);
    if (n == 0) return make_error(ErrorCode::kNotFound, "no account " + account);
    std::string name = c.name, email = c.email, phone = c.phone, lang = c.language;
    long long created = to_unix_millis(c.created_at);
    s << "INSERT INTO contacts(account, name, email, phone, language, created_at)"
         " VALUES(:a, :n, :e, :p, :l, :c)",
        soci::use(account), soci::use(name), soci::use(email), soci::use(phone),
        soci::use(lang), soci::use(created);
    long long id = 0;
    s << "SELECT last_insert_rowid()", soci::into(id);
    out.id = id;
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return out;
}

namespace {
core::Contact contact_of(long long id, const std::string& account, const std::string& name,
                         const std::string& email, const std::string& phone,
                         const std::string& lang, long long created) {
  core::Contact c;
  c.id = id;
  c.account = account;
  c.name = name;
  c.email = email;
  c.phone = phone;
  c.language = lang;
  c.created_at = from_unix_millis(created);
  return c;
}

// Rows of "SELECT id, account, name, email, phone, language, created_at, email_failure".
std::vector<core::Contact> contacts_from(sqlite::Stmt& q) {
  std::vector<core::Contact> out;
  while (q.row()) {
    out.push_back(contact_of(q.int_at(0), q.text_at(1), q.text_at(2), q.text_at(3),
                             q.text_at(4), q.text_at(5), q.int_at(6)));
    out.back().email_failure = q.text_at(7);
  }
  return out;
}
}  // namespace

Result<std::optional<core::Contact>> SqliteStore::get_contact(int64_t id) {
  try {
    auto lease = impl_->lease();
    auto q = lease.reader().cache.get(
        "SELECT id, account, name, email, phone, language, created_at, email_failure"
        " FROM contacts WHERE id = ?");
    q.bind(1, id);
    auto found = contacts_from(q);
    if (found.empty()) return std::optional<core::Contact>();
    return std::optional<core::Contact>(std::move(found.front()));
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::Contact>> SqliteStore::list_contacts(const std::string& account) {
  try {
    auto lease = impl_->lease();
    auto q = lease.reader().cache.get(
        "SELECT id, account, name, email, phone, language, created_at, email_failure"
        " FROM contacts WHERE account = ? ORDER BY id");
    q.bind(1, account);
    return contacts_from(q);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<core::User> SqliteStore::create_user(const core::User& u) {
  core::User out = u;
  auto st = impl_->write([&](Session& s) -> Status {
    int n = 0;
    std::string email = u.email;
    s << "SELECT count(*) FROM users WHERE email = :e", soci::use(email), soci::into(n);
    if (n > 0) return make_error(ErrorCode::kAlreadyExists, "the email is taken", "email");
    std::string name = u.name, role(core::to_string(u.role)), specialties = Json(u.specialties).dump(),
                account = u.account, lang = u.language, tz = u.timezone, hash = u.password_hash;
    long long level = u.level, created = to_unix_millis(u.created_at);
    int active = u.active ? 1 : 0;
    s << "INSERT INTO users(email, name, role, level, specialties, account, language, timezone,"
         " password_hash, active, created_at) VALUES(:e, :n, :r, :l, :s, :a, :la, :t, :h, :ac, :c)",
        soci::use(email), soci::use(name), soci::use(role), soci::use(level),
        soci::use(specialties), soci::use(account), soci::use(lang), soci::use(tz),
        soci::use(hash), soci::use(active), soci::use(created);
    long long id = 0;
    s << "SELECT last_insert_rowid()", soci::into(id);
    out.id = id;
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::optional<core::User>> SqliteStore::get_user(int64_t id) {
  try {
    auto lease = impl_->lease();
    auto users = query_users(*lease, "WHERE id = ? LIMIT ?", static_cast<long long>(id));
    if (users.empty()) return std::optional<core::User>();
    return std::optional<core::User>(users.front());
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::optional<core::User>> SqliteStore::find_user_by_email(const std::string& email) {
  try {
    auto lease = impl_->lease();
    auto users = query_users(*lease, "WHERE email = ? LIMIT ?", email);
    if (users.empty()) return std::optional<core::User>();
    return std::optional<core::User>(users.front());
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::User>> SqliteStore::list_users(int64_t after_id, int limit) {
  try {
    auto lease = impl_->lease();
    return query_users(*lease, "WHERE id > ? ORDER BY id LIMIT ?",
                       static_cast<long long>(after_id), limit);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

// Rows of a table of ours (the name is never user input).
Result<int64_t> SqliteStore::count_rows(const char* table) {
  try {
    auto lease = impl_->lease();
    long long n = 0;
    *lease << (std::string("SELECT count(*) FROM ") + table), soci::into(n);
    return static_cast<int64_t>(n);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<int64_t> SqliteStore::count_users() { return count_rows("users"); }
Result<int64_t> SqliteStore::count_accounts() { return count_rows("accounts"); }

Status SqliteStore::set_user_quiet(int64_t user_id, bool quiet) {
  return impl_->write([&](Session& s) -> Status {
    long long id = user_id;
    int q = quiet ? 1 : 0;
    int n = 0;
    s << "SELECT count(*) FROM users WHERE id = :i", soci::use(id), soci::into(n);
    if (n == 0) return make_error(ErrorCode::kNotFound, "no such user");
    s << "UPDATE users SET quiet = :q WHERE id = :i", soci::use(q), soci::use(id);
    return ok_status();
  });
}

Status SqliteStore::create_session(const ports::Session& session) {
  return impl_->write([&](Session& s) -> Status {
    std::string h = session.token_hash;
    long long uid = session.user_id, created = to_unix_millis(session.created_at),
              expires = to_unix_millis(session.expires_at);
    // Expired sessions are swept as new ones arrive, so the table stays small.
    s << "DELETE FROM sessions WHERE expires_at < :c", soci::use(created);
    s << "INSERT INTO sessions(token_hash, user_id, created_at, expires_at)"
         " VALUES(:h, :u, :c, :e)",
        soci::use(h), soci::use(uid), soci::use(created), soci::use(expires);
    return ok_status();
  });
}

Result<std::optional<ports::Session>> SqliteStore::find_session(const std::string& token_hash) {
  try {
    auto lease = impl_->lease();
    ports::Session out;
    std::string h = token_hash;
    long long uid = 0, created = 0, expires = 0;
    *lease << "SELECT user_id, created_at, expires_at FROM sessions WHERE token_hash = :h",
        soci::use(h), soci::into(uid), soci::into(created), soci::into(expires);
    if (!(*lease).got_data()) return std::optional<ports::Session>();
    out.token_hash = token_hash;
    out.user_id = uid;
    out.created_at = from_unix_millis(created);
    out.expires_at = from_unix_millis(expires);
    return std::optional<ports::Session>(out);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Status SqliteStore::delete_session(const std::string& token_hash) {
  return impl_->write([&](Session& s) -> Status {
    std::string h = token_hash;
    s << "DELETE FROM sessions WHERE token_hash = :h", soci::use(h);
    return ok_status();
  });
}

Result<int64_t> SqliteStore::change_password(int64_t user_id, const std::string& password_hash,
                                             const std::string& keep_token_hash) {
  int64_t ended = 0;
  auto st = impl_->write([&](Session& s) -> Status {
    long long id = user_id;
    std::string hash = password_hash, keep = keep_token_hash;
    int n = 0;
    s << "SELECT count(*) FROM users WHERE id = :i", soci::use(id), soci::into(n);
    if (n == 0) return make_error(ErrorCode::kNotFound, "no such user");
    s << "UPDATE users SET password_hash = :h WHERE id = :i", soci::use(hash), soci::use(id);
    soci::statement q = (s.prepare << "DELETE FROM sessions WHERE user_id = :i AND token_hash <> :k",
                         soci::use(id), soci::use(keep));
    q.execute(true);
    ended = q.get_affected_rows();
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return ended;
}

Result<std::optional<core::Json>> SqliteStore::get_setting(const std::string& key) {
  try {
    auto lease = impl_->lease();
    std::string k = key, v;
    *lease << "SELECT value FROM settings WHERE key = :k", soci::use(k), soci::into(v);
    if (!(*lease).got_data()) return std::optional<core::Json>();
    auto j = Json::parse(v, nullptr, false);
    if (j.is_discarded()) return make_error(ErrorCode::kInternal, "setting " + key + " is not JSON");
    return std::optional<core::Json>(std::move(j));
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Status SqliteStore::put_setting(const std::string& key, const core::Json& value) {
  return impl_->write([&](Session& s) -> Status {
    std::string k = key, v = value.dump();
    s << "INSERT INTO settings(key, value) VALUES(:k, :v)"
         " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        soci::use(k), soci::use(v);
    return ok_status();
  });
}

}  // namespace escala::adapters

namespace escala::adapters {

Result<int64_t> SqliteStore::update_cases_with_legacy_timers(const ports::CaseMutator& mutate) {
  int64_t changed = 0;
  auto st = impl_->write([&](Session& sql) -> Status {
    changed = 0;
    // In pages, so memory stays bounded however many there are; each visited case loses
    // its instant, so the next page starts after it.
    for (;;) {
      std::vector<std::string> page;
      {
        std::string doc;
        soci::statement q = (sql.prepare << "SELECT doc FROM cases WHERE sla_next_at IS NOT NULL"
                                            " ORDER BY id LIMIT 1000",
                             soci::into(doc));
        q.execute(false);
        while (q.fetch()) page.push_back(doc);
      }
      if (page.empty()) break;
      for (const auto& doc : page) {
        auto current = sql::case_from_doc(doc);
        if (!current.ok()) return current.error();
        auto change = mutate(*current);
        if (!change.ok()) return change.error();
        Impl::update_case(sql, *current, *change);  // clears sla_next_at
        ++changed;
      }
    }
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return changed;
}

Status SqliteStore::put_setting_with_event(const std::string& key, const core::Json& value,
                                           const DeskEvent& event,
                                           const std::optional<core::Json>& expected) {
  return impl_->write([&](Session& s) -> Status {
    std::string k = key, v = value.dump(), type = event.type, name = event.actor_name,
                data = event.data.dump();
    if (expected) {  // the writer's transaction is the only one: read, compare, write
      std::string current;
      s << "SELECT value FROM settings WHERE key = :k", soci::use(k), soci::into(current);
      const Json now = s.got_data() ? Json::parse(current, nullptr, false) : Json();
      if (now != *expected)
        return make_error(ErrorCode::kConflict, "setting " + key + " changed since it was read");
    }
    long long at = to_unix_millis(event.at), actor = event.actor_id;
    s << "INSERT INTO settings(key, value) VALUES(:k, :v)"
         " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        soci::use(k), soci::use(v);
    s << "INSERT INTO desk_events(at, actor_id, actor_name, type, data)"
         " VALUES(:a, :i, :n, :t, :d)",
        soci::use(at), soci::use(actor), soci::use(name), soci::use(type), soci::use(data);
    return ok_status();
  });
}

Result<std::vector<ports::DirectoryStore::DeskEvent>> SqliteStore::desk_events(int64_t before_id,
                                                                              int limit) {
  try {
    auto lease = impl_->lease();
    long long before = before_id > 0 ? before_id : INT64_MAX, n = limit, id = 0, at = 0, actor = 0;
    std::string name, type, data;
    soci::statement st = ((*lease).prepare << "SELECT id, at, actor_id, actor_name, type, data"
                                              " FROM desk_events WHERE id < :b"
                                              " ORDER BY id DESC LIMIT :n",
                          soci::use(before), soci::use(n), soci::into(id), soci::into(at),
                          soci::into(actor), soci::into(name), soci::into(type), soci::into(data));
    st.execute(false);
    std::vector<DeskEvent> out;
    while (st.fetch())
      out.push_back(DeskEvent{id, from_unix_millis(at), actor, name, type,
                              core::Json::parse(data, nullptr, false)});
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

}  // namespace escala::adapters

// ---- contacts by address --------------------------------------------------------------------

namespace escala::adapters {

Result<std::vector<core::Contact>> SqliteStore::find_contacts_by_email(const std::string& email) {
  try {
    auto lease = impl_->lease();
    auto q = lease.reader().cache.get(
        "SELECT id, account, name, email, phone, language, created_at, email_failure"
        " FROM contacts WHERE lower(email) = ? ORDER BY id");
    const std::string key = core::ascii_lower(email);
    q.bind(1, key);
    return contacts_from(q);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::optional<std::string>> SqliteStore::account_for_email_domain(const std::string& domain) {
  if (domain.empty()) return std::optional<std::string>();
  try {
    auto lease = impl_->lease();
    std::string pattern = "%@" + core::ascii_lower(domain), account;
    *lease << "SELECT account FROM contacts WHERE lower(email) LIKE :p ORDER BY id LIMIT 1",
        soci::use(pattern), soci::into(account);
    if (!(*lease).got_data()) return std::optional<std::string>();
    return std::optional<std::string>(account);
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<int64_t> SqliteStore::set_email_failure(const std::string& email, const std::string& failure) {
  int64_t changed = 0;
  auto st = impl_->write([&](Session& s) -> Status {
    std::string key = core::ascii_lower(email), f = failure;
    soci::statement q = (s.prepare << "UPDATE contacts SET email_failure = :f"
                                      " WHERE lower(email) = :e AND email_failure <> :f2",
                         soci::use(f), soci::use(key), soci::use(f));
    q.execute(true);
    changed = q.get_affected_rows();
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return changed;
}

// ---- MailStore ----------------------------------------------------------------------------

namespace {

constexpr const char* kInboundSelect =
    "SELECT key, mailbox, from_addr, subject, message_id, raw_sha256, raw_size, kind,"
    " disposition, case_id, received_at FROM inbound_mail WHERE key = ?";

core::InboundRecord inbound_of(const sqlite::Stmt& r) {
  core::InboundRecord x;
  x.key = r.text_at(0);
  x.mailbox = r.text_at(1);
  x.from = r.text_at(2);
  x.subject = r.text_at(3);
  x.message_id = r.text_at(4);
  x.raw_sha256 = r.text_at(5);
  x.raw_size = r.int_at(6);
  x.kind = r.text_at(7);
  x.disposition = r.text_at(8);
  x.case_id = r.int_at(9);
  x.received_at = from_unix_millis(r.int_at(10));
  return x;
}

#define ESCALA_OUTBOX_COLUMNS                                                              \
  "id, case_id, kind, envelope_from, recipients, mail, automatic, status, attempts,"       \
  " next_attempt_at, last_error, created_at, sent_at"

core::OutboxMessage outbox_of(const sqlite::Stmt& r) {
  core::OutboxMessage m;
  m.id = r.int_at(0);
  m.case_id = r.int_at(1);
  m.kind = r.text_at(2);
  m.envelope_from = r.text_at(3);
  Json rc = Json::parse(r.text_at(4), nullptr, false);
  if (rc.is_array())
    for (const auto& x : rc)
      if (x.is_string()) m.recipients.push_back(x.get<std::string>());
  m.mail = sql::outbound_from_doc(r.text_at(5));
  m.automatic = r.int_at(6) != 0;
  m.status = r.text_at(7);
  m.attempts = static_cast<int>(r.int_at(8));
  m.next_attempt_at = from_unix_millis(r.int_at(9));
  m.last_error = r.text_at(10);
  m.created_at = from_unix_millis(r.int_at(11));
  if (!r.null_at(12)) m.sent_at = from_unix_millis(r.int_at(12));
  return m;
}

}  // namespace

Result<std::optional<core::InboundRecord>> SqliteStore::find_inbound(const std::string& key) {
  try {
    auto lease = impl_->lease();
    auto st = lease.reader().cache.get(kInboundSelect);
    if (!st.bind(1, key).row()) return std::optional<core::InboundRecord>();
    return std::optional<core::InboundRecord>(inbound_of(st));
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Status SqliteStore::record_inbound(const core::InboundRecord& record,
                                   const std::vector<core::StoredBlob>& blobs,
                                   const std::vector<core::OutboxMessage>& outbox) {
  return impl_->write([&](Session& s) -> Status {
    ESCALA_TRY(Impl::check_inbound(s, record));
    for (const auto& b : blobs) Impl::put_blob(s, b);
    Impl::write_inbound(s, record, record.case_id);
    Impl::write_outbox(s, outbox, record.case_id);
    return ok_status();
  });
}

Result<std::optional<int64_t>> SqliteStore::case_for_message_ids(
    const std::vector<std::string>& ids) {
  if (ids.empty()) return std::optional<int64_t>();
  try {
    auto lease = impl_->lease();
    // The most recent id first: a reply's In-Reply-To names the latest message.
    for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
      auto q = lease.reader().cache.get("SELECT case_id FROM mail_threads WHERE message_id = ?");
      if (q.bind(1, *it).row()) return std::optional<int64_t>(q.int_at(0));
    }
    return std::optional<int64_t>();
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::optional<std::string>> SqliteStore::get_blob(const std::string& sha256) {
  try {
    auto lease = impl_->lease();
    auto* db = Impl::handle(*lease);
    sqlite_api::sqlite3_stmt* st = nullptr;
    if (sqlite_api::sqlite3_prepare_v2(db, "SELECT data FROM blobs WHERE sha256 = ?", -1, &st,
                                       nullptr) != SQLITE_OK)
      return make_error(ErrorCode::kUnavailable, sqlite_api::sqlite3_errmsg(db));
    sqlite_api::sqlite3_bind_text(st, 1, sha256.data(), static_cast<int>(sha256.size()),
                                  SQLITE_STATIC);
    std::optional<std::string> out;
    int rc = sqlite_api::sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      const void* p = sqlite_api::sqlite3_column_blob(st, 0);
      int n = sqlite_api::sqlite3_column_bytes(st, 0);
      out.emplace(static_cast<const char*>(p), static_cast<size_t>(n));
    }
    sqlite_api::sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
      return make_error(ErrorCode::kUnavailable, "database: reading a blob failed");
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::OutboxMessage>> SqliteStore::claim_outbox(Instant now, Millis lease,
                                                                   int limit) {
  std::vector<core::OutboxMessage> out;
  auto st = impl_->write([&](Session&) -> Status {
    out.clear();  // a batch that failed is run again alone
    {
      auto q = Impl::stmts().get("SELECT " ESCALA_OUTBOX_COLUMNS
                                 " FROM outbox WHERE status IN ('pending', 'sending')"
                                 " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?");
      q.bind(1, to_unix_millis(now)).bind(2, static_cast<long long>(limit));
      while (q.row()) out.push_back(outbox_of(q));
    }
    for (auto& m : out) {
      Impl::stmts()
          .get("UPDATE outbox SET status = 'sending', attempts = attempts + 1,"
               " next_attempt_at = ? WHERE id = ?")
          .bind(1, to_unix_millis(now + lease))
          .bind(2, m.id)
          .run();
      m.status = "sending";
      ++m.attempts;
      m.next_attempt_at = now + lease;
    }
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return out;
}

Result<std::vector<int64_t>> SqliteStore::renew_outbox_claims(
    const std::vector<OutboxClaim>& claims, Instant until) {
  std::vector<int64_t> held;
  if (claims.empty()) return held;
  auto st = impl_->write([&](Session&) -> Status {
    held.clear();  // a batch that failed is run again alone
    for (const auto& c : claims) {
      auto q = Impl::stmts().get("UPDATE outbox SET next_attempt_at = ?"
                                 " WHERE id = ? AND attempts = ? AND status = 'sending'");
      q.bind(1, to_unix_millis(until)).bind(2, c.id).bind(3, static_cast<long long>(c.attempt));
      q.run();
      if (q.changes() > 0) held.push_back(c.id);
    }
    return ok_status();
  });
  if (!st.ok()) return st.error();
  return held;
}

Status SqliteStore::outbox_sent(int64_t id_in, Instant at_in) {
  return impl_->write([&](Session& s) -> Status {
    long long id = id_in, at = to_unix_millis(at_in);
    s << "UPDATE outbox SET status = 'sent', sent_at = :a, last_error = '' WHERE id = :i",
        soci::use(at), soci::use(id);
    return ok_status();
  });
}

Status SqliteStore::outbox_retry(int64_t id_in, Instant next_at, const std::string& error) {
  return impl_->write([&](Session& s) -> Status {
    long long id = id_in, at = to_unix_millis(next_at);
    std::string e = error;
    s << "UPDATE outbox SET status = 'pending', next_attempt_at = :a, last_error = :e"
         " WHERE id = :i AND status <> 'sent'",
        soci::use(at), soci::use(e), soci::use(id);
    return ok_status();
  });
}

Status SqliteStore::outbox_failed(int64_t id_in, const std::string& error) {
  return impl_->write([&](Session& s) -> Status {
    long long id = id_in;
    std::string e = error;
    s << "UPDATE outbox SET status = 'failed', last_error = :e WHERE id = :i AND status <> 'sent'",
        soci::use(e), soci::use(id);
    return ok_status();
  });
}

Result<std::optional<Instant>> SqliteStore::next_outbox_due() {
  try {
    auto lease = impl_->lease();
    long long at = 0;
    soci::indicator ind = soci::i_null;
    *lease << "SELECT min(next_attempt_at) FROM outbox WHERE status IN ('pending', 'sending')",
        soci::into(at, ind);
    if (ind == soci::i_null) return std::optional<Instant>();
    return std::optional<Instant>(from_unix_millis(at));
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<core::OutboxMessage>> SqliteStore::outbox_for_case(int64_t case_id) {
  try {
    auto lease = impl_->lease();
    std::vector<core::OutboxMessage> out;
    auto q = lease.reader().cache.get("SELECT " ESCALA_OUTBOX_COLUMNS
                                      " FROM outbox WHERE case_id = ? ORDER BY id LIMIT 1000");
    q.bind(1, case_id);
    while (q.row()) out.push_back(outbox_of(q));
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<int64_t> SqliteStore::count_automatic_to(const std::string& address, Instant since) {
  try {
    auto lease = impl_->lease();
    auto q = lease.reader().cache.get(
        "SELECT count(*) FROM outbox WHERE automatic = 1 AND first_recipient = ?"
        " AND created_at >= ?");
    const std::string a = core::ascii_lower(address);
    q.bind(1, a).bind(2, to_unix_millis(since));
    return q.row() ? static_cast<int64_t>(q.int_at(0)) : int64_t{0};
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Result<std::vector<std::pair<std::string, int64_t>>> SqliteStore::outbox_counts() {
  try {
    auto lease = impl_->lease();
    std::vector<std::pair<std::string, int64_t>> out;
    auto q = lease.reader().cache.get(
        "SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status");
    while (q.row()) out.emplace_back(q.text_at(0), q.int_at(1));
    return out;
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

// ---- moving a desk (escala export / import) ---------------------------------------------

namespace {

// SQLITE_TRANSIENT names a type outside the namespace soci puts the C API in.
const sqlite_api::sqlite3_destructor_type kCopy = reinterpret_cast<sqlite_api::sqlite3_destructor_type>(-1);

// A statement of the C API, finalized on scope exit.
struct RawStmt {
  sqlite_api::sqlite3_stmt* s = nullptr;
  RawStmt(sqlite_api::sqlite3* db, const std::string& sql) {
    if (sqlite_api::sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(sqlite_api::sqlite3_errmsg(db));
  }
  ~RawStmt() { sqlite_api::sqlite3_finalize(s); }
  RawStmt(const RawStmt&) = delete;
  RawStmt& operator=(const RawStmt&) = delete;
};

// The store's name of a dump column (the FTS5 table keys its rows by rowid).
std::string column_sql(const sql::DumpTable& t, const sql::DumpColumn& c) {
  if (t.name == "case_text" && c.name == "case_id") return "rowid";
  return c.name;
}

}  // namespace

Status SqliteStore::export_rows(const DumpRowSink& sink) {
  try {
    auto lease = impl_->lease();
    sqlite_api::sqlite3* db = Impl::handle(*lease);
    *lease << "BEGIN";  // one read snapshot for every table (WAL)
    struct Rollback {
      soci::session& s;
      ~Rollback() {
        try {
          s << "ROLLBACK";
        } catch (...) {
        }
      }
    } end{*lease};
    for (const auto& t : sql::dump_tables()) {
      std::string q = "SELECT ";
      for (size_t i = 0; i < t.columns.size(); ++i)
        q += (i ? ", " : "") + column_sql(t, t.columns[i]);
      std::string order = t.name == "case_text" ? "rowid" : t.order_by;
      q += " FROM " + t.name + " ORDER BY " + order;
      RawStmt st(db, q);
      for (;;) {
        const int rc = sqlite_api::sqlite3_step(st.s);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_ROW) throw std::runtime_error(sqlite_api::sqlite3_errmsg(db));
        Json row = Json::array();
        for (int i = 0; i < static_cast<int>(t.columns.size()); ++i) {
          if (sqlite_api::sqlite3_column_type(st.s, i) == SQLITE_NULL) {
            row.push_back(nullptr);
            continue;
          }
          switch (t.columns[static_cast<size_t>(i)].kind) {
            case sql::ColumnKind::kInt:
              row.push_back(static_cast<int64_t>(sqlite_api::sqlite3_column_int64(st.s, i)));
              break;
            case sql::ColumnKind::kBool:
              row.push_back(sqlite_api::sqlite3_column_int64(st.s, i) != 0 ? 1 : 0);
              break;
            case sql::ColumnKind::kText: {
              const auto* p = reinterpret_cast<const char*>(sqlite_api::sqlite3_column_text(st.s, i));
              row.push_back(std::string(p, static_cast<size_t>(sqlite_api::sqlite3_column_bytes(st.s, i))));
              break;
            }
            case sql::ColumnKind::kBytes: {
              const auto* p = static_cast<const char*>(sqlite_api::sqlite3_column_blob(st.s, i));
              const auto n = static_cast<size_t>(sqlite_api::sqlite3_column_bytes(st.s, i));
              row.push_back(Json{{"base64", sql::base64_encode(std::string_view(p ? p : "", n))}});
              break;
            }
          }
        }
        ESCALA_TRY(sink(t.name, row));
      }
    }
    return ok_status();
  } catch (const std::exception& e) {
    return db_error(e);
  }
}

Status SqliteStore::import_rows(const DumpRowSource& next) {
  // A write job must throw to undo what it wrote (the batch is rolled back); the error
  // itself is kept here and answered.
  std::optional<Error> failed;
  struct Undo : std::runtime_error {
    using std::runtime_error::runtime_error;
  };
  auto st = impl_->write([&](Session& session) -> Status {
    Status inner = [&]() -> Status {
    sqlite_api::sqlite3* db = Impl::handle(session);
    long long held = 0;
    session << "SELECT (SELECT count(*) FROM cases) + (SELECT count(*) FROM users)"
               " + (SELECT count(*) FROM accounts)",
        soci::into(held);
    if (held > 0)
      return make_error(ErrorCode::kAlreadyExists,
                        "the target desk already holds cases, users or accounts; import into a new one");
    // The settings a fresh desk writes for itself (defaults, secrets) give way to the
    // imported ones.
    session << "DELETE FROM settings";
    std::map<std::string, std::unique_ptr<RawStmt>> inserts;
    std::string table;
    Json row;
    std::string bytes;
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
      auto& stmt = inserts[table];
      if (!stmt) {
        std::string q = "INSERT INTO " + table + "(", marks;
        for (size_t i = 0; i < t->columns.size(); ++i) {
          q += (i ? ", " : "") + column_sql(*t, t->columns[i]);
          marks += i ? ", ?" : "?";
        }
        stmt = std::make_unique<RawStmt>(db, q + ") VALUES(" + marks + ")");
      }
      sqlite_api::sqlite3_stmt* st = stmt->s;
      sqlite_api::sqlite3_reset(st);
      sqlite_api::sqlite3_clear_bindings(st);
      for (int i = 0; i < static_cast<int>(row.size()); ++i) {
        const Json& v = row[static_cast<size_t>(i)];
        const auto& col = t->columns[static_cast<size_t>(i)];
        const std::string where = table + "." + col.name;
        if (v.is_null()) continue;  // bound NULL after clear_bindings
        switch (col.kind) {
          case sql::ColumnKind::kInt:
          case sql::ColumnKind::kBool:
            if (!v.is_number_integer())
              return make_error(ErrorCode::kInvalidArgument, "must be an integer", where);
            sqlite_api::sqlite3_bind_int64(st, i + 1, v.get<int64_t>());
            break;
          case sql::ColumnKind::kText:
            if (!v.is_string())
              return make_error(ErrorCode::kInvalidArgument, "must be a string", where);
            sqlite_api::sqlite3_bind_text(st, i + 1, v.get_ref<const std::string&>().c_str(),
                                          static_cast<int>(v.get_ref<const std::string&>().size()),
                                          kCopy);
            break;
          case sql::ColumnKind::kBytes:
            if (!v.is_object() || !v.contains("base64") || !v["base64"].is_string() ||
                !sql::base64_decode(v["base64"].get<std::string>(), bytes))
              return make_error(ErrorCode::kInvalidArgument, "must be {\"base64\": ...}", where);
            sqlite_api::sqlite3_bind_blob(st, i + 1, bytes.data(), static_cast<int>(bytes.size()),
                                          kCopy);
            break;
        }
      }
      if (sqlite_api::sqlite3_step(st) != SQLITE_DONE)
        return make_error(ErrorCode::kInvalidArgument,
                          table + ": " + sqlite_api::sqlite3_errmsg(db));
    }
    long long last = 0;
    session << "SELECT coalesce(max(id), 0) FROM cases", soci::into(last);
    impl_->next_case_id = last + 1;  // the batch writes the counter with this transaction
    return ok_status();
    }();
    if (!inner.ok()) {
      failed = inner.error();
      throw Undo(inner.error().message);
    }
    return ok_status();
  });
  if (failed) return *failed;
  return st;
}

}  // namespace escala::adapters
