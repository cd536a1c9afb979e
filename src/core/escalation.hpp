#pragma once
// Escalation rules (D6, R4): "when <event and conditions> then <actions>", evaluated by the
// lifecycle when the system records an SLA warning or breach or a case is created or
// raised to a severity. Actions escalate the case one level or notify people. Rules are
// configuration (the desk's defaults), checked when loaded.

#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"

namespace escala::core {

struct RuleAction {
  enum class Kind { kEscalate, kNotify } kind = Kind::kNotify;
  // kNotify: who. Any of: the assignee, everyone of a role (optionally of one level).
  bool assignee = false;
  std::optional<Role> role;
  std::optional<int> level;
};

struct EscalationRule {
  std::string name;
  // sla_warning | sla_breached | created | severity_changed | unassigned (nobody has
  // taken the case for `minutes` business minutes on its calendar)
  std::string on;
  std::optional<int> minutes;  // unassigned only
  std::optional<std::string> target;  // response | resolution (SLA events)
  std::optional<int> level;           // the case's level when the event happens
  std::optional<Severity> severity;   // the case's severity when the event happens
  std::vector<RuleAction> actions;
};

// Reads {"name","on","target"?,"level"?,"severity"?,"actions":[{"type":"escalate"} |
// {"type":"notify","to":"assignee"|"supervisors"|"agents","level"?}]}; errors name the
// member ("rules[2].on").
Result<std::vector<EscalationRule>> rules_from_json(const Json& j);
Json rules_to_json(const std::vector<EscalationRule>& rules);

// The deck-sensible defaults: a resolution breach at L1 escalates to L2 and tells the
// supervisors; a new S1 tells the L2 agents (the on-call group) at once.
std::vector<EscalationRule> default_rules();

// A member of staff as the rules see them.
struct StaffMember {
  int64_t id = 0;
  Role role = Role::kAgent;
  int level = 0;
  bool quiet = false;  // wants no notifications
  std::string email;     // where notifications are mailed
  std::string name;
  std::string language = "es";
};

// Does the rule apply to this event of this case (as the case is after the event)?
bool rule_matches(const EscalationRule& rule, const Event& event, const Case& c);

// The people an action reaches, without the quiet ones, each once.
std::vector<int64_t> recipients(const RuleAction& action, const Case& c,
                                const std::vector<StaffMember>& staff);

}  // namespace escala::core
