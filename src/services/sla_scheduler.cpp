#include "services/sla_scheduler.hpp"

#include <algorithm>

namespace escala::services {
namespace {
constexpr int kBatch = 200;
}

SlaScheduler::SlaScheduler(ports::CaseStore& store, CaseService& cases,
                           const CalendarSet& calendars, const ports::Clock& clock)
    : store_(store), cases_(cases), calendars_(calendars), clock_(clock) {}

Result<int> SlaScheduler::fire_due() {
  int changed = 0;
  for (const std::string& calendar : calendars_.names()) {
    for (;;) {
      const Instant now = clock_.now();
      auto mark = calendars_.mark(calendar, now);
      if (!mark) break;
      auto due = store_.cases_with_due_timers(calendar, *mark, kBatch);
      if (!due.ok()) return due.error();
      int fired_here = 0;
      for (int64_t id : *due) {
        auto fired = cases_.fire_sla_timers(id, now);
        if (!fired.ok()) return fired.error();
        if (*fired) ++fired_here;
      }
      changed += fired_here;
      // A full batch where nothing fired would come back unchanged: stop rather than spin
      // (each case's mark was brought up to date by fire_sla_timers).
      if (static_cast<int>(due->size()) < kBatch || fired_here == 0) break;
    }
  }
  return changed;
}

Result<std::optional<Instant>> SlaScheduler::next_due() {
  std::optional<Instant> next;
  for (const std::string& calendar : calendars_.names()) {
    auto mark = store_.next_sla_mark(calendar);
    if (!mark.ok()) return mark.error();
    if (!*mark) continue;
    auto at = calendars_.at_mark(calendar, **mark);
    if (at && (!next || *at < *next)) next = at;
  }
  return next;
}

void SlaScheduler::run(std::chrono::milliseconds max_wait) {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      poked_ = false;
      planned_.reset();  // a timer set while this round plans wakes the next one
      ++rounds_;
    }
    if (before_round_) before_round_();
    (void)fire_due();  // a database error is retried on the next round
    auto next = next_due();
    std::chrono::milliseconds wait = max_wait;
    if (next.ok() && next.value()) {
      auto until = std::chrono::duration_cast<std::chrono::milliseconds>(**next - clock_.now());
      wait = std::clamp(until, std::chrono::milliseconds(0), max_wait);
    }
    std::unique_lock lock(mu_);
    // After a store error, nothing is known: every new timer wakes the loop.
    if (next.ok()) planned_ = *next;
    cv_.wait_for(lock, wait, [&] { return stopped_ || poked_; });
  }
}

void SlaScheduler::poke() {
  {
    std::lock_guard lock(mu_);
    poked_ = true;
  }
  cv_.notify_one();
}

bool SlaScheduler::poke(const std::string& calendar, Millis mark) {
  const std::optional<Instant> at = calendars_.at_mark(calendar, mark);
  {
    std::lock_guard lock(mu_);
    if (at && planned_ && *at >= *planned_) return false;  // it wakes by then anyway
    poked_ = true;
  }
  cv_.notify_one();
  return true;
}

int64_t SlaScheduler::rounds() const {
  std::lock_guard lock(mu_);
  return rounds_;
}

std::optional<Instant> SlaScheduler::planned() const {
  std::lock_guard lock(mu_);
  return planned_;
}

void SlaScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_one();
}

}  // namespace escala::services
