#include "core/calendar.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>

namespace escala::core {
namespace {

using Json = nlohmann::json;

constexpr int64_t kSecondsPerDay = 86'400;
constexpr int64_t kDayMs = kSecondsPerDay * 1000;
constexpr int64_t kWeekMs = 7 * kDayMs;
constexpr int64_t kHorizonMs = 253'402'214'400'000;
constexpr int64_t kEarliestMs = -62'135'596'800'000;
// Far beyond any day or instant the walk can reach, yet small enough that differences and
// sums with real values cannot overflow.
constexpr int64_t kNoDay = std::numeric_limits<int64_t>::max() / 4;
constexpr int64_t kNoEndMs = std::numeric_limits<int64_t>::max() / 4;
// Fixed offsets beyond ±18:00 are typing mistakes, not places.
constexpr int64_t kMaxFixedOffsetSeconds = 18 * 3600;

constexpr std::array<const char*, 7> kDayNames{"monday", "tuesday",  "wednesday", "thursday",
                                               "friday", "saturday", "sunday"};

static_assert(kHorizon == Instant{Millis{kHorizonMs}});
static_assert(kEarliest == Instant{Millis{kEarliestMs}});

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t ceil_div(int64_t a, int64_t b) { return -floor_div(-a, b); }

// 1970-01-01 was a Thursday; index 0 is Monday.
int weekday_index(int64_t day) { return static_cast<int>(((day + 3) % 7 + 7) % 7); }

date::year_month_day civil(int64_t day) {
  return date::year_month_day{date::sys_days{date::days{static_cast<int>(day)}}};
}

int64_t day_number(const date::year_month_day& ymd) {
  return date::sys_days{ymd}.time_since_epoch().count();
}

int64_t to_ms(Instant t) { return t.time_since_epoch().count(); }
Instant from_ms(int64_t ms) { return Instant{Millis{ms}}; }

int64_t clamp_ms(Instant t) { return std::clamp(to_ms(t), kEarliestMs, kHorizonMs); }

Error invalid(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kInvalidArgument, field + ": " + message, field);
}

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// ---- Times of day and dates as text --------------------------------------------------

bool read_number(std::string_view s, size_t& pos, int digits, int& out) {
  if (pos + digits > s.size()) return false;
  int v = 0;
  for (int i = 0; i < digits; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  pos += digits;
  out = v;
  return true;
}

// "HH:MM" or "HH:MM:SS", 00:00 to 24:00.
std::optional<Seconds> parse_time_of_day(std::string_view s) {
  size_t pos = 0;
  int h = 0, m = 0, sec = 0;
  if (!read_number(s, pos, 2, h) || pos >= s.size() || s[pos++] != ':' ||
      !read_number(s, pos, 2, m))
    return std::nullopt;
  if (pos < s.size()) {
    if (s[pos++] != ':' || !read_number(s, pos, 2, sec) || pos != s.size()) return std::nullopt;
  }
  if (m > 59 || sec > 59 || h > 24 || (h == 24 && (m != 0 || sec != 0))) return std::nullopt;
  return Seconds{h * 3600 + m * 60 + sec};
}

std::string format_time_of_day(Seconds t) {
  const auto s = t.count();
  char buf[16];
  if (s % 60 == 0) {
    std::snprintf(buf, sizeof buf, "%02d:%02d", static_cast<int>(s / 3600),
                  static_cast<int>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02d:%02d:%02d", static_cast<int>(s / 3600),
                  static_cast<int>(s % 3600 / 60), static_cast<int>(s % 60));
  }
  return buf;
}

// "MM-DD" (recurring) or "YYYY-MM-DD" (one date). Ranges are checked by validate_calendar.
bool parse_holiday_date(std::string_view s, HolidayRule& rule) {
  size_t pos = 0;
  int a = 0, b = 0, c = 0;
  if (s.size() == 5) {
    if (!read_number(s, pos, 2, a) || s[pos++] != '-' || !read_number(s, pos, 2, b)) return false;
    rule.year.reset();
    rule.month = a;
    rule.day = b;
    return true;
  }
  if (s.size() == 10) {
    if (!read_number(s, pos, 4, a) || s[pos++] != '-' || !read_number(s, pos, 2, b) ||
        s[pos++] != '-' || !read_number(s, pos, 2, c))
      return false;
    rule.year = a;
    rule.month = b;
    rule.day = c;
    return true;
  }
  return false;
}

std::string format_holiday_date(const HolidayRule& rule) {
  char buf[32];
  if (rule.year) {
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", *rule.year, rule.month, rule.day);
  } else {
    std::snprintf(buf, sizeof buf, "%02d-%02d", rule.month, rule.day);
  }
  return buf;
}

// ---- Zones ----------------------------------------------------------------------------

// "UTC", "UTC±HH:MM", "UTC±HH", "±HH:MM", "±HH". ISO sign: "-06:00" is six hours west.
std::optional<Seconds> parse_fixed_offset(std::string_view s) {
  if (s == "UTC") return Seconds{0};
  if (s.substr(0, 3) == "UTC") s.remove_prefix(3);
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  const int sign = s[0] == '-' ? -1 : 1;
  size_t pos = 1;
  int h = 0, m = 0;
  if (!read_number(s, pos, 2, h)) return std::nullopt;
  if (pos < s.size()) {
    if (s[pos++] != ':' || !read_number(s, pos, 2, m) || pos != s.size()) return std::nullopt;
  }
  if (m > 59) return std::nullopt;
  const int64_t total = h * 3600 + m * 60;
  if (total > kMaxFixedOffsetSeconds) return std::nullopt;
  return Seconds{sign * total};
}

struct ZoneRef {
  const date::time_zone* zone = nullptr;  // null: fixed offset
  int64_t fixed_offset_ms = 0;
};

Result<ZoneRef> resolve_zone(const std::string& name) {
  if (auto offset = parse_fixed_offset(name)) {
    return ZoneRef{nullptr, offset->count() * 1000};
  }
  if (name.empty()) return invalid("time_zone", "is required");
  // locate_zone reports an unknown name, and a missing zoneinfo folder, by throwing; a
  // calendar must turn both into an error value.
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // A zone that keeps one offset over the whole supported range (Etc/GMT+6, UTC) is
    // treated as a fixed offset so the arithmetic needs no zone lookups.
    const auto first = zone->get_info(date::sys_seconds{Seconds{kEarliestMs / 1000}});
    if (first.end >= date::sys_seconds{Seconds{kHorizonMs / 1000}}) {
      return ZoneRef{nullptr, std::chrono::duration_cast<Millis>(first.offset).count()};
    }
    return ZoneRef{zone, 0};
  } catch (const std::exception& e) {
    return invalid(
        "time_zone",
        "\"" + name + "\" is neither an IANA zone nor an offset like UTC-06:00 (" + e.what() + ")");
  }
}

// ---- Validation -----------------------------------------------------------------------

Status validate_hours(const std::vector<DayInterval>& hours, const std::string& path) {
  for (size_t i = 0; i < hours.size(); ++i) {
    const auto& iv = hours[i];
    const std::string p = index_path(path, i);
    if (iv.begin.count() < 0 || iv.begin.count() >= kSecondsPerDay) {
      return invalid(p + ".begin", "must be from 00:00 to before 24:00");
    }
    if (iv.end.count() > kSecondsPerDay) return invalid(p + ".end", "must be 24:00 at the latest");
    if (iv.end <= iv.begin) {
      return invalid(p + ".end", "must be after begin (" + format_time_of_day(iv.begin) + ")");
    }
  }
  std::vector<size_t> order(hours.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return hours[a].begin < hours[b].begin; });
  for (size_t k = 1; k < order.size(); ++k) {
    const auto& prev = hours[order[k - 1]];
    const auto& cur = hours[order[k]];
    if (cur.begin < prev.end) {
      const size_t later = std::max(order[k - 1], order[k]);
      const size_t earlier = std::min(order[k - 1], order[k]);
      return invalid(index_path(path, later), "overlaps " + index_path(path, earlier));
    }
  }
  return ok_status();
}

