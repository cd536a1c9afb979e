// adapters::pg::Conn's pipeline mode on a throw-away PostgreSQL: many statements in one
// round trip; a failing statement is reported with its place in the pipeline, the server
// skips what follows it (prepares included), and the connection stays usable with its
// prepared statements known exactly.
#include <gtest/gtest.h>

#include <string>

#include "adapters/pg_store/pg_conn.hpp"
#include "test_postgres.hpp"

namespace escala {
namespace {

using adapters::pg::Conn;
using adapters::pg::Params;
using adapters::pg::PipelineError;

std::string url() {
  static const std::string u = testing::TestPostgres::instance().database_url("escala_conn");
  return u;
}

class PgPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    c_.run("DROP TABLE IF EXISTS t; CREATE TABLE t(id BIGINT PRIMARY KEY, v TEXT NOT NULL)");
  }
  long long count() { return c_.exec("SELECT count(*) FROM t").i64(0, 0); }
  Conn c_{adapters::pg::conninfo_with_options(url())};
};

TEST_F(PgPipeline, WritesOutsideAPipelineRunAtOnce) {
  EXPECT_FALSE(c_.pipelining());
  EXPECT_EQ(c_.write("INSERT INTO t VALUES($1, $2)", Params().i64(1).text("a")), -1);
  EXPECT_EQ(count(), 1);
}

TEST_F(PgPipeline, ATransactionInOnePipeline) {
  c_.pipeline_begin();
  EXPECT_EQ(c_.write("BEGIN"), 0);
  for (int i = 1; i <= 50; ++i)
    EXPECT_EQ(c_.write("INSERT INTO t VALUES($1, $2)", Params().i64(i).text("v" + std::to_string(i))), i);
  EXPECT_EQ(c_.write("COMMIT"), 51);
  EXPECT_THROW(c_.exec("SELECT 1"), std::logic_error);  // no waiting for a result inside
  c_.pipeline_sync();
  EXPECT_FALSE(c_.pipelining());
  EXPECT_EQ(count(), 50);
  EXPECT_EQ(c_.exec("SELECT v FROM t WHERE id = 50").text(0, 0), "v50");
}

TEST_F(PgPipeline, AFailureNamesItsStatementAndNothingAfterItRuns) {
  c_.pipeline_begin();
  c_.write("BEGIN");
  c_.write("INSERT INTO t VALUES($1, $2)", Params().i64(1).text("a"));
  const int dup = c_.write("INSERT INTO t VALUES($1, $2)", Params().i64(1).text("again"));
  // Seen for the first time after the failure: its prepare is skipped by the server too.
  c_.write("UPDATE t SET v = $1 WHERE id = $2", Params().text("b").i64(1));
  const int commit = c_.write("COMMIT");
  try {
    c_.pipeline_sync();
    FAIL() << "the duplicate key was accepted";
  } catch (const PipelineError& e) {
    EXPECT_EQ(e.index(), dup);
    EXPECT_NE(e.index(), commit);
    EXPECT_EQ(e.sqlstate(), "23505");
  }
  EXPECT_FALSE(c_.pipelining());
  c_.recover();  // the transaction is rolled back
  EXPECT_EQ(count(), 0);
  // The skipped prepare is not believed done: the statement works now, alone and in a
  // pipeline.
  c_.exec("INSERT INTO t VALUES($1, $2)", Params().i64(1).text("a"));
  c_.write("UPDATE t SET v = $1 WHERE id = $2", Params().text("b").i64(1));
  c_.pipeline_begin();
  c_.write("UPDATE t SET v = $1 WHERE id = $2", Params().text("c").i64(1));
  c_.pipeline_sync();
  EXPECT_EQ(c_.exec("SELECT v FROM t WHERE id = 1").text(0, 0), "c");
}

TEST_F(PgPipeline, AConnectionTheServerEndsIsReportedAsUnknown) {
  Conn admin(adapters::pg::conninfo_with_options(url()));
  const long long pid = c_.exec("SELECT pg_backend_pid()").i64(0, 0);
  admin.exec("SELECT pg_terminate_backend($1::int)", Params().i64(pid));
  c_.pipeline_begin();
  try {
    c_.write("BEGIN");
    c_.write("INSERT INTO t VALUES($1, $2)", Params().i64(1).text("a"));
    c_.write("COMMIT");
    c_.pipeline_sync();
    FAIL() << "a terminated session answered";
  } catch (const PipelineError& e) {
    // Which statement the server ran is not known: no index. (The terminated backend may
    // also answer with its own FATAL first; either way the caller learns of it.)
    EXPECT_TRUE(e.index() < 0 || e.sqlstate() == "57P01") << e.what();
  }
  c_.recover();
  EXPECT_FALSE(c_.broken());
  EXPECT_EQ(count(), 0);
}

}  // namespace
}  // namespace escala
