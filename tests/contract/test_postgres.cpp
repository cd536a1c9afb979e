#include "test_postgres.hpp"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace escala::testing {
namespace {

namespace fs = std::filesystem;

// A port the kernel just gave out on loopback: free unless someone takes it meanwhile
// (start is retried on another port).
int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (s >= 0) ::close(s);
    throw std::runtime_error("test PostgreSQL: no free loopback port");
  }
  ::close(s);
  return ntohs(a.sin_port);
}

std::string quote(const std::string& s) { return "'" + s + "'"; }  // our own paths only

}  // namespace

TestPostgres& TestPostgres::instance() {
  static std::mutex mu;
  std::lock_guard lock(mu);
  static TestPostgres pg;  // stopped by its destructor at exit
  return pg;
}

TestPostgres::TestPostgres() {
  const char* env = std::getenv("ESCALA_PG_BINDIR");
  bindir_ = env && *env ? env : "/usr/lib/postgresql/15/bin";
  if (!fs::exists(bindir_ + "/initdb") || !fs::exists(bindir_ + "/pg_ctl"))
    throw std::runtime_error(
        "PostgreSQL 15 server binaries not found in " + bindir_ +
        " (set ESCALA_PG_BINDIR, or install postgresql-15 postgresql-contrib-15:"
        " scripts/install-deps.sh test); the PostgreSQL store cannot be tested");

  char tmpl[] = "/tmp/escala-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("test PostgreSQL: mkdtemp failed");
  dir_ = tmpl;
  // initdb refuses to run as root: run the server tools as postgres, owner of the folder.
  std::string as_user;
  if (::geteuid() == 0) {
    const passwd* pw = ::getpwnam("postgres");
    if (!pw) throw std::runtime_error("test PostgreSQL: running as root but there is no postgres user");
    if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      throw std::runtime_error("test PostgreSQL: chown " + dir_ + " failed");
    as_user = "runuser -u postgres -- ";
  }
  fs::permissions(dir_, fs::perms::owner_all, fs::perm_options::replace);
  const std::string data = dir_ + "/data", log = dir_ + "/log";
  // --no-sync: a throw-away cluster needs no fsync of its template files (7 s → 0.8 s).
  const std::string initdb = as_user + bindir_ + "/initdb --no-sync -D " + quote(data) +
                             " -U postgres -A trust -E UTF8 --locale=C.UTF-8 > " +
                             quote(dir_ + "/initdb.log") + " 2>&1";
  if (std::system(initdb.c_str()) != 0)
    throw std::runtime_error("test PostgreSQL: initdb failed, see " + dir_ + "/initdb.log");
  for (int attempt = 0; attempt < 5 && !started_; ++attempt) {
    port_ = free_port();
    const std::string start = as_user + bindir_ + "/pg_ctl -D " + quote(data) + " -l " +
                              quote(log) + " -w -t 60 -o " +
                              quote("-p " + std::to_string(port_) +
                                    " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" +
                                    dir_ + " -c max_connections=200") +
                              " start > /dev/null 2>&1";
    started_ = std::system(start.c_str()) == 0;
  }
  if (!started_) throw std::runtime_error("test PostgreSQL: pg_ctl start failed, see " + log);
  stop_cmd_ = as_user + bindir_ + "/pg_ctl -D " + quote(data) + " -m fast -w stop > /dev/null 2>&1";
}

TestPostgres::~TestPostgres() {
  if (started_) (void)std::system(stop_cmd_.c_str());
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string TestPostgres::database_url(const std::string& name) {
  const std::string base = "postgresql://postgres@127.0.0.1:" + std::to_string(port_);
  PGconn* c = PQconnectdb((base + "/postgres?options=-c%20client_min_messages%3Dwarning").c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    throw std::runtime_error("test PostgreSQL: " + msg);
  }
  PGresult* r = PQexec(c, ("CREATE DATABASE \"" + name + "\"").c_str());
  const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const bool exists = state && std::string(state) == "42P04";  // duplicate_database
  std::string msg = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  if (!ok && !exists) throw std::runtime_error("test PostgreSQL: CREATE DATABASE: " + msg);
  return base + "/" + name;
}

}  // namespace escala::testing
