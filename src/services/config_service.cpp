#include "services/config_service.hpp"

#include "core/calendar.hpp"

namespace escala::services {

ConfigService::ConfigService(ports::DirectoryStore& settings, CalendarSet& calendars,
                             CaseService& cases, const ports::Clock& clock)
    : settings_(settings), calendars_(calendars), cases_(cases), clock_(clock) {}

Result<core::Json> ConfigService::calendars(const core::Actor& actor) {
  auto defaults = settings_.get_setting("defaults");
  if (!defaults.ok()) return defaults.error();
  core::Json list = defaults->value_or(core::Json::object()).value("calendars", core::Json::array());
  return core::Json{{"items", list}, {"total", list.size()}, {"next", nullptr}};
}

Result<core::Json> ConfigService::put_calendar(const core::Actor& actor, const std::string& name,
                                               const core::Json& body) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSystem)
    return make_error(ErrorCode::kPermissionDenied, "only administrators may change calendars");
  if (name.empty() || name.size() > 64)
    return make_error(ErrorCode::kInvalidArgument, "a calendar needs a name of 1 to 64 characters", "name");
  core::Json spec_json = body;
  if (!spec_json.is_object())
    return make_error(ErrorCode::kInvalidArgument, "the body must be a calendar object");
  if (spec_json.contains("name") && spec_json["name"] != name)
    return make_error(ErrorCode::kInvalidArgument, "must match the calendar in the path", "name");
  spec_json["name"] = name;
  auto spec = core::calendar_from_json(spec_json);
  if (!spec.ok()) return spec.error();
  if (auto cal = core::BusinessCalendar::create(*spec); !cal.ok()) return cal.error();

  auto defaults = settings_.get_setting("defaults");
  if (!defaults.ok()) return defaults.error();
  core::Json desk = defaults->value_or(core::Json::object());
  core::Json list = desk.value("calendars", core::Json::array());
  core::Json old = nullptr;
  bool replaced = false;
  const core::Json stored = core::calendar_to_json(*spec);
  for (auto& c : list)
    if (c.value("name", std::string()) == name) {
      old = c;
      c = stored;
      replaced = true;
    }
  if (!replaced) list.push_back(stored);
  desk["calendars"] = list;
  ports::DirectoryStore::DeskEvent event{0, clock_.now(), actor.user_id, actor.name,
                                         "calendar_changed",
                                         {{"name", name}, {"old", old}, {"new", stored}}};
  ESCALA_TRY(settings_.put_setting_with_event("defaults", desk, event));
  // The new hours apply from the edit on; time already run keeps its measure. Timers are
  // marks of the calendar, so no case is rewritten: the scheduler only plans again.
  ESCALA_TRY(calendars_.put(*spec, event.at));
  cases_.note_calendar_changed();
  return core::Json{{"calendar", stored}, {"effective_from", format_iso8601(event.at)}};
}

Result<std::vector<ports::DirectoryStore::DeskEvent>> ConfigService::history(
    const core::Actor& actor, int64_t before_id, int limit) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor)
    return make_error(ErrorCode::kPermissionDenied,
                      "the desk's history is for administrators and supervisors");
  return settings_.desk_events(before_id, std::clamp(limit, 1, 1000));
}

Result<int> ConfigService::sync_calendars() {
  std::lock_guard lock(sync_mu_);
  // Newest first, down to the last id seen.
  std::vector<ports::DirectoryStore::DeskEvent> fresh;
  int64_t before = 0;
  for (;;) {
    auto page = settings_.desk_events(before, 100);
    if (!page.ok()) return page.error();
    bool reached = page->empty();
    for (auto& e : *page) {
      if (e.id <= seen_) {
        reached = true;
        break;
      }
      fresh.push_back(std::move(e));
    }
    if (reached || page->size() < 100) break;
    before = page->back().id;
  }
  if (fresh.empty()) return 0;
  int applied = 0;
  for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
    if (it->type != "calendar_changed") continue;
    auto spec = core::calendar_from_json(it->data.value("new", core::Json()));
    if (!spec.ok()) continue;  // validated when saved
    // Re-applying this node's own edit replaces the version with an identical one.
    ESCALA_TRY(calendars_.put(std::move(spec).value(), it->at));
    ++applied;
  }
  seen_ = fresh.front().id;
  if (applied > 0) cases_.note_calendar_changed();
  return applied;
}

}  // namespace escala::services
