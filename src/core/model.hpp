#pragma once
// The desk's vocabulary: cases, their states, levels and severities, people and events.
// Plain data; the rules that change it live in rules.hpp, severity.hpp and lifecycle.hpp.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/time.hpp"

namespace escala::core {

using Json = nlohmann::json;

enum class CaseType { kIncident, kActivation, kRequest };
enum class CaseStatus { kAwaitingInfo, kOpen, kPendingCustomer, kResolved, kClosed };
enum class Severity { kS1 = 1, kS2, kS3, kS4 };
enum class Role { kAdmin, kSupervisor, kAgent, kCustomer, kSystem };

constexpr int kMinLevel = 1;
constexpr int kMaxLevel = 3;

std::string_view to_string(CaseType t);
std::string_view to_string(CaseStatus s);
std::string_view to_string(Severity s);
std::string_view to_string(Role r);
std::optional<CaseType> parse_case_type(std::string_view s);
std::optional<CaseStatus> parse_case_status(std::string_view s);
std::optional<Severity> parse_severity(std::string_view s);
std::optional<Role> parse_role(std::string_view s);

// Who performs an action. `level` matters for agents; `account` binds customers.
struct Actor {
  int64_t user_id = 0;  // 0 for the system itself
  Role role = Role::kSystem;
  int level = 0;
  std::string account;  // customers only
  std::string name;

  static Actor system() { return Actor{0, Role::kSystem, kMaxLevel, {}, "escala"}; }
  bool is_staff() const { return role != Role::kCustomer; }
};

// The answer of the severity matrix (D3).
struct Impact {
  std::string affected;    // one | several | all
  std::string disruption;  // outage | serious | degraded | none
};

// One SLA clock (D2). Business time consumed is kept in `consumed` up to `running_since`.
// The instant the target is reached is derived (report_sla), never stored: it moves when
// the calendar's hours are edited.
struct SlaClock {
  Seconds target{0};
  Millis consumed{0};
  std::optional<Instant> started_at;     // the case became complete
  std::optional<Instant> running_since;  // running now; unset while paused or stopped
  std::optional<Instant> stopped_at;     // met: first response, or resolution
  // What has been announced in the current cycle (a reopen starts a new one): each
  // warning and breach fires once per target and cycle (D6).
  bool warned = false;
  bool breach_recorded = false;
};

struct SlaState {
  std::string calendar;
  SlaClock response;
  SlaClock resolution;
  // Since when nobody is assigned (from creation or an unassignment), and the
  // "unassigned" escalation rules already fired in this stretch.
  std::optional<Instant> unassigned_since;
  std::vector<std::string> unassigned_alerts;
  // When the earliest warning, breach or alert is due, if any, as a mark of the case's
  // calendar (see DueCalculator): what the scheduler waits for. A calendar edit moves the
  // instant of a mark, never the mark, so this stays valid across edits.
  std::optional<Millis> next_timer_mark;
};

// A file that came with a message, stored once by content hash.
struct AttachmentRef {
  std::string name;
  std::string content_type;
  int64_t size = 0;
  std::string sha256;
};

// Who the case answers to by email and how (the email channel fills it; other channels
// may leave it empty).
struct Requester {
  std::string name;
  std::string email;     // where replies go (the Reply-To of the customer's mail if any)
  std::string language;  // "es" | "en": customer-facing text (D5)
};

struct Case {
  int64_t id = 0;  // the numeric part of the case number
  CaseType type = CaseType::kRequest;
  CaseStatus status = CaseStatus::kAwaitingInfo;
  int level = kMinLevel;
  Severity severity = Severity::kS3;
  std::optional<Severity> suggested_severity;
  std::string severity_reason;  // why an agent overrode the suggestion
  std::optional<Impact> impact;
  std::string account;  // account code, empty when unknown
  std::optional<int64_t> contact_id;
  std::optional<int64_t> assignee_id;
  std::optional<int64_t> created_by;
  std::string channel;
  std::string subject;
  std::string description;
  Json fields = Json::object();
  std::vector<std::string> missing_fields;
  Instant created_at{};
  Instant updated_at{};
  std::optional<Instant> completed_at;     // all required data present: SLA clocks start
  std::optional<Instant> first_response_at;
  std::optional<Instant> resolved_at;
  std::optional<Instant> closed_at;
  int resolved_level = 0;
  SlaState sla;
  int64_t version = 0;  // number of events; each change appends at least one
  // Email channel.
  std::string mailbox;  // the support address the case was opened through, if any
  Requester requester;
  std::vector<AttachmentRef> attachments;
  // Message-IDs for the References header of the next message about the case: the first
  // one of the thread and the latest few (bounded).
  std::vector<std::string> mail_refs;
};

// One entry of the append-only history (D7). `internal` events are hidden from customers.
struct Event {
  int64_t case_id = 0;
  int64_t seq = 0;  // 1-based position in the case's history, assigned by the store
  std::string type;
  Instant at{};
  int64_t actor_id = 0;
  std::string actor_name;
  Role actor_role = Role::kSystem;
  bool internal = false;
  Json data = Json::object();
};

struct Money {
  int64_t amount_cents = 0;
  std::string currency = "USD";
};

// A contract's own SLA for one severity, replacing the desk's (a premium contract may
// have shorter targets or its own calendar).
struct TargetOverride {
  Seconds response{0};
  Seconds resolution{0};
  std::string calendar;
};

struct Contract {
  std::string name;
  Money activation_charge;
  std::map<Severity, TargetOverride> sla;  // severities without an entry follow the desk
};

struct Account {
  std::string code;
  std::string name;
  std::string timezone = "America/Mexico_City";
  std::string language = "es";
  std::optional<Contract> contract;
  Instant created_at{};
};

struct Contact {
  int64_t id = 0;
  std::string account;
  std::string name;
  std::string email;
  std::string phone;
  std::string language = "es";
  Instant created_at{};
  // Set when mail to `email` bounced permanently (cleared by an edit of the address).
  std::string email_failure;
};

struct User {
  int64_t id = 0;
  std::string email;
  std::string name;
  Role role = Role::kAgent;
  int level = 0;  // agents: 1..3
  std::vector<std::string> specialties;
  std::string account;  // customers: the account they belong to
  std::string language = "es";
  std::string timezone = "America/Mexico_City";
  std::string password_hash;  // argon2id string
  bool active = true;
  bool quiet = false;  // wants no notifications
  Instant created_at{};

  Actor actor() const { return Actor{id, role, level, account, name}; }
};

// Something the provider charges for, recorded against the account's contract (R2.1).
struct BillableItem {
  int64_t id = 0;
  std::string account;
  int64_t case_id = 0;
  std::string kind;  // "activation"
  std::string description;
  Money charge;
  Instant at{};
};

// A message for a member of staff about a case (D6): stored with the change that caused
// it; delivered by email (and later the console) from there.
struct Notification {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t case_id = 0;
  std::string kind;  // the event that caused it: sla_warning, sla_breached, created, ...
  std::string subject;
  std::string body;
  Instant created_at{};
};

// "CMW-000123": the prefix and at least six digits (D1).
std::string format_case_number(std::string_view prefix, int64_t id);
std::optional<int64_t> parse_case_number(std::string_view prefix, std::string_view number);

}  // namespace escala::core
