#include "app/cli/desk_dump.hpp"

#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "adapters/sodium_crypto/sodium_crypto.hpp"
#include "adapters/sql_common/dump.hpp"
#include "adapters/system_clock/system_clock.hpp"

namespace escala::app {
namespace {

using core::Json;

int fail(const std::string& message) {
  std::cerr << "escala: " << message << "\n";
  return 1;
}

// Counts and hash chains of row lines per table.
class Manifest {
 public:
  explicit Manifest(ports::Crypto& crypto) : crypto_(crypto) {}
  void add(const std::string& table, const std::string& line) {
    auto& t = tables_[table];
    t.rows += 1;
    t.sha256 = crypto_.sha256_hex(t.sha256 + line);
  }
  Json to_json() const {
    Json out = Json::object();
    for (const auto& [name, t] : tables_) out[name] = {{"rows", t.rows}, {"sha256", t.sha256}};
    return out;
  }

 private:
  struct Table {
    int64_t rows = 0;
    std::string sha256;
  };
  ports::Crypto& crypto_;
  std::map<std::string, Table> tables_;
};

std::string row_line(const Json& row) {
  return row.dump(-1, ' ', false, Json::error_handler_t::strict);
}

// The manifest of what a desk holds now (an export to nowhere).
Result<Json> manifest_of(ports::DeskStore& store, ports::Crypto& crypto) {
  Manifest m(crypto);
  ESCALA_TRY(store.export_rows([&](const std::string& table, const Json& row) -> Status {
    m.add(table, row_line(row));
    return ok_status();
  }));
  return m.to_json();
}

// Every table of the dump format appears in a manifest, with 0 rows when empty.
Json complete(Json manifest) {
  for (const auto& t : adapters::sql::dump_tables())
    if (!manifest.contains(t.name)) manifest[t.name] = {{"rows", 0}, {"sha256", ""}};
  return manifest;
}

void print_manifest(const Json& manifest, std::ostream& out) {
  for (const auto& [name, t] : manifest.items())
    out << "  " << name << ": " << t["rows"].get<int64_t>() << " rows" << "\n";
}

}  // namespace

int export_desk(const DeskLocation& where, const std::string& path) {
  auto desk = open_desk(where);
  if (!desk.ok()) return fail(desk.error().message);
  auto crypto = adapters::SodiumCrypto::create();
  if (!crypto.ok()) return fail(crypto.error().message);
  std::ofstream file;
  if (path != "-") {
    file.open(path, std::ios::binary | std::ios::trunc);
    if (!file) return fail("cannot write " + path);
  }
  std::ostream& out = path == "-" ? std::cout : file;
  adapters::SystemClock clock;
  out << Json{{"format", "escala-desk-dump"},
              {"version", 1},
              {"schema", desk->store->schema_version()},
              {"source", desk->store->single_node() ? "sqlite" : "postgresql"},
              {"exported_at", format_iso8601(clock.now())}}
             .dump()
      << "\n";
  Manifest manifest(**crypto);
  std::string current;
  auto st = desk->store->export_rows([&](const std::string& table, const Json& row) -> Status {
    if (table != current) {
      current = table;
      Json columns = Json::array();
      for (const auto& c : adapters::sql::find_dump_table(table)->columns) columns.push_back(c.name);
      out << Json{{"table", table}, {"columns", columns}}.dump() << "\n";
    }
    const std::string line = row_line(row);
    manifest.add(table, line);
    out << line << "\n";
    if (!out) return make_error(ErrorCode::kUnavailable, "cannot write " + path);
    return ok_status();
  });
  if (!st.ok()) return fail(st.error().message);
  const Json m = complete(manifest.to_json());
  out << Json{{"manifest", m}}.dump() << "\n";
  out.flush();
  if (!out) return fail("cannot write " + path);
  std::cerr << "exported " << desk->db_path << ":\n";
  print_manifest(m, std::cerr);
  return 0;
}

int import_desk(const DeskLocation& where, const std::string& path) {
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) return fail("cannot read " + path);
  }
  std::istream& in = path == "-" ? std::cin : file;
  auto crypto = adapters::SodiumCrypto::create();
  if (!crypto.ok()) return fail(crypto.error().message);
  std::string line;
  int64_t line_no = 1;
  if (!std::getline(in, line)) return fail(path + ": empty file");
  Json header = Json::parse(line, nullptr, false);
  if (header.is_discarded() || !header.is_object() ||
      header.value("format", "") != "escala-desk-dump" || header.value("version", 0) != 1)
    return fail(path + ": not an Escala desk dump (version 1)");
  auto desk = open_desk(where);
  if (!desk.ok()) return fail(desk.error().message);

  Manifest read(**crypto);
  Json expected;
  std::string table;
  auto next = [&](std::string& out_table, Json& row) -> Result<bool> {
    while (std::getline(in, line)) {
      ++line_no;
      const std::string where_ = path + ":" + std::to_string(line_no);
      if (line.empty()) continue;
      if (line[0] == '[') {
        if (table.empty()) return make_error(ErrorCode::kInvalidArgument, where_ + ": a row before any table");
        row = Json::parse(line, nullptr, false);
        if (row.is_discarded()) return make_error(ErrorCode::kInvalidArgument, where_ + ": not JSON");
        read.add(table, line);
        out_table = table;
        return true;
      }
      Json j = Json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return make_error(ErrorCode::kInvalidArgument, where_ + ": not JSON");
      if (j.contains("table")) {
        table = j["table"].get<std::string>();
        const auto* spec = adapters::sql::find_dump_table(table);
        if (!spec) return make_error(ErrorCode::kInvalidArgument, where_ + ": unknown table " + table);
        Json columns = Json::array();
        for (const auto& c : spec->columns) columns.push_back(c.name);
        if (j["columns"] != columns)
          return make_error(ErrorCode::kInvalidArgument,
                            where_ + ": the columns of " + table + " differ from this version's");
        continue;
      }
      if (j.contains("manifest")) {
        expected = j["manifest"];
        continue;
      }
      return make_error(ErrorCode::kInvalidArgument, where_ + ": unexpected line");
    }
    if (expected.is_null())
      return make_error(ErrorCode::kInvalidArgument, path + ": truncated (no manifest at the end)");
    // The file is whole: what was read matches what was written.
    if (complete(read.to_json()) != expected)
      return make_error(ErrorCode::kInvalidArgument,
                        path + ": the rows do not match the file's own manifest (damaged file)");
    return false;
  };
  auto st = desk->store->import_rows(next);
  if (!st.ok()) return fail(st.error().message);
  // Read back what the desk now holds: counts and checksums must match the file's.
  auto now = manifest_of(*desk->store, **crypto);
  if (!now.ok()) return fail(now.error().message);
  const Json got = complete(*now);
  bool same = true;
  for (const auto& [name, t] : expected.items()) {
    if (got.value(name, Json()) != t) {
      same = false;
      std::cerr << "escala: " << name << ": the file has " << t["rows"] << " rows (" << t["sha256"]
                << "), the desk now " << got[name]["rows"] << " (" << got[name]["sha256"] << ")\n";
    }
  }
  if (!same) return fail("the imported desk differs from the file");
  std::cerr << "imported into " << desk->db_path << ", verified by counts and checksums:\n";
  print_manifest(got, std::cerr);
  return 0;
}

}  // namespace escala::app
