#include "core/calendar.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <gtest/gtest.h>

#include <random>
#include <string>

namespace escala::core {
namespace {

using Json = nlohmann::json;

constexpr Seconds kHour{3600};
constexpr Seconds kMinute{60};

// Instants print as ISO 8601 in failure messages instead of as raw bytes.
std::string iso(Instant t) { return t == kNever ? "never" : format_iso8601(t); }
std::string iso(std::optional<Instant> t) { return t ? iso(*t) : "none"; }
#define EXPECT_INSTANT_EQ(actual, expected) EXPECT_EQ(iso(actual), iso(expected))

Instant at(const char* text) {
  auto t = parse_iso8601(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t.value_or(Instant{});
}

DayInterval hours(int begin_h, int begin_m, int end_h, int end_m) {
  return DayInterval{Seconds{begin_h * 3600 + begin_m * 60}, Seconds{end_h * 3600 + end_m * 60}};
}

BusinessCalendar make(CalendarSpec spec) {
  auto cal = BusinessCalendar::create(std::move(spec));
  EXPECT_TRUE(cal.ok()) << (cal.ok() ? "" : cal.error().message);
  return std::move(cal).value();
}

// Mon–Fri with the given hours, weekend closed.
CalendarSpec weekdays(const char* zone, DayInterval open) {
  CalendarSpec spec;
  spec.name = "office";
  spec.time_zone = zone;
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {open};
  return spec;
}

// The same hours every day of the week.
CalendarSpec every_day(const char* zone, std::vector<DayInterval> open) {
  CalendarSpec spec;
  spec.name = "daily";
  spec.time_zone = zone;
  for (auto& day : spec.week) day = open;
  return spec;
}

// ---- The support calendar (R1.6), UTC−6: 06:00 local is 12:00Z --------------------------

TEST(SupportCalendar, FridayEveningPlusOneHourIsSaturdayMorning) {
  const auto cal = make(support_calendar());
  // Friday 2026-11-27 20:30 local: 30 minutes left on Friday, 30 more from Saturday 07:00.
  EXPECT_INSTANT_EQ(cal.add(at("2026-11-27T20:30:00-06:00"), kHour), at("2026-11-28T13:30:00Z"));
  EXPECT_INSTANT_EQ(cal.add(at("2026-11-27T20:30:00-06:00"), kHour),
                    at("2026-11-28T07:30:00-06:00"));
}

TEST(SupportCalendar, StartBeforeOpening) {
  const auto cal = make(support_calendar());
  EXPECT_FALSE(cal.is_open(at("2026-01-05T05:00:00-06:00")));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T05:00:00-06:00"), kHour),
                    at("2026-01-05T07:00:00-06:00"));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T00:00:00-06:00"), 2 * kHour),
                    at("2026-01-05T08:00:00-06:00"));
}

TEST(SupportCalendar, StartAfterClosing) {
  const auto cal = make(support_calendar());
  EXPECT_FALSE(cal.is_open(at("2026-01-05T22:00:00-06:00")));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T22:00:00-06:00"), kHour),
                    at("2026-01-06T07:00:00-06:00"));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T23:59:59.999-06:00"), kHour),
                    at("2026-01-06T13:00:00Z"));
}

TEST(SupportCalendar, StartExactlyAtOpening) {
  const auto cal = make(support_calendar());
  const Instant opening = at("2026-01-05T06:00:00-06:00");
  EXPECT_TRUE(cal.is_open(opening));
  EXPECT_FALSE(cal.is_open(opening - Millis{1}));
  EXPECT_INSTANT_EQ(cal.add(opening, kHour), at("2026-01-05T07:00:00-06:00"));
  EXPECT_INSTANT_EQ(cal.add(opening, Seconds{0}), opening);
  EXPECT_INSTANT_EQ(cal.next_opening(opening), opening);
  EXPECT_INSTANT_EQ(cal.next_opening(opening - Millis{1}), opening);
}

TEST(SupportCalendar, StartExactlyAtClosing) {
  const auto cal = make(support_calendar());
  const Instant closing = at("2026-01-05T21:00:00-06:00");
  EXPECT_FALSE(cal.is_open(closing));  // half-open: 21:00 itself is closed
  EXPECT_TRUE(cal.is_open(closing - Millis{1}));
  EXPECT_INSTANT_EQ(cal.add(closing, kHour), at("2026-01-06T07:00:00-06:00"));
  EXPECT_INSTANT_EQ(cal.add(closing, Seconds{0}), at("2026-01-06T06:00:00-06:00"));
}

TEST(SupportCalendar, TargetEndingAtClosingIsTheClosingInstant) {
  const auto cal = make(support_calendar());
  // The hour is complete at 21:00; waiting for Tuesday's opening would overstate the due.
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T20:00:00-06:00"), kHour),
                    at("2026-01-05T21:00:00-06:00"));
}

