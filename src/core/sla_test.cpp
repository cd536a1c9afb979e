// SLA clocks (D2) over the real support calendar (Mon–Fri 06:00–21:00, Sat–Sun
// 07:00–17:00, UTC−6) and 24x7, driven through the lifecycle so that the events and the
// clocks are the ones production produces. Names say the edge each test pins.

#include "core/sla.hpp"

#include <gtest/gtest.h>

#include "core/calendar.hpp"
#include "core/calendar_timeline.hpp"
#include "core/lifecycle.hpp"

namespace escala::core {
namespace {

class Calendars final : public DueCalculator {
 public:
  Calendars()
      : support_(std::make_shared<const BusinessCalendar>(
            std::move(BusinessCalendar::create(support_calendar())).value())),
        always_(std::make_shared<const BusinessCalendar>(
            std::move(BusinessCalendar::create(always_open_calendar())).value())) {}
  std::optional<Millis> mark(const std::string& c, Instant t) const override {
    return get(c).mark(t);
  }
  std::optional<Instant> at_mark(const std::string& c, Millis m) const override {
    Instant t = get(c).at_mark(m);
    if (t == kNever) return std::nullopt;
    return t;
  }
  // An edit of `support` applying from `from`.
  void edit_support(CalendarSpec spec, Instant from) {
    support_ = support_.with_version(
        std::make_shared<const BusinessCalendar>(std::move(BusinessCalendar::create(spec)).value()),
        from);
  }

 private:
  const CalendarTimeline& get(const std::string& c) const { return c == "24x7" ? always_ : support_; }
  CalendarTimeline support_, always_;
};

Instant at(const char* iso) { return *parse_iso8601(iso); }

class SlaTest : public ::testing::Test {
 protected:
  SlaTest() {
    policy_.due = &calendars_;
    ctx_.policy = &policy_;
  }

  // A complete S3 incident (2 h response, 4 h resolution on `support`) opened at `when`.
  Change open_at(Instant when, std::optional<Impact> impact = std::nullopt) {
    OpenCaseInput in;
    in.type = CaseType::kIncident;
    in.subject = "Sin tono";
    in.account = "ACME";
    in.impact = impact;
    in.fields = Json{{"extension", "204"},
                     {"direction", "inbound"},
                     {"counterpart_number", "+13056445535"},
                     {"occurred_at", "2026-11-26T10:30:00Z"}};
    auto r = open_case(1, in, agent_, when, ctx_);
    EXPECT_TRUE(r.ok());
    history_ = r->events;
    return *r;
  }

  Case step(Result<Change> r) {
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    for (auto& e : r->events) history_.push_back(e);
    return r->after;
  }

