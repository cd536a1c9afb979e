#include "adapters/sqlite_store/schema.hpp"

#include "core/defaults.hpp"

namespace escala::adapters::sqlite {

// Each migration is a list of single statements (SQLite prepares one at a time). Never edit a
// released migration: add a new one.
const std::vector<Migration>& migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "initial schema",
       {
           "CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL)",
           "CREATE TABLE counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
           "CREATE TABLE accounts(code TEXT PRIMARY KEY, name TEXT NOT NULL,"
           " timezone TEXT NOT NULL, language TEXT NOT NULL, contract TEXT NOT NULL,"
           " created_at INTEGER NOT NULL)",
           "CREATE TABLE contacts(id INTEGER PRIMARY KEY, account TEXT NOT NULL"
           " REFERENCES accounts(code), name TEXT NOT NULL, email TEXT NOT NULL,"
           " phone TEXT NOT NULL, language TEXT NOT NULL, created_at INTEGER NOT NULL)",
           "CREATE INDEX contacts_account ON contacts(account)",
           "CREATE INDEX contacts_email ON contacts(email)",
           "CREATE TABLE users(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE,"
           " name TEXT NOT NULL, role TEXT NOT NULL, level INTEGER NOT NULL,"
           " specialties TEXT NOT NULL, account TEXT NOT NULL, language TEXT NOT NULL,"
           " timezone TEXT NOT NULL, password_hash TEXT NOT NULL, active INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL)",
           "CREATE TABLE sessions(token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
           "CREATE INDEX sessions_expiry ON sessions(expires_at)",
           "CREATE TABLE cases(id INTEGER PRIMARY KEY, type TEXT NOT NULL,"
           " status TEXT NOT NULL, level INTEGER NOT NULL, severity TEXT NOT NULL,"
           " account TEXT NOT NULL, assignee_id INTEGER NOT NULL,"
           " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, doc TEXT NOT NULL)",
           "CREATE INDEX cases_status ON cases(status, id)",
           "CREATE INDEX cases_account ON cases(account, id)",
           "CREATE INDEX cases_level ON cases(level, id)",
           "CREATE INDEX cases_severity ON cases(severity, id)",
           "CREATE INDEX cases_assignee ON cases(assignee_id, id)",
           "CREATE TABLE events(case_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
           " type TEXT NOT NULL, at INTEGER NOT NULL, actor_id INTEGER NOT NULL,"
           " actor_name TEXT NOT NULL, actor_role TEXT NOT NULL, internal INTEGER NOT NULL,"
           " data TEXT NOT NULL, PRIMARY KEY(case_id, seq)) WITHOUT ROWID",
           "CREATE TABLE billable_items(id INTEGER PRIMARY KEY, account TEXT NOT NULL,"
           " case_id INTEGER NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL,"
           " amount_cents INTEGER NOT NULL, currency TEXT NOT NULL, at INTEGER NOT NULL)",
           "CREATE INDEX billable_account ON billable_items(account, id)",
           // Search text: rowid is the case id. remove_diacritics 2 folds accents so that
           // "extension" finds "Extensión".
           "CREATE VIRTUAL TABLE case_text USING fts5(subject, body, messages,"
           " tokenize = 'unicode61 remove_diacritics 2')",
           "INSERT INTO counters(name, value) VALUES('case', 0)",
       }},
      {2,
       "events are append-only (D7)",
       {
           "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
           " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
           "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
           " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END",
       }},
      {3,
       "SLA timers: the next warning or breach instant of each case",
       {
           "ALTER TABLE cases ADD COLUMN sla_next_at INTEGER",
           "CREATE INDEX cases_sla_next ON cases(sla_next_at) WHERE sla_next_at IS NOT NULL",
       }},
      {4,
       "notifications to staff, and their quiet setting",
       {
           "ALTER TABLE users ADD COLUMN quiet INTEGER NOT NULL DEFAULT 0",
           // Written in the same transaction as the event that causes them; `email_status`
           // is the outbox state of their email (pending until the mail channel sends it).
           "CREATE TABLE notifications(id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL,"
           " case_id INTEGER NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,"
           " body TEXT NOT NULL, created_at INTEGER NOT NULL,"
           " email_status TEXT NOT NULL DEFAULT 'pending')",
           "CREATE INDEX notifications_user ON notifications(user_id, id)",
       }},
      {5,
       "desk-level history: configuration changes such as calendar versions (D7)",
       {
           "CREATE TABLE desk_events(id INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
           " actor_id INTEGER NOT NULL, actor_name TEXT NOT NULL, type TEXT NOT NULL,"
           " data TEXT NOT NULL)",
           "CREATE TRIGGER desk_events_no_update BEFORE UPDATE ON desk_events"
           " BEGIN SELECT RAISE(ABORT, 'desk events are append-only'); END",
           "CREATE TRIGGER desk_events_no_delete BEFORE DELETE ON desk_events"
           " BEGIN SELECT RAISE(ABORT, 'desk events are append-only'); END",
       }},
      {6,
       "email channel: received-message ledger, stored bytes, threads, outbox",
       {
           // Raw messages and attachments, once per content.
           "CREATE TABLE blobs(sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL,"
           " data BLOB NOT NULL)",
           // One row per received message: the key (Message-ID, else a hash of the bytes)
           // makes ingestion idempotent across retries, restarts and nodes.
           "CREATE TABLE inbound_mail(key TEXT PRIMARY KEY, mailbox TEXT NOT NULL,"
           " from_addr TEXT NOT NULL, subject TEXT NOT NULL, message_id TEXT NOT NULL,"
           " raw_sha256 TEXT NOT NULL, raw_size INTEGER NOT NULL, kind TEXT NOT NULL,"
           " disposition TEXT NOT NULL, case_id INTEGER NOT NULL,"
           " received_at INTEGER NOT NULL)",
           "CREATE INDEX inbound_mail_case ON inbound_mail(case_id) WHERE case_id <> 0",
           // Message-IDs (received and sent) that thread into a case.
           "CREATE TABLE mail_threads(message_id TEXT PRIMARY KEY, case_id INTEGER NOT NULL)"
           " WITHOUT ROWID",
           "CREATE TABLE outbox(id INTEGER PRIMARY KEY, case_id INTEGER NOT NULL,"
           " kind TEXT NOT NULL, envelope_from TEXT NOT NULL, recipients TEXT NOT NULL,"
           " first_recipient TEXT NOT NULL, mail TEXT NOT NULL, automatic INTEGER NOT NULL,"
           " status TEXT NOT NULL, attempts INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL,"
           " last_error TEXT NOT NULL, created_at INTEGER NOT NULL, sent_at INTEGER)",
           "CREATE INDEX outbox_due ON outbox(next_attempt_at)"
           " WHERE status IN ('pending', 'sending')",
           "CREATE INDEX outbox_case ON outbox(case_id, id)",
           "CREATE INDEX outbox_automatic ON outbox(first_recipient, created_at)"
           " WHERE automatic = 1",
           "ALTER TABLE contacts ADD COLUMN email_failure TEXT NOT NULL DEFAULT ''",
           "CREATE INDEX contacts_email_lower ON contacts(lower(email))",
       }},
      {7,
       "SLA timers as marks of their calendar (calendar edits no longer rewrite cases)",
       {
           // sla_next_at (an instant) is kept only to find the timers of earlier versions,
           // which get their mark once at start-up (update_cases_with_legacy_timers).
           "DROP INDEX cases_sla_next",
           "CREATE INDEX cases_sla_legacy ON cases(id) WHERE sla_next_at IS NOT NULL",
           "ALTER TABLE cases ADD COLUMN sla_calendar TEXT",
           "ALTER TABLE cases ADD COLUMN sla_mark INTEGER",
           "CREATE INDEX cases_sla_mark ON cases(sla_calendar, sla_mark)"
           " WHERE sla_mark IS NOT NULL",
       }},
  };
  return kMigrations;
}

std::string seed_defaults_json() { return core::deck_defaults().dump(); }

}  // namespace escala::adapters::sqlite