TEST(SupportCalendar, CrossingMidnightAndWeekend) {
  const auto cal = make(support_calendar());
  // Sunday 16:00: one hour on Sunday, one from Monday 06:00.
  EXPECT_INSTANT_EQ(cal.add(at("2026-11-29T16:00:00-06:00"), 2 * kHour),
                    at("2026-11-30T07:00:00-06:00"));
  // Friday 20:00 + 15 h: 1 h Friday, 10 h Saturday, 4 h Sunday.
  EXPECT_INSTANT_EQ(cal.add(at("2026-11-27T20:00:00-06:00"), 15 * kHour),
                    at("2026-11-29T11:00:00-06:00"));
  EXPECT_EQ(cal.between(at("2026-11-27T00:00:00-06:00"), at("2026-11-30T00:00:00-06:00")),
            35 * kHour);
}

TEST(SupportCalendar, WeeklyOpenTimeIs95Hours) {
  const auto cal = make(support_calendar());
  EXPECT_EQ(cal.between(at("2026-01-05T00:00:00-06:00"), at("2026-01-12T00:00:00-06:00")),
            95 * kHour);
  // Any seven days hold 95 hours, whatever weekday they start on.
  EXPECT_EQ(cal.between(at("2026-01-08T13:17:00-06:00"), at("2026-01-15T13:17:00-06:00")),
            95 * kHour);
}

TEST(SupportCalendar, SeverityTargetsFromMondayEvening) {
  const auto cal = make(support_calendar());
  const Instant complete = at("2026-01-05T19:45:00-06:00");
  EXPECT_INSTANT_EQ(cal.add(complete, Seconds{5400}),
                    at("2026-01-06T06:15:00-06:00"));                                // S2 response
  EXPECT_INSTANT_EQ(cal.add(complete, 4 * kHour), at("2026-01-06T08:45:00-06:00"));  // resolution
}

TEST(SupportCalendar, MillisecondsInsideAnOpenIntervalCountExactly) {
  const auto cal = make(support_calendar());
  const Instant from = at("2026-01-05T10:00:00.500-06:00");
  EXPECT_INSTANT_EQ(cal.add(from, Seconds{1}), at("2026-01-05T10:00:01.500-06:00"));
  EXPECT_EQ(cal.between_millis(from, at("2026-01-05T10:00:02-06:00")), Millis{1500});
  EXPECT_EQ(cal.between(from, at("2026-01-05T10:00:02-06:00")), Seconds{1});  // rounded down
  // Half a second before closing: the other half comes from Tuesday's opening.
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T20:59:59.500-06:00"), Seconds{1}),
                    at("2026-01-06T06:00:00.500-06:00"));
  EXPECT_INSTANT_EQ(cal.add_millis(at("2026-01-05T20:59:59.500-06:00"), Millis{500}),
                    at("2026-01-05T21:00:00-06:00"));
}

TEST(SupportCalendar, DurationZeroIsFromWhenOpenElseNextOpening) {
  const auto cal = make(support_calendar());
  const Instant open = at("2026-01-05T10:00:00.250-06:00");
  EXPECT_INSTANT_EQ(cal.add(open, Seconds{0}), open);
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-10T18:00:00-06:00"), Seconds{0}),
                    at("2026-01-11T07:00:00-06:00"));
  // A negative duration is read as zero rather than walking backwards.
  EXPECT_INSTANT_EQ(cal.add(open, Seconds{-30}), open);
}

TEST(SupportCalendar, DurationOfManyWeeks) {
  const auto cal = make(support_calendar());
  const Instant monday = at("2026-01-05T06:00:00-06:00");
  // Ten whole weeks of open time end at the tenth Sunday's closing.
  EXPECT_INSTANT_EQ(cal.add(monday, 10 * 95 * kHour), at("2026-03-15T17:00:00-06:00"));
  EXPECT_INSTANT_EQ(cal.add(monday, 10 * 95 * kHour + Seconds{1}), at("2026-03-16T06:00:01-06:00"));
  // From midnight the weeks are skipped whole; an exact multiple still ends at a closing.
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T00:00:00-06:00"), 10 * 95 * kHour),
                    at("2026-03-15T17:00:00-06:00"));
  // A year and more of open time, checked by its inverse.
  const Seconds long_target = 60 * 95 * kHour + 17 * kMinute;
  EXPECT_EQ(cal.between(monday, cal.add(monday, long_target)), long_target);
}

// ---- Calendar shapes ---------------------------------------------------------------------

TEST(CalendarShape, SeveralIntervalsADaySkipTheBreak) {
  auto spec = weekdays("UTC", hours(9, 0, 13, 0));
  for (size_t d = 0; d < 5; ++d) spec.week[d].push_back(hours(14, 0, 18, 0));
  const auto cal = make(spec);
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T12:30:00Z"), kHour), at("2026-01-05T14:30:00Z"));
  EXPECT_FALSE(cal.is_open(at("2026-01-05T13:30:00Z")));
  EXPECT_INSTANT_EQ(cal.next_opening(at("2026-01-05T13:30:00Z")), at("2026-01-05T14:00:00Z"));
  EXPECT_EQ(cal.between(at("2026-01-05T00:00:00Z"), at("2026-01-06T00:00:00Z")), 8 * kHour);
}

TEST(CalendarShape, IntervalsGivenOutOfOrderAreSorted) {
  auto spec = weekdays("UTC", hours(14, 0, 18, 0));
  spec.week[0].push_back(hours(9, 0, 13, 0));
  const auto cal = make(spec);
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T08:00:00Z"), kHour), at("2026-01-05T10:00:00Z"));
}

