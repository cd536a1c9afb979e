#include "adapters/pg_store/pg_case_notifier.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "adapters/pg_store/pg_conn.hpp"

namespace escala::adapters {

CaseNotice notice_of(const std::string& node, const core::Case& after,
                     const std::vector<core::Event>& events) {
  CaseNotice n;
  n.node = node;
  n.case_id = after.id;
  n.version = after.version;
  n.account = after.account;
  for (const auto& e : events) {
    if (n.kind.empty()) n.kind = e.type;
    if (!e.internal && n.public_kind.empty()) n.public_kind = e.type;
  }
  return n;
}

std::string to_payload(const CaseNotice& n) {
  return core::Json{{"n", n.node},         {"c", n.case_id}, {"v", n.version},
                    {"k", n.kind},         {"p", n.public_kind},
                    {"a", n.account}}
      .dump(-1, ' ', false, core::Json::error_handler_t::replace);
}

std::optional<CaseNotice> parse_payload(std::string_view payload) {
  auto j = core::Json::parse(payload, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto str = [&](const char* key) -> std::optional<std::string> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  auto num = [&](const char* key) -> std::optional<int64_t> {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<int64_t>();
  };
  auto node = str("n"), kind = str("k"), pub = str("p"), account = str("a");
  auto id = num("c"), version = num("v");
  if (!node || !kind || !pub || !account || !id || !version || *id <= 0) return std::nullopt;
  return CaseNotice{*node, *id, *version, *kind, *pub, *account};
}

namespace {

// The listener's connection: the pool's options, and TCP keepalives so that a database
// host that vanished without closing the socket is noticed within about half a minute.
std::string listener_conninfo(const std::string& url) {
  std::string c = pg::conninfo_with_options(url);
  const bool is_url = url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
  if (is_url) return c + "&keepalives_idle=10&keepalives_interval=5&keepalives_count=3";
  return c + " keepalives_idle=10 keepalives_interval=5 keepalives_count=3";
}

}  // namespace

PgCaseListener::PgCaseListener(PgListenerOptions options, OnNotice on_notice, OnGap on_gap)
    : options_(std::move(options)),
      conninfo_(listener_conninfo(options_.url)),
      on_notice_(std::move(on_notice)),
      on_gap_(std::move(on_gap)) {}

PgCaseListener::~PgCaseListener() { stop(); }

void PgCaseListener::start() {
  if (thread_.joinable()) return;
  if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) wake_[0] = wake_[1] = -1;
  thread_ = std::thread([this] { run(); });
}

void PgCaseListener::stop() {
  stopping_ = true;
  if (wake_[1] >= 0) {
    const char b = 1;
    (void)!::write(wake_[1], &b, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int& fd : wake_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

bool PgCaseListener::pause(std::chrono::milliseconds d) {
  if (stopping_) return false;
  pollfd p{wake_[0], POLLIN, 0};
  ::poll(&p, wake_[0] >= 0 ? 1 : 0, static_cast<int>(d.count()));
  return !stopping_;
}

void PgCaseListener::run() {
  auto backoff = options_.backoff_min;
  bool first = true;  // the first connection misses nothing: no stream was open before it
  while (!stopping_) {
    // Connect and LISTEN. (PQconnectdb blocks: on loopback a refused connection answers at
    // once; elsewhere libpq's connect_timeout of conninfo_with_options bounds it.)
    PGconn* c = PQconnectdb(conninfo_.c_str());
    bool ok = PQstatus(c) == CONNECTION_OK;
    // The server's goodbye when it ends the session ("terminating connection due to
    // administrator command") is expected here: not printed to stderr.
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    if (ok) {
      PGresult* r = PQexec(c, (std::string("LISTEN ") + kCaseChannel).c_str());
      ok = PQresultStatus(r) == PGRES_COMMAND_OK;
      PQclear(r);
    }
    if (!ok) {
      PQfinish(c);
      first = false;  // something may be missed from now on
      if (!pause(backoff)) return;
      backoff = std::min(backoff * 2, options_.backoff_max);
      continue;
    }
    backoff = options_.backoff_min;
    listening_ = true;
    ++connections_;
    // Notices sent while this node did not listen are lost: listeners refetch.
    if (!first && on_gap_) on_gap_();
    first = false;

    // Wait for notices until the connection breaks or stop().
    const int sock = PQsocket(c);
    while (!stopping_) {
      pollfd fds[2] = {{sock, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      const int n = ::poll(fds, wake_[0] >= 0 ? 2 : 1, 30'000);
      if (n < 0 && errno == EINTR) continue;
      if (stopping_) break;
      if (n == 0) {
        // Quiet for 30 s: a round trip proves the session is alive (keepalives would tell
        // too, later).
        PGresult* r = PQexec(c, "SELECT 1");
        const bool alive = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (!alive) break;
      } else if (!(fds[0].revents & (POLLIN | POLLERR | POLLHUP))) {
        continue;
      } else if (PQconsumeInput(c) == 0) {
        break;  // the server closed the connection (restart, pg_terminate_backend)
      }
      while (PGnotify* note = PQnotifies(c)) {
        if (auto notice = parse_payload(note->extra);
            notice && notice->node != options_.node_id && on_notice_)
          on_notice_(*notice);
        PQfreemem(note);
      }
      if (PQstatus(c) != CONNECTION_OK) break;
    }
    listening_ = false;
    PQfinish(c);
    if (stopping_) return;
    // Broken: try again after the shortest pause (the database may be back already).
    if (!pause(backoff)) return;
  }
}

}  // namespace escala::adapters
