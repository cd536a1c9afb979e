#pragma once
// DeskStore: everything a desk keeps, as one object — the three store ports together, as
// each backend (SQLite, PostgreSQL) implements them. The composition root picks one.

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
};

}  // namespace escala::ports