  Calendars calendars_;
  // The due instants of a case's clocks on the calendars as they are now.
  struct Dues {
    std::optional<Instant> response, resolution;
  };
  Dues due(const Case& c) const {
    auto r = report_sla(c.sla, policy_, c.updated_at, c.status);
    return {r.response.due, r.resolution.due};
  }
  CasePolicy policy_;
  CaseContext ctx_;
  Actor agent_{1, Role::kAgent, 3, "", "Ana"};
  Actor customer_{2, Role::kCustomer, 0, "ACME", "Cliente"};
  std::vector<Event> history_;
};

TEST_F(SlaTest, StartInsideHoursCountsStraight) {
  // Wednesday 10:00 local = 16:00Z: due at 12:00 and 14:00 local.
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  EXPECT_EQ(c.sla.calendar, "support");
  EXPECT_EQ(format_iso8601(*due(c).response), "2026-11-25T18:00:00Z");
  EXPECT_EQ(format_iso8601(*due(c).resolution), "2026-11-25T20:00:00Z");
}

TEST_F(SlaTest, StartAfterClosingWaitsForTheNextOpening) {
  // Friday 20:30 local: 30 min on Friday, the rest from Saturday 07:00.
  Case c = open_at(at("2026-11-27T20:30:00-06:00")).after;
  EXPECT_EQ(format_iso8601(*due(c).response), "2026-11-28T14:30:00Z");  // Sat 08:30 local
}

TEST_F(SlaTest, S1CountsAroundTheClock) {
  Case c = open_at(at("2026-11-27T20:30:00-06:00"), Impact{"all", "outage"}).after;
  EXPECT_EQ(c.severity, Severity::kS1);
  EXPECT_EQ(c.sla.calendar, "24x7");
  EXPECT_EQ(format_iso8601(*due(c).response), "2026-11-28T03:30:00Z");
  EXPECT_EQ(format_iso8601(*due(c).resolution), "2026-11-28T05:30:00Z");
}

TEST_F(SlaTest, ClockDoesNotStartWhileDataIsMissing) {
  OpenCaseInput in;
  in.type = CaseType::kIncident;
  in.subject = "x";
  auto r = open_case(1, in, agent_, at("2026-11-25T16:00:00Z"), ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->after.sla.response.started_at);
  auto report = report_sla(r->after.sla, policy_, at("2026-11-25T20:00:00Z"), r->after.status);
  EXPECT_TRUE(report.paused);
  EXPECT_EQ(report.response.consumed, Millis{0});
}

TEST_F(SlaTest, PendingCustomerPausesAndTheAnswerResumes) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;  // Wed 10:00 local
  // An internal note does not stop anything; asking the customer pauses both clocks
  // after 30 minutes, but it is also the first response.
  c = step(add_reply(c, "¿Puede probar otro teléfono?", false, true, agent_, at("2026-11-25T16:30:00Z"), ctx_));
  EXPECT_EQ(*c.sla.response.stopped_at, at("2026-11-25T16:30:00Z"));
  EXPECT_FALSE(c.sla.resolution.running_since);
  EXPECT_EQ(c.sla.resolution.consumed, Millis{30 * 60 * 1000});
  // The customer answers two hours later: 3.5 h of resolution target remain.
  c = step(add_reply(c, "Sigue igual", false, false, customer_, at("2026-11-25T18:30:00Z"), ctx_));
  EXPECT_EQ(c.status, CaseStatus::kOpen);
  EXPECT_EQ(format_iso8601(*due(c).resolution), "2026-11-25T22:00:00Z");
  auto report = report_sla(c.sla, policy_, at("2026-11-25T19:30:00Z"), c.status);
  EXPECT_EQ(report.resolution.consumed, Millis{90 * 60 * 1000});
  EXPECT_DOUBLE_EQ(report.resolution.percent, 37.5);
  EXPECT_TRUE(report.response.met);
}

TEST_F(SlaTest, PauseOverTheWeekendCountsNothing) {
  Case c = open_at(at("2026-11-27T19:00:00-06:00")).after;  // Friday 19:00 local
  c = step(add_reply(c, "¿Datos?", false, true, agent_, at("2026-11-27T20:00:00-06:00"), ctx_));
  c = step(add_reply(c, "Aquí", false, false, customer_, at("2026-11-30T08:00:00-06:00"), ctx_));
  // 1 h consumed on Friday; 3 h remain from Monday 08:00.
  EXPECT_EQ(format_iso8601(*due(c).resolution), "2026-11-30T17:00:00Z");
}

TEST_F(SlaTest, SeverityChangeKeepsTheTimeAlreadyConsumed) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  c = step(change_severity(c, Severity::kS1, "whole office down", agent_, at("2026-11-25T17:00:00Z"), ctx_));
  // 1 h consumed on support; S1 resolution is 3 h, so 2 h remain around the clock.
  EXPECT_EQ(c.sla.calendar, "24x7");
  EXPECT_EQ(format_iso8601(*due(c).resolution), "2026-11-25T19:00:00Z");
  // Response S1 is 1 h and 1 h has passed: due now.
  EXPECT_EQ(format_iso8601(*due(c).response), "2026-11-25T17:00:00Z");
}

TEST_F(SlaTest, ResolveStopsAndReopenResumesTheResolutionClock) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  c = step(resolve(c, "Reinicio del SBC", agent_, at("2026-11-25T17:00:00Z"), ctx_));
  EXPECT_TRUE(c.sla.response.stopped_at);  // the resolution notice answered the customer
  EXPECT_EQ(c.sla.resolution.consumed, Millis{3600 * 1000});
  c = step(reopen(c, "Volvió a fallar", customer_, at("2026-11-26T16:00:00Z"), ctx_));
  EXPECT_EQ(c.status, CaseStatus::kOpen);
  EXPECT_FALSE(c.sla.resolution.stopped_at);
  EXPECT_EQ(format_iso8601(*due(c).resolution), "2026-11-26T19:00:00Z");  // 3 h left
}

TEST_F(SlaTest, BreachIsReportedPastTheTarget) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  auto report = report_sla(c.sla, policy_, at("2026-11-25T18:30:00Z"), c.status);
  EXPECT_TRUE(report.response.breached);
  EXPECT_FALSE(report.response.met);
  EXPECT_EQ(report.response.remaining, Millis{0});
  EXPECT_GT(report.response.percent, 100.0);
  EXPECT_FALSE(report.resolution.breached);
}

