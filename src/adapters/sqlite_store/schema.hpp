#pragma once
// Versioned schema of the SQLite store.

#include <string>
#include <vector>

namespace escala::adapters::sqlite {

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

const std::vector<Migration>& migrations();

// The deck's defaults, stored as the "defaults" setting of a fresh database.
std::string seed_defaults_json();

}  // namespace escala::adapters::sqlite
