#pragma once
// `escala export` and `escala import`: a desk moved between SQLite and PostgreSQL (or
// copied) without loss, checked by counts and checksums.
//
// The file is JSON Lines: a header {"format": "escala-desk-dump", "version": 1, ...}; for
// each table {"table": NAME, "columns": [...]} followed by one JSON array per row; and a
// last line {"manifest": {TABLE: {"rows": N, "sha256": HEX}}}. A table's checksum is a hash
// chain over its row lines (h = SHA-256(h ‖ line)), so it covers every value and the
// order. Import stores every row in one transaction, then exports the new desk again and
// compares its manifest with the file's: any difference is reported and is an error.

#include <string>

#include "app/server/desk.hpp"

namespace escala::app {

// Writes the desk at `where` to `path` ("-": standard output). Returns a process exit code.
int export_desk(const DeskLocation& where, const std::string& path);
// Reads `path` ("-": standard input) into the new, empty desk at `where`.
int import_desk(const DeskLocation& where, const std::string& path);

}  // namespace escala::app
