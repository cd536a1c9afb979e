#pragma once
// The composition root: the only place that picks adapters. Opens a desk (its store, with
// the deck's defaults on first use) for the server and for the command-line tools.

#include <memory>
#include <string>

#include "ports/desk_store.hpp"
#include "ports/leader_lock.hpp"
#include "core/lifecycle.hpp"
#include "core/result.hpp"
#include "services/calendar_set.hpp"

namespace escala::app {

struct DeskLocation {
  std::string data_dir = "./data";
  std::string db_url;  // empty or sqlite:PATH: SQLite (in data_dir); postgresql://…: PostgreSQL
  bool synchronous_full = true;
  // PostgreSQL, `serve`: this node's name; every case change is announced to the other
  // nodes under it (PgOptions::node_id). Empty (the tools): nothing is announced.
  std::string node_id;
};

struct OpenedDesk {
  std::unique_ptr<ports::DeskStore> store;
  std::string db_path;  // what the logs name: the SQLite file, or the PostgreSQL URL
  // Leader-only work (IMAP polling): advisory locks on PostgreSQL, always granted on SQLite
  // (one process owns the desk).
  ports::LeaderLockFactory leader_locks;
};

// Creates the data directory if needed, opens and migrates the database.
Result<OpenedDesk> open_desk(const DeskLocation& where);

// The case policy stored in the desk's defaults (number prefix, SLA targets, reopen window).
struct DeskPolicy {
  core::CasePolicy policy;
  std::string number_prefix = "CMW-";
};
DeskPolicy load_policy(const core::Json& defaults);

// Loads the desk's calendars into `calendars`: the "calendars" member of the defaults and,
// for calendars edited while the desk ran, their versions from the desk's history
// (`history`: its calendar_changed events, oldest first), each applying from its edit. A
// calendar that does not validate is a configuration error.
Status load_calendars(const core::Json& defaults,
                      const std::vector<ports::DirectoryStore::DeskEvent>& history,
                      services::CalendarSet& calendars);
// The calendar_changed events of the desk's history, oldest first.
Result<std::vector<ports::DirectoryStore::DeskEvent>> calendar_history(
    ports::DirectoryStore& store);

struct ServeOptions {
  DeskLocation where;
  std::string http = "127.0.0.1:8080";
  std::string smtp;        // empty: no SMTP listener
  std::string smtp_relay;  // outbound relay host:port
  std::string config_file;
  bool test_clock = false;  // POST /api/v1/test/clock moves time (tests only)
  std::string web_root;     // the web console's files (web/dist); empty: no console
};

// Runs `escala serve` until SIGINT or SIGTERM; returns the process exit code.
int serve(const ServeOptions& options);

}  // namespace escala::app