TEST(CalendarShape, NightShiftCrossingMidnight) {
  const auto cal = make(every_day("UTC", {hours(0, 0, 2, 0), hours(22, 0, 24, 0)}));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T23:00:00Z"), 2 * kHour), at("2026-01-06T01:00:00Z"));
  EXPECT_EQ(cal.between(at("2026-01-05T22:00:00Z"), at("2026-01-06T02:00:00Z")), 4 * kHour);
  EXPECT_TRUE(cal.is_open(at("2026-01-06T00:00:00Z")));
  EXPECT_FALSE(cal.is_open(at("2026-01-06T02:00:00Z")));
}

TEST(CalendarShape, AlwaysOpenCountsEverySecond) {
  const auto cal = make(always_open_calendar());
  const Instant from = at("2026-12-25T03:17:00.123Z");
  EXPECT_INSTANT_EQ(cal.add(from, kHour), from + kHour);
  EXPECT_EQ(cal.between(from, from + 100 * kHour), 100 * kHour);
  EXPECT_TRUE(cal.is_open(from));
  EXPECT_INSTANT_EQ(cal.next_opening(from), from);
}

TEST(CalendarShape, NeverOpenCalendarDoesNotLoop) {
  CalendarSpec spec;
  spec.name = "closed";
  spec.time_zone = "America/New_York";
  const auto cal = make(spec);
  const Instant from = at("2026-01-05T00:00:00Z");
  EXPECT_INSTANT_EQ(cal.add(from, kHour), kNever);
  EXPECT_INSTANT_EQ(cal.add(from, Seconds{0}), kNever);
  EXPECT_EQ(cal.between(from, from + 1000 * kHour), Seconds{0});
  EXPECT_FALSE(cal.is_open(from));
  EXPECT_INSTANT_EQ(cal.next_opening(from), std::nullopt);
}

TEST(CalendarShape, OnlyAPastDatedHolidayOpensThenNeverAgain) {
  CalendarSpec spec;
  spec.name = "one-day";
  spec.time_zone = "Europe/Madrid";
  spec.holidays.push_back(HolidayRule{"open day", 6, 1, 2026, {hours(10, 0, 12, 0)}});
  const auto cal = make(spec);
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-01T00:00:00Z"), kHour), at("2026-06-01T11:00:00+02:00"));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-01T00:00:00Z"), 3 * kHour), kNever);
  EXPECT_INSTANT_EQ(cal.next_opening(at("2026-07-01T00:00:00Z")), std::nullopt);
  EXPECT_EQ(cal.between(at("2020-01-01T00:00:00Z"), at("2030-01-01T00:00:00Z")), 2 * kHour);
}

TEST(CalendarShape, OnlyRecurringHolidaysOpenAYearApart) {
  CalendarSpec spec;
  spec.name = "new-year-eve";
  spec.time_zone = "UTC";
  spec.holidays.push_back(HolidayRule{"eve", 12, 31, std::nullopt, {hours(10, 0, 12, 0)}});
  const auto cal = make(spec);
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-01T00:00:00Z"), 3 * kHour), at("2027-12-31T11:00:00Z"));
}

// ---- Holidays ------------------------------------------------------------------------------

TEST(Holiday, RecurringClosedDayIsSkipped) {
  auto spec = support_calendar();
  spec.holidays.push_back(HolidayRule{"Navidad", 12, 25, std::nullopt, {}});
  const auto cal = make(spec);
  // Thursday 2026-12-24 20:30: 30 minutes Thursday, Friday the 25th closed, Saturday 07:00.
  EXPECT_INSTANT_EQ(cal.add(at("2026-12-24T20:30:00-06:00"), kHour),
                    at("2026-12-26T07:30:00-06:00"));
  EXPECT_FALSE(cal.is_open(at("2026-12-25T12:00:00-06:00")));
  EXPECT_FALSE(cal.is_open(at("2027-12-25T12:00:00-06:00")));  // every year
  EXPECT_TRUE(cal.is_open(at("2027-12-26T12:00:00-06:00")));
}

TEST(Holiday, DatedSpecialHours) {
  auto spec = support_calendar();
  spec.holidays.push_back(HolidayRule{"Nochebuena", 12, 24, 2026, {hours(9, 0, 13, 0)}});
  const auto cal = make(spec);
  EXPECT_FALSE(cal.is_open(at("2026-12-24T08:00:00-06:00")));
  EXPECT_TRUE(cal.is_open(at("2026-12-24T09:00:00-06:00")));
  EXPECT_FALSE(cal.is_open(at("2026-12-24T13:00:00-06:00")));
  // 4 h on the short day, the fifth from Friday's opening.
  EXPECT_INSTANT_EQ(cal.add(at("2026-12-24T08:00:00-06:00"), 5 * kHour),
                    at("2026-12-25T07:00:00-06:00"));
  // Only 2026: Friday 2027-12-24 keeps the usual hours.
  EXPECT_TRUE(cal.is_open(at("2027-12-24T07:00:00-06:00")));
}

