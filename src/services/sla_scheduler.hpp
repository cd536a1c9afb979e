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
  void poke();
  void stop();
  // Called at the start of every round of run() (at least once per `max_wait`), e.g. to
  // pick up calendar edits made by other nodes. Set before run().
  void set_before_round(std::function<void()> f) { before_round_ = std::move(f); }

 private:
  ports::CaseStore& store_;
  CaseService& cases_;
  const CalendarSet& calendars_;
  const ports::Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::function<void()> before_round_;
  bool poked_ = false;    // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
};

}  // namespace escala::services
