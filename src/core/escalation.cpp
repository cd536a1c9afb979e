#include "core/escalation.hpp"

#include <algorithm>
#include <set>

namespace escala::core {
namespace {

Error bad(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, message, field);
}

}  // namespace

Result<std::vector<EscalationRule>> rules_from_json(const Json& j) {
  if (!j.is_array()) return bad("rules", "must be a list");
  std::vector<EscalationRule> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& r = j[i];
    const std::string at = "rules[" + std::to_string(i) + "]";
    if (!r.is_object()) return bad(at, "must be an object");
    for (const auto& [k, v] : r.items())
      if (k != "name" && k != "on" && k != "target" && k != "level" && k != "severity" &&
          k != "actions" && k != "minutes")
        return make_error(ErrorCode::kUnknownField, "unknown member", at + "." + k);
    EscalationRule rule;
    if (!r.contains("name") || !r["name"].is_string() || r["name"].get<std::string>().empty())
      return bad(at + ".name", "is required");
    rule.name = r["name"];
    if (!r.contains("on") || !r["on"].is_string()) return bad(at + ".on", "is required");
    rule.on = r["on"];
    if (rule.on != "sla_warning" && rule.on != "sla_breached" && rule.on != "created" &&
        rule.on != "severity_changed" && rule.on != "unassigned")
      return bad(at + ".on",
                 "must be sla_warning, sla_breached, created, severity_changed or unassigned");
    if (rule.on == "unassigned") {
      if (!r.contains("minutes") || !r["minutes"].is_number_integer() || r["minutes"] < 1 ||
          r["minutes"] > 7 * 24 * 60)
        return bad(at + ".minutes", "must be 1 to 10080 business minutes");
      rule.minutes = r["minutes"].get<int>();
    } else if (r.contains("minutes")) {
      return bad(at + ".minutes", "applies to unassigned rules only");
    }
    if (r.contains("target")) {
      if (!r["target"].is_string() || (r["target"] != "response" && r["target"] != "resolution"))
        return bad(at + ".target", "must be response or resolution");
      rule.target = r["target"];
    }
    if (r.contains("level")) {
      if (!r["level"].is_number_integer() || r["level"] < kMinLevel || r["level"] > kMaxLevel)
        return bad(at + ".level", "must be 1, 2 or 3");
      rule.level = r["level"].get<int>();
    }
    if (r.contains("severity")) {
      auto s = r["severity"].is_string() ? parse_severity(r["severity"].get<std::string>())
                                         : std::nullopt;
      if (!s) return bad(at + ".severity", "must be S1, S2, S3 or S4");
      rule.severity = s;
    }
    if (!r.contains("actions") || !r["actions"].is_array() || r["actions"].empty())
      return bad(at + ".actions", "needs at least one action");
    for (size_t k = 0; k < r["actions"].size(); ++k) {
      const Json& a = r["actions"][k];
      const std::string aat = at + ".actions[" + std::to_string(k) + "]";
      if (!a.is_object() || !a.contains("type") || !a["type"].is_string())
        return bad(aat + ".type", "is required");
      RuleAction action;
      if (a["type"] == "escalate") {
        action.kind = RuleAction::Kind::kEscalate;
      } else if (a["type"] == "notify") {
        action.kind = RuleAction::Kind::kNotify;
        std::string to = a.value("to", std::string());
        if (to == "assignee") action.assignee = true;
        else if (to == "supervisors") action.role = Role::kSupervisor;
        else if (to == "agents") action.role = Role::kAgent;
        else return bad(aat + ".to", "must be assignee, supervisors or agents");
        if (a.contains("level")) {
          if (!a["level"].is_number_integer() || a["level"] < kMinLevel || a["level"] > kMaxLevel)
            return bad(aat + ".level", "must be 1, 2 or 3");
          action.level = a["level"].get<int>();
        }
      } else {
        return bad(aat + ".type", "must be escalate or notify");
      }
      rule.actions.push_back(action);
    }
    out.push_back(std::move(rule));
  }
  return out;
}

Json rules_to_json(const std::vector<EscalationRule>& rules) {
  Json out = Json::array();
  for (const auto& r : rules) {
    Json j = {{"name", r.name}, {"on", r.on}};
    if (r.minutes) j["minutes"] = *r.minutes;
    if (r.target) j["target"] = *r.target;
    if (r.level) j["level"] = *r.level;
    if (r.severity) j["severity"] = to_string(*r.severity);
    Json actions = Json::array();
    for (const auto& a : r.actions) {
      if (a.kind == RuleAction::Kind::kEscalate) {
        actions.push_back({{"type", "escalate"}});
        continue;
      }
      Json n = {{"type", "notify"},
                {"to", a.assignee ? "assignee"
                                  : a.role == Role::kSupervisor ? "supervisors" : "agents"}};
      if (a.level) n["level"] = *a.level;
      actions.push_back(std::move(n));
    }
    j["actions"] = std::move(actions);
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<EscalationRule> default_rules() {
  return *rules_from_json(Json::array({
      {{"name", "resolution breach at L1 goes to L2"},
       {"on", "sla_breached"},
       {"target", "resolution"},
       {"level", 1},
       {"actions", Json::array({{{"type", "escalate"}}, {{"type", "notify"}, {"to", "supervisors"}}})}},
      {{"name", "new S1 alerts the L2 on-call agents"},
       {"on", "created"},
       {"severity", "S1"},
       {"actions", Json::array({{{"type", "notify"}, {"to", "agents"}, {"level", 2}}})}},
      {{"name", "raised to S1 alerts the L2 on-call agents"},
       {"on", "severity_changed"},
       {"severity", "S1"},
       {"actions", Json::array({{{"type", "notify"}, {"to", "agents"}, {"level", 2}}})}},
      {{"name", "unassigned for 30 business minutes tells the supervisors"},
       {"on", "unassigned"},
       {"minutes", 30},
       {"actions", Json::array({{{"type", "notify"}, {"to", "supervisors"}}})}},
  }));
}

bool rule_matches(const EscalationRule& rule, const Event& event, const Case& c) {
  if (rule.on == "unassigned")
    return event.type == "unassigned_alert" &&
           event.data.value("rule", std::string()) == rule.name;
  if (event.type != rule.on) return false;
  if (rule.target && event.data.value("target", std::string()) != *rule.target) return false;
  if (rule.level && c.level != *rule.level) return false;
  if (rule.severity && c.severity != *rule.severity) return false;
  return true;
}

std::vector<int64_t> recipients(const RuleAction& action, const Case& c,
                                const std::vector<StaffMember>& staff) {
  std::set<int64_t> out;
  for (const auto& s : staff) {
    if (s.quiet) continue;
    bool hit = (action.assignee && c.assignee_id == s.id) ||
               (action.role && s.role == *action.role && (!action.level || s.level == *action.level));
    if (hit) out.insert(s.id);
  }
  return {out.begin(), out.end()};
}

}  // namespace escala::core
