#include "adapters/pg_store/pg_conn.hpp"

namespace escala::adapters::pg {

Params& Params::operator=(const Params& other) {
  if (this == &other) return *this;
  values_.clear();
  ptrs_.clear();
  lengths_.clear();
  formats_.clear();
  for (size_t i = 0; i < other.values_.size(); ++i) push(other.values_[i], other.formats_[i]);
  return *this;
}

void Params::push(std::optional<std::string> v, int format) {
  values_.push_back(std::move(v));
  const auto& stored = values_.back();
  ptrs_.push_back(stored ? stored->c_str() : nullptr);
  lengths_.push_back(stored ? static_cast<int>(stored->size()) : 0);
  formats_.push_back(format);
}

Params& Params::text(std::string v) {
  push(std::move(v), 0);
  return *this;
}
Params& Params::null() {
  push(std::nullopt, 0);
  return *this;
}
Params& Params::bytes(std::string v) {
  push(std::move(v), 1);
  return *this;
}

Conn::Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string msg = c_ ? PQerrorMessage(c_) : "out of memory";
    PQfinish(c_);
    c_ = nullptr;
    throw PgError("connecting to PostgreSQL: " + msg, "08001");
  }
}

Conn::~Conn() {
  if (c_) PQfinish(c_);
}

Res Conn::check(PGresult* r, const std::string& sql) {
  const auto st = PQresultStatus(r);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Res(r);
  std::string state;
  std::string msg;
  if (r) {
    const char* s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    state = s ? s : "";
    msg = PQresultErrorMessage(r);
    PQclear(r);
  } else {
    msg = PQerrorMessage(c_);
  }
  if (state.empty()) state = PQstatus(c_) == CONNECTION_OK ? "XX000" : "08006";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  throw PgError(msg + " [" + state + "] in: " + sql.substr(0, 120), state);
}

const std::string& Conn::prepare(const std::string& sql) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    check(PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr), sql);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return it->second;
}

Res Conn::exec(const std::string& sql, const Params& p, ResultFormat format) {
  if (pipelining()) throw std::logic_error("Conn::exec inside a pipeline: " + sql.substr(0, 80));
  const std::string& name = prepare(sql);
  return check(PQexecPrepared(c_, name.c_str(), p.size(), p.values(), p.lengths(),
                              p.formats(), format == ResultFormat::kBinary ? 1 : 0),
               sql);
}

void Conn::pipeline_begin() {
  if (pipelining()) throw std::logic_error("Conn::pipeline_begin: a pipeline is open");
  if (PQenterPipelineMode(c_) != 1)
    throw PgError(std::string("cannot enter pipeline mode: ") + PQerrorMessage(c_),
                  PQstatus(c_) == CONNECTION_OK ? "XX000" : "08006");
  pipelined_ = 0;
  pipeline_.clear();
}

int Conn::write(const std::string& sql, const Params& p) {
  if (!pipelining()) {
    exec(sql, p);
    return -1;
  }
  const std::string broke = PQstatus(c_) == CONNECTION_OK ? "XX000" : "08006";
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    // Prepared in the pipeline; kept in prepared_ only if its result says it was done
    // (after an error the server skips what follows, prepares included).
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    if (PQsendPrepare(c_, name.c_str(), sql.c_str(), 0, nullptr) != 1)
      throw PipelineError(std::string("cannot send: ") + PQerrorMessage(c_), broke, -1);
    it = prepared_.emplace(sql, std::move(name)).first;
    pipeline_.push_back({sql, true});
  }
  if (PQsendQueryPrepared(c_, it->second.c_str(), p.size(), p.values(), p.lengths(), p.formats(), 0) != 1)
    throw PipelineError(std::string("cannot send: ") + PQerrorMessage(c_), broke, -1);
  pipeline_.push_back({sql, false});
  return pipelined_++;
}