TEST_F(SlaTest, ReplayingTheHistoryGivesTheSameClocks) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  c = step(add_reply(c, "¿Datos?", false, true, agent_, at("2026-11-25T16:30:00Z"), ctx_));
  c = step(add_reply(c, "Aquí", false, false, customer_, at("2026-11-27T20:00:00-06:00"), ctx_));
  c = step(change_severity(c, Severity::kS2, "more users", agent_, at("2026-11-28T08:00:00-06:00"), ctx_));
  c = step(resolve(c, "ok", agent_, at("2026-11-28T09:00:00-06:00"), ctx_));
  c = step(reopen(c, "no", customer_, at("2026-11-28T10:00:00-06:00"), ctx_));
  SlaState replayed = replay_sla(history_, policy_);
  EXPECT_EQ(replayed.calendar, c.sla.calendar);
  for (auto [a, b] : {std::pair{&replayed.response, &c.sla.response},
                      std::pair{&replayed.resolution, &c.sla.resolution}}) {
    EXPECT_EQ(a->consumed, b->consumed);
    EXPECT_EQ(a->running_since, b->running_since);
    EXPECT_EQ(a->stopped_at, b->stopped_at);
    EXPECT_EQ(a->target, b->target);
  }
}

// Support edited to weekdays 06:00–11:30 (UTC−6), weekends closed.
CalendarSpec short_mornings() {
  CalendarSpec spec = support_calendar();
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {DayInterval{Seconds{6 * 3600}, Seconds{11 * 3600 + 1800}}};
  spec.week[5] = {};
  spec.week[6] = {};
  return spec;
}

TEST_F(SlaTest, CalendarEditMidwayKeepsTheTimeRunAndLaysTheRestOnTheNewHours) {
  // S3 (2 h response) complete on Wednesday 10:00 local: due at 12:00 on the old hours.
  Case c = open_at(at("2026-11-25T10:00:00-06:00")).after;
  EXPECT_EQ(due(c).response, at("2026-11-25T12:00:00-06:00"));
  const auto mark_before = c.sla.next_timer_mark;
  ASSERT_TRUE(mark_before);
  // At 11:00 the hours become 06:00–11:30: 1 h has run; 30 min are left today and 30 min
  // on Thursday morning.
  calendars_.edit_support(short_mornings(), at("2026-11-25T11:00:00-06:00"));
  EXPECT_EQ(due(c).response, at("2026-11-26T06:30:00-06:00"));
  // The stored timer is a mark: it is still the case's next one, only its instant moved.
  EXPECT_EQ(next_timer(c.sla, policy_, c.status), mark_before);
  // The warning (75 % = 1 h 30 min) falls on the new closing time, 11:30.
  std::optional<Instant> warning;
  for (const auto& t : pending_timers(c.sla, policy_, c.status))
    if (t.kind == TimerKind::kResponseWarning) warning = t.fire_at;
  EXPECT_EQ(warning, at("2026-11-25T11:30:00-06:00"));
  auto report = report_sla(c.sla, policy_, at("2026-11-25T15:00:00-06:00"), c.status);
  EXPECT_EQ(report.response.consumed, Millis{90 * 60'000});  // 10:00–11:30, then closed
  // At 11:31 the response warning fires; no breach yet (it waits for Thursday).
  auto fired = fire_sla_timers(c, at("2026-11-25T11:31:00-06:00"), ctx_);
  ASSERT_TRUE(fired.ok());
  int warnings = 0, breaches = 0;
  for (const auto& e : fired->events) {
    if (e.type == "sla_breached") ++breaches;
    if (e.type != "sla_warning" || e.data["target"] != "response") continue;
    ++warnings;
    EXPECT_EQ(e.data["due_at"], "2026-11-26T12:30:00Z");
    EXPECT_EQ(e.data["fire_at"], "2026-11-25T17:30:00Z");
  }
  EXPECT_EQ(warnings, 1);
  EXPECT_EQ(breaches, 0);
}

TEST_F(SlaTest, ReplayAfterACalendarEditGivesTheSameClocks) {
  Case c = open_at(at("2026-11-25T10:00:00-06:00")).after;
  c = step(add_reply(c, "¿Datos?", false, true, agent_, at("2026-11-25T10:30:00-06:00"), ctx_));
  calendars_.edit_support(short_mornings(), at("2026-11-25T11:00:00-06:00"));
  c = step(add_reply(c, "Aquí", false, false, customer_, at("2026-11-26T09:00:00-06:00"), ctx_));
  c = step(resolve(c, "ok", agent_, at("2026-11-27T07:00:00-06:00"), ctx_));
  SlaState replayed = replay_sla(history_, policy_);
  for (auto [a, b] : {std::pair{&replayed.response, &c.sla.response},
                      std::pair{&replayed.resolution, &c.sla.resolution}}) {
    EXPECT_EQ(a->consumed, b->consumed);
    EXPECT_EQ(a->stopped_at, b->stopped_at);
  }
  // Resolution: 10:00–10:30 Wednesday (support) and, after the edit and the pause, 09:00–11:30
  // Thursday and 06:00–07:00 Friday on the new hours.
  EXPECT_EQ(c.sla.resolution.consumed, Millis{(30 + 150 + 60) * 60'000});
}

}  // namespace
}  // namespace escala::core
