// The hub of case changes: who hears of what (privacy), subscribe/unsubscribe, and that
// CaseService publishes each committed change once, with its kinds, and nothing else.

#include "services/case_events.hpp"

#include <gtest/gtest.h>

#include "fakes/memory_store.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"

namespace escala::services {
namespace {

core::Event ev(std::string type, bool internal) {
  core::Event e;
  e.type = std::move(type);
  e.internal = internal;
  return e;
}

TEST(CaseEvents, KindsNameTheFirstEventAndTheFirstPublicOne) {
  auto k = kinds_of({ev("assigned", true), ev("reply", false), ev("status_changed", false)});
  EXPECT_EQ(k.kind, "assigned");
  EXPECT_EQ(k.public_kind, "reply");
  k = kinds_of({ev("note", true)});
  EXPECT_EQ(k.kind, "note");
  EXPECT_EQ(k.public_kind, "");
  EXPECT_EQ(kinds_of({}).kind, "");
}

TEST(CaseEvents, StaffHearEverythingCustomersOnlyTheirAccountsVisibleChanges) {
  const core::Actor agent{7, core::Role::kAgent, 1, "", "Ana"};
  const core::Actor supervisor{8, core::Role::kSupervisor, 3, "", "Sol"};
  const core::Actor acme{9, core::Role::kCustomer, 0, "ACME", "Cliente"};
  const core::Actor nobody{10, core::Role::kCustomer, 0, "", "Sin cuenta"};
  const CaseChanged reply{1, "CMW-000001", "ACME", 3, "reply", "reply"};
  const CaseChanged note{1, "CMW-000001", "ACME", 4, "note", ""};
  const CaseChanged other{2, "CMW-000002", "BETA", 2, "reply", "reply"};
  const CaseChanged unknown{3, "CMW-000003", "", 1, "created", "created"};
  for (const auto* c : {&reply, &note, &other, &unknown}) {
    EXPECT_TRUE(may_hear(agent, *c));
    EXPECT_TRUE(may_hear(supervisor, *c));
  }
  EXPECT_TRUE(may_hear(acme, reply));
  EXPECT_FALSE(may_hear(acme, note)) << "an internal-only change reached a customer";
  EXPECT_FALSE(may_hear(acme, other)) << "another account's case reached a customer";
  EXPECT_FALSE(may_hear(acme, unknown));
  EXPECT_FALSE(may_hear(nobody, unknown)) << "an empty account matched an unidentified case";
}

TEST(CaseEvents, ListenersHearUntilTheyUnsubscribe) {
  CaseEvents hub;
  std::vector<std::string> a, b;
  auto ida = hub.subscribe([&](const CaseChanged& c) { a.push_back(c.number); });
  {
    CaseEventsSubscription sub(hub, [&](const CaseChanged& c) { b.push_back(c.number); });
    EXPECT_EQ(hub.listeners(), 2u);
    hub.publish(CaseChanged{1, "CMW-000001", "ACME", 1, "created", "created"});
  }
  EXPECT_EQ(hub.listeners(), 1u);
  hub.publish(CaseChanged{2, "CMW-000002", "ACME", 1, "created", "created"});
  hub.unsubscribe(ida);
  hub.publish(CaseChanged{3, "CMW-000003", "ACME", 1, "created", "created"});
  EXPECT_EQ(a, (std::vector<std::string>{"CMW-000001", "CMW-000002"}));
  EXPECT_EQ(b, (std::vector<std::string>{"CMW-000001"}));
  EXPECT_EQ(hub.published(), 3u);
  EXPECT_EQ(hub.listeners(), 0u);
}

TEST(CaseEvents, CaseServicePublishesEachCommittedChangeOnce) {
  CalendarSet calendars;
  core::CasePolicy policy;
  policy.due = &calendars;
  fakes::MemoryStore store;
  ports::ManualClock clock(*parse_iso8601("2026-11-27T15:00:00Z"));
  CaseService cases(store, store, clock, policy, "CMW-");
  CaseEvents hub;
  cases.set_change_listener([&](const CaseChanged& c) { hub.publish(c); });
  std::vector<CaseChanged> heard;
  CaseEventsSubscription sub(hub, [&](const CaseChanged& c) { heard.push_back(c); });
  const core::Actor admin{1, core::Role::kAdmin, 3, "", "Admin"};
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "Consulta";
  in.channel = "phone";
  auto created = cases.open(admin, in);
  ASSERT_TRUE(created.ok());
  ASSERT_TRUE(cases.reply(admin, "CMW-000001", "Nota interna", true, false).ok());
  ASSERT_TRUE(cases.reply(admin, "CMW-000001", "Respuesta", false, false).ok());
  // Refused changes and changes that store nothing are not published.
  EXPECT_FALSE(cases.resolve(core::Actor{5, core::Role::kCustomer, 0, "X", "c"}, "CMW-000001", "x").ok());
  EXPECT_FALSE(cases.reply(admin, "CMW-000099", "x", false, false).ok());
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_EQ(heard[0].number, "CMW-000001");
  EXPECT_EQ(heard[0].kind, "created");
  EXPECT_EQ(heard[0].version, created->version);
  EXPECT_EQ(heard[1].kind, "note");
  EXPECT_EQ(heard[1].public_kind, "");
  EXPECT_EQ(heard[2].public_kind, heard[2].kind);
  EXPECT_GT(heard[2].version, heard[1].version);
}

}  // namespace
}  // namespace escala::services
