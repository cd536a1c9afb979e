#pragma once
// In-memory CaseStore and DirectoryStore for unit tests of services. Passes the same
// contract suites as the real stores (tests/contract/).

#include <map>
#include <mutex>

#include "ports/case_store.hpp"
#include "ports/directory_store.hpp"
#include "ports/mail_store.hpp"

namespace escala::fakes {

class MemoryStore : public ports::CaseStore,
                          public ports::DirectoryStore,
                          public ports::MailStore {
 public:
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

 private:
  void store_change(core::Change&& change);

  std::mutex mu_;
  int64_t next_case_ = 1;
  std::map<int64_t, core::Case> cases_;
  std::map<int64_t, std::vector<core::Event>> events_;
  std::map<int64_t, std::string> text_;  // folded search text per case
  std::vector<core::BillableItem> billable_;
  std::vector<core::Notification> notifications_;
  std::vector<DeskEvent> desk_events_;
  std::map<std::string, core::Account> accounts_;
  std::map<int64_t, core::Contact> contacts_;
  std::map<int64_t, core::User> users_;
  std::map<std::string, ports::Session> sessions_;
  std::map<std::string, core::Json> settings_;
  std::map<std::string, core::InboundRecord> inbound_;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, int64_t> threads_;
  std::map<int64_t, core::OutboxMessage> outbox_;
  void store_mail_part(core::Change& change);
  void add_outbox(std::vector<core::OutboxMessage> out, int64_t case_id);
};

}  // namespace escala::fakes
