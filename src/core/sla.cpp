#include "core/sla.hpp"

#include <algorithm>

#include "core/calendar.hpp"
#include "core/lifecycle.hpp"

namespace escala::core {

std::optional<Instant> DueCalculator::add(const std::string& calendar, Instant from,
                                          Seconds business) const {
  auto start = mark(calendar, from);
  if (!start) return std::nullopt;
  if (business <= Seconds{0}) return from;
  return at_mark(calendar, *start + business);
}

std::optional<Millis> DueCalculator::between(const std::string& calendar, Instant from,
                                             Instant to) const {
  auto a = mark(calendar, from);
  auto b = mark(calendar, to);
  if (!a || !b) return std::nullopt;
  return std::max(Millis{0}, *b - *a);
}

namespace {

Millis elapsed(const CasePolicy& p, const std::string& calendar, Instant from, Instant to) {
  if (!p.due || to <= from) return Millis{0};
  return p.due->between(calendar, from, to).value_or(Millis{0});
}

// The mark at which a running clock has consumed `share` of business time. Business
// calendars count whole seconds, so what is left is rounded up to one. Already consumed:
// the mark the clock resumed at (due at once).
std::optional<Millis> share_mark(const SlaClock& k, const std::string& calendar,
                                 const CasePolicy& p, Millis share) {
  if (!k.running_since || !p.due) return std::nullopt;
  auto since = p.due->mark(calendar, *k.running_since);
  if (!since) return std::nullopt;
  const Millis left = share - k.consumed;
  if (left <= Millis{0}) return *since;
  return *since + std::chrono::ceil<Seconds>(left);
}

// The instant a running clock reaches its target on the calendar as it is now.
std::optional<Instant> due_instant(const SlaClock& k, const std::string& calendar,
                                   const CasePolicy& p) {
  const Millis target = std::chrono::duration_cast<Millis>(k.target);
  auto m = share_mark(k, calendar, p, target);
  if (!m) return std::nullopt;
  if (k.consumed >= target) return *k.running_since;  // already over: due no later than now
  return p.due->at_mark(calendar, *m);
}

// Folds the time run so far into `consumed`, keeping the clock running from `at`.
void checkpoint(SlaClock& k, const std::string& calendar, Instant at, const CasePolicy& p) {
  if (!k.running_since) return;
  k.consumed += elapsed(p, calendar, *k.running_since, at);
  k.running_since = at;
}

void start(SlaClock& k, const std::string& calendar, Instant at, const CasePolicy& p) {
  if (k.started_at) return;
  k.started_at = at;
  k.consumed = Millis{0};
  k.running_since = at;
}

void pause(SlaClock& k, const std::string& calendar, Instant at, const CasePolicy& p) {
  if (!k.running_since) return;
  checkpoint(k, calendar, at, p);
  k.running_since.reset();
}

void resume(SlaClock& k, const std::string& calendar, Instant at, const CasePolicy& p) {
  if (!k.started_at || k.stopped_at || k.running_since) return;
  k.running_since = at;
}

void stop(SlaClock& k, const std::string& calendar, Instant at, const CasePolicy& p) {
  if (!k.started_at || k.stopped_at) return;
  checkpoint(k, calendar, at, p);
  k.running_since.reset();
  k.stopped_at = at;
}

void retarget(SlaState& sla, Severity severity, Instant at, const CasePolicy& p) {
  // Consumed time is measured on the old calendar up to now, the rest on the new one.
  checkpoint(sla.response, sla.calendar, at, p);
  checkpoint(sla.resolution, sla.calendar, at, p);
  const SlaTarget& t = p.target(severity);
  sla.calendar = t.calendar;
  sla.response.target = t.response;
  sla.resolution.target = t.resolution;
}

bool is_waiting(std::string_view status) {
  return status == "awaiting_info" || status == "pending_customer" || status == "resolved" ||
         status == "closed";
}

ClockReport report_clock(const SlaClock& k, const std::string& calendar, const CasePolicy& p,
                         Instant now) {
  ClockReport r;
  r.target = k.target;
  r.consumed = k.consumed;
  if (k.running_since) r.consumed += elapsed(p, calendar, *k.running_since, now);
  Millis target = std::chrono::duration_cast<Millis>(k.target);
  r.remaining = std::max(Millis{0}, target - r.consumed);
  r.percent = target.count() > 0 ? 100.0 * static_cast<double>(r.consumed.count()) /
                                       static_cast<double>(target.count())
                                 : 0.0;
  r.running = k.running_since.has_value();
  r.breached = k.started_at && r.consumed > target;
  r.met = k.stopped_at && !r.breached;
  r.due = due_instant(k, calendar, p);
  r.stopped_at = k.stopped_at;
  return r;
}

}  // namespace

void apply_sla_event(SlaState& sla, const Event& e, const CasePolicy& p) {
  const Instant at = e.at;
  if (e.type == "created") {
    auto sev = parse_severity(e.data.value("severity", std::string()));
    const SlaTarget& t = p.target(sev.value_or(Severity::kS3));
    sla.calendar = t.calendar;
    sla.response.target = t.response;
    sla.resolution.target = t.resolution;
    sla.unassigned_since = at;
  } else if (e.type == "assigned") {
    // Taken: the unassigned stretch ends. Released: a new one starts.
    sla.unassigned_alerts.clear();
    if (e.data.contains("new") && !e.data["new"].is_null()) sla.unassigned_since.reset();
    else sla.unassigned_since = at;
  } else if (e.type == "unassigned_alert") {
    sla.unassigned_alerts.push_back(e.data.value("rule", std::string()));
  } else if (e.type == "status_changed") {
    const std::string from = e.data.value("from", std::string());
    const std::string to = e.data.value("to", std::string());
    if (to == "open" && from == "awaiting_info" && !sla.response.started_at) {
      start(sla.response, sla.calendar, at, p);
      start(sla.resolution, sla.calendar, at, p);
    } else if (to == "open") {
      resume(sla.response, sla.calendar, at, p);
      resume(sla.resolution, sla.calendar, at, p);
    } else if (is_waiting(to)) {
      pause(sla.response, sla.calendar, at, p);
      pause(sla.resolution, sla.calendar, at, p);
    }
  } else if (e.type == "severity_changed") {
    if (auto sev = parse_severity(e.data.value("new", std::string()))) retarget(sla, *sev, at, p);
  } else if (e.type == "reply") {
    // The first public reply by a person stops the response clock (D2); automatic
    // messages do not count.
    if (e.actor_role != Role::kSystem) stop(sla.response, sla.calendar, at, p);
  } else if (e.type == "resolved") {
    stop(sla.response, sla.calendar, at, p);  // the resolution notice answers the customer
    stop(sla.resolution, sla.calendar, at, p);
  } else if (e.type == "reopened") {
    sla.resolution.stopped_at.reset();  // resumes when the case is open again
    sla.resolution.warned = false;      // a new cycle: warnings and breaches may fire again
    sla.resolution.breach_recorded = false;
  } else if (e.type == "sla_warning" || e.type == "sla_breached") {
    SlaClock& k = e.data.value("target", std::string()) == "response" ? sla.response
                                                                      : sla.resolution;
    if (e.type == "sla_warning") k.warned = true;
    else k.breach_recorded = k.warned = true;
  }
}

std::vector<SlaTimer> pending_timers(const SlaState& sla, const CasePolicy& p,
                                     CaseStatus status) {
  std::vector<SlaTimer> out;
  if (!p.due) return out;
  auto instant_of = [&](Millis m) { return p.due->at_mark(sla.calendar, m).value_or(kNever); };
  if (sla.unassigned_since && status != CaseStatus::kResolved && status != CaseStatus::kClosed) {
    const auto since = p.due->mark(sla.calendar, *sla.unassigned_since);
    for (const auto& rule : p.rules) {
      if (!since || rule.on != "unassigned" || !rule.minutes) continue;
      if (std::find(sla.unassigned_alerts.begin(), sla.unassigned_alerts.end(), rule.name) !=
          sla.unassigned_alerts.end())
        continue;
      const Millis m = *since + Seconds{std::max(*rule.minutes, 0) * 60};
      out.push_back({TimerKind::kUnassigned, m, instant_of(m), rule.name});
    }
  }
  auto add = [&](const SlaClock& k, TimerKind warning, TimerKind breach) {
    if (!k.running_since || k.stopped_at) return;
    const Millis target = std::chrono::duration_cast<Millis>(k.target);
    auto timer = [&](TimerKind kind, Millis share) {
      auto m = share_mark(k, sla.calendar, p, share);
      if (!m) return;
      // Already consumed: due at once, at the instant the clock resumed.
      const Instant at = share <= k.consumed ? *k.running_since : instant_of(*m);
      out.push_back({kind, *m, at, {}});
    };
    if (!k.warned && p.warn_percent > 0 && p.warn_percent < 100)
      timer(warning, target * p.warn_percent / 100);
    // A breach is the first instant past the target.
    if (!k.breach_recorded) timer(breach, target);
  };
  add(sla.response, TimerKind::kResponseWarning, TimerKind::kResponseBreach);
  add(sla.resolution, TimerKind::kResolutionWarning, TimerKind::kResolutionBreach);
  return out;
}

std::optional<Millis> next_timer(const SlaState& sla, const CasePolicy& p, CaseStatus status) {
  std::optional<Millis> next;
  for (const auto& t : pending_timers(sla, p, status))
    if (!next || t.mark < *next) next = t.mark;
  return next;
}

std::optional<Instant> next_timer_instant(const SlaState& sla, const CasePolicy& p) {
  if (!sla.next_timer_mark || !p.due) return std::nullopt;
  return p.due->at_mark(sla.calendar, *sla.next_timer_mark);
}

SlaState replay_sla(const std::vector<Event>& events, const CasePolicy& policy) {
  SlaState sla;
  for (const auto& e : events) apply_sla_event(sla, e, policy);
  return sla;
}

SlaReport report_sla(const SlaState& sla, const CasePolicy& policy, Instant now,
                     CaseStatus status) {
  SlaReport r;
  r.calendar = sla.calendar;
  r.paused = status == CaseStatus::kAwaitingInfo || status == CaseStatus::kPendingCustomer ||
             status == CaseStatus::kResolved;
  r.response = report_clock(sla.response, sla.calendar, policy, now);
  r.resolution = report_clock(sla.resolution, sla.calendar, policy, now);
  return r;
}

}  // namespace escala::core
