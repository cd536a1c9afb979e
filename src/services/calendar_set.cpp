#include "services/calendar_set.hpp"

#include <mutex>

namespace escala::services {

CalendarSet::CalendarSet() {
  (void)put(core::support_calendar());
  (void)put(core::always_open_calendar());
}

Status CalendarSet::put(core::CalendarSpec spec) {
  std::string name = spec.name;
  auto cal = core::BusinessCalendar::create(std::move(spec));
  if (!cal.ok()) return cal.error();
  auto ptr = std::make_shared<const core::BusinessCalendar>(std::move(cal).value());
  std::unique_lock lock(mu_);
  calendars_[name] = std::move(ptr);
  return ok_status();
}

std::unique_ptr<CalendarSet> CalendarSet::snapshot() const {
  auto copy = std::make_unique<CalendarSet>();
  std::shared_lock lock(mu_);
  copy->calendars_ = calendars_;
  return copy;
}

std::shared_ptr<const core::BusinessCalendar> CalendarSet::find(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = calendars_.find(name);
  return it == calendars_.end() ? nullptr : it->second;
}

std::optional<Instant> CalendarSet::add(const std::string& calendar, Instant from,
                                        Seconds business) const {
  auto cal = find(calendar);
  if (!cal) return std::nullopt;
  Instant due = cal->add(from, business);
  if (due == core::kNever) return std::nullopt;  // the calendar never opens again
  return due;
}

std::optional<Millis> CalendarSet::between(const std::string& calendar, Instant from,
                                           Instant to) const {
  auto cal = find(calendar);
  if (!cal) return std::nullopt;
  return cal->between_millis(from, to);
}

}  // namespace escala::services
