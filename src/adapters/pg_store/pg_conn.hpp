#pragma once
// A thin layer over libpq for the PostgreSQL store: parameters, results, a connection that
// prepares each statement once, and a small thread-safe pool.
//
// Why libpq and not SOCI's postgresql backend: the store needs exactly what SOCI hides —
// the SQLSTATE of a failure (23505 unique violation, 40P01 deadlock, 40001 serialization)
// to map it to an error code or a retry, BYTEA parameters and results in binary form
// (raw messages and attachments without hex escaping), 64-bit integers everywhere (SOCI's
// row types once truncated epoch milliseconds in the SQLite store), and server-side
// prepared statements kept per connection. The SQL stays plain PostgreSQL; the layer is
// ~250 lines.
//
// Thread-safety: a Conn is used by one thread at a time (the pool hands it out); the Pool
// is thread-safe. Failure: every database error throws PgError with the SQLSTATE.

#include <libpq-fe.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace escala::adapters::pg {

class PgError : public std::runtime_error {
 public:
  PgError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

// A statement of a pipeline failed: `index` is its place in the pipeline (Conn::write's
// answer), or -1 when the connection broke and which statement ran is unknown.
class PipelineError : public PgError {
 public:
  PipelineError(const std::string& message, std::string sqlstate, int index)
      : PgError(message, std::move(sqlstate)), index_(index) {}
  int index() const { return index_; }

 private:
  int index_;
};

// Bound parameters, $1 upwards. Values are copied, so temporaries are fine.
class Params {
 public:
  Params() = default;
  Params(const Params& other) { *this = other; }
  Params& operator=(const Params& other);

  Params& text(std::string v);
  Params& i64(long long v) { return text(std::to_string(v)); }
  Params& boolean(bool v) { return text(v ? "true" : "false"); }
  Params& null();
  Params& opt_i64(const std::optional<long long>& v) { return v ? i64(*v) : null(); }
  Params& opt_text(const std::optional<std::string>& v) { return v ? text(*v) : null(); }
  // Sent in binary form: any bytes (BYTEA).
  Params& bytes(std::string v);
  // Appends a parameter and answers its placeholder ("$3"): for queries built in code.
  std::string add_text(std::string v) { text(std::move(v)); return "$" + std::to_string(size()); }
  std::string add_i64(long long v) { i64(v); return "$" + std::to_string(size()); }

  int size() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return ptrs_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const { return formats_.data(); }

 private:
  void push(std::optional<std::string> v, int format);
  std::deque<std::optional<std::string>> values_;  // a deque: addresses stay valid
  std::vector<const char*> ptrs_;
  std::vector<int> lengths_;
  std::vector<int> formats_;
};

// One column of a multi-row statement, `INSERT … SELECT * FROM unnest($1::bigint[],
// $2::text[], …)`: the values as a PostgreSQL array literal, sent as one text parameter.
// Every element is quoted (and `"` and `\` escaped), so any text is safe; NULL is unquoted.
class ArrayLiteral {
 public:
  ArrayLiteral& text(std::string_view v) {
    sep();
    s_ += '"';
    for (char ch : v) {
      if (ch == '"' || ch == '\\') s_ += '\\';
      s_ += ch;
    }
    s_ += '"';
    return *this;
  }
  ArrayLiteral& i64(long long v) {
    sep();
    s_ += std::to_string(v);
    return *this;
  }
  ArrayLiteral& boolean(bool v) {
    sep();
    s_ += v ? 't' : 'f';
    return *this;
  }
  ArrayLiteral& null() {
    sep();
    s_ += "NULL";
    return *this;
  }
  ArrayLiteral& opt_i64(const std::optional<long long>& v) { return v ? i64(*v) : null(); }
  int size() const { return n_; }
  std::string str() const { return "{" + s_ + "}"; }

 private:
  void sep() {
    if (n_++) s_ += ',';
  }
  std::string s_;
  int n_ = 0;
};

class Res {
 public:
  explicit Res(PGresult* r) : r_(r) {}
  Res(Res&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Res& operator=(Res&&) = delete;
  ~Res() { if (r_) PQclear(r_); }

  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<size_t>(PQgetlength(r_, row, col)));
  }
  long long i64(int row, int col) const { return std::strtoll(PQgetvalue(r_, row, col), nullptr, 10); }
  std::optional<long long> opt_i64(int row, int col) const {
    if (null(row, col)) return std::nullopt;
    return i64(row, col);
  }
  bool boolean(int row, int col) const { return PQgetvalue(r_, row, col)[0] == 't'; }
  // Rows changed by INSERT/UPDATE/DELETE.
  long long affected() const { return std::strtoll(PQcmdTuples(r_), nullptr, 10); }

 private:
  PGresult* r_;
};

enum class ResultFormat { kText, kBinary };

class Conn {
 public:
  // Connects or throws PgError.
  explicit Conn(const std::string& conninfo);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Runs one statement, prepared on this connection the first time it is seen.
  Res exec(const std::string& sql, const Params& params = {},
           ResultFormat format = ResultFormat::kText);
  // Runs one statement once, unprepared (queries built from filters).
  Res exec_once(const std::string& sql, const Params& params);
  // Runs a parameterless command or script (BEGIN, COMMIT, DDL).
  void run(const std::string& sql);

  // Pipeline mode (libpq): between pipeline_begin() and pipeline_sync(), write() sends a
  // statement without waiting for it, so many statements cost one round trip. Outside a
  // pipeline, write() runs the statement like exec(). pipeline_sync() waits for every
  // result and throws the first error as PipelineError (the server skipped what followed
  // it). A statement is prepared (one round trip) the first time this connection sees it.
  void pipeline_begin();
  // Returns the statement's index in the pipeline (0 upwards), or -1 outside a pipeline.
  int write(const std::string& sql, const Params& params = {});
  void pipeline_sync();
  bool pipelining() const { return pipelined_ >= 0; }

  // After a failure: rolls back an open transaction and reconnects a broken connection.
  void recover();
  // Whether the connection to the server is lost (the server restarted or ended the
  // session): recover() reconnects it.
  bool broken() const;

 private:
  Res check(PGresult* r, const std::string& sql);
  const std::string& prepare(const std::string& sql);
  PGconn* c_;
  int pipelined_ = -1;  // statements sent in the open pipeline, -1 when none is open
  struct Sent {
    std::string sql;
    bool prepare;  // a PQsendPrepare, not a statement
  };
  std::vector<Sent> pipeline_;  // what the open pipeline sent, in order
  std::unordered_map<std::string, std::string> prepared_;  // SQL -> statement name
};

class Pool {
 public:
  Pool(std::string conninfo, int size);

  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Conn> c) : pool_(pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(std::move(o.c_)) {}
    ~Lease();
    Conn& operator*() { return *c_; }
    Conn* operator->() { return c_.get(); }

   private:
    Pool& pool_;
    std::unique_ptr<Conn> c_;
  };

  // Waits for a free connection (connections are opened lazily up to `size`).
  Lease lease();

 private:
  std::string conninfo_;
  int size_;
  int opened_ = 0;  // GUARDED_BY(mu_)
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> free_;  // GUARDED_BY(mu_)
};

// A connection string for libpq from a URL (postgresql://…) or key=value pairs, with
// NOTICEs silenced (libpq would print them to stderr) and connecting bounded to 5 s (a
// database host that does not answer makes calls fail, not hang).
std::string conninfo_with_options(const std::string& url);

}  // namespace escala::adapters::pg