void Conn::pipeline_sync() {
  if (!pipelining()) throw std::logic_error("Conn::pipeline_sync without a pipeline");
  const std::string broke = "08006";
  std::optional<PipelineError> first;
  size_t at = 0;  // the entry of pipeline_ whose results are being read
  int index = 0;  // its statement index (write()'s answer), prepares not counted
  auto lost = [&] {
    if (!first || first->index() >= 0)
      first.emplace(std::string("connection lost in a pipeline: ") + PQerrorMessage(c_), broke, -1);
  };
  if (PQpipelineSync(c_) != 1) {
    lost();
  } else {
    int nulls = 0;
    for (;;) {
      PGresult* r = PQgetResult(c_);
      if (!r) {
        // Ends one entry's results; repeated with nothing else, the connection is gone.
        if (PQstatus(c_) != CONNECTION_OK || ++nulls > 2) {
          lost();
          break;
        }
        if (at < pipeline_.size() && !pipeline_[at].prepare) ++index;
        ++at;
        continue;
      }
      nulls = 0;
      const auto st = PQresultStatus(r);
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        break;
      }
      const bool done = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
      if (at < pipeline_.size() && pipeline_[at].prepare && !done) prepared_.erase(pipeline_[at].sql);
      if (st == PGRES_FATAL_ERROR && !first) {
        const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        std::string msg = PQresultErrorMessage(r);
        while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
        const std::string sql = at < pipeline_.size() ? pipeline_[at].sql.substr(0, 120) : "";
        const std::string state = code ? code : "XX000";
        first.emplace(msg + " [" + state + "] in: " + sql, state, index);
      }
      PQclear(r);
    }
  }
  // Prepares whose results never came (a lost connection) are not known to be done.
  for (size_t i = at; i < pipeline_.size(); ++i)
    if (pipeline_[i].prepare) prepared_.erase(pipeline_[i].sql);
  pipelined_ = -1;
  pipeline_.clear();
  if (PQpipelineStatus(c_) != PQ_PIPELINE_OFF) PQexitPipelineMode(c_);  // fails when results
                                                                         // are unread: recover()
  if (first) throw *first;
}

Res Conn::exec_once(const std::string& sql, const Params& p) {
  return check(PQexecParams(c_, sql.c_str(), p.size(), nullptr, p.values(), p.lengths(),
                            p.formats(), 0),
               sql);
}

void Conn::run(const std::string& sql) { check(PQexec(c_, sql.c_str()), sql); }

bool Conn::broken() const { return PQstatus(c_) != CONNECTION_OK; }

void Conn::recover() {
  pipelined_ = -1;
  pipeline_.clear();
  if (PQstatus(c_) != CONNECTION_OK || PQpipelineStatus(c_) != PQ_PIPELINE_OFF) {
    // A new server session: the statements prepared on the old one are gone.
    PQreset(c_);
    prepared_.clear();
    return;
  }
  if (PQtransactionStatus(c_) != PQTRANS_IDLE) PQclear(PQexec(c_, "ROLLBACK"));
}

Pool::Pool(std::string conninfo, int size) : conninfo_(std::move(conninfo)), size_(std::max(1, size)) {}

Pool::Lease Pool::lease() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!free_.empty()) {
      auto c = std::move(free_.back());
      free_.pop_back();
      return Lease(*this, std::move(c));
    }
    if (opened_ < size_) {
      ++opened_;
      lock.unlock();  // connecting is I/O: not under the lock
      try {
        return Lease(*this, std::make_unique<Conn>(conninfo_));
      } catch (...) {
        std::lock_guard again(mu_);
        --opened_;
        throw;
      }
    }
    cv_.wait(lock);
  }
}

Pool::Lease::~Lease() {
  if (!c_) return;
  c_->recover();  // a connection goes back idle and alive, whatever happened while leased
  {
    std::lock_guard lock(pool_.mu_);
    pool_.free_.push_back(std::move(c_));
  }
  pool_.cv_.notify_one();
}

std::string conninfo_with_options(const std::string& url) {
  const bool is_url = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (is_url) {
    const char sep = url.find('?') == std::string::npos ? '?' : '&';
    return url + sep +
           "options=-c%20client_min_messages%3Dwarning&application_name=escala&connect_timeout=5";
  }
  return url + " options='-c client_min_messages=warning' application_name=escala connect_timeout=5";
}

}  // namespace escala::adapters::pg
