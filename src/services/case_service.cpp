#include "services/case_service.hpp"

#include <date/tz.h>

#include <map>

#include "core/reports.hpp"
#include "core/sla.hpp"

namespace escala::services {
namespace {

Error not_found(std::string_view number) {
  return make_error(ErrorCode::kNotFound, "no case " + std::string(number));
}

}  // namespace

Seconds zone_offset(const std::string& zone, Instant at) {
  try {
    const date::time_zone* tz = date::locate_zone(zone);
    return tz->get_info(std::chrono::floor<Seconds>(at)).offset;
  } catch (const std::exception&) {
    return Seconds{-6 * 3600};  // the support calendar's zone (R1.6)
  }
}

CaseService::CaseService(ports::CaseStore& cases, ports::DirectoryStore& directory,
                         const ports::Clock& clock, core::CasePolicy policy,
                         std::string number_prefix)
    : cases_(cases),
      directory_(directory),
      clock_(clock),
      policy_(std::move(policy)),
      prefix_(std::move(number_prefix)) {}

std::string CaseService::number_of(const core::Case& c) const {
  return core::format_case_number(prefix_, c.id);
}

Result<int64_t> CaseService::parse_number(std::string_view number) const {
  auto id = core::parse_case_number(prefix_, number);
  if (!id) return not_found(number);
  return *id;
}

Result<std::vector<core::StaffMember>> CaseService::staff() {
  const Instant now = clock_.now();
  std::lock_guard lock(staff_mu_);
  if (staff_read_at_ && now - *staff_read_at_ < Seconds{5} && now >= *staff_read_at_)
    return staff_;
  std::vector<core::StaffMember> out;
  int64_t after = 0;
  for (;;) {
    auto page = directory_.list_users(after, 1000);
    if (!page.ok()) return page.error();
    for (const auto& u : *page) {
      if (u.role != core::Role::kCustomer && u.active)
        out.push_back(core::StaffMember{u.id, u.role, u.level, u.quiet, u.email, u.name, u.language});
      after = u.id;
    }
    if (page->size() < 1000) break;
  }
  staff_ = out;
  staff_read_at_ = now;
  return out;
}

Result<core::Json> CaseService::sla_compliance(const core::Actor& actor,
                                               std::optional<Instant> from,
                                               std::optional<Instant> before,
                                               std::optional<std::string> account) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor &&
      actor.role != core::Role::kSystem)
    return make_error(ErrorCode::kPermissionDenied, "reports are for supervisors and administrators");
  core::SlaAggregator totals;
  ports::CaseQuery q;
  q.created_from = from;
  q.created_before = before;
  q.account = account;
  q.limit = 1000;
  q.count_total = false;
  for (;;) {
    auto page = cases_.list(q);
    if (!page.ok()) return page.error();
    for (const auto& c : page->items) {
      totals.add(c, sla_report(c));
    }
    if (!page->next_before) break;
    q.before_id = page->next_before;
  }
  core::Json out = totals.to_json();
  out["period"] = {{"from", from ? core::Json(format_iso8601(*from)) : core::Json(nullptr)},
                   {"before", before ? core::Json(format_iso8601(*before)) : core::Json(nullptr)},
                   {"account", account ? core::Json(*account) : core::Json(nullptr)}};
  out["generated_at"] = format_iso8601(clock_.now());
  return out;
}

namespace {

// Calls `visit` for every case matching `q`, newest first, a thousand at a time.
template <typename Visit>
Status for_each_case(ports::CaseStore& store, ports::CaseQuery q, Visit&& visit) {
  q.limit = 1000;
  q.count_total = false;
  for (;;) {
    auto page = store.list(q);
    if (!page.ok()) return page.error();
    for (const auto& c : page->items) visit(c);
    if (!page->next_before) return ok_status();
    q.before_id = page->next_before;
  }
}

}  // namespace

