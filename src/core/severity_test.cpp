#include "core/severity.hpp"

#include <gtest/gtest.h>

namespace escala::core {
namespace {

TEST(SeverityMatrix, FollowsTheDefaultTableOfD3) {
  SeverityMatrix m;
  struct Row { const char* disruption; Severity one, several, all; };
  for (const auto& r : std::vector<Row>{
           {"outage", Severity::kS2, Severity::kS1, Severity::kS1},
           {"serious", Severity::kS2, Severity::kS2, Severity::kS1},
           {"degraded", Severity::kS3, Severity::kS3, Severity::kS2},
           {"none", Severity::kS4, Severity::kS4, Severity::kS4},
       }) {
    EXPECT_EQ(m.suggest({"one", r.disruption}), r.one) << r.disruption;
    EXPECT_EQ(m.suggest({"several", r.disruption}), r.several) << r.disruption;
    EXPECT_EQ(m.suggest({"all", r.disruption}), r.all) << r.disruption;
  }
}

TEST(SeverityMatrix, ValidatesWords) {
  EXPECT_EQ(validate_impact({"everyone", "outage"}).error().field, "impact.affected");
  EXPECT_EQ(validate_impact({"all", "meh"}).error().field, "impact.disruption");
  EXPECT_TRUE(validate_impact({"several", "serious"}).ok());
}

}  // namespace
}  // namespace escala::core
