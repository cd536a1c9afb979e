#pragma once
// Prepared statements of the writer's hot paths, kept for the life of the connection.
// Preparing (parsing SQL) was a tenth of the writer's time when every INSERT was a SOCI
// one-shot statement; a cached statement is only reset and re-bound.
//
// Thread-safety: none; one cache per connection, used by the thread that owns it.
// Failure: every error throws std::runtime_error with SQLite's message, like SOCI does,
// so the writer's batch rolls back as for any other failed statement.

#include <soci/sqlite3/soci-sqlite3.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace escala::adapters::sqlite {

class Stmt {
 public:
  Stmt(sqlite_api::sqlite3* db, sqlite_api::sqlite3_stmt* s) : db_(db), s_(s) {}
  ~Stmt() {
    sqlite_api::sqlite3_reset(s_);
    sqlite_api::sqlite3_clear_bindings(s_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are numbered from 1. Text and blobs are bound without a copy: the caller
  // keeps them alive until the statement has run.
  Stmt& bind(int i, long long v) { return check(sqlite_api::sqlite3_bind_int64(s_, i, v)); }
  Stmt& bind(int i, std::string_view v) {
    return check(sqlite_api::sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()),
                                               SQLITE_STATIC));
  }
  Stmt& bind_blob(int i, std::string_view v) {
    return check(sqlite_api::sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_STATIC));
  }
  Stmt& bind_null(int i) { return check(sqlite_api::sqlite3_bind_null(s_, i)); }

  // Runs a statement that returns no rows.
  void run() {
    int rc = sqlite_api::sqlite3_step(s_);
    if (rc != SQLITE_DONE) fail();
  }
  // Steps to the next row; false when there is none.
  bool row() {
    int rc = sqlite_api::sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail();
    return false;
  }
  long long int_at(int col) const { return sqlite_api::sqlite3_column_int64(s_, col); }
  bool null_at(int col) const {
    return sqlite_api::sqlite3_column_type(s_, col) == SQLITE_NULL;
  }
  std::string text_at(int col) const {
    const auto* p = sqlite_api::sqlite3_column_text(s_, col);
    int n = sqlite_api::sqlite3_column_bytes(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int changes() const { return sqlite_api::sqlite3_changes(db_); }

 private:
  Stmt& check(int rc) {
    if (rc != SQLITE_OK) fail();
    return *this;
  }
  [[noreturn]] void fail() { throw std::runtime_error(sqlite_api::sqlite3_errmsg(db_)); }

  sqlite_api::sqlite3* db_;
  sqlite_api::sqlite3_stmt* s_;
};

class StmtCache {
 public:
  explicit StmtCache(sqlite_api::sqlite3* db) : db_(db) {}
  ~StmtCache() {
    for (auto& [sql, s] : stmts_) sqlite_api::sqlite3_finalize(s);
  }
  StmtCache(const StmtCache&) = delete;
  StmtCache& operator=(const StmtCache&) = delete;

  // The statement for `sql`, prepared on first use. `sql` must be a string literal (the
  // cache is keyed by its address).
  Stmt get(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite_api::sqlite3_stmt* s = nullptr;
      if (sqlite_api::sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) !=
          SQLITE_OK)
        throw std::runtime_error(sqlite_api::sqlite3_errmsg(db_));
      it = stmts_.emplace(sql, s).first;
    }
    return Stmt(db_, it->second);
  }

 private:
  sqlite_api::sqlite3* db_;
  std::unordered_map<const char*, sqlite_api::sqlite3_stmt*> stmts_;
};

}  // namespace escala::adapters::sqlite
