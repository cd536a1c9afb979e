#pragma once
// The desk's business calendars by name, answering the lifecycle's due-time questions.

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

#include "core/calendar.hpp"
#include "core/lifecycle.hpp"

namespace escala::services {

class CalendarSet final : public core::DueCalculator {
 public:
  // Starts with the built-in `support` and `24x7` calendars.
  CalendarSet();
  // Adds or replaces a calendar by its name.
  Status put(core::CalendarSpec spec);
  std::optional<Instant> add(const std::string& calendar, Instant from,
                             Seconds business) const override;
  std::optional<Millis> between(const std::string& calendar, Instant from,
                                Instant to) const override;
  std::shared_ptr<const core::BusinessCalendar> find(const std::string& name) const;
  // A copy of the calendars as they are now, unaffected by later put()s.
  std::unique_ptr<CalendarSet> snapshot() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const core::BusinessCalendar>, std::less<>> calendars_;
};

}  // namespace escala::services
