#pragma once
// SLA clocks (D2) as a fold over the case's events: each event that matters moves the
// response and resolution clocks, so the clock state of a case is exactly what replaying
// its history gives. Clocks count business time on the calendar of the case's severity
// (R5; S1 on 24x7, S2–S4 on support by default), start when the case is complete, pause
// while the case waits on the customer, stop when met, and resume on reopen.

#include <optional>
#include <string>
#include <vector>

#include "core/model.hpp"

namespace escala::core {

struct CasePolicy;

// Applies one event (already appended to the case's history) to the clocks.
void apply_sla_event(SlaState& sla, const Event& event, const CasePolicy& policy);

// The clocks of a history, from nothing.
SlaState replay_sla(const std::vector<Event>& events, const CasePolicy& policy);

enum class TimerKind {
  kResponseWarning,
  kResponseBreach,
  kResolutionWarning,
  kResolutionBreach,
  kUnassigned,  // an "unassigned" escalation rule (see escalation.hpp)
};

struct SlaTimer {
  TimerKind kind;
  Millis mark;      // due when the calendar's mark reaches this
  Instant fire_at;  // the instant of `mark` on the calendar as it is now; kNever if never
  std::string rule;  // kUnassigned: the rule's name
};

// The warnings and breaches still to announce for running clocks, and the unassigned
// alerts still to raise, with their marks and instants. All are on the case's calendar.
std::vector<SlaTimer> pending_timers(const SlaState& sla, const CasePolicy& policy,
                                     CaseStatus status);
// The earliest of their marks: what the store keeps for the scheduler.
std::optional<Millis> next_timer(const SlaState& sla, const CasePolicy& policy,
                                 CaseStatus status);
// The instant of the case's next timer on the calendar as it is now.
std::optional<Instant> next_timer_instant(const SlaState& sla, const CasePolicy& policy);

struct ClockReport {
  Seconds target{0};
  Millis consumed{0};   // business time so far (up to `now` when running)
  Millis remaining{0};  // never negative
  double percent = 0;   // consumed / target × 100; above 100 when breached
  bool running = false;
  bool met = false;       // stopped within target
  bool breached = false;  // consumed beyond target (stopped or not)
  std::optional<Instant> due;
  std::optional<Instant> stopped_at;
};

struct SlaReport {
  std::string calendar;
  bool paused = false;
  ClockReport response;
  ClockReport resolution;
};

SlaReport report_sla(const SlaState& sla, const CasePolicy& policy, Instant now,
                     CaseStatus status);

}  // namespace escala::core