Result<core::Json> CaseService::dashboard(const core::Actor& actor, const DashboardQuery& query) {
  if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor &&
      actor.role != core::Role::kSystem)
    return make_error(ErrorCode::kPermissionDenied, "reports are for supervisors and administrators");
  auto days = core::LocalDays::create(query.zone);
  if (!days.ok()) return days.error();
  const Instant now = clock_.now();

  // The period.
  Instant from, before;
  if (query.days) {
    if (query.from || query.before)
      return make_error(ErrorCode::kInvalidArgument, "give either days or from/before", "days");
    if (*query.days < 1 || *query.days > kMaxDashboardDays)
      return make_error(ErrorCode::kInvalidArgument,
                        "must be from 1 to " + std::to_string(kMaxDashboardDays), "days");
    before = now;
    from = days->start_of(days->day_of(now) - (*query.days - 1));
  } else {
    before = query.before.value_or(now);
    from = query.from.value_or(before - std::chrono::days{30});
    if (from >= before)
      return make_error(ErrorCode::kInvalidArgument, "must be before \"before\"", "from");
    if (before - from > std::chrono::days{kMaxDashboardDays})
      return make_error(ErrorCode::kInvalidArgument,
                        "the period is at most " + std::to_string(kMaxDashboardDays) + " days",
                        "from");
  }

  // What is waiting: every case not yet resolved or closed.
  core::BacklogAggregator backlog(now);
  for (auto status : {core::CaseStatus::kAwaitingInfo, core::CaseStatus::kOpen,
                      core::CaseStatus::kPendingCustomer}) {
    ports::CaseQuery q;
    q.status = status;
    if (auto st = for_each_case(cases_, q, [&](const core::Case& c) { backlog.add(c); }); !st.ok())
      return st.error();
  }

  // What came in.
  core::CreatedPerDayAggregator created(*days, from, before);
  {
    ports::CaseQuery q;
    q.created_from = from;
    q.created_before = before;
    if (auto st = for_each_case(cases_, q, [&](const core::Case& c) { created.add(c); }); !st.ok())
      return st.error();
  }

  // What went wrong lately: a breach is an sla_breached event in the case's history, so a
  // case that breached in the window was changed in it. Only cases whose clocks show a
  // breach have their history read.
  core::BreachAggregator breaches(*days, now);
  std::vector<core::Case> breached;
  {
    ports::CaseQuery q;
    q.updated_from = breaches.since();
    auto st = for_each_case(cases_, q, [&](const core::Case& c) {
      const bool recorded = c.sla.response.breach_recorded || c.sla.resolution.breach_recorded;
      const core::SlaReport r = sla_report(c);
      if (recorded || r.response.breached || r.resolution.breached) breached.push_back(c);
    });
    if (!st.ok()) return st.error();
  }
  for (const auto& c : breached) {
    ports::EventQuery eq{c.id, true, 0, 1000};
    for (;;) {
      auto page = cases_.events(eq);
      if (!page.ok()) return page.error();
      for (const auto& e : page->items) {
        if (e.type != "sla_breached" || e.at < breaches.since()) continue;
        core::BreachRecord b;
        b.number = core::format_case_number(prefix_, c.id);
        b.subject = c.subject;
        b.severity = core::parse_severity(e.data.value("severity", std::string()))
                         .value_or(c.severity);
        b.level = e.data.value("level", c.level);
        b.target = e.data.value("target", std::string("resolution"));
        // The instant the target was passed; the scheduler may have fired later.
        b.breached_at = e.at;
        if (auto due = parse_iso8601(e.data.value("due_at", std::string())); due && *due <= e.at)
          b.breached_at = *due;
        breaches.add(std::move(b));
      }
      if (!page->next_after) break;
      eq.after_seq = *page->next_after;
    }
  }

  return core::Json{
      {"period",
       {{"from", format_iso8601(from)},
        {"before", format_iso8601(before)},
        {"zone", days->zone()}}},
      {"backlog", backlog.to_json()},
      {"created", created.to_json()},
      {"breaches", breaches.to_json()},
      {"generated_at", format_iso8601(now)},
  };
}

Result<int64_t> CaseService::derive_legacy_timers() {
  // Contexts are read before the store's writer runs the callback (which must not read
  // the store): the desk's, and those of accounts with their own SLA policy.
  auto desk = context_for("");
  if (!desk.ok()) return desk.error();
  std::map<std::string, core::CaseContext, std::less<>> own;
  std::string after;
  for (;;) {
    auto page = directory_.list_accounts(after, 500);
    if (!page.ok()) return page.error();
    for (const auto& a : *page) {
      if (!a.contract || a.contract->sla.empty()) continue;
      auto ctx = context_for(a.code);
      if (!ctx.ok()) return ctx.error();
      own.emplace(a.code, std::move(ctx).value());
    }
    if (page->size() < 500) break;
    after = page->back().code;
  }
  return cases_.update_cases_with_legacy_timers(
      [&](const core::Case& c) -> Result<core::Change> {
        auto it = own.find(c.account);
        const core::CasePolicy& policy = it != own.end() ? *it->second.policy : *desk->policy;
        core::Change change{c, {}, std::nullopt, {}};
        change.after.sla.next_timer_mark = core::next_timer(c.sla, policy, c.status);
        return change;
      });
}

