#pragma once
// DeskStore: everything a desk keeps, as one object — the three store ports together, as
// each backend (SQLite, PostgreSQL) implements them. The composition root picks one.

#include <functional>
#include <string>

#include "ports/case_store.hpp"
#include "ports/directory_store.hpp"
#include "ports/mail_store.hpp"

namespace escala::ports {

class DeskStore : public CaseStore, public DirectoryStore, public MailStore {
 public:
  ~DeskStore() override = default;
  // The schema version after migration.
  virtual int schema_version() const = 0;
  // One writer per database (SQLite): a second server on it must be refused.
  virtual bool single_node() const = 0;

  // Moving a desk between backends (`escala export` / `escala import`). A row is a JSON
  // array of plain values in the column order of the dump's table (the SQL stores' dump
  // format, adapters/sql_common/dump.hpp): integers, strings, null, {"base64": ...} for
  // bytes, booleans as 0/1. The same desk gives the same rows on every backend.
  using DumpRowSink = std::function<Status(const std::string& table, const core::Json& row)>;
  // Every row of every table, table by table in dump order, from one consistent snapshot
  // (the desk may keep serving meanwhile).
  virtual Status export_rows(const DumpRowSink& sink) = 0;
  // Reads rows until `next` answers false and stores them in one transaction; refused
  // (kAlreadyExists) unless the desk holds no case, user or account. New case numbers
  // then continue after the highest imported one.
  using DumpRowSource = std::function<Result<bool>(std::string& table, core::Json& row)>;
  virtual Status import_rows(const DumpRowSource& next) = 0;
};

}  // namespace escala::ports
