#include "services/directory_service.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <date/tz.h>

#include "core/text.hpp"

namespace escala::services {
namespace {

bool is_admin(const core::Actor& a) {
  return a.role == core::Role::kAdmin || a.role == core::Role::kSystem;
}

Error forbidden(std::string what) {
  return make_error(ErrorCode::kPermissionDenied, "only administrators may " + what);
}

Status check_name(const std::string& name, const char* field) {
  if (name.find_first_not_of(" \t") == std::string::npos)
    return make_error(ErrorCode::kInvalidArgument, "must not be empty", field);
  if (name.size() > 200) return make_error(ErrorCode::kInvalidArgument, "is too long", field);
  return ok_status();
}

}  // namespace

Status validate_account_code(const std::string& code) {
  if (code.empty() || code.size() > 32 ||
      !std::all_of(code.begin(), code.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_' || c == '.';
      }))
    return make_error(ErrorCode::kInvalidArgument,
                      "must be 1 to 32 letters, digits, '-', '_' or '.'", "code");
  return ok_status();
}

Status validate_time_zone(const std::string& zone, const char* field) {
  try {
    (void)date::locate_zone(zone);
    return ok_status();
  } catch (const std::exception&) {
    return make_error(ErrorCode::kInvalidArgument,
                      "must be an IANA time zone such as America/Mexico_City", field);
  }
}

Status validate_language(const std::string& language, const char* field) {
  if (language != "es" && language != "en")
    return make_error(ErrorCode::kInvalidArgument, "must be es or en", field);
  return ok_status();
}

std::string normalize_email(std::string email) {
  std::transform(email.begin(), email.end(), email.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return email;
}

Status validate_new_password(const std::string& password, const char* field) {
  // Characters, not bytes: "ñ" counts once.
  const auto chars = std::count_if(password.begin(), password.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  });
  if (chars < 8) return make_error(ErrorCode::kInvalidArgument, "must have at least 8 characters", field);
  if (password.size() > 1024) return make_error(ErrorCode::kInvalidArgument, "is too long", field);
  return ok_status();
}

Status validate_email_address(const std::string& email, const char* field) {
  if (!core::is_email_address(email)) return make_error(ErrorCode::kInvalidArgument, "must be an email address", field);
  return ok_status();
}

DirectoryService::DirectoryService(ports::DirectoryStore& store, ports::Crypto& crypto,
                                   const ports::Clock& clock)
    : store_(store), crypto_(crypto), clock_(clock) {}

Result<core::Account> DirectoryService::create_account(const core::Actor& actor,
                                                       core::Account account) {
  if (!is_admin(actor)) return forbidden("create accounts");
  ESCALA_TRY(validate_account_code(account.code));
  ESCALA_TRY(check_name(account.name, "name"));
  ESCALA_TRY(validate_time_zone(account.timezone, "timezone"));
  ESCALA_TRY(validate_language(account.language, "language"));
  ESCALA_TRY(check_contract(account.contract));
  if (account.contract && account.contract->activation_charge.amount_cents < 0)
    return make_error(ErrorCode::kInvalidArgument, "must not be negative",
                      "contract.activation_charge.amount_cents");
  account.created_at = clock_.now();
  return store_.create_account(account);
}

Status DirectoryService::check_contract(const std::optional<core::Contract>& contract) const {
  if (!contract) return ok_status();
  for (const auto& [sev, t] : contract->sla)
    if (calendar_exists_ && !calendar_exists_(t.calendar))
      return make_error(ErrorCode::kInvalidArgument, "no calendar '" + t.calendar + "'",
                        "contract.sla." + std::string(core::to_string(sev)) + ".calendar");
  return ok_status();
}

