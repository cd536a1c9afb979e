#pragma once
// Use cases on cases: open, read, list, change, reply, escalate, resolve, confirm, reopen.
// Each checks who may do it (through the core's rules), loads what the rule needs from the
// directory, and lets the store apply the core's pure change atomically.

#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/lifecycle.hpp"
#include "core/sla.hpp"
#include "ports/case_store.hpp"
#include "ports/clock.hpp"
#include "ports/directory_store.hpp"
#include "services/case_events.hpp"

namespace escala::services {

struct CasePatch {
  std::optional<core::Json> fields;
  std::optional<core::Impact> impact;
  std::optional<core::Severity> severity;
  std::string reason;  // required when the severity differs from the suggestion
  bool set_assignee = false;
  std::optional<int64_t> assignee;  // nullopt with set_assignee: unassign
  // Staff: the customer of a case that came in unidentified (the account, and a contact
  // of it).
  std::optional<std::string> account;
  std::optional<int64_t> contact;
};

class CaseService {
 public:
  CaseService(ports::CaseStore& cases, ports::DirectoryStore& directory,
              const ports::Clock& clock, core::CasePolicy policy, std::string number_prefix);

  const std::string& number_prefix() const { return prefix_; }
  // The SLA clocks of a case as of now: consumed, remaining, percent, met or breached.
  core::SlaReport sla_report(const core::Case& c) const;
  // The severity the desk's matrix (D3) suggests for an impact.
  core::Severity suggest_severity(const core::Impact& impact) const {
    return policy_.matrix.suggest(impact);
  }
  std::string number_of(const core::Case& c) const;

  Result<core::Case> open(const core::Actor& actor, core::OpenCaseInput input);
  Result<core::Case> get(const core::Actor& actor, std::string_view number);
  Result<ports::CasePage> list(const core::Actor& actor, ports::CaseQuery query);
  Result<ports::EventPage> events(const core::Actor& actor, std::string_view number,
                                  int64_t after_seq, int limit);
  Result<core::Case> patch(const core::Actor& actor, std::string_view number, CasePatch patch);
  Result<core::Case> reply(const core::Actor& actor, std::string_view number,
                           const std::string& body, bool internal, bool pending);
  Result<core::Case> escalate(const core::Actor& actor, std::string_view number,
                              const std::string& reason);
  Result<core::Case> resolve(const core::Actor& actor, std::string_view number,
                             const std::string& resolution);
  Result<core::Case> confirm(const core::Actor& actor, std::string_view number);
  Result<core::Case> reopen(const core::Actor& actor, std::string_view number,
                            const std::string& reason);
  // Records the SLA warnings and breaches of case `id` due at `now`, as the system.
  // True when something was recorded.
  Result<bool> fire_sla_timers(int64_t id, Instant now);
  // Called after every change that sets an SLA timer (with that timer: its calendar and
  // mark), and after a calendar edit (with nothing: every instant may have moved), so a
  // waiting scheduler can plan again. Set once, before serving; must be quick.
  struct TimerHint {
    std::string calendar;
    Millis mark{0};
  };
  using TimerListener = std::function<void(const std::optional<TimerHint>&)>;
  void set_timer_listener(TimerListener listener) { timer_listener_ = std::move(listener); }

