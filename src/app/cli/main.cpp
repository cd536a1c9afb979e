// escala: the one binary. `escala serve` runs the desk; the other commands administer it
// offline (they open the same database the server uses; SQLite allows both at once).

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "adapters/sodium_crypto/sodium_crypto.hpp"
#include "adapters/system_clock/system_clock.hpp"
#include "app/cli/desk_dump.hpp"
#include "app/cli/mailgate.hpp"
#include "app/server/desk.hpp"
#include "core/calendar.hpp"
#include "services/calendar_set.hpp"
#include "services/directory_service.hpp"

namespace {

using namespace escala;

int fail(const std::string& message) {
  std::cerr << "escala: " << message << "\n";
  return 1;
}

int fail(const Error& e) {
  return fail(e.field.empty() ? e.message : e.field + ": " + e.message);
}

int user_add(const app::DeskLocation& where, services::NewUser user, const std::string& role) {
  auto parsed = core::parse_role(role);
  if (!parsed) return fail("--role must be admin, supervisor, agent or customer");
  user.role = *parsed;
  auto desk = app::open_desk(where);
  if (!desk.ok()) return fail(desk.error());
  auto crypto = adapters::SodiumCrypto::create();
  if (!crypto.ok()) return fail(crypto.error());
  adapters::SystemClock clock;
  services::DirectoryService directory(*desk->store, **crypto, clock);
  auto created = directory.create_user(core::Actor::system(), user);
  if (!created.ok()) return fail(created.error());
  std::cout << "created " << core::to_string(created->role) << " " << created->email << " (id "
            << created->id << ")\n";
  return 0;
}

// `calendar due --batch`: one "FROM SECONDS" pair per input line, one answer per output
// line ("error: ..." for a bad line), for scripts and differential tests.
int calendar_batch(const core::BusinessCalendar& cal) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string from_text;
    long long seconds = -1;
    in >> from_text >> seconds;
    auto from = parse_iso8601(from_text);
    if (!from || seconds < 0) {
      std::cout << "error: expected an ISO 8601 instant and a number of seconds\n";
      continue;
    }
    Instant due = cal.add(*from, Seconds{seconds});
    std::cout << (due == core::kNever ? std::string("never") : format_iso8601(due)) << "\n";
  }
  return 0;
}