Result<core::Account> DirectoryService::update_account(
    const core::Actor& actor, const std::string& code, const core::Json& patch,
    std::optional<std::optional<core::Contract>> contract_in) {
  if (!is_admin(actor)) return forbidden("change accounts");
  auto current = store_.get_account(code);
  if (!current.ok()) return current.error();
  if (!current.value()) return make_error(ErrorCode::kNotFound, "no account " + code);
  core::Account a = **current;
  // Absent or null members keep their value; the API has checked the types.
  auto text = [&](const core::Json& j, const char* key, std::string& out) {
    auto it = j.find(key);
    if (it != j.end() && it->is_string()) out = it->get<std::string>();
  };
  text(patch, "name", a.name);
  text(patch, "timezone", a.timezone);
  text(patch, "language", a.language);
  if (contract_in) {
    ESCALA_TRY(check_contract(*contract_in));
    a.contract = *contract_in;
  } else if (patch.contains("contract")) {
    const auto& c = patch["contract"];
    if (c.is_null()) {
      a.contract.reset();
    } else {
      core::Contract contract = a.contract.value_or(core::Contract{});
      text(c, "name", contract.name);
      auto charge = c.find("activation_charge");
      if (charge != c.end() && charge->is_object()) {
        auto amount = charge->find("amount_cents");
        if (amount != charge->end() && amount->is_number_integer())
          contract.activation_charge.amount_cents = amount->get<int64_t>();
        text(*charge, "currency", contract.activation_charge.currency);
      } else if (charge != c.end() && charge->is_null()) {
        contract.activation_charge = core::Money{};
      }
      if (contract.activation_charge.amount_cents < 0)
        return make_error(ErrorCode::kInvalidArgument, "must not be negative",
                          "contract.activation_charge.amount_cents");
      a.contract = contract;
    }
  }
  ESCALA_TRY(check_name(a.name, "name"));
  ESCALA_TRY(validate_time_zone(a.timezone, "timezone"));
  ESCALA_TRY(validate_language(a.language, "language"));
  return store_.update_account(a);
}

Result<core::Account> DirectoryService::get_account(const core::Actor& actor,
                                                    const std::string& code) {
  if (actor.role == core::Role::kCustomer && actor.account != code)
    return make_error(ErrorCode::kNotFound, "no account " + code);
  auto a = store_.get_account(code);
  if (!a.ok()) return a.error();
  if (!a.value()) return make_error(ErrorCode::kNotFound, "no account " + code);
  return **a;
}

Result<std::vector<core::Account>> DirectoryService::list_accounts(const core::Actor& actor,
                                                                   const std::string& after,
                                                                   int limit) {
  if (actor.role == core::Role::kCustomer) {
    auto a = store_.get_account(actor.account);
    if (!a.ok()) return a.error();
    std::vector<core::Account> out;
    if (a.value() && actor.account > after) out.push_back(**a);
    return out;
  }
  return store_.list_accounts(after, std::clamp(limit, 1, 1000));
}

Result<core::Contact> DirectoryService::create_contact(const core::Actor& actor,
                                                       core::Contact contact) {
  if (actor.role == core::Role::kCustomer)
    return make_error(ErrorCode::kPermissionDenied, "customers cannot add contacts");
  auto a = store_.get_account(contact.account);
  if (!a.ok()) return a.error();
  if (!a.value()) return make_error(ErrorCode::kNotFound, "no account " + contact.account);
  ESCALA_TRY(check_name(contact.name, "name"));
  if (contact.email.empty() && contact.phone.empty())
    return make_error(ErrorCode::kInvalidArgument, "a contact needs an email or a phone",
                      "email");
  if (!contact.email.empty()) {
    contact.email = normalize_email(contact.email);
    ESCALA_TRY(validate_email_address(contact.email, "email"));
  }
  if (contact.phone.size() > 32)
    return make_error(ErrorCode::kInvalidArgument, "is too long", "phone");
  ESCALA_TRY(validate_language(contact.language, "language"));
  contact.created_at = clock_.now();
  return store_.create_contact(contact);
}

Result<std::vector<core::Contact>> DirectoryService::list_contacts(const core::Actor& actor,
                                                                   const std::string& account) {
  if (actor.role == core::Role::kCustomer && actor.account != account)
    return make_error(ErrorCode::kNotFound, "no account " + account);
  auto a = store_.get_account(account);
  if (!a.ok()) return a.error();
  if (!a.value()) return make_error(ErrorCode::kNotFound, "no account " + account);
  return store_.list_contacts(account);
}

