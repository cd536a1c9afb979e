#include "core/lifecycle.hpp"

#include "core/rules.hpp"
#include "core/sla.hpp"

namespace escala::core {
namespace {

constexpr size_t kMaxBody = 100'000;
constexpr size_t kMaxReason = 2'000;

// Builds events for one change: sequence numbers continue the case's history.
class Recorder {
 public:
  Recorder(const Case& before, const Actor& actor, Instant now, const CaseContext& ctx)
      : change_{before, {}, std::nullopt, {}}, actor_(actor), now_(now), policy_(ctx.policy) {}

  Case& c() { return change_.after; }

  void add(std::string type, Json data, bool internal = false) {
    Event e;
    e.case_id = change_.after.id;
    e.seq = change_.after.version + 1;
    e.type = std::move(type);
    e.at = now_;
    e.actor_id = actor_.user_id;
    e.actor_name = actor_.name;
    e.actor_role = actor_.role;
    e.internal = internal;
    e.data = std::move(data);
    change_.after.version = e.seq;
    // The SLA clocks follow the history, event by event (see sla.hpp).
    if (policy_) apply_sla_event(change_.after.sla, e, *policy_);
    change_.events.push_back(std::move(e));
  }

  void set_status(CaseStatus to, std::string_view reason) {
    auto from = change_.after.status;
    if (from == to) return;
    change_.after.status = to;
    add("status_changed",
        {{"from", to_string(from)}, {"to", to_string(to)}, {"reason", reason}});
  }

  Change finish() {
    if (change_.events.empty()) return std::move(change_);
    change_.after.updated_at = now_;
    if (policy_)
      change_.after.sla.next_timer_mark =
          next_timer(change_.after.sla, *policy_, change_.after.status);
    return std::move(change_);
  }

  Change& change() { return change_; }
  const Event& last_event() const { return change_.events.back(); }

  void notify(const std::vector<int64_t>& users, const std::string& kind,
              const std::string& subject, const std::string& body) {
    for (int64_t u : users) {
      bool dup = false;  // one notification per person and cause
      for (const auto& n : change_.notifications)
        if (n.user_id == u && n.kind == kind && n.subject == subject) dup = true;
      if (dup) continue;
      change_.notifications.push_back(
          Notification{0, u, change_.after.id, kind, subject, body, now_});
    }
  }

