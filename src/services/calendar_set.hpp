#pragma once
// The desk's business calendars by name, each with its versions (CalendarTimeline), answering
// the lifecycle's business-time questions.

#include <map>
#include <mutex>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/calendar.hpp"
#include "core/calendar_timeline.hpp"
#include "core/lifecycle.hpp"

namespace escala::services {

class CalendarSet final : public core::DueCalculator {
 public:
  // Starts with the built-in `support` and `24x7` calendars.
  CalendarSet();
  // Adds a calendar, or a version of one that applies from `from` on (an edit: open time
  // before `from` keeps being measured on the hours that applied then). Without `from`, the
  // calendar (re)starts with this single version, as if it had always applied.
  Status put(core::CalendarSpec spec, std::optional<Instant> from = std::nullopt);

  std::optional<Millis> mark(const std::string& calendar, Instant t) const override;
  std::optional<Instant> at_mark(const std::string& calendar, Millis m) const override;

  // The version of a calendar in force now (the latest), or null.
  std::shared_ptr<const core::BusinessCalendar> find(const std::string& name) const;
  std::shared_ptr<const core::CalendarTimeline> timeline(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::mutex put_mu_;  // one edit at a time, so that no version is lost
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<const core::CalendarTimeline>, std::less<>> calendars_;
};

}  // namespace escala::services