Result<std::vector<core::Notification>> CaseService::notifications(const core::Actor& actor,
                                                                   int64_t before_id,
                                                                   int limit) {
  return cases_.notifications(actor.user_id, before_id, std::clamp(limit, 1, 1000));
}

Result<core::CaseContext> CaseService::context_for(const std::string& account) {
  core::CaseContext ctx;
  ctx.policy = &policy_;
  auto people = staff();
  if (!people.ok()) return people.error();
  ctx.staff = std::move(people).value();
  ctx.default_offset = zone_offset("Etc/GMT+6", clock_.now());
  if (account.empty()) return ctx;
  auto acc = directory_.get_account(account);
  if (!acc.ok()) return acc.error();
  if (!acc.value()) return ctx;
  ctx.default_offset = zone_offset(acc.value()->timezone, clock_.now());
  const auto& contract = acc.value()->contract;
  if (contract) ctx.activation_charge = contract->activation_charge;
  if (contract && !contract->sla.empty()) {
    // The contract's own targets (and calendars) replace the desk's for its severities.
    auto own = std::make_shared<core::CasePolicy>(policy_);
    for (const auto& [sev, t] : contract->sla)
      own->targets[static_cast<int>(sev) - 1] = core::SlaTarget{t.response, t.resolution, t.calendar};
    ctx.own_policy = own;
    ctx.policy = own.get();
  }
  return ctx;
}

Result<core::Case> CaseService::open(const core::Actor& actor, core::OpenCaseInput input) {
  if (actor.role == core::Role::kCustomer) {
    if (!input.account.empty() && input.account != actor.account)
      return make_error(ErrorCode::kPermissionDenied,
                        "customers open cases for their own account only", "account");
    input.account = actor.account;
  }
  // An activation names its account (R2.1 item 1): attach the case to it when it exists.
  if (input.account.empty() && input.fields.is_object()) {
    auto it = input.fields.find("account_id");
    if (it != input.fields.end() && it->is_string()) {
      auto acc = directory_.get_account(it->get<std::string>());
      if (acc.ok() && acc.value()) input.account = acc.value()->code;
    }
  }
  if (!input.account.empty()) {
    auto acc = directory_.get_account(input.account);
    if (!acc.ok()) return acc.error();
    if (!acc.value())
      return make_error(ErrorCode::kInvalidArgument, "no account " + input.account, "account");
  }
  if (input.contact_id) {
    auto contact = directory_.get_contact(*input.contact_id);
    if (!contact.ok()) return contact.error();
    if (!contact.value() || (!input.account.empty() && contact.value()->account != input.account))
      return make_error(ErrorCode::kInvalidArgument, "no such contact in the account",
                        "contact");
    if (input.account.empty()) input.account = contact.value()->account;
  }
  auto ctx = context_for(input.account);
  if (!ctx.ok()) return ctx.error();
  Instant now = clock_.now();
  bool queued = false;
  ChangeKinds kinds;
  auto created = cases_.create([&](int64_t id) -> Result<core::Change> {
    auto change = core::open_case(id, input, actor, now, *ctx);
    if (change.ok() && decorator_) decorator_(*change, *ctx, now);
    queued = change.ok() && !change->outbox.empty();
    if (change.ok()) kinds = kinds_of(change->events);
    return change;
  });
  if (created.ok() && queued) note_mail_queued();
  if (created.ok()) note_timer(*created);
  if (created.ok()) note_changed(*created, kinds);
  return created;
}

void CaseService::note_changed(const core::Case& after, const ChangeKinds& kinds) const {
  if (!change_listener_ || kinds.kind.empty()) return;
  change_listener_(CaseChanged{after.id, number_of(after), after.account, after.version,
                               kinds.kind, kinds.public_kind});
}