Status validate_holiday_date(const HolidayRule& rule, const std::string& path) {
  if (rule.month < 1 || rule.month > 12) return invalid(path, "month must be from 01 to 12");
  if (rule.year && (*rule.year < 1 || *rule.year > 9999)) {
    return invalid(path, "year must be from 0001 to 9999");
  }
  // date::day keeps only a byte, so the range is checked before it can wrap around.
  if (rule.day < 1 || rule.day > 31) return invalid(path, "is not a day of that month");
  // A recurring date is checked against a leap year so 02-29 is allowed.
  const int year = rule.year.value_or(2000);
  const date::year_month_day ymd{date::year{year}, date::month{static_cast<unsigned>(rule.month)},
                                 date::day{static_cast<unsigned>(rule.day)}};
  if (!ymd.ok()) return invalid(path, "is not a day of that month");
  return ok_status();
}

// ---- JSON reading ---------------------------------------------------------------------

Error unknown_field(const std::string& path) {
  return make_error(ErrorCode::kUnknownField, path + ": is not a known field", path);
}

std::string join_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

Result<std::vector<DayInterval>> hours_from_json(const Json& j, const std::string& path) {
  const char* kShape = "must be a list of [\"HH:MM\", \"HH:MM\"] pairs";
  if (!j.is_array()) return invalid(path, kShape);
  std::vector<DayInterval> hours;
  hours.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const Json& item = j[i];
    const std::string p = index_path(path, i);
    if (!item.is_array() || item.size() != 2) {
      return invalid(p, "must be a pair [\"HH:MM\", \"HH:MM\"]");
    }
    DayInterval iv;
    const char* kNames[2] = {".begin", ".end"};
    Seconds* targets[2] = {&iv.begin, &iv.end};
    for (int k = 0; k < 2; ++k) {
      const Json& t = item[k];
      std::optional<Seconds> parsed;
      if (t.is_string()) parsed = parse_time_of_day(t.get_ref<const std::string&>());
      if (!parsed) {
        return invalid(p + kNames[k],
                       t.dump() + " is not a time of day; write \"HH:MM\" from 00:00 to 24:00");
      }
      *targets[k] = *parsed;
    }
    hours.push_back(iv);
  }
  return hours;
}

