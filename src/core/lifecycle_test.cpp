#include "core/lifecycle.hpp"
#include "core/sla.hpp"

#include <gtest/gtest.h>

namespace escala::core {
namespace {

// Counts every second: enough to check which target and start the lifecycle uses.
class WallDue final : public DueCalculator {
 public:
  std::optional<Millis> mark(const std::string& calendar, Instant t) const override {
    last_calendar = calendar;
    return t.time_since_epoch();
  }
  std::optional<Instant> at_mark(const std::string&, Millis m) const override { return Instant{m}; }
  mutable std::string last_calendar;
};

class LifecycleTest : public ::testing::Test {
 protected:
  LifecycleTest() {
    policy_.due = &due_;
    ctx_.policy = &policy_;
    ctx_.activation_charge = Money{2500, "USD"};
    ctx_.default_offset = Seconds{-6 * 3600};
  }

  Case open(CaseType type, Json fields, std::optional<Impact> impact = std::nullopt,
            const Actor* who = nullptr) {
    OpenCaseInput in;
    in.type = type;
    in.account = "ACME";
    in.subject = "Extensión sin tono";
    in.channel = "email";
    in.fields = std::move(fields);
    in.impact = impact;
    auto r = open_case(7, in, who ? *who : agent1_, t0_, ctx_);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r->after;
  }

  Case complete_incident() {
    return open(CaseType::kIncident, Json{{"extension", "204"},
                                          {"direction", "inbound"},
                                          {"counterpart_number", "+13056445535"},
                                          {"occurred_at", "2026-11-26T10:30:00Z"}});
  }

  // Applies a change expected to succeed.
  static Case ok(Result<Change> r) {
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? r->after : Case{};
  }

  static ErrorCode code(const Result<Change>& r) {
    EXPECT_FALSE(r.ok());
    return r.ok() ? ErrorCode::kInternal : r.error().code;
  }

