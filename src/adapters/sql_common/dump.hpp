#pragma once
// The desk dump: every table a SQL store keeps, as rows of plain values, so that a desk
// moves between SQLite and PostgreSQL without loss (`escala export` / `escala import`).
//
// A row is a JSON array in the column order below: integers, strings, null, and
// {"base64": "..."} for bytes; booleans are 0 or 1. Both stores produce exactly the same
// rows for the same desk, so a dump's per-table checksums verify a move. The full-text
// index travels as the `case_text` table (case id, subject, body, messages); each store
// derives its own index structures (FTS5, tsvector) from it. Case numbering is not a table:
// an import continues after the highest case number.

#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"

namespace escala::adapters::sql {

enum class ColumnKind { kInt, kText, kBool, kBytes };

struct DumpColumn {
  std::string name;
  ColumnKind kind;
};

struct DumpTable {
  std::string name;
  std::vector<DumpColumn> columns;
  std::string order_by;  // a total order: the dump is deterministic
};

// The tables in dump order (what a row refers to comes first).
const std::vector<DumpTable>& dump_tables();
const DumpTable* find_dump_table(std::string_view name);

std::string base64_encode(std::string_view bytes);
// Ignores line breaks; false on any other character outside the alphabet.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace escala::adapters::sql