TEST(Holiday, RecurringSpecialHours) {
  auto spec = support_calendar();
  spec.holidays.push_back(HolidayRule{"Año nuevo", 1, 1, std::nullopt, {hours(10, 0, 12, 0)}});
  const auto cal = make(spec);
  EXPECT_EQ(cal.between(at("2026-01-01T00:00:00-06:00"), at("2026-01-02T00:00:00-06:00")),
            2 * kHour);
  EXPECT_EQ(cal.between(at("2031-01-01T00:00:00-06:00"), at("2031-01-02T00:00:00-06:00")),
            2 * kHour);
}

TEST(Holiday, DatedRuleWinsOverRecurringOnTheSameDate) {
  auto spec = support_calendar();
  spec.holidays.push_back(HolidayRule{"Nochebuena", 12, 24, std::nullopt, {}});
  spec.holidays.push_back(HolidayRule{"Nochebuena 2026", 12, 24, 2026, {hours(9, 0, 13, 0)}});
  const auto cal = make(spec);
  EXPECT_TRUE(cal.is_open(at("2026-12-24T10:00:00-06:00")));
  EXPECT_FALSE(cal.is_open(at("2027-12-24T10:00:00-06:00")));
  EXPECT_EQ(cal.between(at("2026-12-24T00:00:00-06:00"), at("2026-12-25T00:00:00-06:00")),
            4 * kHour);
}

TEST(Holiday, LeapDayRecursOnlyInLeapYears) {
  auto spec = support_calendar();
  spec.holidays.push_back(HolidayRule{"leap", 2, 29, std::nullopt, {}});
  const auto cal = make(spec);
  EXPECT_FALSE(cal.is_open(at("2028-02-29T10:00:00-06:00")));
  EXPECT_TRUE(cal.is_open(at("2027-03-01T10:00:00-06:00")));
  EXPECT_INSTANT_EQ(cal.add(at("2028-02-28T20:00:00-06:00"), 2 * kHour),
                    at("2028-03-01T07:00:00-06:00"));
}

TEST(Holiday, WholeClosedWeek) {
  auto spec = weekdays("UTC", hours(9, 0, 17, 0));
  for (int day = 21; day <= 25; ++day)
    spec.holidays.push_back(HolidayRule{"winter", 12, day, 2026, {}});
  const auto cal = make(spec);
  // Friday 16:00: one hour that Friday, the next one week later on Monday the 28th.
  EXPECT_INSTANT_EQ(cal.add(at("2026-12-18T16:00:00Z"), 2 * kHour), at("2026-12-28T10:00:00Z"));
  EXPECT_EQ(cal.between(at("2026-12-19T00:00:00Z"), at("2026-12-28T00:00:00Z")), Seconds{0});
  EXPECT_INSTANT_EQ(cal.next_opening(at("2026-12-19T00:00:00Z")), at("2026-12-28T09:00:00Z"));
}

TEST(Holiday, WeekSkippingStopsAtAHoliday) {
  auto plain = weekdays("UTC", hours(9, 0, 17, 0));
  auto with_holiday = plain;
  with_holiday.holidays.push_back(HolidayRule{"midweek", 3, 4, 2026, {}});
  const Instant monday = at("2026-01-05T09:00:00Z");
  const Seconds twenty_weeks = 20 * 40 * kHour;
  EXPECT_INSTANT_EQ(make(plain).add(monday, twenty_weeks), at("2026-05-22T17:00:00Z"));
  EXPECT_INSTANT_EQ(make(with_holiday).add(monday, twenty_weeks), at("2026-05-25T17:00:00Z"));
}

// ---- Daylight saving time ---------------------------------------------------------------

TEST(Dst, NewYorkSpringForwardShortensTheInterval) {
  // 2026-03-08: at 02:00 EST (07:00Z) clocks jump to 03:00 EDT.
  const auto cal = make(every_day("America/New_York", {hours(1, 0, 4, 0)}));
  EXPECT_EQ(cal.between(at("2026-03-08T00:00:00-05:00"), at("2026-03-09T00:00:00-04:00")),
            2 * kHour);
  EXPECT_EQ(cal.between(at("2026-03-07T00:00:00-05:00"), at("2026-03-08T00:00:00-05:00")),
            3 * kHour);
  EXPECT_INSTANT_EQ(cal.add(at("2026-03-08T06:00:00Z"), 2 * kHour), at("2026-03-08T08:00:00Z"));
  EXPECT_INSTANT_EQ(cal.add(at("2026-03-08T06:30:00Z"), kHour), at("2026-03-08T03:30:00-04:00"));
}

TEST(Dst, NewYorkIntervalInsideTheGapDoesNotExist) {
  const auto cal = make(every_day("America/New_York", {hours(2, 15, 2, 45)}));
  EXPECT_EQ(cal.between(at("2026-03-08T00:00:00-05:00"), at("2026-03-09T00:00:00-04:00")),
            Seconds{0});
  EXPECT_INSTANT_EQ(cal.next_opening(at("2026-03-08T00:00:00-05:00")),
                    at("2026-03-09T02:15:00-04:00"));
}

