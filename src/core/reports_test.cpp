#include "core/reports.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace escala::core
