#pragma once
// MailStore: what the email channel keeps beside the cases — the ledger of received
// messages (idempotent ingestion), the stored bytes (raw messages, attachments), the
// Message-IDs that thread into cases, and the durable outbox.
//
// Changes that touch a case carry their mail part in core::Change (outbox, thread ids,
// inbound record, blobs) and go through CaseStore::create/update, which stores it in the
// same transaction: a received message and its effect on the case are stored together
// or not at all, and a message whose ledger key is already stored makes the whole change
// fail with kAlreadyExists (nothing is stored twice).
//
// Thread-safety: all methods may be called from any thread concurrently. Writes are
// durable when they return. Failure: kAlreadyExists for a ledger key already stored,
// kUnavailable when the database fails.

#include <optional>
#include <string>
#include <vector>

#include "core/mail.hpp"
#include "core/result.hpp"

namespace escala::ports {

class MailStore {
 public:
  virtual ~MailStore() = default;

  // The ledger entry stored under `key`, if any.
  virtual Result<std::optional<core::InboundRecord>> find_inbound(const std::string& key) = 0;
  // Stores a received message that changes no case (auto-replies, bounces without a case,
  // read receipts...) with its bytes, and any outbox messages it causes. kAlreadyExists
  // when the key is stored.
  virtual Status record_inbound(const core::InboundRecord& record,
                                const std::vector<core::StoredBlob>& blobs,
                                const std::vector<core::OutboxMessage>& outbox) = 0;

  // The case that any of these Message-IDs belongs to (the latest one stored wins).
  virtual Result<std::optional<int64_t>> case_for_message_ids(
      const std::vector<std::string>& message_ids) = 0;

  virtual Result<std::optional<std::string>> get_blob(const std::string& sha256) = 0;

  // ---- outbox ----
  // Claims up to `limit` messages due at `now` (pending, or sending with an expired lease)
  // for `lease`: they are not claimed again before now + lease. Oldest first.
  virtual Result<std::vector<core::OutboxMessage>> claim_outbox(Instant now, Millis lease,
                                                                int limit) = 0;
  // A message taken by claim_outbox: its id and the attempt that claim began (attempts
  // counts claims, so a later claim of the same message has a higher one).
  struct OutboxClaim {
    int64_t id = 0;
    int attempt = 0;
  };
  // Extends to `until` the leases of the claims still held: the message is still being
  // sent and no one claimed it since. Answers the ids of those; a claim missing from the
  // answer is lost (finished, or its lease ran out and another sender took it) and must
  // not be sent by its old holder. A sender renews its claims while it works on them, so
  // a lease only has to outlast the sender's renewal period, not the slowest relay.
  virtual Result<std::vector<int64_t>> renew_outbox_claims(const std::vector<OutboxClaim>& claims,
                                                           Instant until) = 0;
  virtual Status outbox_sent(int64_t id, Instant at) = 0;
  // Back to pending, due at `next_at`, with the reason of this attempt.
  virtual Status outbox_retry(int64_t id, Instant next_at, const std::string& error) = 0;
  virtual Status outbox_failed(int64_t id, const std::string& error) = 0;
  // The earliest instant a pending message is due (or a lease expires), if any.
  virtual Result<std::optional<Instant>> next_outbox_due() = 0;
  // Messages of one case, oldest first (what the case page shows as "sent").
  virtual Result<std::vector<core::OutboxMessage>> outbox_for_case(int64_t case_id) = 0;
  // Automatic messages (acknowledgements, requests for data...) queued for `address`
  // since `since`: the per-address cap that stops mail loops.
  virtual Result<int64_t> count_automatic_to(const std::string& address, Instant since) = 0;
  // Outbox totals by status (for health and benchmarks).
  virtual Result<std::vector<std::pair<std::string, int64_t>>> outbox_counts() = 0;
};

}  // namespace escala::ports
