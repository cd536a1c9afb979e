#include "core/escalation.hpp"

#include <gtest/gtest.h>

#include "core/calendar.hpp"
#include "core/lifecycle.hpp"
#include "core/sla.hpp"

namespace escala::core {
namespace {

TEST(EscalationRules, DefaultsRoundTripThroughJson) {
  auto rules = default_rules();
  auto again = rules_from_json(rules_to_json(rules));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(rules_to_json(*again), rules_to_json(rules));
}

TEST(EscalationRules, BadRulesNameTheMember) {
  auto r = rules_from_json(Json::array({{{"name", "x"}, {"on", "tuesday"}, {"actions", Json::array({{{"type", "escalate"}}})}}}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field, "rules[0].on");
  r = rules_from_json(Json::array({{{"name", "x"}, {"on", "created"}, {"actions", Json::array({{{"type", "notify"}, {"to", "everyone"}}})}}}));
  EXPECT_EQ(r.error().field, "rules[0].actions[0].to");
  r = rules_from_json(Json::array({{{"name", "x"}, {"on", "created"}, {"colour", 1}, {"actions", Json::array({{{"type", "escalate"}}})}}}));
  EXPECT_EQ(r.error().code, ErrorCode::kUnknownField);
  r = rules_from_json(Json::array({{{"name", "x"}, {"on", "created"}, {"actions", Json::array()}}}));
  EXPECT_EQ(r.error().field, "rules[0].actions");
}

TEST(EscalationRules, RecipientsSkipQuietPeople) {
  Case c;
  c.assignee_id = 3;
  std::vector<StaffMember> staff = {{1, Role::kSupervisor, 3, false}, {2, Role::kSupervisor, 3, true},
                                    {3, Role::kAgent, 1, false}, {4, Role::kAgent, 2, false}};
  RuleAction sup{RuleAction::Kind::kNotify, false, Role::kSupervisor, std::nullopt};
  EXPECT_EQ(recipients(sup, c, staff), std::vector<int64_t>{1});
  RuleAction l2{RuleAction::Kind::kNotify, false, Role::kAgent, 2};
  EXPECT_EQ(recipients(l2, c, staff), std::vector<int64_t>{4});
  RuleAction assignee{RuleAction::Kind::kNotify, true, std::nullopt, std::nullopt};
  EXPECT_EQ(recipients(assignee, c, staff), std::vector<int64_t>{3});
}

class Wall final : public DueCalculator {
 public:
  std::optional<Millis> mark(const std::string&, Instant t) const override {
    return t.time_since_epoch();
  }
  std::optional<Instant> at_mark(const std::string&, Millis m) const override { return Instant{m}; }
};

class RulesInTheLifecycle : public ::testing::Test {
 protected:
  RulesInTheLifecycle() {
    policy_.due = &wall_;
    ctx_.policy = &policy_;
    ctx_.staff = {{10, Role::kSupervisor, 3, false}, {11, Role::kSupervisor, 3, true},
                  {20, Role::kAgent, 1, false}, {21, Role::kAgent, 2, false}};
  }
  Change open(std::optional<Impact> impact) {
    OpenCaseInput in;
    in.subject = "Troncal caída";
    in.impact = impact;
    auto r = open_case(1, in, Actor{20, Role::kAgent, 1, "", "Ana"}, t0_, ctx_);
    EXPECT_TRUE(r.ok());
    return *r;
  }
  Wall wall_;
  CasePolicy policy_;
  CaseContext ctx_;
  Instant t0_ = *parse_iso8601("2026-11-25T16:00:00Z");
};

TEST_F(RulesInTheLifecycle, NewS1AlertsTheLevelTwoAgents) {
  Change c = open(Impact{"all", "outage"});
  ASSERT_EQ(c.notifications.size(), 1u);
  EXPECT_EQ(c.notifications[0].user_id, 21);
  EXPECT_EQ(c.notifications[0].kind, "created");
  EXPECT_NE(c.notifications[0].subject.find("[CMW-000001]"), std::string::npos);
  EXPECT_TRUE(open(Impact{"one", "degraded"}).notifications.empty());
}

TEST_F(RulesInTheLifecycle, WarningsTellTheAssigneeAndTheSupervisorsButNotTheQuiet) {
  Case c = open(Impact{"one", "none"}).after;  // S4: 2 h response
  c = assign(c, 20, "Ana", Actor{10, Role::kSupervisor, 3, "", "Sara"}, t0_, ctx_)->after;
  auto fired = fire_sla_timers(c, t0_ + Seconds{90 * 60}, ctx_);
  ASSERT_TRUE(fired.ok());
  ASSERT_EQ(fired->events.size(), 1u);
  EXPECT_EQ(fired->events[0].type, "sla_warning");
  std::vector<int64_t> to;
  for (const auto& n : fired->notifications) to.push_back(n.user_id);
  EXPECT_EQ(to, (std::vector<int64_t>{20, 10}));
}

TEST_F(RulesInTheLifecycle, ResolutionBreachAtLevelOneEscalatesToLevelTwo) {
  Case c = open(Impact{"one", "none"}).after;  // S4: 4 h resolution
  c = assign(c, 20, "Ana", Actor{10, Role::kSupervisor, 3, "", "Sara"}, t0_, ctx_)->after;
  auto fired = fire_sla_timers(c, t0_ + Seconds{4 * 3600 + 1}, ctx_);
  ASSERT_TRUE(fired.ok());
  std::vector<std::string> types;
  for (const auto& e : fired->events) types.push_back(e.type);
  // Response warning and breach, resolution warning and breach, then the rule.
  EXPECT_EQ(types, (std::vector<std::string>{"sla_warning", "sla_breached", "sla_warning",
                                             "sla_breached", "escalated"}));
  EXPECT_EQ(fired->after.level, 2);
  EXPECT_EQ(fired->events.back().actor_role, Role::kSystem);
  EXPECT_EQ(fired->events.back().data["rule"], "resolution breach at L1 goes to L2");
  // Firing again at the same instant records nothing: once per target and cycle.
  auto again = fire_sla_timers(fired->after, t0_ + Seconds{4 * 3600 + 2}, ctx_);
  EXPECT_TRUE(again->events.empty());
}

}  // namespace
}  // namespace escala::core
