#include "core/reports.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace escala::core {
namespace {

Case make(Severity sev, int level, CaseStatus status, int resolved_level, bool started,
          CaseType type = CaseType::kIncident) {
  Case c;
  c.type = type;
  c.severity = sev;
  c.level = level;
  c.status = status;
  c.resolved_level = resolved_level;
  c.account = "ACME";
  if (started) c.sla.response.started_at = Instant{};
  return c;
}

ClockReport clock(int64_t consumed_s, int64_t target_s, bool stopped) {
  ClockReport k;
  k.target = Seconds{target_s};
  k.consumed = Millis{consumed_s * 1000};
  k.breached = consumed_s > target_s;
  k.met = stopped && !k.breached;
  if (stopped) k.stopped_at = Instant{};
  return k;
}

TEST(SlaAggregator, CountsComplianceTimesAndFirstLevelResolution) {
  SlaAggregator agg;
  SlaReport met{"support", false, clock(600, 3600, true), clock(3000, 14400, true)};
  SlaReport late{"support", false, clock(4000, 3600, true), clock(20000, 14400, true)};
  SlaReport running{"support", false, clock(100, 3600, false), clock(100, 14400, false)};
  agg.add(make(Severity::kS3, 1, CaseStatus::kClosed, 1, true), met);
  agg.add(make(Severity::kS3, 2, CaseStatus::kResolved, 2, true), late);
  agg.add(make(Severity::kS1, 1, CaseStatus::kOpen, 0, true), running);
  agg.add(make(Severity::kS4, 1, CaseStatus::kAwaitingInfo, 0, false), SlaReport{});
  Json j = agg.to_json();
  EXPECT_EQ(j["total"]["cases"], 4);
  EXPECT_EQ(j["total"]["response"]["met"], 1);
  EXPECT_EQ(j["total"]["response"]["breached"], 1);
  EXPECT_EQ(j["total"]["response"]["in_progress"], 1);
  EXPECT_EQ(j["total"]["response"]["not_started"], 1);
  EXPECT_EQ(j["total"]["response"]["compliance_percent"], 50.0);
  EXPECT_EQ(j["by_severity"]["S3"]["cases"], 2);
  EXPECT_EQ(j["by_level"]["L2"]["resolution"]["breached"], 1);
  EXPECT_EQ(j["business_seconds_to_respond"]["count"], 2);
  EXPECT_EQ(j["business_seconds_to_respond"]["mean"], 2300);
  EXPECT_EQ(j["business_seconds_to_respond"]["p50"], 600);
  EXPECT_EQ(j["business_seconds_to_respond"]["p95"], 4000);
  EXPECT_EQ(j["first_level_resolution"]["incidents_resolved"], 2);
  EXPECT_EQ(j["first_level_resolution"]["resolved_at_level_1"], 1);
  EXPECT_EQ(j["first_level_resolution"]["rate_percent"], 50.0);
}

TEST(SlaAggregator, EmptyPeriodHasNoRates) {
  Json j = SlaAggregator{}.to_json();
  EXPECT_TRUE(j["total"]["response"]["compliance_percent"].is_null());
  EXPECT_TRUE(j["first_level_resolution"]["rate_percent"].is_null());
  EXPECT_EQ(j["business_seconds_to_resolve"]["count"], 0);
}

// ---- Dashboard ------------------------------------------------------------------------

Instant at(const char* iso) { return *parse_iso8601(iso); }

Case created(const char* iso, Severity sev, CaseStatus status, std::string channel = "email") {
  Case c;
  c.severity = sev;
  c.status = status;
  c.created_at = at(iso);
  c.channel = std::move(channel);
  return c;
}

LocalDays zone(const std::string& name) { return std::move(LocalDays::create(name)).value(); }

TEST(Backlog, CountsOpenCasesBySeverityAndAgeAndSkipsResolvedOrClosed) {
  BacklogAggregator agg(at("2026-12-10T12:00:00Z"));
  agg.add(created("2026-12-10T11:00:00Z", Severity::kS1, CaseStatus::kOpen));           // 1 h
  agg.add(created("2026-12-09T12:00:01Z", Severity::kS1, CaseStatus::kAwaitingInfo));   // < 1 d
  agg.add(created("2026-12-09T12:00:00Z", Severity::kS2, CaseStatus::kPendingCustomer));  // 1 d
  agg.add(created("2026-12-07T12:00:00Z", Severity::kS2, CaseStatus::kOpen));           // 3 d
  agg.add(created("2026-12-03T12:00:00Z", Severity::kS4, CaseStatus::kOpen));           // 7 d
  agg.add(created("2026-11-01T12:00:00Z", Severity::kS4, CaseStatus::kOpen));
  agg.add(created("2026-12-10T11:00:00Z", Severity::kS3, CaseStatus::kResolved));
  agg.add(created("2026-12-01T11:00:00Z", Severity::kS3, CaseStatus::kClosed));
  Json j = agg.to_json();
  EXPECT_EQ(j["total"], 6);
  EXPECT_EQ(j["by_severity"]["S1"]["lt_1d"], 2);
  EXPECT_EQ(j["by_severity"]["S2"]["1d_3d"], 1);
  EXPECT_EQ(j["by_severity"]["S2"]["3d_7d"], 1);
  EXPECT_EQ(j["by_severity"]["S4"]["gt_7d"], 2);
  EXPECT_EQ(j["by_severity"]["S3"]["total"], 0);  // every severity is there, zeros too
  EXPECT_EQ(j["by_age"]["gt_7d"], 2);
  EXPECT_EQ(j["buckets"], Json::array({"lt_1d", "1d_3d", "3d_7d", "gt_7d"}));
}

TEST(CreatedPerDay, CountsPerChannelPerLocalDayOfTheViewersZone) {
  // Madrid is UTC+1 in December: 23:30Z on the 1st is already the 2nd there.
  const LocalDays madrid = zone("Europe/Madrid");
  CreatedPerDayAggregator agg(madrid, at("2026-11-30T23:00:00Z"), at("2026-12-03T23:00:00Z"));
  agg.add(created("2026-12-01T10:00:00Z", Severity::kS3, CaseStatus::kOpen, "email"));
  agg.add(created("2026-12-01T23:30:00Z", Severity::kS3, CaseStatus::kOpen, "email"));
  agg.add(created("2026-12-02T09:00:00Z", Severity::kS2, CaseStatus::kClosed, "phone"));
  agg.add(created("2026-12-03T22:59:59Z", Severity::kS1, CaseStatus::kOpen, "phone"));
  agg.add(created("2026-12-03T23:00:00Z", Severity::kS1, CaseStatus::kOpen, "phone"));  // after
  agg.add(created("2026-11-30T22:59:59Z", Severity::kS1, CaseStatus::kOpen, "email"));  // before
  Json j = agg.to_json();
  EXPECT_EQ(j["days"], Json::array({"2026-12-01", "2026-12-02", "2026-12-03"}));
  EXPECT_EQ(j["by_channel"]["email"], Json::array({1, 1, 0}));
  EXPECT_EQ(j["by_channel"]["phone"], Json::array({0, 1, 1}));
  EXPECT_EQ(j["per_day"], Json::array({1, 2, 1}));
  EXPECT_EQ(j["total"], 4);
}

TEST(CreatedPerDay, SameCasesFallOnOtherDaysInUtc) {
  CreatedPerDayAggregator agg(zone("UTC"), at("2026-11-30T23:00:00Z"), at("2026-12-03T23:00:00Z"));
  agg.add(created("2026-12-01T23:30:00Z", Severity::kS3, CaseStatus::kOpen, ""));
  Json j = agg.to_json();
  // The period cuts the first and last UTC days; both are still listed.
  EXPECT_EQ(j["days"], Json::array({"2026-11-30", "2026-12-01", "2026-12-02", "2026-12-03"}));
  EXPECT_EQ(j["by_channel"]["(none)"], Json::array({0, 1, 0, 0}));
}

TEST(LocalDays, UnknownZoneIsAnInvalidArgumentNamingTheField) {
  auto r = LocalDays::create("Mars/Olympus_Mons");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().field, "zone");
}

