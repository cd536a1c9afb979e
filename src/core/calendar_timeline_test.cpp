// The business clock of a calendar across its versions. Each test names the edge it pins.

#include "core/calendar_timeline.hpp"

#include <gtest/gtest.h>

#include <random>

namespace escala::core {
namespace {

Instant at(const char* iso) { return *parse_iso8601(iso); }

std::shared_ptr<const BusinessCalendar> make(const CalendarSpec& spec) {
  auto cal = BusinessCalendar::create(spec);
  EXPECT_TRUE(cal.ok()) << (cal.ok() ? "" : cal.error().message);
  return std::make_shared<const BusinessCalendar>(std::move(cal).value());
}

// Weekdays 09:00–17:00 in New York (daylight saving time), with Christmas closed and
// 24 December open 09:00–12:00.
CalendarSpec new_york() {
  CalendarSpec spec;
  spec.name = "ny";
  spec.time_zone = "America/New_York";
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {DayInterval{Seconds{9 * 3600}, Seconds{17 * 3600}}};
  spec.holidays.push_back(HolidayRule{"christmas", 12, 25, std::nullopt, {}});
  spec.holidays.push_back(
      HolidayRule{"eve", 12, 24, std::nullopt, {DayInterval{Seconds{9 * 3600}, Seconds{12 * 3600}}}});
  return spec;
}

// Every day 00:00–24:00 on weekdays only, UTC−6: a different shape from `support`.
CalendarSpec weekdays_all_day() {
  CalendarSpec spec = support_calendar();
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {DayInterval{Seconds{0}, Seconds{86400}}};
  spec.week[5] = {};
  spec.week[6] = {};
  return spec;
}

CalendarSpec never_open() {
  CalendarSpec spec = support_calendar();
  for (auto& d : spec.week) d.clear();
  return spec;
}

TEST(CalendarTimeline, MarkIsZeroAtTheOriginAndCountsOpenTimeFromIt) {
  CalendarTimeline always(make(always_open_calendar()));
  EXPECT_EQ(always.mark(kMarkOrigin), Millis{0});
  EXPECT_EQ(always.mark(kMarkOrigin + Seconds{90}), Millis{90'000});
  EXPECT_EQ(always.mark(kMarkOrigin - Seconds{90}), Millis{-90'000});
  CalendarTimeline support(make(support_calendar()));
  EXPECT_EQ(support.mark(kMarkOrigin), Millis{0});
}

// One version: marks agree with the calendar's own arithmetic everywhere, including
// before the origin, across the grid's 28-day points and after its end in 2100.
TEST(CalendarTimeline, OneVersionAgreesWithBetweenAndAddOnRandomInstants) {
  for (const CalendarSpec& spec : {support_calendar(), new_york(), always_open_calendar()}) {
    auto cal = make(spec);
    CalendarTimeline line(cal);
    std::mt19937_64 rng(42);
    const int64_t lo = to_unix_millis(at("1995-06-01T00:00:00Z"));
    const int64_t hi = to_unix_millis(at("2105-01-01T00:00:00Z"));
    std::uniform_int_distribution<int64_t> when(lo, hi);
    std::uniform_int_distribution<int64_t> span(0, 40LL * 86'400'000);
    std::uniform_int_distribution<int64_t> budget(1, 3 * 7 * 86'400);
    for (int i = 0; i < 400; ++i) {
      const Instant a = from_unix_millis(when(rng));
      const Instant b = a + Millis{span(rng)};
      ASSERT_EQ(line.mark(b) - line.mark(a), cal->between_millis(a, b))
          << spec.name << " " << format_iso8601(a) << " .. " << format_iso8601(b);
      const Seconds n{budget(rng)};
      ASSERT_EQ(line.at_mark(line.mark(a) + n), cal->add(a, n))
          << spec.name << " " << format_iso8601(a) << " + " << n.count();
    }
  }
}

TEST(CalendarTimeline, AtMarkOfAClosedStretchIsTheClosingInstantBeforeIt) {
  CalendarTimeline line(make(support_calendar()));
  // Saturday 2026-11-28 03:00 local (09:00Z) is closed; Friday closed at 21:00 local.
  const Instant night = at("2026-11-28T09:00:00Z");
  EXPECT_EQ(line.at_mark(line.mark(night)), at("2026-11-28T03:00:00Z"));
  // One millisecond more is the first millisecond after Saturday's opening (07:00 local).
  EXPECT_EQ(line.at_mark(line.mark(night) + Millis{1}), at("2026-11-28T13:00:00.001Z"));
}

TEST(CalendarTimeline, AnEditAppliesFromItsInstantAndKeepsTheTimeBefore) {
  const Instant edit = at("2026-11-25T18:00:00Z");  // Wednesday 12:00 local
  CalendarTimeline before(make(support_calendar()));
  CalendarTimeline after = before.with_version(make(weekdays_all_day()), edit);
  // Marks up to the edit do not move.
  for (const char* t : {"2026-11-20T12:00:00Z", "2026-11-25T17:59:59Z", "2026-11-25T18:00:00Z"})
    EXPECT_EQ(after.mark(at(t)), before.mark(at(t))) << t;
  // After it, open time counts on the new hours: Wednesday 12:00 to Thursday 12:00 local is
  // 24 h on weekdays-all-day (it was 15 h on support).
  const Instant thursday = at("2026-11-26T18:00:00Z");
  EXPECT_EQ(after.mark(thursday) - after.mark(edit), Millis{24 * 3'600'000});
  EXPECT_EQ(before.mark(thursday) - before.mark(edit), Millis{15 * 3'600'000});
  // A span across the edit: 3 h before it on support (09:00–12:00), 6 h after it.
  const Instant from = at("2026-11-25T15:00:00Z");
  const Instant to = at("2026-11-26T00:00:00Z");
  EXPECT_EQ(after.mark(to) - after.mark(from), Millis{9 * 3'600'000});
  // A mark beyond the edit is reached on the new hours: Saturday is closed now, so 2 days
  // of open time from the edit end on Friday 12:00 local.
  EXPECT_EQ(after.at_mark(after.mark(edit) + Seconds{2 * 86400}), at("2026-11-27T18:00:00Z"));
  EXPECT_EQ(after.at(from).spec(), support_calendar());
  EXPECT_EQ(after.at(to).spec(), weekdays_all_day());
  EXPECT_EQ(after.current().spec(), weekdays_all_day());
}

TEST(CalendarTimeline, AMarkBeforeTheEditIsReachedOnTheOldHours) {
  const Instant edit = at("2026-11-25T18:00:00Z");
  CalendarTimeline before(make(support_calendar()));
  CalendarTimeline after = before.with_version(make(weekdays_all_day()), edit);
  const Millis m = before.mark(at("2026-11-24T20:30:00Z"));
  EXPECT_EQ(after.at_mark(m), at("2026-11-24T20:30:00Z"));
  // Exactly the edit's mark: the edit instant itself (support was open then).
  EXPECT_EQ(after.at_mark(after.mark(edit)), edit);
}

TEST(CalendarTimeline, AnEditDatedBeforeTheLatestVersionIsMovedUpToIt) {
  CalendarTimeline line(make(support_calendar()));
  const Instant first = at("2026-11-25T18:00:00Z");
  line = line.with_version(make(weekdays_all_day()), first);
  line = line.with_version(make(always_open_calendar()), first - Seconds{3600});
  auto starts = line.version_starts();
  ASSERT_EQ(starts.size(), 2u);  // the same instant: the second edit replaced the first
  EXPECT_EQ(starts[1], first);
  EXPECT_TRUE(line.current().spec().always_open);
  EXPECT_EQ(line.mark(first + Seconds{10}) - line.mark(first), Millis{10'000});
}

TEST(CalendarTimeline, ManyEditsKeepMarksContinuousAndAtMarkTheirInverse) {
  CalendarTimeline line(make(support_calendar()));
  std::vector<CalendarSpec> shapes = {weekdays_all_day(), new_york(), always_open_calendar(),
                                      support_calendar(), never_open()};
  Instant t = at("2026-01-05T10:00:00Z");
  for (int i = 0; i < 12; ++i) {
    const Millis before = line.mark(t);
    line = line.with_version(make(shapes[static_cast<size_t>(i) % shapes.size()]), t);
    EXPECT_EQ(line.mark(t), before) << i;  // an edit never moves the reading at its instant
    t += Seconds{(i + 1) * 5 * 86400 + 3600 * 7};
  }
  std::mt19937_64 rng(7);
  const int64_t lo = to_unix_millis(at("2025-12-01T00:00:00Z"));
  const int64_t hi = to_unix_millis(at("2027-06-01T00:00:00Z"));
  std::uniform_int_distribution<int64_t> when(lo, hi);
  for (int i = 0; i < 2000; ++i) {
    Instant a = from_unix_millis(when(rng)), b = from_unix_millis(when(rng));
    if (b < a) std::swap(a, b);
    ASSERT_LE(line.mark(a), line.mark(b));
    // at_mark is the earliest instant reaching the mark: at or before `a`, and nothing
    // between it and `a` is open.
    const Instant back = line.at_mark(line.mark(a));
    ASSERT_LE(back, a);
    ASSERT_EQ(line.mark(back), line.mark(a)) << format_iso8601(a);
    const Instant forward = line.at_mark(line.mark(a) + Millis{1});
    if (forward != kNever) {
      ASSERT_GT(forward, a);
      ASSERT_EQ(line.mark(forward), line.mark(a) + Millis{1}) << format_iso8601(a);
    }
  }
}

TEST(CalendarTimeline, ACalendarClosedForeverNeverReachesAHigherMark) {
  const Instant edit = at("2026-11-25T18:00:00Z");
  CalendarTimeline line =
      CalendarTimeline(make(support_calendar())).with_version(make(never_open()), edit);
  EXPECT_EQ(line.mark(at("2030-01-01T00:00:00Z")), line.mark(edit));
  EXPECT_EQ(line.at_mark(line.mark(edit) + Millis{1}), kNever);
  EXPECT_EQ(line.at_mark(line.mark(edit)), edit);
}

TEST(CalendarTimeline, AVersionFromBeforeTheOriginIsMeasuredLikeAnyOther) {
  const Instant edit = at("1998-03-02T12:00:00Z");
  auto v1 = make(weekdays_all_day());
  CalendarTimeline line = CalendarTimeline(make(support_calendar())).with_version(v1, edit);
  const Instant a = at("1999-12-20T00:00:00Z");
  const Instant b = at("2000-01-20T00:00:00Z");
  EXPECT_EQ(line.mark(b) - line.mark(a), v1->between_millis(a, b));
  EXPECT_EQ(line.at_mark(line.mark(a) + Seconds{86400}), v1->add(a, Seconds{86400}));
}

}  // namespace
}  // namespace escala::core
