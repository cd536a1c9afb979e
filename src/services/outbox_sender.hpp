#pragma once
// Delivers the durable outbox through the relay (--smtp-relay). Messages are claimed with
// a lease, composed, sent, and marked: sent; retried with backoff while the relay is down
// or answers 4xx; failed on 5xx (or after the retries run out) with the reason recorded
// on the case.
//
// Leases (several nodes, issue 6): a claim is held for `lease` and renewed every lease/3
// by keep_leases() while this process works on it, so a slow relay never lets a healthy
// send's claim run out, and a short lease is safe. A process that dies stops renewing:
// its claimed messages are claimed again by another sender (any node) once the lease has
// run out, i.e. within `lease` of the death. A message whose claim this process lost (not
// renewed in time, or taken by another sender) is not sent by it.
//
// Delivery is at least once, and duplicates come from one place only: a process that
// dies after the relay's 250 for a message and before its mark (one UPDATE) commits. That
// window is one commit long, and a process has at most one message in it per sending
// thread, so a kill -9 duplicates at most `relay connections` messages (SMTP offers no
// way to make the relay's acceptance and our mark one transaction).
//
// Thread-safety: run() on as many threads as wanted (each makes its own transport), and
// keep_leases() on one more; poke() and stop() from any thread.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>

#include "ports/case_store.hpp"
#include "ports/clock.hpp"
#include "ports/mail_store.hpp"
#include "ports/mail_transport.hpp"
#include "services/case_service.hpp"

namespace escala::services {

struct OutboxOptions {
  int batch = 32;                           // messages claimed at a time per thread
  // A claim not renewed for this long is free for another sender; keep_leases() renews
  // every lease/3. It bounds failover: a dead node's messages are retried within it.
  Millis lease{std::chrono::seconds(6)};
  // Waits between attempts: 30 s, 1, 2, 5, 10, 30 min, then hourly; gives up after
  // `max_attempts` (about two days).
  int max_attempts = 50;
};

// The wait before attempt `attempts + 1` (attempts made so far ≥ 1).
Millis outbox_backoff(int attempts);

class OutboxSender {
 public:
  using TransportFactory = std::function<std::unique_ptr<ports::MailTransport>()>;

  OutboxSender(ports::MailStore& mail, ports::CaseStore& cases, ports::MailCodec& codec,
               TransportFactory transports, const ports::Clock& clock, OutboxOptions options = {});

  // Sends what is due now with `transport`; returns how many messages were attempted.
  Result<int> send_due(ports::MailTransport& transport);

  // Loops until stop(): sends what is due, then waits for the next due instant, a poke,
  // or `max_wait` (so a clock that jumps, in tests, is noticed).
  void run(Millis max_wait = Millis(1000));
  void poke();
  void stop();

  // Loops until stop(): every lease/3 extends the leases of the claims this process holds
  // (ports::MailStore::renew_outbox_claims) and notes those it lost.
  void keep_leases();
  // One renewal round of keep_leases(); answers how many claims are still held.
  Result<int> renew_leases();

  int64_t sent() const { return sent_.load(); }
  // Claimed messages not sent because the claim was lost before the send began.
  int64_t abandoned() const { return abandoned_.load(); }

 private:
  struct Held {
    int attempt = 0;
    Instant valid_until{};  // the lease as last written by this process
    bool lost = false;
  };
  void record_failure(const core::OutboxMessage& m, const std::string& reason);
  // Whether the claim of `id` may still be acted on: held, and its lease not about to end.
  bool still_held(int64_t id);
  void forget(const std::vector<int64_t>& ids);

  ports::MailStore& mail_;
  ports::CaseStore& cases_;
  ports::MailCodec& codec_;
  TransportFactory transports_;
  const ports::Clock& clock_;
  OutboxOptions opt_;
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> abandoned_{0};
  std::mutex held_mu_;
  std::map<int64_t, Held> held_;  // GUARDED_BY(held_mu_): this process's claims in flight
  std::mutex mu_;
  std::condition_variable cv_;
  int pokes_ = 0;         // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
};

}  // namespace escala::services
