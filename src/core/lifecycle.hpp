#pragma once
// The case lifecycle of D4a as pure functions: each takes the case as it is, the actor,
// the instant and the policy, and returns the case as it becomes plus the events that
// record the change (D7). Nothing here reads a clock or touches storage.

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/escalation.hpp"
#include "core/mail.hpp"
#include "core/mail_rules.hpp"
#include "core/model.hpp"
#include "core/result.hpp"
#include "core/severity.hpp"

namespace escala::core {

// Business-time arithmetic the lifecycle needs for SLA clocks, over the named business
// calendars (see calendar_timeline.hpp). A calendar's *mark* at an instant is the open time
// elapsed since a fixed origin; it never decreases. SLA timers are kept as marks, so a
// calendar edit moves the instants they fall on without rewriting them. A null pointer in
// CasePolicy leaves clocks without due instants.
class DueCalculator {
 public:
  virtual ~DueCalculator() = default;
  // The calendar's mark at `t`; nullopt if the calendar is unknown.
  virtual std::optional<Millis> mark(const std::string& calendar, Instant t) const = 0;
  // The earliest instant at which the calendar's mark reaches `m`; nullopt if the calendar is
  // unknown or never gets there.
  virtual std::optional<Instant> at_mark(const std::string& calendar, Millis m) const = 0;

  // N business seconds after `from` (N > 0; N <= 0 gives `from`); nullopt if the calendar is
  // unknown or never opens again.
  std::optional<Instant> add(const std::string& calendar, Instant from, Seconds business) const;
  // Business time in [from, to); nullopt if the calendar is unknown.
  std::optional<Millis> between(const std::string& calendar, Instant from, Instant to) const;
};

struct SlaTarget {
  Seconds response{0};
  Seconds resolution{0};
  std::string calendar;
};

struct CasePolicy {
  SeverityMatrix matrix;
  // Indexed by severity - 1. The deck's table R5; D2: S1 on 24x7, S2–S4 on support.
  std::array<SlaTarget, 4> targets{{
      {Seconds{3600}, Seconds{3 * 3600}, "24x7"},
      {Seconds{5400}, Seconds{4 * 3600}, "support"},
      {Seconds{7200}, Seconds{4 * 3600}, "support"},
      {Seconds{7200}, Seconds{4 * 3600}, "support"},
  }};
  // A closed case may be reopened for this long after it closed.
  Seconds reopen_window{30 * 24 * 3600};
  // A warning is recorded when this share of a target is consumed (D6).
  int warn_percent = 75;
  std::vector<EscalationRule> rules = default_rules();
  std::string number_prefix = "CMW-";
  const DueCalculator* due = nullptr;

