#include "services/config_service.hpp"

#include <functional>
#include <map>
#include <set>

#include "core/calendar.hpp"
#include "core/text.hpp"

namespace escala::services {

namespace {

using DeskEvent = ports::DirectoryStore::DeskEvent;
struct SettingWrite {
  core::Json value;
  DeskEvent event;
};

// Read-modify-write of the desk setting `key` that keeps what other administrators and
// nodes write meanwhile: `change` computes the write from the value read (nullopt: write
// nothing), and it is stored only if the setting is still that value, else read again.
// Answers the write stored, if any.
Result<std::optional<SettingWrite>> update_setting(
    ports::DirectoryStore& settings, const std::string& key,
    const std::function<std::optional<SettingWrite>(const std::optional<core::Json>&)>& change) {
  constexpr int kTries = 5;
  for (int attempt = 1;; ++attempt) {
    auto current = settings.get_setting(key);
    if (!current.ok()) return current.error();
    std::optional<SettingWrite> write = change(*current);
    if (!write) return write;
    auto st = settings.put_setting_with_event(key, write->value, write->event,
                                              current->value_or(core::Json()));
    if (st.ok()) return write;
    if (st.error().code != ErrorCode::kConflict || attempt == kTries) return st.error();
  }
}

}  // namespace

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

  // The calendars live in the desk's "defaults" document with other settings.
  const core::Json stored = core::calendar_to_json(*spec);
  auto written = update_setting(settings_, "defaults", [&](const std::optional<core::Json>& now) {
    core::Json desk = now.value_or(core::Json::object());
    core::Json list = desk.value("calendars", core::Json::array());
    core::Json old = nullptr;
    bool replaced = false;
    for (auto& c : list)
      if (c.value("name", std::string()) == name) {
        old = c;
        c = stored;
        replaced = true;
      }
    if (!replaced) list.push_back(stored);
    desk["calendars"] = list;
    return std::optional<SettingWrite>(SettingWrite{
        desk, DeskEvent{0, clock_.now(), actor.user_id, actor.name, "calendar_changed",
                        {{"name", name}, {"old", old}, {"new", stored}}}});
  });
  if (!written.ok()) return written.error();
  const Instant at = (*written)->event.at;
  // The new hours apply from the edit on; time already run keeps its measure. Timers are
  // marks of the calendar, so no case is rewritten: the scheduler only plans again.
  ESCALA_TRY(calendars_.put(*spec, at));
  cases_.note_calendar_changed();
  return core::Json{{"calendar", stored}, {"effective_from", format_iso8601(at)}};
}

namespace {

Error bad_reply(const std::string& message, const std::string& field) {
  return make_error(ErrorCode::kInvalidArgument, message, field);
}

// Every {{name}} of a body names a known placeholder ("{{ case }}" too).
Status check_placeholders(const std::string& body, const std::string& field) {
  for (size_t at = body.find("{{"); at != std::string::npos; at = body.find("{{", at + 2)) {
    const size_t end = body.find("}}", at + 2);
    if (end == std::string::npos) return bad_reply("has a {{ without a closing }}", field);
    std::string name = body.substr(at + 2, end - at - 2);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    bool known = false;
    for (const char* p : ConfigService::kCannedPlaceholders) known = known || name == p;
    if (!known)
      return bad_reply("has an unknown placeholder {{" + name +
                           "}}; known: {{case}}, {{customer}}, {{agent}}, {{subject}}, {{account}}",
                       field);
  }
  return ok_status();
}

// One canned reply of a PUT body, checked and trimmed to the four keys.
Result<core::Json> read_reply(const core::Json& j, const std::string& at) {
  if (!j.is_object()) return bad_reply("must be an object with id, title, body_es, body_en", at);
  for (const auto& [k, v] : j.items())
    if (k != "id" && k != "title" && k != "body_es" && k != "body_en")
      return make_error(ErrorCode::kUnknownField, "unknown field '" + k + "'", at + "." + k);
  core::Json out = core::Json::object();
  for (const char* k : {"id", "title", "body_es", "body_en"}) {
    const std::string field = at + "." + k;
    auto it = j.find(k);
    const bool body = k[0] == 'b';
    if (it == j.end() || it->is_null()) {
      if (!body) return bad_reply("is required", field);
      out[k] = "";
      continue;
    }
    if (!it->is_string()) return bad_reply("must be a string", field);
    const std::string& v = it->get_ref<const std::string&>();
    if (!core::is_valid_utf8(v)) return bad_reply("must be UTF-8 text", field);
    const size_t max = k[0] == 'i' ? 64 : body ? ConfigService::kMaxCannedBody
                                                : ConfigService::kMaxCannedTitle;
    if (v.size() > max)
      return make_error(ErrorCode::kInvalidArgument,
                        "is too long (at most " + std::to_string(max) + " bytes)", field);
    if (!body && v.find_first_not_of(" \t\r\n") == std::string::npos)
      return bad_reply("must not be empty", field);
    if (k[0] == 'i')
      for (char c : v)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
          return bad_reply("must be lower-case letters, digits, - or _", field);
    if (body) ESCALA_TRY(check_placeholders(v, field));
    out[k] = v;
  }
  if (out["body_es"].get_ref<const std::string&>().find_first_not_of(" \t\r\n") ==
          std::string::npos &&
      out["body_en"].get_ref<const std::string&>().find_first_not_of(" \t\r\n") ==
          std::string::npos)
    return bad_reply("needs a text in Spanish or in English (or both)", at + ".body_es");
  return out;
}

// The "version" of a stored list: FNV-1a (64 bits) of its JSON text, the same on every
// node (what the desk stored is what every node reads).
std::string version_of(const core::Json& stored) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : stored.dump()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = kHex[h & 0xf];
  return out;
}