Result<HolidayRule> holiday_from_json(const Json& j, const std::string& path) {
  if (!j.is_object()) return invalid(path, "must be an object with \"name\", \"date\", \"hours\"");
  HolidayRule rule;
  bool has_date = false;
  for (const auto& [key, value] : j.items()) {
    const std::string p = path + "." + key;
    if (key == "name") {
      if (!value.is_string()) return invalid(p, "must be a string");
      rule.name = value.get<std::string>();
    } else if (key == "date") {
      if (!value.is_string() || !parse_holiday_date(value.get_ref<const std::string&>(), rule)) {
        return invalid(p, "must be \"MM-DD\" (every year) or \"YYYY-MM-DD\" (one day)");
      }
      has_date = true;
    } else if (key == "hours") {
      auto hours = hours_from_json(value, p);
      if (!hours) return hours.error();
      rule.hours = std::move(hours).value();
    } else {
      return unknown_field(p);
    }
  }
  if (!has_date) return invalid(path + ".date", "is required");
  return rule;
}

}  // namespace

// ---- Public free functions ------------------------------------------------------------

Status validate_calendar(const CalendarSpec& spec) {
  if (spec.name.empty()) return invalid("name", "is required");
  if (auto zone = resolve_zone(spec.time_zone); !zone) return zone.error();
  for (size_t d = 0; d < spec.week.size(); ++d) {
    ESCALA_TRY(validate_hours(spec.week[d], std::string("week.") + kDayNames[d]));
  }
  // Two rules for the same date would leave the day's hours up to rule order.
  std::map<std::tuple<int, int, int>, size_t> seen;
  for (size_t i = 0; i < spec.holidays.size(); ++i) {
    const HolidayRule& rule = spec.holidays[i];
    const std::string path = index_path("holidays", i);
    ESCALA_TRY(validate_holiday_date(rule, path + ".date"));
    ESCALA_TRY(validate_hours(rule.hours, path + ".hours"));
    const auto key = std::make_tuple(rule.year.value_or(0), rule.month, rule.day);
    if (auto [it, inserted] = seen.emplace(key, i); !inserted) {
      return invalid(path + ".date", "repeats the date of " + index_path("holidays", it->second));
    }
  }
  return ok_status();
}

