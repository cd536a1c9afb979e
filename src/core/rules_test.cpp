#include "core/rules.hpp"

#include <gtest/gtest.h>

namespace escala::core {
namespace {

const Seconds kUtcMinus6{-6 * 3600};

Json complete_activation(const char* type) {
  Json f = {{"account_id", "ACME"},
            {"user_full_name", "Ana Pérez"},
            {"extension", "204"},
            {"direct_number", true},
            {"extension_type", type},
            {"ring_groups", Json::array({"ventas"})}};
  return f;
}

TEST(RequiredFields, EmptyActivationMissesEverythingButTeamsEmail) {
  auto m = missing_fields(CaseType::kActivation, Json::object());
  EXPECT_EQ(m, (std::vector<std::string>{"account_id", "user_full_name", "extension",
                                         "direct_number", "extension_type", "ring_groups"}));
}

TEST(RequiredFields, TeamsNeedsTheEmailToLink) {
  auto m = missing_fields(CaseType::kActivation, complete_activation("teams"));
  EXPECT_EQ(m, std::vector<std::string>{"teams_email"});
}

TEST(RequiredFields, SipIsCompleteWithoutEmail) {
  EXPECT_TRUE(missing_fields(CaseType::kActivation, complete_activation("sip")).empty());
}

TEST(RequiredFields, EmptyRingGroupListCountsAsStated) {
  Json f = complete_activation("sip");
  f["ring_groups"] = Json::array();
  EXPECT_TRUE(missing_fields(CaseType::kActivation, f).empty());
}

TEST(RequiredFields, IncidentNeedsFourItems) {
  auto m = missing_fields(CaseType::kIncident, Json{{"extension", "204"}});
  EXPECT_EQ(m, (std::vector<std::string>{"direction", "counterpart_number", "occurred_at"}));
}

TEST(RequiredFields, RequestNeedsNothing) {
  EXPECT_TRUE(missing_fields(CaseType::kRequest, Json::object()).empty());
}

TEST(MergeFields, NormalisesValues) {
  auto r = merge_fields(CaseType::kIncident, Json::object(),
                        Json{{"extension", 204},
                             {"direction", "Outbound"},
                             {"counterpart_number", "+52 (55) 4170-8422"},
                             {"occurred_at", "2026-11-26T10:30"}},
                        kUtcMinus6);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["extension"], "204");
  EXPECT_EQ((*r)["direction"], "outbound");
  EXPECT_EQ((*r)["counterpart_number"], "+525541708422");
  EXPECT_EQ((*r)["occurred_at"], "2026-11-26T16:30:00Z");
}

TEST(MergeFields, UnknownFieldIsNamed) {
  auto r = merge_fields(CaseType::kIncident, Json::object(), Json{{"colour", "red"}}, kUtcMinus6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownField);
  EXPECT_EQ(r.error().field, "fields.colour");
}

TEST(MergeFields, WrongTypesAreNamed) {
  struct Case { const char* name; Json value; CaseType type; };
  for (const auto& c : std::vector<Case>{
           {"extension", "20a", CaseType::kIncident},
           {"direction", "sideways", CaseType::kIncident},
           {"counterpart_number", "call me", CaseType::kIncident},
           {"occurred_at", "yesterday", CaseType::kIncident},
           {"direct_number", "yes", CaseType::kActivation},
           {"ring_groups", "ventas", CaseType::kActivation},
           {"user_full_name", "   ", CaseType::kActivation},
           {"teams_email", "not-an-email", CaseType::kActivation},
       }) {
    auto r = merge_fields(c.type, Json::object(), Json{{c.name, c.value}}, kUtcMinus6);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << c.name;
    EXPECT_EQ(r.error().field, std::string("fields.") + c.name);
  }
}

TEST(MergeFields, NullClearsAField) {
  auto r = merge_fields(CaseType::kIncident, Json{{"extension", "204"}}, Json{{"extension", nullptr}},
                        kUtcMinus6);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->contains("extension"));
}

TEST(MergeFields, TeamsEmailWithSipIsRefused) {
  Json f = complete_activation("sip");
  f["teams_email"] = "ana@acme.com";
  auto r = merge_fields(CaseType::kActivation, Json::object(), f, kUtcMinus6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "fields.teams_email");
}

TEST(MergeFields, SwitchingTeamsToSipDropsTheEmail) {
  Json current = complete_activation("teams");
  current["teams_email"] = "ana@acme.com";
  auto r = merge_fields(CaseType::kActivation, current, Json{{"extension_type", "sip"}}, kUtcMinus6);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->contains("teams_email"));
  EXPECT_TRUE(missing_fields(CaseType::kActivation, *r).empty());
}

}  // namespace
}  // namespace escala::core
