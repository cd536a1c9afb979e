#pragma once
// Versioned schema of the PostgreSQL store: the same logical schema, version for version,
// as the SQLite store's migrations (a desk at version N has the same tables on both).

#include <string>
#include <vector>

namespace escala::adapters::pg {

struct Migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

const std::vector<Migration>& migrations();

}  // namespace escala::adapters::pg