Result<CalendarSpec> calendar_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid("", "a calendar must be a JSON object");
  CalendarSpec spec;
  bool has_name = false;
  bool has_zone = false;
  for (const auto& [key, value] : j.items()) {
    if (key == "name") {
      if (!value.is_string()) return invalid(key, "must be a string");
      spec.name = value.get<std::string>();
      has_name = true;
    } else if (key == "time_zone") {
      if (!value.is_string()) return invalid(key, "must be a string");
      spec.time_zone = value.get<std::string>();
      has_zone = true;
    } else if (key == "always_open") {
      if (!value.is_boolean()) return invalid(key, "must be true or false");
      spec.always_open = value.get<bool>();
    } else if (key == "week") {
      if (!value.is_object()) return invalid(key, "must be an object keyed by day name");
      for (const auto& [day_name, hours_json] : value.items()) {
        const auto* it = std::find(kDayNames.begin(), kDayNames.end(), std::string_view(day_name));
        const std::string p = join_path(key, day_name);
        if (it == kDayNames.end()) return unknown_field(p);
        auto hours = hours_from_json(hours_json, p);
        if (!hours) return hours.error();
        spec.week[static_cast<size_t>(it - kDayNames.begin())] = std::move(hours).value();
      }
    } else if (key == "holidays") {
      if (!value.is_array()) return invalid(key, "must be a list");
      for (size_t i = 0; i < value.size(); ++i) {
        auto rule = holiday_from_json(value[i], index_path(key, i));
        if (!rule) return rule.error();
        spec.holidays.push_back(std::move(rule).value());
      }
    } else {
      return unknown_field(key);
    }
  }
  if (!has_name) return invalid("name", "is required");
  if (!has_zone) return invalid("time_zone", "is required");
  ESCALA_TRY(validate_calendar(spec));
  return spec;
}

nlohmann::json calendar_to_json(const CalendarSpec& spec) {
  auto hours_json = [](const std::vector<DayInterval>& hours) {
    Json out = Json::array();
    for (const auto& iv : hours) {
      out.push_back(Json::array({format_time_of_day(iv.begin), format_time_of_day(iv.end)}));
    }
    return out;
  };
  Json week = Json::object();
  for (size_t d = 0; d < spec.week.size(); ++d) week[kDayNames[d]] = hours_json(spec.week[d]);
  Json holidays = Json::array();
  for (const auto& rule : spec.holidays) {
    holidays.push_back(Json{{"name", rule.name},
                            {"date", format_holiday_date(rule)},
                            {"hours", hours_json(rule.hours)}});
  }
  return Json{{"name", spec.name},
              {"time_zone", spec.time_zone},
              {"always_open", spec.always_open},
              {"week", std::move(week)},
              {"holidays", std::move(holidays)}};
}

CalendarSpec support_calendar() {
  CalendarSpec spec;
  spec.name = "support";
  spec.time_zone = "Etc/GMT+6";
  const DayInterval weekday{Seconds{6 * 3600}, Seconds{21 * 3600}};
  const DayInterval weekend{Seconds{7 * 3600}, Seconds{17 * 3600}};
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {weekday};
  spec.week[5] = {weekend};
  spec.week[6] = {weekend};
  return spec;
}

CalendarSpec always_open_calendar() {
  CalendarSpec spec;
  spec.name = "24x7";
  spec.time_zone = "UTC";
  spec.always_open = true;
  return spec;
}

// ---- BusinessCalendar -----------------------------------------------------------------

Result<BusinessCalendar> BusinessCalendar::create(CalendarSpec spec) {
  ESCALA_TRY(validate_calendar(spec));
  auto zone = resolve_zone(spec.time_zone);
  if (!zone) return zone.error();

  auto compile = [](const std::vector<DayInterval>& hours) {
    Day day;
    for (const auto& iv : hours) {
      day.spans.push_back(Span{iv.begin.count() * 1000, iv.end.count() * 1000});
      day.total_ms += (iv.end - iv.begin).count() * 1000;
    }
    std::sort(day.spans.begin(), day.spans.end(),
              [](const Span& a, const Span& b) { return a.begin_ms < b.begin_ms; });
    return day;
  };

  BusinessCalendar cal;
  cal.zone_ = zone->zone;
  cal.fixed_offset_ms_ = zone->fixed_offset_ms;
  cal.always_open_ = spec.always_open;
  bool any_holiday_hours = false;
  for (size_t d = 0; d < 7; ++d) {
    cal.week_[d] = compile(spec.week[d]);
    cal.week_total_ms_ += cal.week_[d].total_ms;
  }
  for (const auto& rule : spec.holidays) {
    any_holiday_hours = any_holiday_hours || !rule.hours.empty();
    if (rule.year) {
      const date::year_month_day ymd{date::year{*rule.year},
                                     date::month{static_cast<unsigned>(rule.month)},
                                     date::day{static_cast<unsigned>(rule.day)}};
      cal.dated_.push_back(DatedHoliday{day_number(ymd), compile(rule.hours)});
    } else {
      cal.recurring_.push_back(RecurringHoliday{rule.month, rule.day, compile(rule.hours)});
    }
  }
  std::sort(cal.dated_.begin(), cal.dated_.end(),
            [](const DatedHoliday& a, const DatedHoliday& b) { return a.day < b.day; });
  std::sort(cal.recurring_.begin(), cal.recurring_.end(),
            [](const RecurringHoliday& a, const RecurringHoliday& b) {
              return std::tie(a.month, a.day) < std::tie(b.month, b.day);
            });
  cal.never_opens_ = !cal.always_open_ && cal.week_total_ms_ == 0 && !any_holiday_hours;
  cal.spec_ = std::move(spec);
  return cal;
}