TEST(Dst, NewYorkFallBackCountsTheRepeatedHour) {
  // 2026-11-01: at 02:00 EDT (06:00Z) clocks go back to 01:00 EST.
  const auto cal = make(every_day("America/New_York", {hours(0, 0, 3, 0)}));
  EXPECT_EQ(cal.between(at("2026-11-01T04:00:00Z"), at("2026-11-01T08:00:00Z")), 4 * kHour);
  EXPECT_INSTANT_EQ(cal.add(at("2026-11-01T00:00:00-04:00"), 3 * kHour),
                    at("2026-11-01T07:00:00Z"));
  EXPECT_TRUE(cal.is_open(at("2026-11-01T01:30:00-04:00")));
  EXPECT_TRUE(cal.is_open(at("2026-11-01T01:30:00-05:00")));
  EXPECT_FALSE(cal.is_open(at("2026-11-01T03:00:00-05:00")));
}

TEST(Dst, NewYorkIntervalWithinTheRepeatedHourOpensTwice) {
  const auto cal = make(every_day("America/New_York", {hours(1, 0, 1, 30)}));
  EXPECT_EQ(cal.between(at("2026-11-01T00:00:00-04:00"), at("2026-11-02T00:00:00-05:00")), kHour);
  EXPECT_FALSE(cal.is_open(at("2026-11-01T05:45:00Z")));  // 01:45 EDT
  EXPECT_INSTANT_EQ(cal.next_opening(at("2026-11-01T05:45:00Z")), at("2026-11-01T06:00:00Z"));
  EXPECT_INSTANT_EQ(cal.add(at("2026-11-01T05:15:00Z"), 30 * kMinute), at("2026-11-01T06:15:00Z"));
}

TEST(Dst, NewYorkBusinessWeekAcrossSpringForward) {
  const auto cal = make(weekdays("America/New_York", hours(9, 0, 17, 0)));
  // Friday 16:00 EST + 2 h: Monday 10:00 EDT, an hour earlier in UTC than the week before.
  EXPECT_INSTANT_EQ(cal.add(at("2026-03-06T16:00:00-05:00"), 2 * kHour),
                    at("2026-03-09T14:00:00Z"));
  EXPECT_EQ(cal.between(at("2026-03-02T00:00:00-05:00"), at("2026-03-16T00:00:00-04:00")),
            80 * kHour);
}

TEST(Dst, MadridBusinessWeekAcrossBothChanges) {
  const auto cal = make(weekdays("Europe/Madrid", hours(9, 0, 18, 0)));
  // 2026-03-29: CET→CEST. Friday 17:00 CET + 2 h = Monday 10:00 CEST = 08:00Z.
  EXPECT_INSTANT_EQ(cal.add(at("2026-03-27T17:00:00+01:00"), 2 * kHour),
                    at("2026-03-30T08:00:00Z"));
  // 2026-10-25: CEST→CET. Friday 17:00 CEST + 2 h = Monday 10:00 CET = 09:00Z.
  EXPECT_INSTANT_EQ(cal.add(at("2026-10-23T17:00:00+02:00"), 2 * kHour),
                    at("2026-10-26T09:00:00Z"));
}

TEST(Dst, MadridNightHourOnBothChangeDays) {
  const auto cal = make(every_day("Europe/Madrid", {hours(2, 0, 3, 0)}));
  // 02:00–03:00 is skipped on 2026-03-29 and happens twice on 2026-10-25.
  EXPECT_EQ(cal.between(at("2026-03-29T00:00:00+01:00"), at("2026-03-30T00:00:00+02:00")),
            Seconds{0});
  EXPECT_EQ(cal.between(at("2026-10-25T00:00:00+02:00"), at("2026-10-26T00:00:00+01:00")),
            2 * kHour);
  EXPECT_INSTANT_EQ(cal.add(at("2026-10-25T00:00:00Z"), 90 * kMinute), at("2026-10-25T01:30:00Z"));
}

// ---- Zones written as fixed offsets ------------------------------------------------------

TEST(FixedOffset, SpellingsOfUtcMinusSixAgreeWithEtcGmtPlusSix) {
  auto spec = support_calendar();
  const auto iana = make(spec);
  for (const char* zone : {"UTC-06:00", "-06:00", "UTC-06", "-06"}) {
    spec.time_zone = zone;
    const auto fixed = make(spec);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 200; ++i) {
      const Instant from =
          at("2026-01-01T00:00:00Z") + Millis{static_cast<int64_t>(rng() % (400LL * 86'400'000))};
      const Seconds n{static_cast<int64_t>(rng() % (200 * 3600))};
      ASSERT_EQ(fixed.add(from, n), iana.add(from, n)) << zone << " " << format_iso8601(from);
      ASSERT_EQ(fixed.is_open(from), iana.is_open(from)) << zone;
    }
  }
}

TEST(FixedOffset, HalfHourOffsetEastOfUtc) {
  const auto cal = make(weekdays("UTC+05:30", hours(9, 0, 17, 0)));
  EXPECT_TRUE(cal.is_open(at("2026-01-05T03:30:00Z")));
  EXPECT_FALSE(cal.is_open(at("2026-01-05T03:29:59.999Z")));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-05T00:00:00Z"), kHour), at("2026-01-05T04:30:00Z"));
}

TEST(FixedOffset, PlainUtc) {
  const auto cal = make(weekdays("UTC", hours(9, 0, 17, 0)));
  EXPECT_INSTANT_EQ(cal.add(at("2026-01-09T16:00:00Z"), 2 * kHour), at("2026-01-12T10:00:00Z"));
}

// ---- between() and add() are inverses ------------------------------------------------------