// The answer of GET and PUT: the stored list (null when never set) and its version.
core::Json canned_list(const core::Json& stored) {
  core::Json items = stored.is_array() ? stored : core::Json::array();
  const auto total = items.size();
  return core::Json{{"items", std::move(items)}, {"total", total}, {"next", nullptr},
                    {"version", version_of(stored)}};
}

Error canned_conflict() {
  return make_error(ErrorCode::kConflict,
                    "the canned replies were changed since you read them: read them again",
                    "version");
}

}  // namespace

Result<core::Json> ConfigService::canned_replies(const core::Actor& actor) {
  if (!actor.is_staff())
    return make_error(ErrorCode::kPermissionDenied, "canned replies are for the desk's staff");
  auto stored = settings_.get_setting("canned_replies");
  if (!stored.ok()) return stored.error();
  return canned_list(stored->value_or(core::Json()));
}

Result<core::Json> ConfigService::put_canned_replies(const core::Actor& actor,
                                                     const core::Json& body) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor &&
      actor.role != core::Role::kSystem)
    return make_error(ErrorCode::kPermissionDenied,
                      "only administrators and supervisors may change canned replies");
  if (!body.is_object() || !body.contains("items"))
    return bad_reply("the body must be {\"items\": [...]}", "items");
  for (const auto& [k, v] : body.items())
    if (k != "items" && k != "version")
      return make_error(ErrorCode::kUnknownField, "unknown field '" + k + "'", k);
  if (body.contains("version") && !body["version"].is_string())
    return bad_reply("must be the version answered with the list", "version");
  const core::Json& items = body["items"];
  if (!items.is_array()) return bad_reply("must be a list of canned replies", "items");
  if (items.size() > kMaxCannedReplies)
    return bad_reply("has more than " + std::to_string(kMaxCannedReplies) + " canned replies",
                     "items");
  core::Json list = core::Json::array();
  std::set<std::string> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string at = "items[" + std::to_string(i) + "]";
    auto reply = read_reply(items[i], at);
    if (!reply.ok()) return reply.error();
    if (!ids.insert((*reply)["id"].get<std::string>()).second)
      return bad_reply("repeats the id '" + (*reply)["id"].get<std::string>() + "'", at + ".id");
    list.push_back(std::move(reply).value());
  }

  auto stored = settings_.get_setting("canned_replies");
  if (!stored.ok()) return stored.error();
  const core::Json raw = stored->value_or(core::Json());
  std::optional<core::Json> expected;
  if (body.contains("version")) {
    if (body["version"].get_ref<const std::string&>() != version_of(raw)) return canned_conflict();
    expected = raw;  // and still so when the list is written (checked by the store)
  }
  core::Json old = raw.is_array() ? raw : core::Json::array();
  core::Json added = core::Json::array(), changed = core::Json::array(),
             removed = core::Json::array();
  std::map<std::string, core::Json> before;
  for (const auto& r : old) before[r.value("id", std::string())] = r;
  for (const auto& r : list) {
    auto it = before.find(r["id"].get<std::string>());
    if (it == before.end()) added.push_back(r["id"]);
    else if (it->second != r) changed.push_back(r["id"]);
  }
  for (const auto& [id, r] : before)
    if (!ids.contains(id)) removed.push_back(id);
  ports::DirectoryStore::DeskEvent event{
      0, clock_.now(), actor.user_id, actor.name, "canned_replies_changed",
      {{"added", added}, {"changed", changed}, {"removed", removed}, {"count", list.size()}}};
  if (auto st = settings_.put_setting_with_event("canned_replies", list, event, expected); !st.ok())
    return st.error().code == ErrorCode::kConflict ? canned_conflict() : st.error();
  return canned_list(list);
}

Result<core::Json> ConfigService::mail_secrets(ports::Crypto& crypto) {
  core::Json secrets;
  auto written = update_setting(settings_, "mail_secrets", [&](const std::optional<core::Json>& now) {
    if (now) {  // made already (by this node earlier or by another one just now)
      secrets = *now;
      return std::optional<SettingWrite>();
    }
    secrets = {{"loop_token", crypto.random_token(16)},
               {"link_secret", crypto.random_token(32)},
               {"mailgate_token", crypto.random_token(32)}};
    return std::optional<SettingWrite>(SettingWrite{
        secrets, DeskEvent{0, clock_.now(), 0, "Escala", "mail_secrets_created", core::Json::object()}});
  });
  if (!written.ok()) return written.error();
  return secrets;
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