BusinessCalendar::OffsetPiece BusinessCalendar::offset_at(int64_t t_ms) const {
  if (zone_ == nullptr) return OffsetPiece{fixed_offset_ms_, kNoEndMs};
  const auto info =
      zone_->get_info(date::sys_seconds{Seconds{floor_div(std::max(t_ms, kEarliestMs), 1000)}});
  return OffsetPiece{std::chrono::duration_cast<Millis>(info.offset).count(),
                     std::chrono::duration_cast<Millis>(info.end.time_since_epoch()).count()};
}

const BusinessCalendar::Day& BusinessCalendar::day_schedule(int64_t day) const {
  if (!dated_.empty()) {
    auto it = std::lower_bound(dated_.begin(), dated_.end(), day,
                               [](const DatedHoliday& h, int64_t d) { return h.day < d; });
    if (it != dated_.end() && it->day == day) return it->hours;
  }
  if (!recurring_.empty()) {
    const auto ymd = civil(day);
    const int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    const int dom = static_cast<int>(static_cast<unsigned>(ymd.day()));
    auto it = std::lower_bound(recurring_.begin(), recurring_.end(), std::make_pair(month, dom),
                               [](const RecurringHoliday& h, const std::pair<int, int>& md) {
                                 return std::make_pair(h.month, h.day) < md;
                               });
    if (it != recurring_.end() && it->month == month && it->day == dom) return it->hours;
  }
  return week_[weekday_index(day)];
}

std::pair<int64_t, const BusinessCalendar::Day*> BusinessCalendar::next_holiday(int64_t day) const {
  int64_t best = kNoDay;
  const Day* hours = nullptr;
  auto dated = std::lower_bound(dated_.begin(), dated_.end(), day,
                                [](const DatedHoliday& h, int64_t d) { return h.day < d; });
  if (dated != dated_.end()) {
    best = dated->day;
    hours = &dated->hours;
  }
  if (recurring_.empty()) return {best, hours};
  // Rules are sorted by date within the year, so the first valid one on or after `day` is
  // the next. Eight years ahead always reaches a 02-29 (2096 is followed by 2104).
  const int first_year = static_cast<int>(civil(day).year());
  for (int y = first_year; y <= first_year + 8; ++y) {
    for (const auto& rule : recurring_) {
      const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(rule.month)},
                                     date::day{static_cast<unsigned>(rule.day)}};
      if (!ymd.ok()) continue;
      const int64_t candidate = day_number(ymd);
      if (candidate < day) continue;
      // On a tie the dated rule stays: it is the more specific.
      if (candidate < best) return {candidate, &rule.hours};
      return {best, hours};
    }
  }
  return {best, hours};
}