Result<core::User> DirectoryService::create_user(const core::Actor& actor, const NewUser& in) {
  if (!is_admin(actor)) return forbidden("create users");
  core::User u;
  u.email = normalize_email(in.email);
  ESCALA_TRY(validate_email_address(u.email, "email"));
  ESCALA_TRY(check_name(in.name, "name"));
  ESCALA_TRY(validate_language(in.language, "language"));
  ESCALA_TRY(validate_time_zone(in.timezone, "timezone"));
  ESCALA_TRY(validate_new_password(in.password, "password"));
  u.name = in.name;
  u.role = in.role;
  u.language = in.language;
  u.timezone = in.timezone;
  u.specialties = in.specialties;
  switch (in.role) {
    case core::Role::kAgent:
      if (in.level < core::kMinLevel || in.level > core::kMaxLevel)
        return make_error(ErrorCode::kInvalidArgument, "agents need a level of 1, 2 or 3",
                          "level");
      u.level = in.level;
      break;
    case core::Role::kCustomer: {
      if (in.account.empty())
        return make_error(ErrorCode::kInvalidArgument, "customers belong to an account",
                          "account");
      auto a = store_.get_account(in.account);
      if (!a.ok()) return a.error();
      if (!a.value())
        return make_error(ErrorCode::kInvalidArgument, "no account " + in.account, "account");
      u.account = in.account;
      break;
    }
    case core::Role::kAdmin:
    case core::Role::kSupervisor: u.level = core::kMaxLevel; break;
    case core::Role::kSystem:
      return make_error(ErrorCode::kInvalidArgument, "not a role", "role");
  }
  if (in.role != core::Role::kCustomer && !in.account.empty())
    return make_error(ErrorCode::kInvalidArgument, "only customers belong to an account",
                      "account");
  u.password_hash = crypto_.hash_password(in.password);
  u.created_at = clock_.now();
  auto created = store_.create_user(u);
  if (created.ok() && staff_changed_) staff_changed_();
  return created;
}

namespace {
std::string views_key(int64_t user_id) { return "saved_views:user:" + std::to_string(user_id); }
}  // namespace

Result<core::Json> DirectoryService::saved_views(const core::User& user) {
  auto stored = store_.get_setting(views_key(user.id));
  if (!stored.ok()) return stored.error();
  if (!stored.value() || !stored.value()->is_array()) return core::Json::array();
  return **stored;
}

Result<core::Json> DirectoryService::set_saved_views(const core::User& user,
                                                     const core::Json& views) {
  auto bad = [](const std::string& what) {
    return make_error(ErrorCode::kInvalidArgument, what, "views");
  };
  if (!views.is_array()) return bad("views must be an array of {name, query}");
  if (views.size() > kMaxSavedViews)
    return bad("at most " + std::to_string(kMaxSavedViews) + " saved views");
  std::map<std::string, std::string> by_name;
  for (const auto& v : views) {
    if (!v.is_object() || v.size() != 2 || !v.contains("name") || !v.contains("query") ||
        !v["name"].is_string() || !v["query"].is_string())
      return bad("each view is an object with exactly a string name and a string query");
    std::string name = v["name"].get<std::string>();
    std::string query = v["query"].get<std::string>();
    if (!core::is_valid_utf8(name) || !core::is_valid_utf8(query))
      return bad("names and queries must be valid UTF-8");
    const bool blank = std::all_of(name.begin(), name.end(),
                                   [](unsigned char ch) { return std::isspace(ch) != 0; });
    if (blank || name.size() > 80)
      return bad("a view's name is 1 to 80 bytes");
    if (query.size() > 1000 || (!query.empty() && query[0] != '?'))
      return bad("a view's query is empty or a URL query starting with '?', at most 1000 bytes");
    if (!by_name.emplace(name, query).second) return bad("two views are named " + name);
  }
  core::Json out = core::Json::array();
  for (const auto& [name, query] : by_name) out.push_back({{"name", name}, {"query", query}});
  ESCALA_TRY(store_.put_setting(views_key(user.id), out));
  return out;
}

Status DirectoryService::set_quiet(const core::User& user, bool quiet) {
  auto st = store_.set_user_quiet(user.id, quiet);
  if (st.ok() && staff_changed_) staff_changed_();
  return st;
}

Result<std::vector<core::User>> DirectoryService::list_users(const core::Actor& actor,
                                                             int64_t after_id, int limit) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor &&
      actor.role != core::Role::kSystem)
    return make_error(ErrorCode::kPermissionDenied,
                      "only administrators and supervisors may list users");
  return store_.list_users(after_id, std::clamp(limit, 1, 1000));
}

Result<int64_t> DirectoryService::count_accounts(const core::Actor& actor) {
  if (actor.role == core::Role::kCustomer) {
    auto a = store_.get_account(actor.account);
    if (!a.ok()) return a.error();
    return static_cast<int64_t>(a.value() ? 1 : 0);
  }
  return store_.count_accounts();
}

Result<int64_t> DirectoryService::count_users(const core::Actor& actor) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor &&
      actor.role != core::Role::kSystem)
    return make_error(ErrorCode::kPermissionDenied,
                      "only administrators and supervisors may list users");
  return store_.count_users();
}

}  // namespace escala::services
