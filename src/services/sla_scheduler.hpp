#pragma once
// Fires SLA warnings and breaches (D6) at their instants. The timers live in the store
// (each case's next timer as a mark of its calendar, indexed per calendar), so nothing is
// held only in memory: after a restart, whatever fell due while the process was down fires
// at once, and a firing is the same transaction as the event it records, so it never
// repeats. The loop that calls fire_due() waits for the next instant (next_due(): per
// calendar, the instant its smallest mark is reached, on the hours as they are now) or a
// poke, never sweeps every case. A calendar edit therefore costs one new plan, not a
// rewrite of every open case.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>

#include "ports/case_store.hpp"
#include "ports/clock.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"

namespace escala::services {

class SlaScheduler {
 public:
  SlaScheduler(ports::CaseStore& store, CaseService& cases, const CalendarSet& calendars,
               const ports::Clock& clock);

  // Records every warning and breach due now. Returns how many cases changed.
  Result<int> fire_due();
  // The instant the next timer falls due, if any.
  Result<std::optional<Instant>> next_due();

  // Runs fire_due() whenever a timer falls due until stop(). Waits on the real clock for
  // at most `max_wait` at a time, so a clock that jumps (tests) or a timer written by
  // another process is noticed within that bound; poke() wakes it at once.
  void run(std::chrono::milliseconds max_wait = std::chrono::milliseconds(1000));
  // Plans again at once (e.g. a calendar changed: every instant may have moved).
  void poke();
  // A case's timer was set at `mark` of `calendar`: wakes the loop only when that falls due
  // before the instant it waits for, so that a stream of new cases (whose timers mostly fall
  // due after the earliest one) does not make it re-read the store after every change.
  // True when it woke the loop.
  bool poke(const std::string& calendar, Millis mark);
  void stop();
  // How many rounds run() has begun, and the instant it waits for (for tests).
  int64_t rounds() const;
  std::optional<Instant> planned() const;
  // Called at the start of every round of run() (at least once per `max_wait`), e.g. to
  // pick up calendar edits made by other nodes. Set before run().
  void set_before_round(std::function<void()> f) { before_round_ = std::move(f); }

 private:
  ports::CaseStore& store_;
  CaseService& cases_;
  const CalendarSet& calendars_;
  const ports::Clock& clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> before_round_;
  bool poked_ = false;    // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
  // The due instant run() waits for; empty while it plans or when no timer is set (then
  // any new timer wakes it).
  std::optional<Instant> planned_;  // GUARDED_BY(mu_)
  int64_t rounds_ = 0;              // GUARDED_BY(mu_)
};

}  // namespace escala::services