Result<core::Case> CaseService::get(const core::Actor& actor, std::string_view number) {
  auto id = parse_number(number);
  if (!id.ok()) return id.error();
  auto c = cases_.get(*id);
  if (!c.ok()) return c.error();
  if (!c.value() || !core::can_view(actor, **c)) return not_found(number);
  return std::move(**c);
}

Result<ports::CasePage> CaseService::list(const core::Actor& actor, ports::CaseQuery query) {
  if (actor.role == core::Role::kCustomer) {
    if (query.account && *query.account != actor.account) return ports::CasePage{};
    query.account = actor.account;
    query.assignee.reset();  // customers do not know the assignees
  }
  if (query.limit < 1) query.limit = 1;
  if (query.limit > 1000) query.limit = 1000;
  return cases_.list(query);
}

Result<ports::EventPage> CaseService::events(const core::Actor& actor, std::string_view number,
                                             int64_t after_seq, int limit) {
  auto c = get(actor, number);
  if (!c.ok()) return c.error();
  ports::EventQuery q;
  q.case_id = c->id;
  q.include_internal = actor.is_staff();
  q.after_seq = after_seq;
  q.limit = std::clamp(limit, 1, 1000);
  return cases_.events(q);
}

Result<core::Case> CaseService::mutate(
    const core::Actor& actor, std::string_view number,
    const std::function<Result<core::Change>(const core::Case&, const core::CaseContext&)>&
        change) {
  auto id = parse_number(number);
  if (!id.ok()) return id.error();
  // The account (and its contract) is read before the write; an account never changes
  // code, so the context cannot go stale in a way that matters to the change.
  auto current = cases_.get(*id);
  if (!current.ok()) return current.error();
  if (!current.value() || !core::can_view(actor, **current)) return not_found(number);
  auto ctx = context_for((*current)->account);
  if (!ctx.ok()) return ctx.error();
  bool queued = false;
  ChangeKinds kinds;
  auto updated = cases_.update(*id, [&](const core::Case& c) -> Result<core::Change> {
    queued = false;  // a store may run this more than once
    kinds = {};
    if (!core::can_view(actor, c)) return not_found(number);
    auto ch = change(c, *ctx);
    if (ch.ok() && decorator_ && !ch->events.empty()) decorator_(*ch, *ctx, clock_.now());
    queued = ch.ok() && !ch->outbox.empty();
    if (ch.ok()) kinds = kinds_of(ch->events);
    return ch;
  });
  if (updated.ok() && queued) note_mail_queued();
  if (updated.ok()) note_timer(*updated);
  if (updated.ok()) note_changed(*updated, kinds);
  return updated;
}

Result<bool> CaseService::fire_sla_timers(int64_t id, Instant now) {
  auto current = cases_.get(id);
  if (!current.ok()) return current.error();
  if (!current.value()) return false;
  auto ctx = context_for((*current)->account);
  if (!ctx.ok()) return ctx.error();
  bool fired = false, queued = false;
  ChangeKinds kinds;
  auto r = cases_.update(id, [&](const core::Case& c) -> Result<core::Change> {
    auto change = core::fire_sla_timers(c, now, *ctx);
    if (change.ok()) fired = !change->events.empty();
    if (fired && decorator_) decorator_(*change, *ctx, now);
    queued = change.ok() && !change->outbox.empty();
    kinds = change.ok() ? kinds_of(change->events) : ChangeKinds{};
    return change;
  });
  if (r.ok() && queued) note_mail_queued();
  if (r.ok()) note_changed(*r, kinds);
  if (!r.ok()) return r.error();
  return fired;
}

