#include "services/calendar_set.hpp"

#include <mutex>

namespace escala::services {

CalendarSet::CalendarSet() {
  (void)put(core::support_calendar());
  (void)put(core::always_open_calendar());
}

Status CalendarSet::put(core::CalendarSpec spec, std::optional<Instant> from) {
  std::string name = spec.name;
  auto cal = core::BusinessCalendar::create(std::move(spec));
  if (!cal.ok()) return cal.error();
  auto version = std::make_shared<const core::BusinessCalendar>(std::move(cal).value());
  // The grids are computed outside the lock; edits of one calendar are rare and come
  // one at a time from the configuration service.
  std::lock_guard edit(put_mu_);
  auto current = timeline(name);
  auto next = std::make_shared<const core::CalendarTimeline>(
      current && from ? current->with_version(std::move(version), *from)
                      : core::CalendarTimeline(std::move(version)));
  std::unique_lock lock(mu_);
  calendars_[name] = std::move(next);
  return ok_status();
}

std::shared_ptr<const core::CalendarTimeline> CalendarSet::timeline(const std::string& name) const {
  std::shared_lock lock(mu_);
  auto it = calendars_.find(name);
  return it == calendars_.end() ? nullptr : it->second;
}

std::shared_ptr<const core::BusinessCalendar> CalendarSet::find(const std::string& name) const {
  auto t = timeline(name);
  if (!t) return nullptr;
  // Shares ownership with the timeline, which keeps every version alive.
  return std::shared_ptr<const core::BusinessCalendar>(t, &t->current());
}

std::vector<std::string> CalendarSet::names() const {
  std::shared_lock lock(mu_);
  std::vector<std::string> out;
  for (const auto& [name, _] : calendars_) out.push_back(name);
  return out;
}

std::optional<Millis> CalendarSet::mark(const std::string& calendar, Instant t) const {
  auto tl = timeline(calendar);
  if (!tl) return std::nullopt;
  return tl->mark(t);
}

std::optional<Instant> CalendarSet::at_mark(const std::string& calendar, Millis m) const {
  auto tl = timeline(calendar);
  if (!tl) return std::nullopt;
  Instant t = tl->at_mark(m);
  if (t == core::kNever) return std::nullopt;  // the calendar never gets there
  return t;
}

}  // namespace escala::services
