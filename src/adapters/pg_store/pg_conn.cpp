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

Res Conn::exec(const std::string& sql, const Params& p, ResultFormat format) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "s" + std::to_string(prepared_.size() + 1);
    check(PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr), sql);
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  return check(PQexecPrepared(c_, it->second.c_str(), p.size(), p.values(), p.lengths(),
                              p.formats(), format == ResultFormat::kBinary ? 1 : 0),
               sql);
}

Res Conn::exec_once(const std::string& sql, const Params& p) {
  return check(PQexecParams(c_, sql.c_str(), p.size(), nullptr, p.values(), p.lengths(),
                            p.formats(), 0),
               sql);
}

void Conn::run(const std::string& sql) { check(PQexec(c_, sql.c_str()), sql); }

bool Conn::broken() const { return PQstatus(c_) != CONNECTION_OK; }

void Conn::recover() {
  if (PQstatus(c_) != CONNECTION_OK) {
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