  WallDue due_;
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
  Instant t0_ = *parse_iso8601("2026-11-27T15:00:00Z");
  Instant t1_ = t0_ + Seconds{600};
  Actor agent1_{11, Role::kAgent, 1, "", "Ana L1"};
  Actor agent2_{12, Role::kAgent, 2, "", "Beto L2"};
  Actor agent3_{13, Role::kAgent, 3, "", "Caro L3"};
  Actor supervisor_{20, Role::kSupervisor, 3, "", "Sara"};
  Actor customer_{30, Role::kCustomer, 0, "ACME", "Cliente"};
  Actor stranger_{31, Role::kCustomer, 0, "OTHER", "Otro"};
};

TEST_F(LifecycleTest, CompleteIncidentOpensAtLevelOneAndStartsTheClocks) {
  Case c = complete_incident();
  EXPECT_EQ(c.status, CaseStatus::kOpen);
  EXPECT_EQ(c.level, 1);
  EXPECT_TRUE(c.missing_fields.empty());
  ASSERT_TRUE(c.completed_at);
  EXPECT_EQ(*c.completed_at, t0_);
  EXPECT_EQ(due(c).response, t0_ + Seconds{7200});  // S3 default: 2 h response
  EXPECT_EQ(due(c).resolution, t0_ + Seconds{4 * 3600});
}

TEST_F(LifecycleTest, MissingDataWaitsAndTheClockStartsWhenComplete) {
  Case c = open(CaseType::kIncident, Json{{"extension", "204"}});
  EXPECT_EQ(c.status, CaseStatus::kAwaitingInfo);
  EXPECT_FALSE(c.completed_at);
  EXPECT_FALSE(due(c).response);
  Case d = ok(update_fields(c,
                            Json{{"direction", "outbound"},
                                 {"counterpart_number", "5541708422"},
                                 {"occurred_at", "2026-11-26 10:30"}},
                            customer_, t1_, ctx_));
  EXPECT_EQ(d.status, CaseStatus::kOpen);
  EXPECT_EQ(*d.completed_at, t1_);
  EXPECT_EQ(due(d).response, t1_ + Seconds{7200});
  EXPECT_EQ(d.fields["occurred_at"], "2026-11-26T16:30:00Z");  // read at UTC-6
}

TEST_F(LifecycleTest, ChangesRecordOldAndNewValues) {
  Case c = open(CaseType::kIncident, Json{{"extension", "204"}});
  auto r = update_fields(c, Json{{"extension", "205"}}, agent1_, t1_, ctx_);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_EQ(r->events[0].type, "fields_updated");
  EXPECT_EQ(r->events[0].seq, c.version + 1);
  EXPECT_EQ(r->events[0].data["changes"]["extension"]["old"], "204");
  EXPECT_EQ(r->events[0].data["changes"]["extension"]["new"], "205");
}

TEST_F(LifecycleTest, CompletedActivationRecordsOneBillableItem) {
  Json f = {{"account_id", "ACME"}, {"user_full_name", "Ana"}, {"extension", "204"},
            {"direct_number", false}, {"extension_type", "sip"}};
  Case c = open(CaseType::kActivation, f);
  EXPECT_EQ(c.status, CaseStatus::kAwaitingInfo);
  auto r = update_fields(c, Json{{"ring_groups", Json::array()}}, customer_, t1_, ctx_);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->billable);
  EXPECT_EQ(r->billable->charge.amount_cents, 2500);
  EXPECT_EQ(r->billable->account, "ACME");
  // Removing and restoring data does not charge twice.
  Case d = ok(update_fields(r->after, Json{{"ring_groups", nullptr}}, agent1_, t1_, ctx_));
  auto again = update_fields(d, Json{{"ring_groups", Json::array({"ventas"})}}, agent1_, t1_, ctx_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->billable);
}

TEST_F(LifecycleTest, SeverityFollowsTheImpactMatrixAndS1CountsAroundTheClock) {
  Case c = open(CaseType::kIncident, Json::object(), Impact{"all", "outage"});
  EXPECT_EQ(c.severity, Severity::kS1);
  EXPECT_EQ(c.sla.calendar, "24x7");
  Case d = open(CaseType::kIncident, Json::object(), Impact{"one", "degraded"});
  EXPECT_EQ(d.severity, Severity::kS3);
  EXPECT_EQ(d.sla.calendar, "support");
}

TEST_F(LifecycleTest, OverridingTheSuggestionNeedsAReason) {
  Case c = open(CaseType::kIncident, Json::object(), Impact{"one", "degraded"});
  EXPECT_EQ(code(change_severity(c, Severity::kS1, "", agent1_, t1_, ctx_)),
            ErrorCode::kInvalidArgument);
  Case d = ok(change_severity(c, Severity::kS1, "CEO's line", agent1_, t1_, ctx_));
  EXPECT_EQ(d.severity, Severity::kS1);
  EXPECT_EQ(d.severity_reason, "CEO's line");
  EXPECT_EQ(code(change_severity(c, Severity::kS1, "x", customer_, t1_, ctx_)),
            ErrorCode::kPermissionDenied);
}

TEST_F(LifecycleTest, SeverityChangeRecomputesTargetsFromTheOriginalStart) {
  Case c = complete_incident();
  Case d = ok(change_severity(c, Severity::kS1, "outage confirmed", agent1_, t1_, ctx_));
  EXPECT_EQ(d.sla.calendar, "24x7");
  EXPECT_EQ(due(d).response, t0_ + Seconds{3600});
  EXPECT_EQ(due(d).resolution, t0_ + Seconds{3 * 3600});
}

TEST_F(LifecycleTest, EscalationClimbsOneLevelAtATimeAndStopsAtThree) {
  Case c = complete_incident();
  Case l2 = ok(escalate(c, "needs SBC logs", agent1_, t1_, ctx_));
  EXPECT_EQ(l2.level, 2);
  EXPECT_EQ(code(escalate(l2, "again", agent1_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  Case l3 = ok(escalate(l2, "carrier issue", agent2_, t1_, ctx_));
  EXPECT_EQ(l3.level, 3);
  EXPECT_EQ(code(escalate(l3, "beyond", agent3_, t1_, ctx_)), ErrorCode::kInvalidTransition);
  EXPECT_EQ(code(escalate(c, "no reason", customer_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  EXPECT_EQ(code(escalate(c, "", agent1_, t1_, ctx_)), ErrorCode::kInvalidArgument);
}

TEST_F(LifecycleTest, EscalationIsAllowedWhileAwaitingInfo) {
  Case c = open(CaseType::kIncident, Json::object());
  Case d = ok(escalate(c, "VIP", agent1_, t1_, ctx_));
  EXPECT_EQ(d.level, 2);
  EXPECT_EQ(d.status, CaseStatus::kAwaitingInfo);
}

TEST_F(LifecycleTest, EscalatingAPendingCaseReopensIt) {
  Case c = ok(add_reply(complete_incident(), "¿Puede reiniciar el teléfono?", false, true, agent1_, t1_, ctx_));
  ASSERT_EQ(c.status, CaseStatus::kPendingCustomer);
  Case d = ok(escalate(c, "no answer needed", agent1_, t1_, ctx_));
  EXPECT_EQ(d.status, CaseStatus::kOpen);
}

TEST_F(LifecycleTest, PendingReplyWaitsForTheCustomerWhoseAnswerReopens) {
  Case c = complete_incident();
  Case p = ok(add_reply(c, "¿Desde cuándo?", false, true, agent1_, t1_, ctx_));
  EXPECT_EQ(p.status, CaseStatus::kPendingCustomer);
  EXPECT_EQ(*p.first_response_at, t1_);
  Case o = ok(add_reply(p, "Desde ayer", false, false, customer_, t1_ + Seconds{60}, ctx_));
  EXPECT_EQ(o.status, CaseStatus::kOpen);
}

TEST_F(LifecycleTest, ReplyWhileAwaitingInfoDoesNotCountAsResponse) {
  Case c = open(CaseType::kIncident, Json::object());
  Case d = ok(add_reply(c, "Faltan datos", false, true, agent1_, t1_, ctx_));
  EXPECT_EQ(d.status, CaseStatus::kAwaitingInfo);
  EXPECT_FALSE(d.first_response_at);
}

TEST_F(LifecycleTest, InternalNotesAreStaffOnlyAndHidden) {
  Case c = complete_incident();
  auto r = add_reply(c, "cliente difícil", true, false, agent1_, t1_, ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->events[0].internal);
  EXPECT_EQ(r->events[0].type, "note");
  EXPECT_FALSE(r->after.first_response_at);
  EXPECT_EQ(code(add_reply(c, "x", true, false, customer_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  EXPECT_EQ(code(add_reply(c, "x", false, true, customer_, t1_, ctx_)), ErrorCode::kPermissionDenied);
}

TEST_F(LifecycleTest, ResolveConfirmClose) {
  Case c = complete_incident();
  EXPECT_EQ(code(confirm(c, customer_, t1_, ctx_)), ErrorCode::kInvalidTransition);
  Case r = ok(resolve(c, "Reconfigured the trunk", agent1_, t1_, ctx_));
  EXPECT_EQ(r.status, CaseStatus::kResolved);
  EXPECT_EQ(code(resolve(r, "again", agent1_, t1_, ctx_)), ErrorCode::kInvalidTransition);
  EXPECT_EQ(code(add_reply(r, "anything?", false, true, agent1_, t1_, ctx_)), ErrorCode::kInvalidTransition);
  EXPECT_EQ(code(escalate(r, "late", agent1_, t1_, ctx_)), ErrorCode::kInvalidTransition);
  EXPECT_EQ(code(confirm(r, stranger_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  Case closed = ok(confirm(r, customer_, t1_, ctx_));
  EXPECT_EQ(closed.status, CaseStatus::kClosed);
  EXPECT_EQ(*closed.closed_at, t1_);
}

TEST_F(LifecycleTest, CannotResolveWhileAwaitingInfo) {
  Case c = open(CaseType::kIncident, Json::object());
  EXPECT_EQ(code(resolve(c, "done", agent1_, t1_, ctx_)), ErrorCode::kInvalidTransition);
}

TEST_F(LifecycleTest, ReopenReturnsToTheLevelThatResolved) {
  Case c = ok(escalate(complete_incident(), "specialist", agent1_, t1_, ctx_));
  Case r = ok(resolve(c, "fixed at L2", agent2_, t1_, ctx_));
  EXPECT_EQ(r.resolved_level, 2);
  Case o = ok(reopen(r, "still no tone", customer_, t1_ + Seconds{60}, ctx_));
  EXPECT_EQ(o.status, CaseStatus::kOpen);
  EXPECT_EQ(o.level, 2);
  EXPECT_FALSE(o.resolved_at);
}

TEST_F(LifecycleTest, ClosedCasesReopenOnlyWithinTheWindow) {
  Case closed = ok(confirm(ok(resolve(complete_incident(), "ok", agent1_, t1_, ctx_)), customer_, t1_, ctx_));
  EXPECT_TRUE(reopen(closed, "again", customer_, t1_ + Seconds{3600}, ctx_).ok());
  EXPECT_EQ(code(reopen(closed, "again", customer_, t1_ + policy_.reopen_window + Seconds{1}, ctx_)),
            ErrorCode::kInvalidTransition);
  EXPECT_EQ(code(add_reply(closed, "hola", false, false, customer_, t1_, ctx_)),
            ErrorCode::kInvalidTransition);
}

TEST_F(LifecycleTest, CustomersActOnlyOnTheirAccount) {
  Case c = complete_incident();
  EXPECT_TRUE(can_view(customer_, c));
  EXPECT_FALSE(can_view(stranger_, c));
  EXPECT_EQ(code(update_fields(c, Json{{"extension", "1"}}, stranger_, t1_, ctx_)),
            ErrorCode::kPermissionDenied);
  OpenCaseInput in;
  in.account = "ACME";
  in.subject = "x";
  EXPECT_EQ(code(open_case(1, in, stranger_, t0_, ctx_)), ErrorCode::kPermissionDenied);
}

TEST_F(LifecycleTest, AgentsTakeCasesOnlyForThemselves) {
  Case c = complete_incident();
  Case mine = ok(assign(c, agent1_.user_id, "Ana L1", agent1_, t1_, ctx_));
  EXPECT_EQ(mine.assignee_id, agent1_.user_id);
  EXPECT_EQ(code(assign(c, agent2_.user_id, "Beto", agent1_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  Case other = ok(assign(c, agent2_.user_id, "Beto", supervisor_, t1_, ctx_));
  EXPECT_EQ(other.assignee_id, agent2_.user_id);
}

// Regression: the impact, reopen and confirm were open to agents below the case's level.
TEST_F(LifecycleTest, AgentsBelowTheCasesLevelCannotMoveItsSeverityOrState) {
  Case l2 = ok(escalate(complete_incident(), "specialist", agent1_, t1_, ctx_));
  EXPECT_EQ(code(update_impact(l2, Impact{"all", "outage"}, agent1_, t1_, ctx_)),
            ErrorCode::kPermissionDenied);
  Case resolved = ok(resolve(l2, "fixed", agent2_, t1_, ctx_));
  EXPECT_EQ(code(reopen(resolved, "again", agent1_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  EXPECT_EQ(code(confirm(resolved, agent1_, t1_, ctx_)), ErrorCode::kPermissionDenied);
  EXPECT_TRUE(reopen(resolved, "again", agent2_, t1_, ctx_).ok());
  EXPECT_TRUE(confirm(resolved, supervisor_, t1_, ctx_).ok());
  EXPECT_TRUE(update_impact(l2, Impact{"all", "outage"}, customer_, t1_, ctx_).ok());
}

TEST_F(LifecycleTest, EventSequenceNumbersContinueTheHistory) {
  Case c = complete_incident();
  EXPECT_EQ(c.version, 2);  // created, status_changed
  auto r = escalate(c, "why", agent1_, t1_, ctx_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->events[0].seq, 3);
  EXPECT_EQ(r->after.version, 3);
}

}  // namespace
}  // namespace escala::core

namespace escala::core {
namespace {

TEST(LifecycleLevels, PublicRepliesBelongToAgentsAtTheCasesLevel) {
  CasePolicy policy;
  CaseContext ctx{&policy, std::nullopt, Seconds{0}};
  Instant t = *parse_iso8601("2026-11-27T15:00:00Z");
  Actor l1{1, Role::kAgent, 1, "", "L1"}, l2{2, Role::kAgent, 2, "", "L2"};
  OpenCaseInput in;
  in.subject = "x";
  Case c = open_case(1, in, l1, t, ctx)->after;
  c = escalate(c, "L2 please", l1, t, ctx)->after;
  auto refused = add_reply(c, "hola", false, false, l1, t, ctx);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_FALSE(add_reply(c, "¿datos?", false, true, l1, t, ctx).ok());
  EXPECT_TRUE(add_reply(c, "note from L1", true, false, l1, t, ctx).ok());  // notes stay open to staff
  EXPECT_TRUE(add_reply(c, "hola", false, false, l2, t, ctx).ok());
}

// Regression: chain() kept only events and the billable item, so a PATCH that both set
// fields and changed severity dropped the notifications of its first step.
TEST(LifecycleChain, KeepsNotificationsOutboxThreadIdsAndBlobsOfBothSteps) {
  Change base, more;
  base.notifications.push_back(Notification{0, 1, 7, "created"});
  more.notifications.push_back(Notification{0, 2, 7, "sla_warning"});
  more.outbox.push_back(OutboxMessage{});
  more.thread_ids.push_back("a@b");
  more.inbound = InboundRecord{"mid:a@b"};
  more.blobs.push_back(StoredBlob{"00", std::make_shared<const std::string>("x")});
  more.after.id = 7;
  chain(base, std::move(more));
  EXPECT_EQ(base.after.id, 7);
  ASSERT_EQ(base.notifications.size(), 2u);
  EXPECT_EQ(base.notifications[1].kind, "sla_warning");
  EXPECT_EQ(base.outbox.size(), 1u);
  EXPECT_EQ(base.thread_ids, std::vector<std::string>{"a@b"});
  ASSERT_TRUE(base.inbound);
  EXPECT_EQ(base.inbound->key, "mid:a@b");
  EXPECT_EQ(base.blobs.size(), 1u);
}

}  // namespace
}  // namespace escala::core
