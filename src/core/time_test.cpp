#include "core/time.hpp"

#include <gtest/gtest.h>

namespace escala {
namespace {

TEST(Iso8601, RoundTripsUtc) {
  auto t = parse_iso8601("2026-11-27T20:47:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_iso8601(*t), "2026-11-27T20:47:00Z");
}

TEST(Iso8601, KeepsMilliseconds) {
  auto t = parse_iso8601("2026-11-27T20:47:00.5Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(format_iso8601(*t), "2026-11-27T20:47:00.500Z");
}

TEST(Iso8601, AppliesOffsets) {
  EXPECT_EQ(format_iso8601(*parse_iso8601("2026-11-27T10:30:00-06:00")), "2026-11-27T16:30:00Z");
  EXPECT_EQ(format_iso8601(*parse_iso8601("2026-11-27T10:30+0530")), "2026-11-27T05:00:00Z");
}

TEST(Iso8601, NoZoneNeedsDefaultOffset) {
  EXPECT_FALSE(parse_iso8601("2026-11-27T10:30:00"));
  auto t = parse_iso8601("2026-11-27 10:30", Seconds{-6 * 3600});
  ASSERT_TRUE(t);
  EXPECT_EQ(format_iso8601(*t), "2026-11-27T16:30:00Z");
}

TEST(Iso8601, RejectsNonsense) {
  for (const char* bad : {"", "2026-13-01T00:00Z", "2026-02-30T00:00Z", "2026-11-27T25:00Z",
                          "2026-11-27", "yesterday", "2026-11-27T10:30Zjunk", "2026-11-27T10:30+99:00"})
    EXPECT_FALSE(parse_iso8601(bad)) << bad;
}

TEST(Iso8601, CrossesMidnightWithOffset) {
  EXPECT_EQ(format_iso8601(*parse_iso8601("2026-12-31T20:00:00-06:00")), "2027-01-01T02:00:00Z");
}

}  // namespace
}  // namespace escala
