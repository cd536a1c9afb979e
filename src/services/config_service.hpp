#pragma once
// The desk's configuration that administrators edit while it runs: business calendars
// (each edit is versioned in the desk's history and applies from the moment it is saved;
// running SLA clocks count the rest of their time on the new hours).

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

 private:
  ports::DirectoryStore& settings_;
  CalendarSet& calendars_;
  CaseService& cases_;
  const ports::Clock& clock_;
};

}  // namespace escala::services