 private:
  Change change_;
  Actor actor_;
  Instant now_;
  const CasePolicy* policy_;
};

Error forbid(std::string message) {
  return make_error(ErrorCode::kPermissionDenied, std::move(message));
}

Error refuse(const Case& c, std::string action) {
  return make_error(ErrorCode::kInvalidTransition,
                    "cannot " + action + " a case that is " + std::string(to_string(c.status)));
}

Status check_text(const std::string& text, size_t max, const char* field, bool required) {
  if (required && text.find_first_not_of(" \t\r\n") == std::string::npos)
    return make_error(ErrorCode::kInvalidArgument, "must not be empty", field);
  if (text.size() > max) return make_error(ErrorCode::kPayloadTooLarge, "is too long", field);
  return ok_status();
}

// Called after fields change: completes the case when nothing is missing any more.
void settle_completeness(Recorder& r, const CaseContext& ctx, Instant now) {
  Case& c = r.c();
  c.missing_fields = missing_fields(c.type, c.fields);
  if (!c.missing_fields.empty() || c.status != CaseStatus::kAwaitingInfo) return;
  r.set_status(CaseStatus::kOpen, "data_complete");
  if (c.completed_at) return;  // completed once already (data removed and restored)
  c.completed_at = now;
  if (c.type == CaseType::kActivation && ctx.activation_charge && !c.account.empty()) {
    BillableItem item;
    item.account = c.account;
    item.case_id = c.id;
    item.kind = "activation";
    item.description = "Activation of extension " + c.fields.value("extension", std::string()) +
                       " for " + c.fields.value("user_full_name", std::string());
    item.charge = *ctx.activation_charge;
    item.at = now;
    r.add("billable_recorded", {{"kind", item.kind},
                                {"description", item.description},
                                {"amount_cents", item.charge.amount_cents},
                                {"currency", item.charge.currency}});
    r.change().billable = std::move(item);
  }
}

Json field_diff(const Json& before, const Json& after) {
  Json changes = Json::object();
  for (const auto& [k, v] : after.items()) {
    auto it = before.find(k);
    if (it == before.end() || *it != v)
      changes[k] = {{"old", it == before.end() ? Json(nullptr) : *it}, {"new", v}};
  }
  for (const auto& [k, v] : before.items())
    if (!after.contains(k)) changes[k] = {{"old", v}, {"new", nullptr}};
  return changes;
}

std::string number_of(const Case& c, const CaseContext& ctx) {
  return format_case_number(ctx.policy ? ctx.policy->number_prefix : "CMW-", c.id);
}

// What a notification about `e` says. Staff-facing, so in English with the case number.
std::pair<std::string, std::string> describe(const Event& e, const Case& c,
                                             const CaseContext& ctx) {
  const std::string number = number_of(c, ctx);
  const std::string where = " (" + std::string(to_string(c.severity)) + ", L" +
                            std::to_string(c.level) + ") " + c.subject;
  if (e.type == "unassigned_alert") {
    return {"[" + number + "] unassigned for " + std::to_string(e.data.value("minutes", 0)) +
                " business minutes" + where,
            "Case " + number + " has had no assignee since " +
                e.data.value("since", std::string("-")) + ". Rule: " +
                e.data.value("rule", std::string()) + "."};
  }
  if (e.type == "sla_warning" || e.type == "sla_breached") {
    std::string target = e.data.value("target", std::string());
    std::string what = e.type == "sla_warning"
                           ? target + " target " + std::to_string(e.data.value("percent", 75)) +
                                 "% consumed"
                           : target + " target breached";
    return {"[" + number + "] SLA: " + what + where,
            "Case " + number + ": the " + what + ". Due: " +
                e.data.value("due_at", std::string("-")) + "."};
  }
  return {"[" + number + "] " + std::string(to_string(c.severity)) + " case" + where,
          "Case " + number + " needs attention: " + e.type + "."};
}

// Runs the escalation rules that match the event just recorded (see escalation.hpp).
void apply_rules(Recorder& r, const CaseContext& ctx) {
  if (!ctx.policy) return;
  const Event trigger = r.last_event();
  for (const auto& rule : ctx.policy->rules) {
    if (!rule_matches(rule, trigger, r.c())) continue;
    for (const auto& action : rule.actions) {
      if (action.kind == RuleAction::Kind::kEscalate) {
        Case& c = r.c();
        if (c.level >= kMaxLevel || c.status == CaseStatus::kResolved ||
            c.status == CaseStatus::kClosed)
          continue;
        c.level += 1;
        r.add("escalated", {{"from", c.level - 1},
                            {"to", c.level},
                            {"reason", "rule: " + rule.name},
                            {"rule", rule.name}});
        if (c.status == CaseStatus::kPendingCustomer) r.set_status(CaseStatus::kOpen, "escalated");
      } else {
        auto [subject, body] = describe(trigger, r.c(), ctx);
        r.notify(recipients(action, r.c(), ctx.staff), trigger.type, subject, body);
      }
    }
  }
}

bool may_edit_data(const Actor& a, const Case& c) {
  return a.role == Role::kCustomer ? a.account == c.account : true;
}

}  // namespace

bool can_view(const Actor& actor, const Case& c) {
  if (actor.role != Role::kCustomer) return true;
  return !actor.account.empty() && actor.account == c.account;
}

bool acts_at_level(const Actor& actor, const Case& c) {
  switch (actor.role) {
    case Role::kAdmin:
    case Role::kSupervisor:
    case Role::kSystem: return true;
    case Role::kAgent: return actor.level >= c.level;
    case Role::kCustomer: return false;
  }
  return false;
}

Result<Change> fire_sla_timers(const Case& c, Instant now, const CaseContext& ctx) {
  Recorder r(c, Actor::system(), now, ctx);
  if (!ctx.policy) return r.finish();
  const int warn = ctx.policy->warn_percent;
  // Fire in instant order; each event updates the clocks before the next is considered.
  for (;;) {
    auto timers = pending_timers(r.c().sla, *ctx.policy, r.c().status);
    std::optional<SlaTimer> first;
    for (const auto& t : timers)
      if (t.fire_at <= now && (!first || t.fire_at < first->fire_at)) first = t;
    if (!first) break;
    if (first->kind == TimerKind::kUnassigned) {
      int minutes = 0;
      for (const auto& rule : ctx.policy->rules)
        if (rule.name == first->rule) minutes = rule.minutes.value_or(0);
      r.add("unassigned_alert",
            {{"rule", first->rule},
             {"minutes", minutes},
             {"since", format_iso8601(*r.c().sla.unassigned_since)},
             {"level", r.c().level},
             {"severity", to_string(r.c().severity)}},
            /*internal=*/true);
      apply_rules(r, ctx);
      continue;
    }
    bool response = first->kind == TimerKind::kResponseWarning ||
                    first->kind == TimerKind::kResponseBreach;
    bool breach = first->kind == TimerKind::kResponseBreach ||
                  first->kind == TimerKind::kResolutionBreach;
    const SlaReport clocks = report_sla(r.c().sla, *ctx.policy, now, r.c().status);
    const ClockReport& k = response ? clocks.response : clocks.resolution;
    Json data = {{"target", response ? "response" : "resolution"},
                 {"due_at", k.due ? Json(format_iso8601(*k.due)) : Json(nullptr)},
                 {"fire_at", format_iso8601(first->fire_at)},
                 {"level", r.c().level},
                 {"severity", to_string(r.c().severity)}};
    if (!breach) data["percent"] = warn;
    r.add(breach ? "sla_breached" : "sla_warning", std::move(data));
    // D6: the assignee and the supervisors hear of every warning and breach.
    RuleAction to_assignee{RuleAction::Kind::kNotify, true, std::nullopt, std::nullopt};
    RuleAction to_supervisors{RuleAction::Kind::kNotify, false, Role::kSupervisor, std::nullopt};
    auto [subject, body] = describe(r.last_event(), r.c(), ctx);
    r.notify(recipients(to_assignee, r.c(), ctx.staff), r.last_event().type, subject, body);
    r.notify(recipients(to_supervisors, r.c(), ctx.staff), r.last_event().type, subject, body);
    apply_rules(r, ctx);
  }
  Change out = r.finish();
  // Even when nothing was due (the calendar changed since the timer was set), the next
  // instant is brought up to date so the scheduler does not wake for it again.
  out.after.sla.next_timer_mark = next_timer(out.after.sla, *ctx.policy, out.after.status);
  return out;
}

void chain(Change& base, Change&& more) {
  base.after = std::move(more.after);
  for (auto& e : more.events) base.events.push_back(std::move(e));
  if (more.billable) base.billable = std::move(more.billable);
  for (auto& n : more.notifications) base.notifications.push_back(std::move(n));
  for (auto& m : more.outbox) base.outbox.push_back(std::move(m));
  for (auto& t : more.thread_ids) base.thread_ids.push_back(std::move(t));
  if (more.inbound) base.inbound = std::move(more.inbound);
  for (auto& b : more.blobs) base.blobs.push_back(std::move(b));
}

Result<Change> open_case(int64_t id, const OpenCaseInput& in, const Actor& actor, Instant now,
                         const CaseContext& ctx) {
  if (actor.role == Role::kCustomer && in.account != actor.account)
    return forbid("customers open cases for their own account only");
  if (actor.role == Role::kCustomer && in.severity)
    return forbid("the severity is set by the support team; describe the impact instead");
  ESCALA_TRY(check_text(in.subject, 300, "subject", true));
  ESCALA_TRY(check_text(in.description, kMaxBody, "description", false));
  if (in.impact) ESCALA_TRY(validate_impact(*in.impact));

  Case c;
  c.id = id;
  c.type = in.type;
  c.account = in.account;
  c.contact_id = in.contact_id;
  c.channel = in.channel;
  c.subject = in.subject;
  c.description = in.description;
  c.created_at = now;
  c.updated_at = now;
  c.created_by = actor.user_id ? std::optional<int64_t>(actor.user_id) : std::nullopt;
  c.level = kMinLevel;
  c.status = CaseStatus::kAwaitingInfo;
  auto merged = merge_fields(c.type, Json::object(), in.fields, ctx.default_offset);
  if (!merged.ok()) return merged.error();
  c.fields = std::move(merged).value();

  const SeverityMatrix matrix = ctx.policy ? ctx.policy->matrix : SeverityMatrix{};
  if (in.impact) {
    c.impact = in.impact;
    c.suggested_severity = matrix.suggest(*in.impact);
  } else if (in.type == CaseType::kRequest) {
    c.suggested_severity = Severity::kS4;
  }
  c.severity = c.suggested_severity.value_or(Severity::kS3);
  if (in.severity && *in.severity != c.severity) {
    if (c.suggested_severity)
      ESCALA_TRY(check_text(in.severity_reason, kMaxReason, "severity_reason", true));
    c.severity = *in.severity;
    c.severity_reason = in.severity_reason;
  }
  Recorder r(c, actor, now, ctx);
  Json created = {{"type", to_string(c.type)},
                  {"channel", c.channel},
                  {"subject", c.subject},
                  {"account", c.account},
                  {"severity", to_string(c.severity)},
                  {"level", c.level},
                  {"fields", c.fields}};
  if (c.suggested_severity) created["suggested_severity"] = to_string(*c.suggested_severity);
  if (!c.severity_reason.empty()) created["severity_reason"] = c.severity_reason;
  r.add("created", std::move(created));
  apply_rules(r, ctx);
  r.c().missing_fields = missing_fields(c.type, c.fields);
  settle_completeness(r, ctx, now);
  return r.finish();
}

Result<Change> update_fields(const Case& c, const Json& patch, const Actor& actor, Instant now,
                             const CaseContext& ctx) {
  if (!may_edit_data(actor, c)) return forbid("not your case");
  if (c.status == CaseStatus::kClosed || c.status == CaseStatus::kResolved)
    return refuse(c, "change the data of");
  auto merged = merge_fields(c.type, c.fields, patch, ctx.default_offset);
  if (!merged.ok()) return merged.error();
  Recorder r(c, actor, now, ctx);
  Json diff = field_diff(c.fields, merged.value());
  if (diff.empty()) return r.finish();
  r.c().fields = std::move(merged).value();
  r.add("fields_updated", {{"changes", diff}});
  settle_completeness(r, ctx, now);
  return r.finish();
}

Result<Change> update_impact(const Case& c, const Impact& impact, const Actor& actor,
                             Instant now, const CaseContext& ctx) {
  if (!may_edit_data(actor, c)) return forbid("not your case");
  // The impact moves the severity: staff need the case's level, as for the severity itself.
  if (actor.is_staff() && !acts_at_level(actor, c)) return forbid("the case is above your level");
  if (c.status == CaseStatus::kClosed) return refuse(c, "change the impact of");
  ESCALA_TRY(validate_impact(impact));
  const SeverityMatrix matrix = ctx.policy ? ctx.policy->matrix : SeverityMatrix{};
  Recorder r(c, actor, now, ctx);
  Case& n = r.c();
  bool overridden = !c.severity_reason.empty();
  n.impact = impact;
  n.suggested_severity = matrix.suggest(impact);
  Json data = {{"affected", impact.affected},
               {"disruption", impact.disruption},
               {"suggested_severity", to_string(*n.suggested_severity)}};
  r.add("impact_changed", std::move(data));
  if (!overridden && n.severity != *n.suggested_severity) {
    auto old = n.severity;
    n.severity = *n.suggested_severity;
    r.add("severity_changed",
          {{"old", to_string(old)}, {"new", to_string(n.severity)}, {"reason", "impact"}});
    apply_rules(r, ctx);
  }
  return r.finish();
}

Result<Change> change_severity(const Case& c, Severity severity, const std::string& reason,
                               const Actor& actor, Instant now, const CaseContext& ctx) {
  if (actor.role == Role::kCustomer)
    return forbid("the severity is set by the support team");
  if (!acts_at_level(actor, c)) return forbid("the case is above your level");
  if (c.status == CaseStatus::kClosed) return refuse(c, "change the severity of");
  ESCALA_TRY(check_text(reason, kMaxReason, "reason", false));
  Recorder r(c, actor, now, ctx);
  if (severity == c.severity) return r.finish();
  bool follows_suggestion = c.suggested_severity && *c.suggested_severity == severity;
  if (!follows_suggestion) ESCALA_TRY(check_text(reason, kMaxReason, "reason", true));
  Case& n = r.c();
  n.severity = severity;
  n.severity_reason = follows_suggestion ? std::string() : reason;
  r.add("severity_changed",
        {{"old", to_string(c.severity)}, {"new", to_string(severity)}, {"reason", reason}});
  apply_rules(r, ctx);
  return r.finish();
}

Result<Change> assign(const Case& c, std::optional<int64_t> assignee, const std::string& name,
                      const Actor& actor, Instant now, const CaseContext& ctx) {
  if (actor.role == Role::kCustomer) return forbid("customers cannot assign cases");
  bool self = assignee && *assignee == actor.user_id;
  if (actor.role == Role::kAgent && !(self && acts_at_level(actor, c)) &&
      !(c.assignee_id == actor.user_id && !assignee))
    return forbid("agents may take cases at their level, or release their own");
  if (c.status == CaseStatus::kClosed) return refuse(c, "assign");
  Recorder r(c, actor, now, ctx);
  if (c.assignee_id == assignee) return r.finish();
  r.c().assignee_id = assignee;
  r.add("assigned",
        {{"old", c.assignee_id ? Json(*c.assignee_id) : Json(nullptr)},
         {"new", assignee ? Json(*assignee) : Json(nullptr)},
         {"name", name}},
        /*internal=*/true);
  return r.finish();
}

Result<Change> add_reply(const Case& c, const std::string& body, bool internal, bool pending,
                         const Actor& actor, Instant now, const CaseContext& ctx) {
  ESCALA_TRY(check_text(body, kMaxBody, "body", true));
  const bool customer = actor.role == Role::kCustomer;
  if (customer && !can_view(actor, c)) return forbid("not your case");
  if (customer && (internal || pending))
    return forbid("customers cannot write internal notes or set the case pending");
  if (internal && pending)
    return make_error(ErrorCode::kInvalidArgument,
                      "an internal note cannot ask the customer", "pending");
  Recorder r(c, actor, now, ctx);
  if (internal) {
    r.add("note", {{"body", body}}, /*internal=*/true);
    return r.finish();
  }
  if (customer) {
    if (c.status == CaseStatus::kClosed)
      return make_error(ErrorCode::kInvalidTransition,
                        "the case is closed; reopen it to continue");
    r.add("customer_message", {{"body", body}});
    if (c.status == CaseStatus::kPendingCustomer)
      r.set_status(CaseStatus::kOpen, "customer_replied");
    return r.finish();
  }
  // D4a: public replies, and asking the customer, belong to agents at the case's level.
  if (!acts_at_level(actor, c)) return forbid("the case is above your level");
  if (c.status == CaseStatus::kClosed) return refuse(c, "reply publicly to");
  if (pending && c.status == CaseStatus::kResolved) return refuse(c, "ask the customer on");
  r.add("reply", {{"body", body}, {"pending", pending}});
  // D2: the response clock stops at the first public reply by a person once complete.
  if (!r.c().first_response_at && c.completed_at && actor.role != Role::kSystem)
    r.c().first_response_at = now;
  if (pending && c.status == CaseStatus::kOpen)
    r.set_status(CaseStatus::kPendingCustomer, "asked_customer");
  return r.finish();
}

Result<Change> escalate(const Case& c, const std::string& reason, const Actor& actor,
                        Instant now, const CaseContext& ctx) {
  if (actor.role == Role::kCustomer) return forbid("customers cannot escalate cases");
  if (!acts_at_level(actor, c)) return forbid("the case is above your level");
  if (c.status == CaseStatus::kResolved || c.status == CaseStatus::kClosed)
    return refuse(c, "escalate");
  if (c.level >= kMaxLevel)
    return make_error(ErrorCode::kInvalidTransition,
                      "the case is already at level 3, the highest");
  ESCALA_TRY(check_text(reason, kMaxReason, "reason", true));
  Recorder r(c, actor, now, ctx);
  r.c().level = c.level + 1;
  r.add("escalated", {{"from", c.level}, {"to", c.level + 1}, {"reason", reason}});
  if (c.status == CaseStatus::kPendingCustomer) r.set_status(CaseStatus::kOpen, "escalated");
  return r.finish();
}

Result<Change> resolve(const Case& c, const std::string& resolution, const Actor& actor,
                       Instant now, const CaseContext& ctx) {
  if (actor.role == Role::kCustomer) return forbid("customers confirm; agents resolve");
  if (!acts_at_level(actor, c)) return forbid("the case is above your level");
  if (c.status != CaseStatus::kOpen && c.status != CaseStatus::kPendingCustomer)
    return refuse(c, "resolve");
  ESCALA_TRY(check_text(resolution, kMaxBody, "resolution", true));
  Recorder r(c, actor, now, ctx);
  r.c().resolved_at = now;
  r.c().resolved_level = c.level;
  r.add("resolved", {{"resolution", resolution}, {"level", c.level}});
  r.set_status(CaseStatus::kResolved, "resolved");
  return r.finish();
}

Result<Change> confirm(const Case& c, const Actor& actor, Instant now, const CaseContext& ctx) {
  if (actor.role == Role::kCustomer && !can_view(actor, c)) return forbid("not your case");
  if (actor.is_staff() && !acts_at_level(actor, c)) return forbid("the case is above your level");
  if (c.status != CaseStatus::kResolved) return refuse(c, "confirm the resolution of");
  Recorder r(c, actor, now, ctx);
  r.c().closed_at = now;
  r.set_status(CaseStatus::kClosed, actor.role == Role::kCustomer ? "customer_confirmed"
                                                                  : "confirmation_recorded");
  return r.finish();
}

Result<Change> reopen(const Case& c, const std::string& reason, const Actor& actor, Instant now,
                      const CaseContext& ctx) {
  if (actor.role == Role::kCustomer && !can_view(actor, c)) return forbid("not your case");
  if (actor.is_staff() && !acts_at_level(actor, c)) return forbid("the case is above your level");
  ESCALA_TRY(check_text(reason, kMaxReason, "reason", true));
  if (c.status != CaseStatus::kResolved && c.status != CaseStatus::kClosed)
    return refuse(c, "reopen");
  if (c.status == CaseStatus::kClosed) {
    Seconds window = ctx.policy ? ctx.policy->reopen_window : Seconds{30 * 24 * 3600};
    if (c.closed_at && now - *c.closed_at > window)
      return make_error(ErrorCode::kInvalidTransition,
                        "the case closed too long ago to reopen; open a new case");
  }
  Recorder r(c, actor, now, ctx);
  Case& n = r.c();
  int level = c.resolved_level >= kMinLevel ? c.resolved_level : c.level;
  n.level = level;
  n.resolved_at.reset();
  n.closed_at.reset();
  r.add("reopened", {{"reason", reason}, {"level", level}});
  r.set_status(CaseStatus::kOpen, "reopened");
  return r.finish();
}

Result<Change> identify_customer(const Case& c, const std::string& account,
                                 std::optional<int64_t> contact_id, const Actor& actor,
                                 Instant now, const CaseContext& ctx) {
  if (!actor.is_staff()) return forbid("the support team identifies customers");
  if (!c.account.empty() && c.account != account && actor.role != Role::kAdmin &&
      actor.role != Role::kSupervisor && actor.role != Role::kSystem)
    return forbid("moving a case to another account is for supervisors");
  if (c.account == account && c.contact_id == contact_id) return Change{c};
  Recorder r(c, actor, now, ctx);
  r.c().account = account;
  if (contact_id) r.c().contact_id = contact_id;
  r.add("customer_identified",
        {{"from", c.account.empty() ? Json(nullptr) : Json(c.account)},
         {"account", account},
         {"contact", contact_id ? Json(*contact_id) : Json(nullptr)}});
  return r.finish();
}

Result<Change> record_event(const Case& c, std::string type, Json data, bool internal,
                            const Actor& actor, Instant now, const CaseContext& ctx) {
  Recorder r(c, actor, now, ctx);
  r.add(std::move(type), std::move(data), internal);
  return r.finish();
}

Result<Change> receive_customer_message(const Case& c, const CustomerMessage& m, Instant now,
                                        const CaseContext& ctx) {
  ESCALA_TRY(check_text(m.body, kMaxBody, "body", false));
  Actor sender{0, Role::kCustomer, 0, c.account,
               m.sender_name.empty() ? m.sender_email : m.sender_name};
  if (c.status == CaseStatus::kClosed) {
    Seconds window = ctx.policy ? ctx.policy->reopen_window : Seconds{30 * 24 * 3600};
    if (!c.closed_at || now - *c.closed_at > window)
      return make_error(ErrorCode::kInvalidTransition,
                        "the case closed too long ago to reopen; open a new case");
  }
  Recorder r(c, sender, now, ctx);
  Json files = Json::array();
  for (const auto& a : m.attachments) {
    files.push_back({{"name", a.name}, {"size", a.size}, {"content_type", a.content_type},
                     {"sha256", a.sha256}});
    bool known = false;
    for (const auto& have : r.c().attachments) known = known || have.sha256 == a.sha256;
    if (!known) r.c().attachments.push_back(a);
  }
  Json data = {{"body", m.body}, {"channel", m.channel}, {"from", m.sender_email}};
  if (!m.message_id.empty()) data["message_id"] = m.message_id;
  if (!m.raw_sha256.empty()) data["raw_sha256"] = m.raw_sha256;
  if (!files.empty()) data["attachments"] = files;
  r.add("customer_message", std::move(data));
  const int level = c.resolved_level >= kMinLevel ? c.resolved_level : c.level;
  switch (c.status) {
    case CaseStatus::kPendingCustomer:
      r.set_status(CaseStatus::kOpen, "customer_replied");
      break;
    case CaseStatus::kResolved:
      if (m.intent == CustomerIntent::kConfirm) {
        r.c().closed_at = now;
        r.set_status(CaseStatus::kClosed, "customer_confirmed");
      } else if (m.intent == CustomerIntent::kNotSolved) {
        r.c().level = level;
        r.c().resolved_at.reset();
        r.add("reopened", {{"reason", "the customer says it is not solved"}, {"level", level}});
        r.set_status(CaseStatus::kOpen, "reopened");
      }
      break;
    case CaseStatus::kClosed:
      r.c().level = level;
      r.c().resolved_at.reset();
      r.c().closed_at.reset();
      r.add("reopened", {{"reason", "the customer wrote after closing"}, {"level", level}});
      r.set_status(CaseStatus::kOpen, "reopened");
      break;
    default:
      break;
  }
  return r.finish();
}

}  // namespace escala::core
