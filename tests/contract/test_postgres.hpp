#pragma once
// A throw-away PostgreSQL 15 for tests: initdb into a fresh temporary folder (owned by the
// postgres user when the tests run as root), pg_ctl start on a free loopback port with the
// socket in that folder, and pg_ctl stop + removal at process exit. Nothing else listens:
// listen_addresses=127.0.0.1 only. The system's own cluster, if any, is left alone.
//
// Started on first use. When the binaries are missing, instance() throws with what to
// install: the tests that need PostgreSQL fail, they do not skip.
// Thread-safety: instance() and database_url() may be called from any thread.

#include <string>

namespace escala::testing {

class TestPostgres {
 public:
  static TestPostgres& instance();
  ~TestPostgres();

  // A URL of database `name` (created when missing) for escala's PgStore.
  std::string database_url(const std::string& name);
  int port() const { return port_; }

 private:
  TestPostgres();
  std::string dir_;
  std::string bindir_;
  std::string stop_cmd_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace escala::testing