int calendar_command(const std::optional<app::DeskLocation>& where, const std::string& name,
                     const std::string& from_text, const std::optional<long long>& seconds,
                     const std::string& to_text) {
  services::CalendarSet calendars;
  if (where) {  // the desk's own calendars, as edited by its administrators
    auto desk = app::open_desk(*where);
    if (!desk.ok()) return fail(desk.error());
    auto defaults = desk->store->get_setting("defaults");
    if (!defaults.ok()) return fail(defaults.error());
    auto history = app::calendar_history(*desk->store);
    if (!history.ok()) return fail(history.error());
    if (auto st = app::load_calendars(defaults->value_or(core::Json::object()), *history,
                                      calendars);
        !st.ok())
      return fail(st.error());
  }
  auto cal = calendars.find(name);
  if (!cal) return fail("no calendar '" + name + "' (built in: support, 24x7)");
  if (from_text == "-" && seconds) return calendar_batch(*cal);
  auto from = parse_iso8601(from_text);
  if (!from) return fail("--from must be an ISO 8601 instant with a zone, e.g. 2026-11-27T10:00:00Z");
  if (seconds) {
    if (*seconds < 0) return fail("--seconds must not be negative");
    std::cout << format_iso8601(cal->add(*from, Seconds{*seconds})) << "\n";
    return 0;
  }
  auto to = parse_iso8601(to_text);
  if (!to) return fail("--to must be an ISO 8601 instant with a zone");
  std::cout << cal->between(*from, *to).count() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Escala: the service desk for cloud-telephony providers"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "escala 0.1.0");

  app::DeskLocation where;
  auto add_location = [&](CLI::App* cmd) {
    cmd->add_option("--data-dir", where.data_dir, "data directory")->capture_default_str();
    cmd->add_option("--db", where.db_url, "database URL (default: SQLite in the data directory)");
  };

  app::ServeOptions serve;
  auto* serve_cmd = cli.add_subcommand("serve", "run the desk");
  add_location(serve_cmd);
  serve_cmd->add_option("--http", serve.http, "HTTP listen address HOST:PORT (port 0: any free)")
      ->capture_default_str();
  serve_cmd->add_option("--smtp", serve.smtp, "SMTP listen address HOST:PORT");
  serve_cmd->add_option("--smtp-relay", serve.smtp_relay, "outbound SMTP relay HOST:PORT");
  serve_cmd->add_option("--config", serve.config_file, "configuration file (TOML)")
      ->check(CLI::ExistingFile);
  serve_cmd->add_flag("--test-clock", serve.test_clock,
                      "tests only: POST /api/v1/test/clock moves the desk's time forward");
  // The console built in this source tree (make build), when it is there.
  if (std::error_code ec; std::filesystem::is_regular_file(ESCALA_DEFAULT_WEB_ROOT "/index.html", ec))
    serve.web_root = ESCALA_DEFAULT_WEB_ROOT;
  serve_cmd->add_option("--web-root", serve.web_root,
                        "the web console's files (a build of web/); empty: serve no console")
      ->capture_default_str();

  auto* migrate_cmd = cli.add_subcommand("migrate", "create or upgrade the database");
  add_location(migrate_cmd);

  std::string dump_path;
  auto* export_cmd = cli.add_subcommand(
      "export", "write the whole desk to a file (to move it between SQLite and PostgreSQL)");
  add_location(export_cmd);
  export_cmd->add_option("--out", dump_path, "the dump file ('-': standard output)")->required();
  auto* import_cmd = cli.add_subcommand(
      "import", "read a desk written by `escala export` into a new, empty desk, and verify it");
  add_location(import_cmd);
  import_cmd->add_option("--in", dump_path, "the dump file ('-': standard input)")->required();

  auto* user_cmd = cli.add_subcommand("user", "manage users");
  user_cmd->require_subcommand(1);
  auto* user_add_cmd = user_cmd->add_subcommand("add", "create a user");
  add_location(user_add_cmd);
  services::NewUser new_user;
  std::string role;
  user_add_cmd->add_option("--email", new_user.email)->required();
  user_add_cmd->add_option("--name", new_user.name)->required();
  user_add_cmd->add_option("--role", role, "admin|supervisor|agent|customer")->required();
  user_add_cmd->add_option("--level", new_user.level, "agents: 1, 2 or 3");
  user_add_cmd->add_option("--account", new_user.account, "customers: account code");
  user_add_cmd->add_option("--password", new_user.password)->required();
  user_add_cmd->add_option("--specialty", new_user.specialties, "repeatable");
  user_add_cmd->add_option("--language", new_user.language)->capture_default_str();
  user_add_cmd->add_option("--timezone", new_user.timezone)->capture_default_str();

  auto* cal_cmd = cli.add_subcommand("calendar", "business-time arithmetic");
  cal_cmd->require_subcommand(1);
  std::string cal_name, from_text, to_text;
  std::optional<long long> seconds;
  auto* due_cmd = cal_cmd->add_subcommand("due", "the instant N business seconds after --from");
  due_cmd->add_option("--calendar", cal_name)->required();
  bool batch = false;
  due_cmd->add_option("--from", from_text, "ISO 8601 instant with a zone");
  due_cmd->add_option("--seconds", seconds, "business seconds to add");
  due_cmd->add_flag("--batch", batch, "read \"FROM SECONDS\" lines on stdin, answer one per line");
  add_location(due_cmd);
  auto* between_cmd = cal_cmd->add_subcommand("between", "business seconds from --from to --to");
  between_cmd->add_option("--calendar", cal_name)->required();
  between_cmd->add_option("--from", from_text)->required();
  between_cmd->add_option("--to", to_text)->required();
  add_location(between_cmd);

  app::MailgateOptions gate;
  auto* gate_cmd = cli.add_subcommand(
      "mailgate", "hand one message on stdin to the running desk (for an MTA pipe); exit 0 "
                  "once stored, 75 to make the MTA retry");
  gate_cmd->add_option("--data-dir", gate.data_dir, "the desk's data directory")->capture_default_str();
  gate_cmd->add_option("--url", gate.url, "the desk's HTTP address (default: from ports.json)");
  gate_cmd->add_option("--token-file", gate.token_file, "default: DATA_DIR/mailgate.token");
  gate_cmd->add_option("--recipient", gate.recipient, "the mailbox the message was sent to");
  gate_cmd->add_option("--sender", gate.sender, "the envelope sender");
  gate_cmd->add_option("--timeout", gate.timeout_seconds, "seconds")->capture_default_str();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // The mail gateway speaks sysexits to its MTA even about its arguments.
    if (gate_cmd->parsed() && e.get_exit_code() != 0) {
      std::cerr << "escala mailgate: " << e.what() << "\n";
      return 64;
    }
    return cli.exit(e);
  }
  if (gate_cmd->parsed()) return app::mailgate(gate);

  if (serve_cmd->parsed()) {
    serve.where = where;
    return app::serve(serve);
  }
  if (migrate_cmd->parsed()) {
    auto desk = app::open_desk(where);
    if (!desk.ok()) return fail(desk.error());
    std::cout << "database " << desk->db_path << " at schema version "
              << desk->store->schema_version() << "\n";
    return 0;
  }
  if (export_cmd->parsed()) return app::export_desk(where, dump_path);
  if (import_cmd->parsed()) return app::import_desk(where, dump_path);
  if (user_add_cmd->parsed()) return user_add(where, new_user, role);
  auto desk_if_given = [&](CLI::App* cmd) -> std::optional<app::DeskLocation> {
    if (cmd->count("--data-dir") == 0 && cmd->count("--db") == 0) return std::nullopt;
    return where;
  };
  if (due_cmd->parsed()) {
    if (batch) return calendar_command(desk_if_given(due_cmd), cal_name, "-", 0LL, "");
    if (from_text.empty() || !seconds) return fail("calendar due needs --from and --seconds (or --batch)");
    return calendar_command(desk_if_given(due_cmd), cal_name, from_text, seconds, "");
  }
  if (between_cmd->parsed())
    return calendar_command(desk_if_given(between_cmd), cal_name, from_text, std::nullopt, to_text);
  return 0;
}
