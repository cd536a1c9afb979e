#pragma once
// DirectoryStore: accounts, contacts, users, sign-in sessions and desk settings.
//
// Thread-safety: all methods may be called from any thread concurrently. Writes are durable
// when they return. Failure: kAlreadyExists on a taken unique key (account code, user
// email), kNotFound for unknown references, kUnavailable when the database fails.

#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"

namespace escala::ports {

struct Session {
  std::string token_hash;  // hex SHA-256 of the bearer token; the token itself is never stored
  int64_t user_id = 0;
  Instant created_at{};
  Instant expires_at{};
};

class DirectoryStore {
 public:
  virtual ~DirectoryStore() = default;

  virtual Result<core::Account> create_account(const core::Account& account) = 0;
  virtual Result<core::Account> update_account(const core::Account& account) = 0;
  virtual Result<std::optional<core::Account>> get_account(const std::string& code) = 0;
  // Accounts ordered by code, after `after_code`.
  virtual Result<std::vector<core::Account>> list_accounts(const std::string& after_code,
                                                           int limit) = 0;
  virtual Result<int64_t> count_accounts() = 0;

  virtual Result<core::Contact> create_contact(const core::Contact& contact) = 0;
  virtual Result<std::optional<core::Contact>> get_contact(int64_t id) = 0;
  virtual Result<std::vector<core::Contact>> list_contacts(const std::string& account) = 0;
  // Contacts with this email address (compared case-insensitively), oldest first.
  virtual Result<std::vector<core::Contact>> find_contacts_by_email(const std::string& email) = 0;
  // The account of the oldest contact whose address is at `domain` (lower case), if any:
  // how an unknown sender from a customer's company is attached to its account.
  virtual Result<std::optional<std::string>> account_for_email_domain(
      const std::string& domain) = 0;
  // Records (non-empty) or clears (empty) a permanent delivery failure of the contacts with
  // this address. Answers how many contacts changed.
  virtual Result<int64_t> set_email_failure(const std::string& email,
                                            const std::string& failure) = 0;

  virtual Result<core::User> create_user(const core::User& user) = 0;
  virtual Result<std::optional<core::User>> get_user(int64_t id) = 0;
  virtual Result<std::optional<core::User>> find_user_by_email(const std::string& email) = 0;
  virtual Result<std::vector<core::User>> list_users(int64_t after_id, int limit) = 0;
  virtual Result<int64_t> count_users() = 0;
  virtual Status set_user_quiet(int64_t user_id, bool quiet) = 0;

  virtual Status create_session(const Session& session) = 0;
  virtual Result<std::optional<Session>> find_session(const std::string& token_hash) = 0;
  virtual Status delete_session(const std::string& token_hash) = 0;
  // Replaces the user's password hash and ends every session of the user but the one whose
  // hash is `keep_token_hash` (empty: all of them), in one transaction: a password change
  // signs out the other browsers and scripts. Answers how many sessions ended; kNotFound
  // for an unknown user (nothing changes).
  virtual Result<int64_t> change_password(int64_t user_id, const std::string& password_hash,
                                          const std::string& keep_token_hash) = 0;

  // The desk's own append-only history (configuration changes), newest first.
  struct DeskEvent {
    int64_t id = 0;
    Instant at{};
    int64_t actor_id = 0;
    std::string actor_name;
    std::string type;
    core::Json data;
  };
  // Replaces setting `key` and records `event` in one transaction. With `expected`, only
  // if the stored value still equals it (an absent setting equals null), atomically with
  // the write even against other processes; otherwise kConflict and nothing is written.
  virtual Status put_setting_with_event(const std::string& key, const core::Json& value,
                                        const DeskEvent& event,
                                        const std::optional<core::Json>& expected = std::nullopt) = 0;
  virtual Result<std::vector<DeskEvent>> desk_events(int64_t before_id, int limit) = 0;

  // Desk configuration as JSON documents by key ("defaults", ...).
  virtual Result<std::optional<core::Json>> get_setting(const std::string& key) = 0;
  virtual Status put_setting(const std::string& key, const core::Json& value) = 0;
};

}  // namespace escala::ports