  // Called inside every case change, before it is stored, so that channels can add what
  // the change causes (e.g. the email to the customer) to the same transaction. Set once,
  // before serving. Must be pure and fast (it runs on the store's writer).
  using ChangeDecorator =
      std::function<void(core::Change& change, const core::CaseContext& ctx, Instant now)>;
  void set_change_decorator(ChangeDecorator decorator) { decorator_ = std::move(decorator); }
  const ChangeDecorator& change_decorator() const { return decorator_; }
  // Called after a change that queued mail (core::Change::outbox) is committed, so the
  // outbox sender wakes for it — and only then. Set once, before serving.
  void set_mail_listener(std::function<void()> listener) { mail_listener_ = std::move(listener); }
  // For changes made elsewhere (the inbound pipeline): tells the listener mail was queued.
  void note_mail_queued() const {
    if (mail_listener_) mail_listener_();
  }
  // Tells the timer listener about a case's next SLA timer (for changes made elsewhere).
  void note_timer(const core::Case& c) {
    if (timer_listener_ && c.sla.next_timer_mark)
      timer_listener_(TimerHint{c.sla.calendar, *c.sla.next_timer_mark});
  }
  // Called after every committed change of a case (opened, changed, SLA timer fired, mail
  // received), e.g. to publish it to live listeners (CaseEvents). Set once, before serving;
  // must be quick (it runs on the thread that made the change).
  void set_change_listener(std::function<void(const CaseChanged&)> listener) {
    change_listener_ = std::move(listener);
  }
  // For changes made elsewhere (the inbound pipeline): tells the change listener that
  // `after` was committed by a change of these kinds (nothing when it had no event).
  void note_changed(const core::Case& after, const ChangeKinds& kinds) const;
  // Tells the timer listener that a calendar changed: the instants of the timers on it moved.
  void note_calendar_changed() {
    if (timer_listener_) timer_listener_(std::nullopt);
  }
  // Drops the cached staff list: the next rule or notification re-reads it (called when
  // this node changes a user; changes made on other nodes are seen within seconds).
  void forget_staff() {
    std::lock_guard lock(staff_mu_);
    staff_read_at_.reset();
  }
  // What the core's rules need to know about an account's surroundings (policy, contract,
  // staff, time zone).
  Result<core::CaseContext> context_for(const std::string& account);

  // SLA compliance and times for the cases created in [from, before), optionally of one
  // account (supervisors and administrators).
  Result<core::Json> sla_compliance(const core::Actor& actor, std::optional<Instant> from,
                                    std::optional<Instant> before,
                                    std::optional<std::string> account);

  // The supervisor dashboard's figures beyond sla_compliance (supervisors and
  // administrators): the backlog by severity and age now, cases created per channel per
  // local day of `zone` in the period, and SLA breaches of the last seven local days. The
  // period is [from, before) (before defaults to now), or the last `days` local days up to
  // now; at most kMaxDashboardDays days. kInvalidArgument names the bad parameter.
  static constexpr int kMaxDashboardDays = 92;
  struct DashboardQuery {
    std::optional<Instant> from, before;
    std::optional<int> days;
    std::string zone = "UTC";
  };
  Result<core::Json> dashboard(const core::Actor& actor, const DashboardQuery& query);

  // Once after an upgrade: gives the cases whose SLA timer an earlier version kept as an
  // instant their timer mark (see CaseStore::update_cases_with_legacy_timers). Answers how
  // many cases there were.
  Result<int64_t> derive_legacy_timers();

  // The caller's notifications, newest first.
  Result<std::vector<core::Notification>> notifications(const core::Actor& actor,
                                                        int64_t before_id, int limit);

  // What the account was charged for (R2.1): administrators, supervisors and the
  // account's own customers.
  Result<std::vector<core::BillableItem>> billable_items(const core::Actor& actor,
                                                         const std::string& account);

 private:
  Result<int64_t> parse_number(std::string_view number) const;
  // Runs `change` on the case under the store's write serialization, hiding cases the
  // actor may not see.
  Result<core::Case> mutate(const core::Actor& actor, std::string_view number,
                            const std::function<Result<core::Change>(
                                const core::Case&, const core::CaseContext&)>& change);

  ports::CaseStore& cases_;
  ports::DirectoryStore& directory_;
  const ports::Clock& clock_;
  core::CasePolicy policy_;
  std::string prefix_;
  TimerListener timer_listener_;
  ChangeDecorator decorator_;
  std::function<void()> mail_listener_;
  std::function<void(const CaseChanged&)> change_listener_;

  // Staff as rules and notifications see them, re-read at most every few seconds.
  Result<std::vector<core::StaffMember>> staff();
  std::mutex staff_mu_;
  std::vector<core::StaffMember> staff_;  // GUARDED_BY(staff_mu_)
  std::optional<Instant> staff_read_at_;  // GUARDED_BY(staff_mu_)
};

// Offset from UTC of the IANA zone at `at` (for field times written without a zone).
Seconds zone_offset(const std::string& zone, Instant at);

}  // namespace escala::services
