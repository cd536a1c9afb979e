// SLA clocks (D2) over the real support calendar (Mon–Fri 06:00–21:00, Sat–Sun
// 07:00–17:00, UTC−6) and 24x7, driven through the lifecycle so that the events and the
// clocks are the ones production produces. Names say the edge each test pins.

#include "core/sla.hpp"

#include <gtest/gtest.h>

#include "core/calendar.hpp"
#include "core/lifecycle.hpp"

namespace escala::core {
namespace {

class Calendars final : public DueCalculator {
 public:
  Calendars()
      : support_(std::move(BusinessCalendar::create(support_calendar())).value()),
        always_(std::move(BusinessCalendar::create(always_open_calendar())).value()) {}
  std::optional<Instant> add(const std::string& c, Instant from, Seconds s) const override {
    return get(c).add(from, s);
  }
  std::optional<Millis> between(const std::string& c, Instant from, Instant to) const override {
    return get(c).between_millis(from, to);
  }

 private:
  const BusinessCalendar& get(const std::string& c) const { return c == "24x7" ? always_ : support_; }
  BusinessCalendar support_, always_;
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
  EXPECT_EQ(format_iso8601(*c.sla.response.due), "2026-11-25T18:00:00Z");
  EXPECT_EQ(format_iso8601(*c.sla.resolution.due), "2026-11-25T20:00:00Z");
}

TEST_F(SlaTest, StartAfterClosingWaitsForTheNextOpening) {
  // Friday 20:30 local: 30 min on Friday, the rest from Saturday 07:00.
  Case c = open_at(at("2026-11-27T20:30:00-06:00")).after;
  EXPECT_EQ(format_iso8601(*c.sla.response.due), "2026-11-28T14:30:00Z");  // Sat 08:30 local
}

TEST_F(SlaTest, S1CountsAroundTheClock) {
  Case c = open_at(at("2026-11-27T20:30:00-06:00"), Impact{"all", "outage"}).after;
  EXPECT_EQ(c.severity, Severity::kS1);
  EXPECT_EQ(c.sla.calendar, "24x7");
  EXPECT_EQ(format_iso8601(*c.sla.response.due), "2026-11-28T03:30:00Z");
  EXPECT_EQ(format_iso8601(*c.sla.resolution.due), "2026-11-28T05:30:00Z");
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
  EXPECT_EQ(format_iso8601(*c.sla.resolution.due), "2026-11-25T22:00:00Z");
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
  EXPECT_EQ(format_iso8601(*c.sla.resolution.due), "2026-11-30T17:00:00Z");
}

TEST_F(SlaTest, SeverityChangeKeepsTheTimeAlreadyConsumed) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  c = step(change_severity(c, Severity::kS1, "whole office down", agent_, at("2026-11-25T17:00:00Z"), ctx_));
  // 1 h consumed on support; S1 resolution is 3 h, so 2 h remain around the clock.
  EXPECT_EQ(c.sla.calendar, "24x7");
  EXPECT_EQ(format_iso8601(*c.sla.resolution.due), "2026-11-25T19:00:00Z");
  // Response S1 is 1 h and 1 h has passed: due now.
  EXPECT_EQ(format_iso8601(*c.sla.response.due), "2026-11-25T17:00:00Z");
}

TEST_F(SlaTest, ResolveStopsAndReopenResumesTheResolutionClock) {
  Case c = open_at(at("2026-11-25T16:00:00Z")).after;
  c = step(resolve(c, "Reinicio del SBC", agent_, at("2026-11-25T17:00:00Z"), ctx_));
  EXPECT_TRUE(c.sla.response.stopped_at);  // the resolution notice answered the customer
  EXPECT_EQ(c.sla.resolution.consumed, Millis{3600 * 1000});
  c = step(reopen(c, "Volvió a fallar", customer_, at("2026-11-26T16:00:00Z"), ctx_));
  EXPECT_EQ(c.status, CaseStatus::kOpen);
  EXPECT_FALSE(c.sla.resolution.stopped_at);
  EXPECT_EQ(format_iso8601(*c.sla.resolution.due), "2026-11-26T19:00:00Z");  // 3 h left
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
    EXPECT_EQ(a->due, b->due);
    EXPECT_EQ(a->running_since, b->running_since);
    EXPECT_EQ(a->stopped_at, b->stopped_at);
    EXPECT_EQ(a->target, b->target);
  }
}

}  // namespace
}  // namespace escala::core
