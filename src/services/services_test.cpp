// Use cases over the in-memory store, a fake crypto and a manual clock.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>
#include <utility>

#include "fakes/fake_crypto.hpp"
#include "fakes/memory_store.hpp"
#include "services/auth_service.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"
#include "services/directory_service.hpp"
#include "services/config_service.hpp"
#include "services/sla_scheduler.hpp"

namespace escala::services {
namespace {

using core::Json;

class ServicesTest : public ::testing::Test {
 protected:
  ServicesTest()
      : clock_(*parse_iso8601("2026-11-27T15:00:00Z")),
        directory_(store_, crypto_, clock_),
        auth_(store_, crypto_, clock_, AuthOptions{Seconds{3600}, 3, Seconds{600}}),
        cases_(store_, store_, clock_, policy(), "CMW-") {
    directory_.set_staff_listener([this] { cases_.forget_staff(); });
    core::Account acme;
    acme.code = "ACME";
    acme.name = "Acme";
    acme.contract = core::Contract{"Pro", core::Money{2500, "USD"}};
    EXPECT_TRUE(directory_.create_account(core::Actor::system(), acme).ok());
    core::Account other;
    other.code = "OTHER";
    other.name = "Other";
    EXPECT_TRUE(directory_.create_account(core::Actor::system(), other).ok());
    agent_ = make_user("agent@desk.com", core::Role::kAgent, 1, "");
    customer_ = make_user("cliente@acme.com", core::Role::kCustomer, 0, "ACME");
    stranger_ = make_user("otro@other.com", core::Role::kCustomer, 0, "OTHER");
  }

  core::CasePolicy policy() {
    core::CasePolicy p;
    p.due = &calendars_;
    return p;
  }

  core::Actor make_user(const std::string& email, core::Role role, int level,
                        const std::string& account) {
    NewUser u;
    u.email = email;
    u.name = email;
    u.role = role;
    u.level = level;
    u.account = account;
    u.password = "correct horse";
    auto r = directory_.create_user(core::Actor::system(), u);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r->actor();
  }

  core::Case open_incident(const core::Actor& who, Json fields = Json::object()) {
    core::OpenCaseInput in;
    in.type = core::CaseType::kIncident;
    in.subject = "Sin tono";
    in.channel = "portal";
    in.account = who.role == core::Role::kCustomer ? "" : "ACME";
    in.fields = std::move(fields);
    auto r = cases_.open(who, in);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return *r;
  }

