#pragma once
// The scale-out store: PostgreSQL 15 through libpq, shared by any number of `escala serve`
// nodes. Same ports, same contract and the same logical schema as the SQLite store.
//
// Unlike SQLite's single writer, every write is its own transaction on a pooled
// connection, and concurrent writers (threads or nodes) are ordered by the database:
// a case update locks the case row (SELECT … FOR UPDATE), case numbers come from a
// SEQUENCE, the mail ledger's primary key makes a second copy of a message fail with
// kAlreadyExists, and the outbox is claimed with FOR UPDATE SKIP LOCKED so each message
// goes to one node. Deadlocks and serialization failures are retried.
//
// Creations are group-committed (as on SQLite, ADR 0001): a writer thread takes every
// pending creation, runs their builders, writes them with multi-row statements and commits
// them in one transaction, and only then acknowledges them. A builder's error fails only its
// own creation; a batch whose statements fail is rolled back and its creations are run again
// one by one; a batch whose COMMIT fails (outcome unknown) fails every member, so nothing is
// acknowledged that was not committed, and nothing is written twice.
//
// Connections: a connection that broke (the database restarted, the backend was ended) is
// reopened when it goes back to the pool, and a transaction whose connection was found
// broken before its COMMIT was sent (nothing of it can have been committed) runs again on a
// fresh connection, once; a read likewise. While the database is down every call answers
// kUnavailable within libpq's connect_timeout (5 s; at once on loopback), never hangs, and
// a COMMIT whose answer was lost is never reported as success (nor run again).
//
// Numbering: unique, taken in queue order, but concurrent creations (two writers, several
// nodes) may commit in another order, and a creation that fails after taking its number
// (the database fails, or a batch is rolled back) leaves a gap.

#include <memory>
#include <string>

#include "ports/desk_store.hpp"

namespace escala::adapters {

struct PgOptions {
  // postgresql://USER@HOST:PORT/DB, or libpq key=value pairs.
  std::string url;
  int connections = 8;  // pooled connections at most (opened as needed)
  // Group commit of creations: writer threads (each with its own connection, besides the
  // pool) and the most creations one transaction holds. Two writers: one batch is written
  // while the other waits for its commit to be flushed (+20 % on 2 cores, BENCHMARKS.md).
  int create_writers = 2;
  int max_batch = 256;
  // Several nodes: this node's name. When set, every case change NOTIFYs the other nodes
  // (pg_case_notifier.hpp, kCaseChannel) inside its own transaction, so a change is
  // announced exactly when it commits. Empty (tools such as migrate and export): silent.
  std::string node_id;
};

class PgStore final : public ports::DeskStore {
 public:
  // Connects and migrates the database (one node at a time: an advisory lock).
  static Result<std::unique_ptr<PgStore>> open(const PgOptions& options);
  ~PgStore() override;

  // The schema version after migration.
  int schema_version() const override;
  Status export_rows(const DumpRowSink& sink) override;
  Status import_rows(const DumpRowSource& next) override;
  bool single_node() const override { return false; }

  Result<core::Case> create(const ports::CaseBuilder& build) override;
  Result<core::Case> update(int64_t id, const ports::CaseMutator& mutate) override;
  Result<std::optional<core::Case>> get(int64_t id) override;
  Result<ports::CasePage> list(const ports::CaseQuery& query) override;
  Result<ports::EventPage> events(const ports::EventQuery& query) override;
  Result<std::vector<core::BillableItem>> billable_items(const std::string& account) override;
  Result<std::optional<Millis>> next_sla_mark(const std::string& calendar) override;
  Result<std::vector<int64_t>> cases_with_due_timers(const std::string& calendar, Millis mark,
                                                     int limit) override;
  Result<std::vector<core::Notification>> notifications(int64_t user_id, int64_t before_id,
                                                        int limit) override;

  Result<core::Account> create_account(const core::Account& account) override;
  Result<core::Account> update_account(const core::Account& account) override;
  Result<std::optional<core::Account>> get_account(const std::string& code) override;
  Result<std::vector<core::Account>> list_accounts(const std::string& after_code,
                                                   int limit) override;
  Result<core::Contact> create_contact(const core::Contact& contact) override;
  Result<std::optional<core::Contact>> get_contact(int64_t id) override;
  Result<std::vector<core::Contact>> list_contacts(const std::string& account) override;
  Result<std::vector<core::Contact>> find_contacts_by_email(const std::string& email) override;
  Result<std::optional<std::string>> account_for_email_domain(const std::string& domain) override;
  Result<int64_t> set_email_failure(const std::string& email, const std::string& failure) override;
  Result<core::User> create_user(const core::User& user) override;
  Result<std::optional<core::User>> get_user(int64_t id) override;
  Result<std::optional<core::User>> find_user_by_email(const std::string& email) override;
  Result<std::vector<core::User>> list_users(int64_t after_id, int limit) override;
  Result<int64_t> count_users() override;
  Status set_user_quiet(int64_t user_id, bool quiet) override;
  Result<int64_t> count_accounts() override;
  Status create_session(const ports::Session& session) override;
  Result<std::optional<ports::Session>> find_session(const std::string& token_hash) override;
  Status delete_session(const std::string& token_hash) override;
  Result<int64_t> change_password(int64_t user_id, const std::string& password_hash,
                                  const std::string& keep_token_hash) override;
  Result<std::optional<core::Json>> get_setting(const std::string& key) override;
  Status put_setting(const std::string& key, const core::Json& value) override;
  Status put_setting_with_event(const std::string& key, const core::Json& value,
                                const DeskEvent& event,
                                const std::optional<core::Json>& expected = std::nullopt) override;
  Result<std::vector<DeskEvent>> desk_events(int64_t before_id, int limit) override;
  Result<int64_t> update_cases_with_legacy_timers(const ports::CaseMutator& mutate) override;

  Result<std::optional<core::InboundRecord>> find_inbound(const std::string& key) override;
  Status record_inbound(const core::InboundRecord& record,
                        const std::vector<core::StoredBlob>& blobs,
                        const std::vector<core::OutboxMessage>& outbox) override;
  Result<std::optional<int64_t>> case_for_message_ids(
      const std::vector<std::string>& message_ids) override;
  Result<std::optional<std::string>> get_blob(const std::string& sha256) override;
  Result<std::vector<core::OutboxMessage>> claim_outbox(Instant now, Millis lease,
                                                        int limit) override;
  Result<std::vector<int64_t>> renew_outbox_claims(const std::vector<OutboxClaim>& claims,
                                                   Instant until) override;
  Status outbox_sent(int64_t id, Instant at) override;
  Status outbox_retry(int64_t id, Instant next_at, const std::string& error) override;
  Status outbox_failed(int64_t id, const std::string& error) override;
  Result<std::optional<Instant>> next_outbox_due() override;
  Result<std::vector<core::OutboxMessage>> outbox_for_case(int64_t case_id) override;
  Result<int64_t> count_automatic_to(const std::string& address, Instant since) override;
  Result<std::vector<std::pair<std::string, int64_t>>> outbox_counts() override;

  class Impl;

 private:
  explicit PgStore(std::unique_ptr<Impl> impl);
  Result<int64_t> count_rows(const char* table);
  std::unique_ptr<Impl> impl_;
};

}  // namespace escala::adapters
