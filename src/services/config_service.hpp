#pragma once
// The desk's configuration that administrators edit while it runs: business calendars
// (each edit is versioned in the desk's history and applies from the moment it is saved;
// running SLA clocks count the rest of their time on the new hours).

#include <mutex>

#include "core/model.hpp"
#include "ports/case_store.hpp"
#include "ports/clock.hpp"
#include "ports/directory_store.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"

namespace escala::services {

class ConfigService {
 public:
  ConfigService(ports::DirectoryStore& settings, CalendarSet& calendars, CaseService& cases,
                const ports::Clock& clock);

  Result<core::Json> calendars(const core::Actor& actor);
  // Adds the calendar `name` or a new version of it (administrators). Answers the stored
  // calendar and the instant it applies from.
  Result<core::Json> put_calendar(const core::Actor& actor, const std::string& name,
                                  const core::Json& spec);
  Result<std::vector<ports::DirectoryStore::DeskEvent>> history(const core::Actor& actor,
                                                                int64_t before_id, int limit);

  // Calendar edits made by other nodes of the desk (or by this one): applies, in the order
  // they were made, the calendar_changed events of the desk's history newer than the last
  // one seen, each from its instant, and tells the SLA scheduler. Cheap when nothing
  // changed (one read of the newest history entry). Answers how many edits were applied.
  // `seen` starts at the newest history id read when the calendars were loaded.
  Result<int> sync_calendars();
  void set_history_seen(int64_t id) { seen_ = id; }

 private:
  ports::DirectoryStore& settings_;
  CalendarSet& calendars_;
  CaseService& cases_;
  const ports::Clock& clock_;
  std::mutex sync_mu_;
  int64_t seen_ = 0;  // GUARDED_BY(sync_mu_): the newest desk history id applied
};

}  // namespace escala::services