  CalendarSet calendars_;
  fakes::MemoryStore store_;
  fakes::FakeCrypto crypto_;
  ports::ManualClock clock_;
  DirectoryService directory_;
  AuthService auth_;
  CaseService cases_;
  core::Actor agent_, customer_, stranger_;
};

TEST_F(ServicesTest, TokensExpireAfterTheirLifetime) {
  auto login = auth_.login("agent@desk.com", "correct horse", "10.0.0.1");
  ASSERT_TRUE(login.ok());
  EXPECT_TRUE(auth_.authenticate(login->token).ok());
  clock_.advance(Seconds{3599});
  EXPECT_TRUE(auth_.authenticate(login->token).ok());
  clock_.advance(Seconds{1});
  auto expired = auth_.authenticate(login->token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, ErrorCode::kUnauthenticated);
}

TEST_F(ServicesTest, LogoutRevokesTheToken) {
  auto login = auth_.login("AGENT@desk.com", "correct horse", "10.0.0.1");  // email case-insensitive
  ASSERT_TRUE(login.ok());
  ASSERT_TRUE(auth_.logout(login->token).ok());
  EXPECT_FALSE(auth_.authenticate(login->token).ok());
}

TEST_F(ServicesTest, RepeatedFailuresAreRateLimitedUntilTheWindowPasses) {
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(auth_.login("agent@desk.com", "wrong", "10.0.0.1").error().code,
              ErrorCode::kUnauthenticated);
  // Even the right password is refused while limited.
  EXPECT_EQ(auth_.login("agent@desk.com", "correct horse", "10.0.0.2").error().code,
            ErrorCode::kRateLimited);
  clock_.advance(Seconds{600});
  EXPECT_TRUE(auth_.login("agent@desk.com", "correct horse", "10.0.0.2").ok());
}

TEST_F(ServicesTest, UnknownEmailAndWrongPasswordLookTheSame) {
  auto a = auth_.login("nobody@desk.com", "x", "10.0.0.9");
  auto b = auth_.login("agent@desk.com", "x", "10.0.0.8");
  EXPECT_EQ(a.error().message, b.error().message);
}

TEST_F(ServicesTest, CustomersOpenCasesForTheirOwnAccount) {
  core::Case c = open_incident(customer_);
  EXPECT_EQ(c.account, "ACME");
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "x";
  in.account = "OTHER";
  EXPECT_EQ(cases_.open(customer_, in).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(ServicesTest, AnotherAccountsCaseIsNotFound) {
  core::Case c = open_incident(customer_);
  std::string number = cases_.number_of(c);
  EXPECT_EQ(number, "CMW-000001");
  EXPECT_TRUE(cases_.get(customer_, number).ok());
  EXPECT_EQ(cases_.get(stranger_, number).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(cases_.reply(stranger_, number, "hola", false, false).error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(cases_.events(stranger_, number, 0, 10).error().code, ErrorCode::kNotFound);
  ports::CaseQuery q;
  q.account = "ACME";
  EXPECT_EQ(cases_.list(stranger_, q)->total, 0);
}

TEST_F(ServicesTest, CustomersDoNotSeeInternalNotes) {
  core::Case c = open_incident(customer_);
  std::string number = cases_.number_of(c);
  ASSERT_TRUE(cases_.reply(agent_, number, "internal detail", true, false).ok());
  auto staff = cases_.events(agent_, number, 0, 100);
  auto customer = cases_.events(customer_, number, 0, 100);
  ASSERT_TRUE(staff.ok() && customer.ok());
  EXPECT_EQ(staff->total, customer->total + 1);
  for (const auto& e : customer->items) EXPECT_NE(e.type, "note");
}

TEST_F(ServicesTest, CompletingDataByPatchOpensTheCaseAndChargesTheContract) {
  core::OpenCaseInput in;
  in.type = core::CaseType::kActivation;
  in.subject = "Alta de extensión";
  in.fields = Json{{"account_id", "ACME"}, {"user_full_name", "Ana"}, {"extension", "204"}};
  auto c = cases_.open(agent_, in);  // no account given: taken from account_id
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->account, "ACME");
  EXPECT_EQ(c->status, core::CaseStatus::kAwaitingInfo);
  CasePatch patch;
  patch.fields = Json{{"direct_number", true}, {"extension_type", "sip"}, {"ring_groups", Json::array()}};
  auto done = cases_.patch(customer_, cases_.number_of(*c), patch);
  ASSERT_TRUE(done.ok()) << done.error().message;
  EXPECT_EQ(done->status, core::CaseStatus::kOpen);
  ASSERT_TRUE(cases_.sla_report(*done).response.due);
  auto items = cases_.billable_items(core::Actor::system(), "ACME");
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ(cases_.billable_items(agent_, "ACME").error().code, ErrorCode::kPermissionDenied);
}

TEST_F(ServicesTest, AgentsAssignOnlyThemselves) {
  core::Case c = open_incident(agent_);
  std::string number = cases_.number_of(c);
  CasePatch take;
  take.set_assignee = true;
  take.assignee = agent_.user_id;
  EXPECT_EQ(cases_.patch(agent_, number, take)->assignee_id, agent_.user_id);
  CasePatch give;
  give.set_assignee = true;
  give.assignee = customer_.user_id;  // not an agent at all
  EXPECT_EQ(cases_.patch(agent_, number, give).error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ServicesTest, AgentsCannotCreateAccountsOrUsers) {
  core::Account a;
  a.code = "NEW";
  a.name = "New";
  EXPECT_EQ(directory_.create_account(agent_, a).error().code, ErrorCode::kPermissionDenied);
  NewUser u;
  u.email = "x@y.com";
  u.name = "x";
  u.password = "12345678";
  EXPECT_EQ(directory_.create_user(agent_, u).error().code, ErrorCode::kPermissionDenied);
}

TEST_F(ServicesTest, UserValidation) {
  NewUser u;
  u.email = "bad";
  u.name = "x";
  u.password = "12345678";
  EXPECT_EQ(directory_.create_user(core::Actor::system(), u).error().field, "email");
  u.email = "agent2@desk.com";
  u.level = 4;
  EXPECT_EQ(directory_.create_user(core::Actor::system(), u).error().field, "level");
  u.role = core::Role::kCustomer;
  u.account = "NOPE";
  EXPECT_EQ(directory_.create_user(core::Actor::system(), u).error().field, "account");
}

TEST_F(ServicesTest, AContractsOwnSlaReplacesTheDesksTargets) {
  directory_.set_calendar_check([this](const std::string& n) { return calendars_.find(n) != nullptr; });
  core::Account vip;
  vip.code = "VIP";
  vip.name = "Premium";
  vip.contract = core::Contract{"Oro", core::Money{0, "USD"},
                                {{core::Severity::kS3, core::TargetOverride{Seconds{600}, Seconds{1800}, "24x7"}}}};
  ASSERT_TRUE(directory_.create_account(core::Actor::system(), vip).ok());
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "Consulta";
  in.account = "VIP";
  in.impact = core::Impact{"one", "degraded"};  // S3
  auto c = cases_.open(agent_, in);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->severity, core::Severity::kS3);
  EXPECT_EQ(c->sla.calendar, "24x7");
  EXPECT_EQ(cases_.sla_report(*c).response.due, clock_.now() + Seconds{600});
  EXPECT_EQ(cases_.sla_report(*c).resolution.due, clock_.now() + Seconds{1800});
  // Other severities follow the desk: S1 keeps 1 h on 24x7.
  in.impact = core::Impact{"all", "outage"};
  auto s1 = cases_.open(agent_, in);
  EXPECT_EQ(cases_.sla_report(*s1).response.due, clock_.now() + Seconds{3600});
  // A contract naming a calendar the desk does not have is refused.
  vip.code = "BAD";
  vip.contract->sla[core::Severity::kS2] = core::TargetOverride{Seconds{60}, Seconds{60}, "mars"};
  auto bad = directory_.create_account(core::Actor::system(), vip);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field, "contract.sla.S2.calendar");
}

TEST_F(ServicesTest, SchedulerFiresEachTimerOnceAtItsInstant) {
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "Caída total";
  in.account = "ACME";
  in.impact = core::Impact{"all", "outage"};  // S1: 1 h response on 24x7
  auto c = cases_.open(agent_, in);
  ASSERT_TRUE(c.ok());
  CasePatch take;  // assigned, so the "unassigned" rule has nothing to say
  take.set_assignee = true;
  take.assignee = agent_.user_id;
  ASSERT_TRUE(cases_.patch(agent_, cases_.number_of(*c), take).ok());
  SlaScheduler scheduler(store_, cases_, calendars_, clock_);
  auto next = scheduler.next_due();
  ASSERT_TRUE(next.ok() && next.value());
  EXPECT_EQ(**next, clock_.now() + Seconds{45 * 60});  // 75 % of the response target
  clock_.advance(Seconds{45 * 60 - 1});
  EXPECT_EQ(*scheduler.fire_due(), 0);
  clock_.advance(Seconds{1});
  EXPECT_EQ(*scheduler.fire_due(), 1);
  EXPECT_EQ(*scheduler.fire_due(), 0);  // never twice
  EXPECT_EQ(**scheduler.next_due(), clock_.now() + Seconds{15 * 60});  // the breach
  clock_.advance(Seconds{3 * 3600});  // everything else falls due at once
  EXPECT_EQ(*scheduler.fire_due(), 1);
  auto events = cases_.events(agent_, cases_.number_of(*c), 0, 100);
  int warnings = 0, breaches = 0;
  for (const auto& e : events->items) {
    warnings += e.type == "sla_warning";
    breaches += e.type == "sla_breached";
    if (e.type.starts_with("sla_")) {
      EXPECT_EQ(e.actor_role, core::Role::kSystem);
    }
  }
  EXPECT_EQ(warnings, 2);
  EXPECT_EQ(breaches, 2);
  EXPECT_FALSE(scheduler.next_due()->has_value());
}

// A new timer wakes the waiting scheduler only when it falls due before the instant it
// waits for: a stream of new cases must not make it re-read the store after every one
// (under load that was two queries per group commit on PostgreSQL). A calendar edit always
// wakes it.
TEST_F(ServicesTest, SchedulerWakesOnlyForATimerBeforeItsPlan) {
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "Caída total";
  in.account = "ACME";
  in.impact = core::Impact{"all", "outage"};  // S1: 1 h response on 24x7
  auto c = cases_.open(agent_, in);
  ASSERT_TRUE(c.ok());
  CasePatch take;  // assigned, so the "unassigned" rule sets no earlier timer
  take.set_assignee = true;
  take.assignee = agent_.user_id;
  ASSERT_TRUE(cases_.patch(agent_, cases_.number_of(*c), take).ok());
  SlaScheduler scheduler(store_, cases_, calendars_, clock_);
  // Before run() has planned anything, any timer wakes it.
  EXPECT_TRUE(scheduler.poke("24x7", *calendars_.mark("24x7", clock_.now() + Seconds{3600})));
  const Instant warning = clock_.now() + Seconds{45 * 60};
  std::thread loop([&] { scheduler.run(std::chrono::hours(1)); });
  struct Joiner {
    SlaScheduler& s;
    std::thread& t;
    ~Joiner() {
      s.stop();
      t.join();
    }
  } joiner{scheduler, loop};
  auto wait_until = [](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return done();
  };
  ASSERT_TRUE(wait_until([&] { return scheduler.planned() == warning; }));
  const int64_t rounds = scheduler.rounds();
  EXPECT_FALSE(scheduler.poke("24x7", *calendars_.mark("24x7", warning + Seconds{60})));
  EXPECT_FALSE(scheduler.poke("24x7", *calendars_.mark("24x7", warning)));
  EXPECT_EQ(scheduler.planned(), warning);
  EXPECT_TRUE(scheduler.poke("24x7", *calendars_.mark("24x7", warning - Seconds{1})));
  EXPECT_TRUE(wait_until([&] { return scheduler.rounds() > rounds; }));
  // It planned again from the store (the earlier timer was only a hint: no case has it).
  EXPECT_TRUE(wait_until([&] { return scheduler.planned() == warning; }));
  const int64_t after_hint = scheduler.rounds();
  scheduler.poke();  // e.g. a calendar edit
  EXPECT_TRUE(wait_until([&] { return scheduler.rounds() > after_hint; }));
}

// A calendar edit rewrites no case: the case keeps its timer mark, and the scheduler's
// next instant moves to where that mark falls on the new hours.
TEST_F(ServicesTest, ACalendarEditMovesTimersWithoutRewritingCases) {
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "Caída total";
  in.account = "ACME";
  in.impact = core::Impact{"all", "outage"};  // S1: 1 h response on 24x7
  auto c = cases_.open(agent_, in);
  ASSERT_TRUE(c.ok());
  CasePatch take;
  take.set_assignee = true;
  take.assignee = agent_.user_id;
  auto taken = cases_.patch(agent_, cases_.number_of(*c), take);
  ASSERT_TRUE(taken.ok());
  SlaScheduler scheduler(store_, cases_, calendars_, clock_);
  ASSERT_EQ(**scheduler.next_due(), clock_.now() + Seconds{45 * 60});
  clock_.advance(Seconds{10 * 60});
  // From now on 24x7 opens only 00:00-12:00 UTC.
  core::CalendarSpec spec;
  spec.name = "24x7";
  spec.time_zone = "UTC";
  for (auto& day : spec.week) day = {core::DayInterval{Seconds{0}, Seconds{12 * 3600}}};
  ConfigService config(store_, calendars_, cases_, clock_);
  const core::Actor admin{0, core::Role::kAdmin, 3, "", "Admin"};
  auto edited = config.put_calendar(admin, "24x7", core::calendar_to_json(spec));
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  EXPECT_EQ(edited->value("effective_from", std::string()), format_iso8601(clock_.now()));
  auto stored = store_.get(c->id);
  EXPECT_EQ((*stored)->version, taken->version);  // not rewritten
  EXPECT_EQ((*stored)->sla.next_timer_mark, taken->sla.next_timer_mark);
  // 35 of the 45 minutes to the warning are left, laid out on the new hours.
  auto hours = core::BusinessCalendar::create(spec);
  const Instant expected = hours->add(clock_.now(), Seconds{35 * 60});
  EXPECT_EQ(**scheduler.next_due(), expected);
  EXPECT_EQ(cases_.sla_report(**stored).response.consumed, Millis{10 * 60 * 1000});
  clock_.set(expected - Seconds{1});
  EXPECT_EQ(*scheduler.fire_due(), 0);
  clock_.set(expected);
  EXPECT_EQ(*scheduler.fire_due(), 1);
}

// Two nodes of one desk share the store: an edit on one reaches the other's calendars (from
// the same instant) when it syncs with the desk's history, once.
TEST_F(ServicesTest, CalendarEditsOfAnotherNodeAreAppliedFromTheirInstant) {
  CalendarSet other_calendars;
  core::CasePolicy other_policy;
  other_policy.due = &other_calendars;
  CaseService other_cases(store_, store_, clock_, other_policy, "CMW-");
  ConfigService here(store_, calendars_, cases_, clock_);
  ConfigService there(store_, other_calendars, other_cases, clock_);
  EXPECT_EQ(*there.sync_calendars(), 0);
  core::CalendarSpec spec = core::support_calendar();
  spec.week[5].clear();  // Saturdays closed from now on
  const core::Actor admin{0, core::Role::kAdmin, 3, "", "Admin"};
  ASSERT_TRUE(here.put_calendar(admin, "support", core::calendar_to_json(spec)).ok());
  EXPECT_FALSE(other_calendars.find("support")->spec() == spec);
  EXPECT_EQ(*there.sync_calendars(), 1);
  EXPECT_EQ(*there.sync_calendars(), 0);  // nothing new
  EXPECT_TRUE(other_calendars.find("support")->spec() == spec);
  // Same versions, same instants: marks agree before and after the edit.
  for (Instant t : {clock_.now() - Seconds{86400}, clock_.now() + Seconds{9 * 86400}})
    EXPECT_EQ(other_calendars.mark("support", t), calendars_.mark("support", t));
  // The editing node syncing its own edit changes nothing.
  const Millis later = *calendars_.mark("support", clock_.now() + Seconds{9 * 86400});
  EXPECT_EQ(*here.sync_calendars(), 1);
  EXPECT_EQ(*calendars_.mark("support", clock_.now() + Seconds{9 * 86400}), later);
}

// A store where something can happen between a read of a setting and what follows (another
// node writing it, in a real desk).
class InterleavingStore : public fakes::MemoryStore {
 public:
  std::string key = "defaults";
  std::function<void()> after_next_read;  // of `key`
  Result<std::optional<core::Json>> get_setting(const std::string& k) override {
    auto r = MemoryStore::get_setting(k);
    if (k == key && after_next_read) std::exchange(after_next_read, nullptr)();
    return r;
  }
};

// Two administrators (or nodes) edit different calendars at the same moment: the calendars
// share one stored document, and neither edit is lost.
TEST_F(ServicesTest, ConcurrentCalendarEditsAreBothKept) {
  InterleavingStore desk;
  CalendarSet here_calendars, there_calendars;
  ConfigService here(desk, here_calendars, cases_, clock_);
  ConfigService there(desk, there_calendars, cases_, clock_);
  const core::Actor admin{0, core::Role::kAdmin, 3, "", "Admin"};
  auto hours = [](const std::string& name, int open_hour) {
    core::CalendarSpec spec;
    spec.name = name;
    spec.time_zone = "UTC";
    for (auto& day : spec.week)
      day = {core::DayInterval{Seconds{open_hour * 3600}, Seconds{(open_hour + 8) * 3600}}};
    return core::calendar_to_json(spec);
  };
  bool interleaved = false;
  desk.after_next_read = [&] {  // "there" saves between "here"'s read and its write
    interleaved = there.put_calendar(admin, "lab", hours("lab", 6)).ok();
  };
  auto edited = here.put_calendar(admin, "oficina", hours("oficina", 8));
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  ASSERT_TRUE(interleaved);
  const core::Json stored = *desk.get_setting("defaults").value();
  std::set<std::string> names;
  for (const auto& c : stored["calendars"]) names.insert(c.value("name", std::string()));
  EXPECT_TRUE(names.contains("lab")) << "the other edit was overwritten";
  EXPECT_TRUE(names.contains("oficina"));
  EXPECT_EQ(desk.desk_events(0, 10)->size(), 2u);
}

// Two nodes start on a new desk at once: both use the secrets the first one stored (links
// and loop tokens made by either are accepted by both), and a restart reads them back.
TEST_F(ServicesTest, NodesStartingTogetherShareTheMailSecrets) {
  InterleavingStore desk;
  desk.key = "mail_secrets";
  CalendarSet calendars_a, calendars_b;
  ConfigService a(desk, calendars_a, cases_, clock_);
  ConfigService b(desk, calendars_b, cases_, clock_);
  Result<core::Json> of_b = core::Json();
  desk.after_next_read = [&] { of_b = b.mail_secrets(crypto_); };  // b between a's read and write
  auto of_a = a.mail_secrets(crypto_);
  ASSERT_TRUE(of_a.ok()) << of_a.error().message;
  ASSERT_TRUE(of_b.ok());
  EXPECT_TRUE(of_b->contains("link_secret"));
  EXPECT_EQ(*of_a, *of_b) << "a kept secrets of its own";
  EXPECT_EQ(*a.mail_secrets(crypto_), *of_b);
  EXPECT_EQ(*desk.get_setting("mail_secrets").value(), *of_b);
  EXPECT_EQ(desk.desk_events(0, 10)->size(), 1u);
}

TEST_F(ServicesTest, UnassignedCasesAlertTheSupervisorsOnceAfterThirtyBusinessMinutes) {
  auto supervisor = make_user("jefa@desk.com", core::Role::kSupervisor, 0, "");
  core::OpenCaseInput in;
  in.type = core::CaseType::kRequest;
  in.subject = "Nadie lo toma";
  in.account = "ACME";
  in.impact = core::Impact{"all", "outage"};  // S1: 24x7, so 30 business minutes = 30 minutes
  auto c = cases_.open(agent_, in);
  ASSERT_TRUE(c.ok());
  SlaScheduler scheduler(store_, cases_, calendars_, clock_);
  EXPECT_EQ(**scheduler.next_due(), clock_.now() + Seconds{30 * 60});
  clock_.advance(Seconds{30 * 60});
  EXPECT_EQ(*scheduler.fire_due(), 1);
  auto mine = cases_.notifications(supervisor, 0, 100);
  ASSERT_EQ(mine->size(), 1u);
  EXPECT_EQ((*mine)[0].kind, "unassigned_alert");
  auto events = cases_.events(agent_, cases_.number_of(*c), 0, 100);
  int alerts = 0;
  for (const auto& e : events->items) alerts += e.type == "unassigned_alert";
  EXPECT_EQ(alerts, 1);
  // Customers never see it.
  auto theirs = cases_.events(customer_, cases_.number_of(*c), 0, 100);
  for (const auto& e : theirs->items) EXPECT_NE(e.type, "unassigned_alert");
  // Taken and released again: a new stretch, a new alert 30 minutes later.
  CasePatch take;
  take.set_assignee = true;
  take.assignee = agent_.user_id;
  ASSERT_TRUE(cases_.patch(agent_, cases_.number_of(*c), take).ok());
  CasePatch release;
  release.set_assignee = true;
  ASSERT_TRUE(cases_.patch(agent_, cases_.number_of(*c), release).ok());
  clock_.advance(Seconds{29 * 60});
  (void)scheduler.fire_due();
  EXPECT_EQ(cases_.notifications(supervisor, 0, 100)->size(), 1u + 1u);  // + the S1 warning
  clock_.advance(Seconds{60});
  (void)scheduler.fire_due();
  int unassigned = 0;
  auto all = cases_.notifications(supervisor, 0, 100);  // kept alive for the loop
  for (const auto& n : *all) unassigned += n.kind == "unassigned_alert";
  EXPECT_EQ(unassigned, 2);
}

// Regression: the staff list is cached for rules and notifications; a user created or a
// quiet setting changed on this node must count for the very next case, not seconds later.
TEST_F(ServicesTest, StaffChangesReachTheNextRuleAtOnce) {
  ASSERT_TRUE(cases_.context_for("ACME").ok());  // fills the cache before the L2 agent exists
  auto on_call = make_user("guardia@desk.com", core::Role::kAgent, 2, "");
  core::OpenCaseInput in;
  in.type = core::CaseType::kIncident;
  in.subject = "Caida total";
  in.account = "ACME";
  in.impact = core::Impact{"all", "outage"};  // S1: the default rule alerts the L2 agents
  ASSERT_TRUE(cases_.open(agent_, in).ok());
  auto alerts = cases_.notifications(on_call, 0, 100);
  ASSERT_TRUE(alerts.ok());
  ASSERT_EQ(alerts->size(), 1u);
  EXPECT_EQ((*alerts)[0].kind, "created");
  // Quiet from now on: the next S1 warning reaches nobody quiet.
  auto users = store_.list_users(0, 100);
  ASSERT_TRUE(users.ok());
  for (const auto& u : *users) {
    if (u.id == on_call.user_id) {
      ASSERT_TRUE(directory_.set_quiet(u, true).ok());
    }
  }
  ASSERT_TRUE(cases_.open(agent_, in).ok());
  EXPECT_EQ(cases_.notifications(on_call, 0, 100)->size(), 1u);
}

}  // namespace
}  // namespace escala::services