// The one loop behind add, between and next_opening. Walks forward from `from_ms` over the
// open time, spending `budget_ms`, and stops when the budget is spent (reached) or at
// `limit_ms`. It moves through stretches of constant UTC offset; inside one, local time is
// the instant plus the offset, so whole local days (and whole weeks, when no holiday
// intervenes) are consumed from their precomputed totals instead of interval by interval.
BusinessCalendar::WalkResult BusinessCalendar::walk(int64_t from_ms, int64_t limit_ms,
                                                    int64_t budget_ms) const {
  int64_t remaining = budget_ms;
  int64_t consumed = 0;
  // The next holiday on or after `holiday_from`; valid for the days [holiday_from,
  // holiday_day]. The walk may step back a day when a fall-back crosses midnight, so both
  // ends are checked.
  int64_t holiday_from = kNoDay;
  int64_t holiday_day = kNoDay;
  const Day* holiday_hours = nullptr;
  int64_t t = from_ms;
  while (t < limit_ms) {
    const OffsetPiece piece = offset_at(t);
    const int64_t segment_end = std::min(piece.end_ms, limit_ms);
    const int64_t offset = piece.offset_ms;
    const int64_t local_begin = t + offset;
    const int64_t local_end = segment_end + offset;
    int64_t d = floor_div(local_begin, kDayMs);
    while (d * kDayMs < local_end) {
      if (d < holiday_from || d > holiday_day) {
        std::tie(holiday_day, holiday_hours) = next_holiday(d);
        holiday_from = d;
      }
      const int64_t day_start = d * kDayMs;
      const bool whole_days = local_begin <= day_start;
      if (whole_days && d < holiday_day) {
        if (week_total_ms_ == 0) {
          // Only holidays can open this calendar: jump to the next one.
          if (holiday_day == kNoDay) return WalkResult{false, limit_ms, consumed};
          d = std::min(holiday_day, ceil_div(local_end, kDayMs));
          continue;
        }
        // Any seven consecutive plain days hold exactly one of each weekday.
        const int64_t weeks = std::min({(holiday_day - d) / 7, (local_end - day_start) / kWeekMs,
                                        (remaining - 1) / week_total_ms_});
        if (weeks > 0) {
          remaining -= weeks * week_total_ms_;
          consumed += weeks * week_total_ms_;
          d += 7 * weeks;
          continue;
        }
      }
      const Day& day = d == holiday_day ? *holiday_hours : week_[weekday_index(d)];
      if (whole_days && day_start + kDayMs <= local_end && day.total_ms < remaining) {
        remaining -= day.total_ms;
        consumed += day.total_ms;
        ++d;
        continue;
      }
      for (const Span& span : day.spans) {
        const int64_t a = std::max(day_start + span.begin_ms, local_begin);
        const int64_t b = std::min(day_start + span.end_ms, local_end);
        if (a >= b) continue;
        if (remaining <= b - a)
          return WalkResult{true, a + remaining - offset, consumed + remaining};
        remaining -= b - a;
        consumed += b - a;
      }
      ++d;
    }
    t = segment_end;
  }
  return WalkResult{false, limit_ms, consumed};
}

Instant BusinessCalendar::add(Instant from, Seconds business) const {
  if (business.count() > std::numeric_limits<int64_t>::max() / 1000) return kNever;
  return add_millis(from, std::chrono::duration_cast<Millis>(business));
}

Instant BusinessCalendar::add_millis(Instant from, Millis business) const {
  const int64_t f = clamp_ms(from);
  const int64_t budget = std::max<int64_t>(business.count(), 0);
  if (f >= kHorizonMs) return kNever;
  // Open time never outruns real time, so a budget longer than what is left is hopeless.
  if (budget > kHorizonMs - f) return kNever;
  if (always_open_) return from_ms(f + budget);
  if (never_opens_) return kNever;
  const WalkResult r = walk(f, kHorizonMs, budget);
  return r.reached ? from_ms(r.at_ms) : kNever;
}

Millis BusinessCalendar::between_millis(Instant from, Instant to) const {
  const int64_t f = clamp_ms(from);
  const int64_t t = clamp_ms(to);
  if (t <= f) return Millis{0};
  if (always_open_) return Millis{t - f};
  if (never_opens_) return Millis{0};
  return Millis{walk(f, t, std::numeric_limits<int64_t>::max()).consumed_ms};
}

Seconds BusinessCalendar::between(Instant from, Instant to) const {
  return std::chrono::floor<Seconds>(between_millis(from, to));
}

bool BusinessCalendar::is_open(Instant t) const {
  const int64_t ms = to_ms(t);
  if (ms < kEarliestMs || ms >= kHorizonMs) return false;
  if (always_open_) return true;
  if (never_opens_) return false;
  const int64_t local = ms + offset_at(ms).offset_ms;
  const int64_t day = floor_div(local, kDayMs);
  const int64_t time_of_day = local - day * kDayMs;
  for (const Span& span : day_schedule(day).spans) {
    if (span.begin_ms <= time_of_day && time_of_day < span.end_ms) return true;
  }
  return false;
}

std::optional<Instant> BusinessCalendar::next_opening(Instant t) const {
  const int64_t f = clamp_ms(t);
  if (f >= kHorizonMs) return std::nullopt;
  if (always_open_) return from_ms(f);
  if (never_opens_) return std::nullopt;
  const WalkResult r = walk(f, kHorizonMs, 0);
  if (!r.reached) return std::nullopt;
  return from_ms(r.at_ms);
}

}  // namespace escala::core