TEST(LocalDays, DayStartsAtLocalMidnightAcrossDaylightSaving) {
  const LocalDays ny = zone("America/New_York");
  const int64_t march_8 = ny.day_of(at("2026-03-08T12:00:00Z"));  // spring forward at 02:00
  EXPECT_EQ(LocalDays::name_of(march_8), "2026-03-08");
  EXPECT_EQ(ny.start_of(march_8), at("2026-03-08T05:00:00Z"));      // EST midnight
  EXPECT_EQ(ny.start_of(march_8 + 1), at("2026-03-09T04:00:00Z"));  // EDT midnight
}

BreachRecord breach(const char* number, const char* iso, Severity sev, const char* target) {
  return BreachRecord{number, std::string("subject of ") + number, sev, 1, target, at(iso)};
}

TEST(Breaches, CountsTheLastSevenLocalDaysBySeverityTargetAndDay) {
  // Now is Thursday 10th 12:00 UTC; the window starts at 00:00 UTC on Friday the 4th.
  BreachAggregator agg(zone("UTC"), at("2026-12-10T12:00:00Z"));
  EXPECT_EQ(agg.since(), at("2026-12-04T00:00:00Z"));
  agg.add(breach("CMW-000001", "2026-12-03T23:59:59Z", Severity::kS1, "response"));  // too old
  agg.add(breach("CMW-000002", "2026-12-04T00:00:00Z", Severity::kS1, "response"));
  agg.add(breach("CMW-000002", "2026-12-04T02:00:00Z", Severity::kS1, "resolution"));
  agg.add(breach("CMW-000003", "2026-12-10T11:00:00Z", Severity::kS3, "resolution"));
  agg.add(breach("CMW-000004", "2026-12-10T12:00:01Z", Severity::kS3, "response"));  // future
  Json j = agg.to_json();
  EXPECT_EQ(j["total"], 3);
  EXPECT_EQ(j["by_severity"]["S1"]["response"], 1);
  EXPECT_EQ(j["by_severity"]["S1"]["resolution"], 1);
  EXPECT_EQ(j["by_severity"]["S3"]["total"], 1);
  EXPECT_EQ(j["days"].size(), 7u);
  EXPECT_EQ(j["days"][0], "2026-12-04");
  EXPECT_EQ(j["per_day"]["S1"], Json::array({2, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(j["per_day"]["S3"], Json::array({0, 0, 0, 0, 0, 0, 1}));
  ASSERT_EQ(j["latest"].size(), 3u);
  EXPECT_EQ(j["latest"][0]["case"], "CMW-000003");  // newest first
  EXPECT_EQ(j["latest"][0]["breached_at"], "2026-12-10T11:00:00Z");
  EXPECT_EQ(j["latest"][2]["target"], "response");
}

TEST(Breaches, KeepsOnlyTheLatestFewButCountsThemAll) {
  BreachAggregator agg(zone("UTC"), at("2026-12-10T12:00:00Z"), 7, 2);
  for (int i = 1; i <= 50; ++i) {
    char number[16];
    std::snprintf(number, sizeof number, "CMW-%06d", i);
    auto b = breach(number, "2026-12-05T00:00:00Z", Severity::kS2, "response");
    b.breached_at += Seconds{i};
    agg.add(b);
  }
  Json j = agg.to_json();
  EXPECT_EQ(j["total"], 50);
  ASSERT_EQ(j["latest"].size(), 2u);
  EXPECT_EQ(j["latest"][0]["case"], "CMW-000050");
  EXPECT_EQ(j["latest"][1]["case"], "CMW-000049");
}

}  // namespace
}  // namespace escala::core