TEST(Inverse, BetweenUndoesAddOnSupport) {
  const auto cal = make(support_calendar());
  for (const char* from :
       {"2026-01-05T05:00:00-06:00", "2026-01-05T06:00:00-06:00", "2026-01-05T21:00:00-06:00",
        "2026-11-27T20:30:00.500-06:00", "2026-11-28T23:59:59.999-06:00"}) {
    for (Seconds n : {Seconds{0}, Seconds{1}, kHour, 4 * kHour, 15 * kHour, 168 * kHour}) {
      const Instant due = cal.add(at(from), n);
      EXPECT_EQ(cal.between(at(from), due), n) << from << " + " << n.count();
    }
  }
}

TEST(Inverse, AddOfBetweenReachesAnOpenEnd) {
  const auto cal = make(support_calendar());
  const Instant from = at("2026-01-02T09:13:00-06:00");
  const Instant to = at("2026-01-07T14:21:07.250-06:00");  // open
  EXPECT_INSTANT_EQ(cal.add_millis(from, cal.between_millis(from, to)), to);
  EXPECT_EQ(cal.between(to, from), Seconds{0});
}

// ---- Randomized properties, and an independent oracle --------------------------------------

// Open or not, decided from the spec alone through date::zoned_time; shares no code with
// BusinessCalendar.
bool reference_is_open(const CalendarSpec& spec, const date::time_zone* zone, Instant t) {
  const auto local = date::make_zoned(zone, t).get_local_time();
  const auto local_day = date::floor<date::days>(local);
  const date::year_month_day ymd{local_day};
  const auto time_of_day = std::chrono::duration_cast<Millis>(local - local_day);
  const std::vector<DayInterval>* open = &spec.week[date::weekday{local_day}.iso_encoding() - 1];
  for (const auto& rule : spec.holidays) {
    if (!rule.year && unsigned(ymd.month()) == unsigned(rule.month) &&
        unsigned(ymd.day()) == unsigned(rule.day))
      open = &rule.hours;
  }
  for (const auto& rule : spec.holidays) {
    if (rule.year && int(ymd.year()) == *rule.year &&
        unsigned(ymd.month()) == unsigned(rule.month) && unsigned(ymd.day()) == unsigned(rule.day))
      open = &rule.hours;
  }
  for (const auto& iv : *open) {
    if (iv.begin <= time_of_day && time_of_day < iv.end) return true;
  }
  return false;
}

std::vector<CalendarSpec> property_calendars() {
  std::vector<CalendarSpec> specs;
  specs.push_back(support_calendar());
  auto ny = weekdays("America/New_York", hours(9, 0, 17, 0));
  ny.week[0] = {hours(0, 30, 2, 30), hours(8, 0, 12, 0), hours(13, 0, 24, 0)};
  ny.week[6] = {hours(1, 0, 3, 0)};  // DST changes happen on Sundays at 02:00
  ny.holidays.push_back(HolidayRule{"July 4", 7, 4, std::nullopt, {}});
  ny.holidays.push_back(HolidayRule{"short", 11, 26, 2026, {hours(10, 0, 11, 0)}});
  specs.push_back(ny);
  auto madrid = every_day("Europe/Madrid", {hours(2, 0, 3, 0), hours(9, 0, 14, 0)});
  madrid.holidays.push_back(HolidayRule{"Reyes", 1, 6, std::nullopt, {}});
  madrid.holidays.push_back(HolidayRule{"Navidad", 12, 25, std::nullopt, {hours(2, 30, 2, 45)}});
  specs.push_back(madrid);
  // Santiago falls back at midnight (2026-04-05 00:00 → 2026-04-04 23:00), so a local date
  // comes back after it ended, holiday included.
  auto santiago =
      every_day("America/Santiago", {hours(0, 0, 1, 0), hours(9, 0, 18, 0), hours(22, 0, 24, 0)});
  santiago.holidays.push_back(HolidayRule{"short eve", 4, 4, 2026, {hours(23, 30, 24, 0)}});
  santiago.holidays.push_back(HolidayRule{"closed", 9, 6, std::nullopt, {}});
  specs.push_back(santiago);
  return specs;
}

TEST(Property, BetweenOfAddIsNAndAddIsMonotonic) {
  std::mt19937_64 rng(20260308);
  const Instant base = at("2025-06-01T00:00:00Z");
  for (const auto& spec : property_calendars()) {
    const auto cal = make(spec);
    for (int i = 0; i < 2000; ++i) {
      const Instant from = base + Millis{static_cast<int64_t>(rng() % (700LL * 86'400'000))};
      const Millis n1{static_cast<int64_t>(rng() % (21LL * 86'400'000))};
      const Millis n2 = n1 + Millis{static_cast<int64_t>(rng() % (3LL * 86'400'000))};
      const Instant due1 = cal.add_millis(from, n1);
      const Instant due2 = cal.add_millis(from, n2);
      ASSERT_EQ(cal.between_millis(from, due1), n1) << spec.name << " " << format_iso8601(from);
      ASSERT_EQ(cal.between_millis(from, due2), n2) << spec.name << " " << format_iso8601(from);
      ASSERT_LE(due1, due2) << spec.name << " " << format_iso8601(from);
      // The last millisecond before a due instant is open: nothing is wasted at the end.
      if (n1 > Millis{0}) {
        ASSERT_TRUE(cal.is_open(due1 - Millis{1})) << format_iso8601(due1);
      }
      // Adding in two steps lands where adding at once does.
      if (n2 > n1) {
        ASSERT_EQ(cal.add_millis(due1, n2 - n1), due2) << format_iso8601(from);
      }
      const Seconds whole = std::chrono::floor<Seconds>(n1);
      ASSERT_EQ(cal.between(from, cal.add(from, whole)), whole);
    }
  }
}