Result<core::Case> CaseService::patch(const core::Actor& actor, std::string_view number,
                                      CasePatch patch) {
  std::string assignee_name;
  if (patch.set_assignee && patch.assignee) {
    auto user = directory_.get_user(*patch.assignee);
    if (!user.ok()) return user.error();
    if (!user.value() || user.value()->role == core::Role::kCustomer || !user.value()->active)
      return make_error(ErrorCode::kInvalidArgument, "no such agent", "assignee");
    assignee_name = user.value()->name;
  }
  std::optional<core::Contact> contact;
  if (patch.contact) {
    auto found = directory_.get_contact(*patch.contact);
    if (!found.ok()) return found.error();
    if (!found.value()) return make_error(ErrorCode::kInvalidArgument, "no such contact", "contact");
    contact = *found.value();
    if (!patch.account) patch.account = contact->account;
    if (contact->account != *patch.account)
      return make_error(ErrorCode::kInvalidArgument, "the contact is not of that account", "contact");
  }
  if (patch.account) {
    auto acc = directory_.get_account(*patch.account);
    if (!acc.ok()) return acc.error();
    if (!acc.value())
      return make_error(ErrorCode::kInvalidArgument, "no account " + *patch.account, "account");
  }
  Instant now = clock_.now();
  return mutate(actor, number, [&](const core::Case& c, const core::CaseContext& ctx)
                                   -> Result<core::Change> {
    core::Change total{c, {}, std::nullopt};
    if (patch.account) {
      auto ch = core::identify_customer(total.after, *patch.account,
                                        contact ? std::optional<int64_t>(contact->id) : std::nullopt,
                                        actor, now, ctx);
      if (!ch.ok()) return ch.error();
      core::chain(total, std::move(ch).value());
    }
    if (patch.fields) {
      auto ch = core::update_fields(total.after, *patch.fields, actor, now, ctx);
      if (!ch.ok()) return ch.error();
      core::chain(total, std::move(ch).value());
    }
    if (patch.impact) {
      auto ch = core::update_impact(total.after, *patch.impact, actor, now, ctx);
      if (!ch.ok()) return ch.error();
      core::chain(total, std::move(ch).value());
    }
    if (patch.severity) {
      auto ch = core::change_severity(total.after, *patch.severity, patch.reason, actor, now, ctx);
      if (!ch.ok()) return ch.error();
      core::chain(total, std::move(ch).value());
    }
    if (patch.set_assignee) {
      if (patch.assignee && actor.role == core::Role::kAgent && *patch.assignee != actor.user_id)
        return make_error(ErrorCode::kPermissionDenied,
                          "agents may assign cases to themselves only", "assignee");
      auto ch = core::assign(total.after, patch.assignee, assignee_name, actor, now, ctx);
      if (!ch.ok()) return ch.error();
      core::chain(total, std::move(ch).value());
    }
    return total;
  });
}

Result<core::Case> CaseService::reply(const core::Actor& actor, std::string_view number,
                                      const std::string& body, bool internal, bool pending) {
  Instant now = clock_.now();
  return mutate(actor, number, [&](const core::Case& c, const core::CaseContext& ctx) {
    return core::add_reply(c, body, internal, pending, actor, now, ctx);
  });
}

Result<core::Case> CaseService::escalate(const core::Actor& actor, std::string_view number,
                                         const std::string& reason) {
  Instant now = clock_.now();
  return mutate(actor, number, [&](const core::Case& c, const core::CaseContext& ctx) {
    return core::escalate(c, reason, actor, now, ctx);
  });
}

Result<core::Case> CaseService::resolve(const core::Actor& actor, std::string_view number,
                                        const std::string& resolution) {
  Instant now = clock_.now();
  return mutate(actor, number, [&](const core::Case& c, const core::CaseContext& ctx) {
    return core::resolve(c, resolution, actor, now, ctx);
  });
}

Result<core::Case> CaseService::confirm(const core::Actor& actor, std::string_view number) {
  Instant now = clock_.now();
  return mutate(actor, number, [&](const core::Case& c, const core::CaseContext& ctx) {
    return core::confirm(c, actor, now, ctx);
  });
}

Result<core::Case> CaseService::reopen(const core::Actor& actor, std::string_view number,
                                       const std::string& reason) {
  Instant now = clock_.now();
  return mutate(actor, number, [&](const core::Case& c, const core::CaseContext& ctx) {
    return core::reopen(c, reason, actor, now, ctx);
  });
}

core::SlaReport CaseService::sla_report(const core::Case& c) const {
  return core::report_sla(c.sla, policy_, clock_.now(), c.status);
}

Result<std::vector<core::BillableItem>> CaseService::billable_items(const core::Actor& actor,
                                                                    const std::string& account) {
  if (actor.role == core::Role::kCustomer && actor.account != account)
    return make_error(ErrorCode::kNotFound, "no account " + account);
  if (actor.role == core::Role::kAgent)
    return make_error(ErrorCode::kPermissionDenied,
                      "billing is for administrators and supervisors");
  auto a = directory_.get_account(account);
  if (!a.ok()) return a.error();
  if (!a.value()) return make_error(ErrorCode::kNotFound, "no account " + account);
  return cases_.billable_items(account);
}

}  // namespace escala::services