  const SlaTarget& target(Severity s) const { return targets[static_cast<int>(s) - 1]; }
};

// What the lifecycle needs to know about the case's surroundings.
struct CaseContext {
  const CasePolicy* policy = nullptr;
  std::optional<Money> activation_charge;  // from the account's contract, if any
  Seconds default_offset{-6 * 3600};        // for field times written without a zone
  std::vector<StaffMember> staff;           // who notifications and rules can reach
  std::shared_ptr<const CasePolicy> own_policy;  // keeps an account's own policy alive
};

struct Change {
  Case after;
  std::vector<Event> events;
  std::optional<BillableItem> billable;
  std::vector<Notification> notifications;
  // The email channel's part, stored in the same transaction: messages to send, the
  // Message-IDs that now thread into the case, the received message that caused the
  // change (its key makes the change happen once) and the bytes it brought.
  std::vector<OutboxMessage> outbox;
  std::vector<std::string> thread_ids;
  std::optional<InboundRecord> inbound;
  std::vector<StoredBlob> blobs;
};

struct OpenCaseInput {
  CaseType type = CaseType::kRequest;
  std::string account;
  std::optional<int64_t> contact_id;
  std::string channel;
  std::string subject;
  std::string description;
  Json fields = Json::object();
  std::optional<Impact> impact;
  std::optional<Severity> severity;  // an explicit choice overrides the matrix
  std::string severity_reason;
};

// May the actor see the case at all? Customers see only their own account's cases.
bool can_view(const Actor& actor, const Case& c);
// Is the actor an agent at the case's level or above, a supervisor, an admin or the system?
bool acts_at_level(const Actor& actor, const Case& c);

// Opens a case. `id` is the number the store reserved for it.
Result<Change> open_case(int64_t id, const OpenCaseInput& in, const Actor& actor, Instant now,
                         const CaseContext& ctx);

// Merges required data; completing it moves awaiting_info → open (R2.3).
Result<Change> update_fields(const Case& c, const Json& patch, const Actor& actor, Instant now,
                             const CaseContext& ctx);
// Sets the impact: the suggested severity follows; the severity too unless overridden.
Result<Change> update_impact(const Case& c, const Impact& impact, const Actor& actor,
                             Instant now, const CaseContext& ctx);
// Overrides the severity; a reason is required when it differs from the suggestion.
Result<Change> change_severity(const Case& c, Severity severity, const std::string& reason,
                               const Actor& actor, Instant now, const CaseContext& ctx);
Result<Change> assign(const Case& c, std::optional<int64_t> assignee, const std::string& name,
                      const Actor& actor, Instant now, const CaseContext& ctx);
// A public reply, an internal note (staff) or a customer's message. `pending` asks the
// customer and moves an open case to pending_customer.
Result<Change> add_reply(const Case& c, const std::string& body, bool internal, bool pending,
                         const Actor& actor, Instant now, const CaseContext& ctx);
Result<Change> escalate(const Case& c, const std::string& reason, const Actor& actor,
                        Instant now, const CaseContext& ctx);
Result<Change> resolve(const Case& c, const std::string& resolution, const Actor& actor,
                       Instant now, const CaseContext& ctx);
Result<Change> confirm(const Case& c, const Actor& actor, Instant now, const CaseContext& ctx);
Result<Change> reopen(const Case& c, const std::string& reason, const Actor& actor, Instant now,
                      const CaseContext& ctx);

// A message from the case's customer by a channel that identifies them by address rather
// than a sign-in (email). The caller has established that the sender is the case's
// customer (by the thread, or the account and the case number). Records
// `customer_message` with the body and attachments; a pending case opens (D4a); on a
// resolved case a confirmation closes it and "not solved" reopens it at the resolving
// level, anything else is only recorded; a closed case reopens within the reopen window,
// else kInvalidTransition (the caller opens a new case that links to it).
struct CustomerMessage {
  std::string sender_name;
  std::string sender_email;
  std::string body;  // what the customer wrote (quotes and signature stripped)
  std::string message_id;
  std::string raw_sha256;  // the original message as received (kept, shown to staff)
  std::string channel = "email";
  std::vector<AttachmentRef> attachments;
  CustomerIntent intent = CustomerIntent::kNone;
};
Result<Change> receive_customer_message(const Case& c, const CustomerMessage& m, Instant now,
                                        const CaseContext& ctx);

// Names the customer of a case that came in unidentified (by email from an unknown
// address): staff only; a case that already has an account may be moved only by a
// supervisor or an administrator. Records `customer_identified`.
Result<Change> identify_customer(const Case& c, const std::string& account,
                                 std::optional<int64_t> contact_id, const Actor& actor,
                                 Instant now, const CaseContext& ctx);

// Records a fact about the case that changes nothing else (a bounce of mail sent about
// it, an auto-reply received, an acknowledgement held back by the loop brake...).
Result<Change> record_event(const Case& c, std::string type, Json data, bool internal,
                            const Actor& actor, Instant now, const CaseContext& ctx);

// Records the SLA warnings and breaches due at `now` (by the system). A change without
// events when nothing is due.
Result<Change> fire_sla_timers(const Case& c, Instant now, const CaseContext& ctx);

// Appends `more` to `base` (both changes of the same case, `more` computed from base.after).
void chain(Change& base, Change&& more);

}  // namespace escala::core