TEST(Property, AgreesWithMinuteByMinuteOracleAroundDstChanges) {
  std::mt19937_64 rng(11);
  for (const auto& spec : property_calendars()) {
    if (spec.time_zone.rfind("Etc/", 0) == 0) continue;
    const auto cal = make(spec);
    const date::time_zone* zone = date::locate_zone(spec.time_zone);
    for (const char* day : {"2026-03-06T00:00:00Z", "2026-03-27T00:00:00Z", "2026-10-23T00:00:00Z",
                            "2026-10-30T00:00:00Z", "2026-07-02T00:00:00Z", "2026-12-23T00:00:00Z",
                            "2026-04-02T00:00:00Z", "2026-09-04T00:00:00Z"}) {
      const Instant begin = at(day);
      int64_t open_minutes = 0;
      for (int m = 0; m < 4 * 24 * 60; ++m) {
        const Instant t = begin + m * kMinute;
        const bool expected = reference_is_open(spec, zone, t);
        ASSERT_EQ(cal.is_open(t), expected) << spec.name << " " << format_iso8601(t);
        open_minutes += expected;
      }
      EXPECT_EQ(cal.between(begin, begin + 4 * 24 * kHour), open_minutes * kMinute)
          << spec.name << " " << day;
      for (int i = 0; i < 50; ++i) {
        const Instant t = begin + Millis{static_cast<int64_t>(rng() % (4LL * 86'400'000))};
        const auto next = cal.next_opening(t);
        ASSERT_TRUE(next.has_value());
        ASSERT_TRUE(reference_is_open(spec, zone, *next)) << format_iso8601(*next);
        if (*next > t) {
          ASSERT_FALSE(reference_is_open(spec, zone, *next - Millis{1})) << format_iso8601(t);
        }
      }
    }
  }
}

TEST(Property, VeryLongTargetsFinish) {
  const auto cal = make(property_calendars()[1]);
  const Instant from = at("2026-01-01T00:00:00Z");
  const Seconds fifty_years = 50 * 52 * 40 * kHour;
  const Instant due = cal.add(from, fifty_years);
  ASSERT_NE(due, kNever);
  EXPECT_EQ(cal.between(from, due), fifty_years);
  EXPECT_INSTANT_EQ(cal.add(from, Seconds::max()), kNever);
  EXPECT_INSTANT_EQ(cal.add(Instant::max(), kHour), kNever);
}

// ---- JSON --------------------------------------------------------------------------------

TEST(CalendarJson, SupportShape) {
  const Json j = calendar_to_json(support_calendar());
  EXPECT_EQ(j["name"], "support");
  EXPECT_EQ(j["time_zone"], "Etc/GMT+6");
  EXPECT_EQ(j["always_open"], false);
  EXPECT_EQ(j["week"]["monday"], Json::parse(R"([["06:00","21:00"]])"));
  EXPECT_EQ(j["week"]["sunday"], Json::parse(R"([["07:00","17:00"]])"));
  EXPECT_EQ(j["holidays"], Json::array());
}

TEST(CalendarJson, RoundTrip) {
  for (auto spec : {support_calendar(), always_open_calendar()}) {
    auto back = calendar_from_json(calendar_to_json(spec));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(*back, spec);
  }
  CalendarSpec spec = every_day("America/Mexico_City", {hours(0, 0, 1, 0), hours(22, 0, 24, 0)});
  spec.week[3] = {};
  spec.week[4] = {DayInterval{Seconds{8 * 3600 + 30 * 60 + 15}, Seconds{9 * 3600}}};
  spec.holidays.push_back(HolidayRule{"Navidad", 12, 25, std::nullopt, {}});
  spec.holidays.push_back(HolidayRule{"Nochebuena", 12, 24, 2026, {hours(9, 0, 13, 0)}});
  const Json j = calendar_to_json(spec);
  EXPECT_EQ(j["week"]["friday"], Json::parse(R"([["08:30:15","09:00"]])"));
  EXPECT_EQ(j["week"]["monday"][1][1], "24:00");
  EXPECT_EQ(j["holidays"][0]["date"], "12-25");
  EXPECT_EQ(j["holidays"][1]["date"], "2026-12-24");
  auto back = calendar_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, spec);
  EXPECT_EQ(calendar_to_json(*back), j);
}

