#pragma once
// Delivers the durable outbox through the relay (--smtp-relay). Messages are claimed with
// a lease, composed, sent, and marked: sent; retried with backoff while the relay is down
// or answers 4xx; failed on 5xx (or after the retries run out) with the reason recorded
// on the case. A process that dies mid-send leaves the message claimed until its lease
// expires; then it is sent again (at least once — SMTP offers no more).
//
// Thread-safety: run() on as many threads as wanted (each makes its own transport);
// poke() and stop() from any thread.

#include <atomic>
#include <condition_variable>
#include <functional>
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
  Millis lease{std::chrono::minutes(5)};    // a claim not finished by then is retried
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

  int64_t sent() const { return sent_.load(); }

 private:
  void record_failure(const core::OutboxMessage& m, const std::string& reason);

  ports::MailStore& mail_;
  ports::CaseStore& cases_;
  ports::MailCodec& codec_;
  TransportFactory transports_;
  const ports::Clock& clock_;
  OutboxOptions opt_;
  std::atomic<int64_t> sent_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  int pokes_ = 0;         // GUARDED_BY(mu_)
  bool stopped_ = false;  // GUARDED_BY(mu_)
};

}  // namespace escala::services
