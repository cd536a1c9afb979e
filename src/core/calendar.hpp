#pragma once
// Business calendars: when the desk is open, and business-time arithmetic over that.
// Start at BusinessCalendar::add, which sets SLA due instants (D2), and at
// support_calendar(), the hours of R1.6.
//
// Civil times (the hours of a day, holiday dates) are read in the calendar's zone; the
// arithmetic is on absolute instants. One rule decides everything: an instant is open when
// its wall-clock time in the zone falls inside an open interval of its local date. That
// rule settles daylight saving time without special cases: a civil interval that lies in a
// spring-forward gap is shortened (the skipped wall-clock times never happen), and one
// repeated on a fall-back day counts every real second that passes.
//
// Pure: the only outside read is the time-zone database, done by date/tz when a calendar is
// created. A BusinessCalendar is immutable, so its const methods may be called from any
// number of threads at once.
//
// Supported instants run from 0001-01-01T00:00Z to 9999-12-31T00:00Z (kHorizon); inputs
// outside are clamped to that range, and answers that would fall past it are kNever.
//
// Known limit: with USE_OS_TZDB, date 3.0.1 reads only the explicit transitions of the
// system zone files, which end in 2037; after that a zone keeps its last offset.

#include <array>
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace date {
class time_zone;
}

namespace escala::core {

// Seconds since local midnight, half-open [begin, end), 0 <= begin < end <= 86400.
struct DayInterval {
  Seconds begin{0};
  Seconds end{0};

  friend bool operator==(const DayInterval&, const DayInterval&) = default;
};

// A day whose hours differ from the week's: closed all day, or open on special hours.
struct HolidayRule {
  std::string name;
  int month = 1;
  int day = 1;
  std::optional<int> year;         // absent: recurs every year (02-29 only in leap years)
  std::vector<DayInterval> hours;  // empty: closed all day; else the hours of that day

  friend bool operator==(const HolidayRule&, const HolidayRule&) = default;
};

// What an administrator configures. When a dated holiday and a recurring one fall on the
// same date, the dated one wins because it is the more specific.
struct CalendarSpec {
  std::string name;
  // An IANA name ("America/Mexico_City", "Etc/GMT+6", which is UTC−6) or a fixed offset
  // written "UTC", "UTC-06:00" or "-06:00" (ISO sign: minus is west of Greenwich).
  std::string time_zone;
  std::array<std::vector<DayInterval>, 7> week;  // [0]=Monday ... [6]=Sunday; empty = closed
  std::vector<HolidayRule> holidays;
  bool always_open = false;  // every second counts; week and holidays are then ignored

  friend bool operator==(const CalendarSpec&, const CalendarSpec&) = default;
};

// The answer of add() and the like when the open time asked for never comes: the calendar
// has no open time left, or the answer lies past kHorizon.
inline constexpr Instant kNever = Instant::max();

// The last supported instant, 9999-12-31T00:00:00Z; arithmetic stops there.
inline constexpr Instant kHorizon{Millis{253'402'214'400'000}};

// The first supported instant, 0001-01-01T00:00:00Z.
inline constexpr Instant kEarliest{Millis{-62'135'596'800'000}};

// Checks ranges, order, overlaps, holiday dates and that the zone exists. Errors are
// kInvalidArgument and name the JSON path of the culprit ("week.monday[0].end",
// "holidays[2].date", "time_zone").
Status validate_calendar(const CalendarSpec& spec);

// Reads the JSON shape written by calendar_to_json and validates it like
// validate_calendar. Missing days of "week" are closed; "always_open" defaults to false;
// a holiday without "hours" is closed all day. Unknown keys are kUnknownField errors so a
// misspelt day is not silently a closed one. Never throws, whatever the input.
Result<CalendarSpec> calendar_from_json(const nlohmann::json& j);

// {"name", "time_zone", "always_open",
//  "week": {"monday": [["06:00", "21:00"]], ..., "sunday": []},
//  "holidays": [{"name", "date": "12-25" or "2026-12-25", "hours": [["09:00", "13:00"]]}]}
// Times are "HH:MM" ("HH:MM:SS" when the seconds are not zero); "24:00" ends a day.
nlohmann::json calendar_to_json(const CalendarSpec& spec);

// "support" (R1.6): Monday–Friday 06:00–21:00, Saturday–Sunday 07:00–17:00, in Etc/GMT+6
// (UTC−6, no daylight saving time), no holidays.
CalendarSpec support_calendar();

// "24x7" in UTC, always open: S1 clocks and the incident mailbox (D2).
CalendarSpec always_open_calendar();

class BusinessCalendar {
 public:
  // Validates (see validate_calendar) and precomputes the per-day schedules.
  static Result<BusinessCalendar> create(CalendarSpec spec);

  // The earliest instant at which `business` seconds of open time have elapsed since
  // `from`; an answer may be a closing instant (Friday 20:00 + 1 h is Friday 21:00). For
  // business <= 0: `from` itself when open, else the next opening. kNever when the
  // calendar never accumulates that much open time before kHorizon.
  Instant add(Instant from, Seconds business) const;

  // add() with millisecond precision, for clocks that resume with a partial second left.
  Instant add_millis(Instant from, Millis business) const;

  // Open seconds in [from, to), rounded down to whole seconds; 0 when to <= from.
  // between(from, add(from, n)) == n for every n that add can reach.
  Seconds between(Instant from, Instant to) const;

  // Open time in [from, to) to the millisecond.
  Millis between_millis(Instant from, Instant to) const;

  bool is_open(Instant t) const;

  // `t` itself if open, else the next instant that is; nullopt if the calendar never opens
  // again before kHorizon.
  std::optional<Instant> next_opening(Instant t) const;

  const CalendarSpec& spec() const { return spec_; }

 private:
  struct Span {  // milliseconds since local midnight, half-open
    int64_t begin_ms;
    int64_t end_ms;
  };
  struct Day {
    std::vector<Span> spans;  // sorted, disjoint
    int64_t total_ms = 0;
  };
  struct RecurringHoliday {
    int month;
    int day;
    Day hours;
  };
  struct DatedHoliday {
    int64_t day;  // days since 1970-01-01
    Day hours;
  };
  // The zone's UTC offset from an instant until `end_ms` (exclusive).
  struct OffsetPiece {
    int64_t offset_ms;
    int64_t end_ms;
  };
  struct WalkResult {
    bool reached;         // the budget was spent; `at_ms` is where
    int64_t at_ms;        // Unix milliseconds
    int64_t consumed_ms;  // open time walked over
  };

  BusinessCalendar() = default;

  OffsetPiece offset_at(int64_t t_ms) const;
  const Day& day_schedule(int64_t day) const;
  std::pair<int64_t, const Day*> next_holiday(int64_t day) const;
  WalkResult walk(int64_t from_ms, int64_t limit_ms, int64_t budget_ms) const;

  CalendarSpec spec_;
  const date::time_zone* zone_ = nullptr;  // null: fixed offset
  int64_t fixed_offset_ms_ = 0;
  std::array<Day, 7> week_;
  int64_t week_total_ms_ = 0;
  std::vector<RecurringHoliday> recurring_;  // sorted by (month, day)
  std::vector<DatedHoliday> dated_;          // sorted by day
  bool always_open_ = false;
  bool never_opens_ = false;
};

}  // namespace escala::core
