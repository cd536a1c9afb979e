#pragma once
// Use cases on the directory: accounts with their contracts, contacts and users.
// Administrators manage accounts and users; staff add contacts; customers read their own.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "ports/clock.hpp"
#include "ports/crypto.hpp"
#include "ports/directory_store.hpp"

namespace escala::services {

struct NewUser {
  std::string email;
  std::string name;
  core::Role role = core::Role::kAgent;
  int level = 0;
  std::vector<std::string> specialties;
  std::string account;
  std::string language = "es";
  std::string timezone = "America/Mexico_City";
  std::string password;
};

class DirectoryService {
 public:
  DirectoryService(ports::DirectoryStore& store, ports::Crypto& crypto,
                   const ports::Clock& clock);

  Result<core::Account> create_account(const core::Actor& actor, core::Account account);
  // `contract`, when given, replaces the account's contract (nullopt inside: removes it).
  Result<core::Account> update_account(const core::Actor& actor, const std::string& code,
                                       const core::Json& patch,
                                       std::optional<std::optional<core::Contract>> contract =
                                           std::nullopt);
  // How the service learns which calendar names exist (for contracts' own SLA).
  void set_calendar_check(std::function<bool(const std::string&)> exists) {
    calendar_exists_ = std::move(exists);
  }
  Result<core::Account> get_account(const core::Actor& actor, const std::string& code);
  Result<std::vector<core::Account>> list_accounts(const core::Actor& actor,
                                                   const std::string& after, int limit);

  Result<core::Contact> create_contact(const core::Actor& actor, core::Contact contact);
  Result<std::vector<core::Contact>> list_contacts(const core::Actor& actor,
                                                   const std::string& account);

  // Creates a user. `actor` must be an admin; the CLI passes core::Actor::system().
  Result<core::User> create_user(const core::Actor& actor, const NewUser& input);
  Result<std::vector<core::User>> list_users(const core::Actor& actor, int64_t after_id,
                                             int limit);
  // A user's saved views of the queue (a name and the queue's URL query each), kept by the
  // desk so they follow the user to any browser. `views` is a JSON array of
  // {"name", "query"}; at most kMaxSavedViews, names unique, answers the stored list sorted
  // by name.
  static constexpr size_t kMaxSavedViews = 50;
  Result<core::Json> saved_views(const core::User& user);
  Result<core::Json> set_saved_views(const core::User& user, const core::Json& views);
  // A staff member's own quiet setting (D6: no notifications while quiet).
  Status set_quiet(const core::User& user, bool quiet);
  // Called after anything that changes who the staff are or how they are notified
  // (a user created, a quiet setting), so caches of the staff list are dropped at once.
  void set_staff_listener(std::function<void()> changed) { staff_changed_ = std::move(changed); }
  // How many accounts (users) a full listing by this actor holds.
  Result<int64_t> count_accounts(const core::Actor& actor);
  Result<int64_t> count_users(const core::Actor& actor);

 private:
  Status check_contract(const std::optional<core::Contract>& contract) const;

  ports::DirectoryStore& store_;
  ports::Crypto& crypto_;
  const ports::Clock& clock_;
  std::function<bool(const std::string&)> calendar_exists_;
  std::function<void()> staff_changed_;
};

// Input checks shared with other entry points.
Status validate_account_code(const std::string& code);
Status validate_time_zone(const std::string& zone, const char* field);
Status validate_language(const std::string& language, const char* field);
Status validate_email_address(const std::string& email, const char* field);
std::string normalize_email(std::string email);
// A password a user may choose: 8 to 1024 characters (bytes at most 1024), the rule of
// `escala user add`, POST /users and the password change.
Status validate_new_password(const std::string& password, const char* field);

}  // namespace escala::services