TEST(CalendarJson, ReadsHandWrittenConfiguration) {
  auto spec = calendar_from_json(Json::parse(R"({
    "name": "mx", "time_zone": "UTC-06:00",
    "week": {"monday": [["09:00", "18:00"]], "saturday": [["10:00", "14:00"]]},
    "holidays": [{"name": "Independencia", "date": "09-16"}]
  })"));
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_FALSE(spec->always_open);
  EXPECT_TRUE(spec->week[1].empty());
  EXPECT_EQ(spec->week[5], std::vector<DayInterval>{hours(10, 0, 14, 0)});
  ASSERT_EQ(spec->holidays.size(), 1u);
  EXPECT_FALSE(spec->holidays[0].year.has_value());
  EXPECT_TRUE(spec->holidays[0].hours.empty());
  EXPECT_TRUE(BusinessCalendar::create(*spec).ok());
}

struct BadInput {
  const char* json;
  const char* field;
  ErrorCode code = ErrorCode::kInvalidArgument;
};

TEST(CalendarJson, ValidationErrorsNameTheField) {
  const BadInput cases[] = {
      {R"({"name":"x","time_zone":"UTC","week":{"monday":[["06:00","25:00"]]}})",
       "week.monday[0].end"},
      {R"({"name":"x","time_zone":"UTC","week":{"monday":[["6:00","21:00"]]}})",
       "week.monday[0].begin"},
      {R"({"name":"x","time_zone":"UTC","week":{"monday":[["24:00","24:00"]]}})",
       "week.monday[0].begin"},
      {R"({"name":"x","time_zone":"UTC","week":{"tuesday":[["21:00","06:00"]]}})",
       "week.tuesday[0].end"},
      {R"({"name":"x","time_zone":"UTC","week":{"friday":[["06:00","12:00"],["11:00","13:00"]]}})",
       "week.friday[1]"},
      {R"({"name":"x","time_zone":"UTC","week":{"monday":[["06:00"]]}})", "week.monday[0]"},
      {R"({"name":"x","time_zone":"UTC","week":{"monday":"06:00-21:00"}})", "week.monday"},
      {R"({"name":"x","time_zone":"UTC","week":{"funday":[]}})", "week.funday",
       ErrorCode::kUnknownField},
      {R"({"name":"x","time_zone":"UTC","colour":"red"})", "colour", ErrorCode::kUnknownField},
      {R"({"name":"x","time_zone":"Mars/Olympus_Mons"})", "time_zone"},
      {R"({"name":"x","time_zone":"UTC+19:00"})", "time_zone"},
      {R"({"name":"x"})", "time_zone"},
      {R"({"time_zone":"UTC"})", "name"},
      {R"({"name":"","time_zone":"UTC"})", "name"},
      {R"({"name":"x","time_zone":"UTC","always_open":"yes"})", "always_open"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"name":"h","date":"02-30"}]})",
       "holidays[0].date"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"name":"h","date":"2027-02-29"}]})",
       "holidays[0].date"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"name":"h","date":"13-01"}]})",
       "holidays[0].date"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"name":"h","date":"25/12"}]})",
       "holidays[0].date"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"name":"h"}]})", "holidays[0].date"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"date":"12-25"},{"date":"12-25"}]})",
       "holidays[1].date"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"date":"12-24","hours":[["13:00","09:00"]]}]})",
       "holidays[0].hours[0].end"},
      {R"({"name":"x","time_zone":"UTC","holidays":[{"date":"12-24","closed":true}]})",
       "holidays[0].closed", ErrorCode::kUnknownField},
      {R"(["not", "an", "object"])", ""},
  };
  for (const auto& c : cases) {
    auto r = calendar_from_json(Json::parse(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().field, c.field) << c.json << " → " << r.error().message;
    EXPECT_EQ(r.error().code, c.code) << c.json;
    EXPECT_FALSE(r.error().message.empty());
  }
}

TEST(CalendarValidation, CreateRejectsBadSpecs) {
  auto backwards = support_calendar();
  backwards.week[2] = {hours(10, 0, 9, 0)};
  auto r = BusinessCalendar::create(backwards);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "week.wednesday[0].end");

  auto past_midnight = support_calendar();
  past_midnight.week[0] = {DayInterval{Seconds{0}, Seconds{86'401}}};
  r = BusinessCalendar::create(past_midnight);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "week.monday[0].end");

  auto bad_zone = support_calendar();
  bad_zone.time_zone = "GMT-6 please";
  r = BusinessCalendar::create(bad_zone);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "time_zone");

  auto duplicate = support_calendar();
  duplicate.holidays = {HolidayRule{"a", 5, 1, 2026, {}}, HolidayRule{"b", 5, 1, 2026, {}}};
  r = BusinessCalendar::create(duplicate);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "holidays[1].date");

  auto wrapped_day = support_calendar();
  wrapped_day.holidays = {HolidayRule{"a", 1, 257, std::nullopt, {}}};  // 257 wraps to 1 in a byte
  r = BusinessCalendar::create(wrapped_day);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "holidays[0].date");

  // Adjacent intervals touch without overlapping.
  auto adjacent = support_calendar();
  adjacent.week[0] = {hours(6, 0, 12, 0), hours(12, 0, 21, 0)};
  EXPECT_TRUE(BusinessCalendar::create(adjacent).ok());
}

TEST(CalendarValidation, SpecIsKeptAsGiven) {
  const auto cal = make(support_calendar());
  EXPECT_EQ(cal.spec(), support_calendar());
  EXPECT_EQ(cal.spec().name, "support");
}

}  // namespace
}  // namespace escala::core
