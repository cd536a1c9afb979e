#include "services/outbox_sender.hpp"

#include <algorithm>
#include <set>

#include "core/lifecycle.hpp"

namespace escala::services {

Millis outbox_backoff(int attempts) {
  static const Millis kSteps[] = {std::chrono::seconds(30), std::chrono::minutes(1),
                                  std::chrono::minutes(2),  std::chrono::minutes(5),
                                  std::chrono::minutes(10), std::chrono::minutes(30)};
  const int i = std::max(attempts, 1) - 1;
  if (i < static_cast<int>(std::size(kSteps))) return kSteps[i];
  return std::chrono::hours(1);
}

OutboxSender::OutboxSender(ports::MailStore& mail, ports::CaseStore& cases,
                           ports::MailCodec& codec, TransportFactory transports,
                           const ports::Clock& clock, OutboxOptions options)
    : mail_(mail),
      cases_(cases),
      codec_(codec),
      transports_(std::move(transports)),
      clock_(clock),
      opt_(options) {}

void OutboxSender::record_failure(const core::OutboxMessage& m, const std::string& reason) {
  if (m.case_id == 0) return;
  const Instant now = clock_.now();
  // Shown on the case so the agent knows the customer did not get it.
  (void)cases_.update(m.case_id, [&](const core::Case& c) -> Result<core::Change> {
    return core::record_event(
        c, "mail_failed",
        {{"kind", m.kind}, {"to", m.recipients}, {"subject", m.mail.subject}, {"reason", reason}},
        /*internal=*/true, core::Actor::system(), now, core::CaseContext{});
  });
}

Result<int> OutboxSender::send_due(ports::MailTransport& transport) {
  const Instant now = clock_.now();
  auto batch = mail_.claim_outbox(now, opt_.lease, opt_.batch);
  if (!batch.ok()) return batch.error();
  std::vector<int64_t> ids;
  {
    std::lock_guard lock(held_mu_);
    for (const auto& m : *batch) {
      held_[m.id] = Held{m.attempts, now + opt_.lease, false};
      ids.push_back(m.id);
    }
  }
  // Whatever happens below, this process no longer works on these messages afterwards.
  struct Forget {
    OutboxSender* self;
    const std::vector<int64_t>& ids;
    ~Forget() { self->forget(ids); }
  } forget_batch{this, ids};
  for (const auto& m : *batch) {
    if (!still_held(m.id)) {
      abandoned_.fetch_add(1);  // another sender has it, or will once its lease ends
      continue;
    }
    const std::string raw = codec_.compose(m.mail);
    auto report = transport.send(m.envelope_from, m.recipients, raw);
    const Instant done = clock_.now();
    switch (report.outcome) {
      case ports::SendOutcome::kSent:
        ESCALA_TRY(mail_.outbox_sent(m.id, done));
        sent_.fetch_add(1);
        break;
      case ports::SendOutcome::kTemporary:
        if (m.attempts >= opt_.max_attempts) {
          ESCALA_TRY(mail_.outbox_failed(m.id, "gave up after " + std::to_string(m.attempts) +
                                                   " attempts: " + report.detail));
          record_failure(m, report.detail);
        } else {
          ESCALA_TRY(mail_.outbox_retry(m.id, done + outbox_backoff(m.attempts), report.detail));
        }
        break;
      case ports::SendOutcome::kPermanent:
        ESCALA_TRY(mail_.outbox_failed(m.id, report.detail));
        record_failure(m, report.detail);
        break;
    }
  }
  return static_cast<int>(batch->size());
}

void OutboxSender::run(Millis max_wait) {
  auto transport = transports_();
  for (;;) {
    int seen_pokes;
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      seen_pokes = pokes_;
    }
    auto n = send_due(*transport);
    if (n.ok() && n.value() > 0) continue;  // more may be due
    Millis wait = max_wait;
    if (auto next = mail_.next_outbox_due(); next.ok() && next.value())
      wait = std::clamp(std::chrono::duration_cast<Millis>(*next.value() - clock_.now()),
                        Millis(0), max_wait);
    if (!n.ok()) wait = max_wait;  // the database failed: do not spin
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [&] { return stopped_ || pokes_ != seen_pokes; });
  }
}

bool OutboxSender::still_held(int64_t id) {
  // A margin of a tenth of the lease: the send must begin well before another sender may
  // take the message (clocks of nodes differ a little; the renewal may be in flight).
  const Instant limit = clock_.now() + opt_.lease / 10;
  std::lock_guard lock(held_mu_);
  auto it = held_.find(id);
  return it != held_.end() && !it->second.lost && limit < it->second.valid_until;
}

void OutboxSender::forget(const std::vector<int64_t>& ids) {
  std::lock_guard lock(held_mu_);
  for (int64_t id : ids) held_.erase(id);
}

Result<int> OutboxSender::renew_leases() {
  std::vector<ports::MailStore::OutboxClaim> claims;
  {
    std::lock_guard lock(held_mu_);
    for (const auto& [id, h] : held_)
      if (!h.lost) claims.push_back({id, h.attempt});
  }
  if (claims.empty()) return 0;
  const Instant until = clock_.now() + opt_.lease;
  auto renewed = mail_.renew_outbox_claims(claims, until);
  if (!renewed.ok()) return renewed.error();  // the leases run on; still_held() notices
  std::set<int64_t> kept(renewed->begin(), renewed->end());
  std::lock_guard lock(held_mu_);
  for (const auto& c : claims) {
    auto it = held_.find(c.id);
    if (it == held_.end() || it->second.attempt != c.attempt) continue;  // finished meanwhile
    if (kept.count(c.id)) it->second.valid_until = until;
    else it->second.lost = true;
  }
  return static_cast<int>(kept.size());
}

void OutboxSender::keep_leases() {
  const Millis period = std::max(Millis(50), opt_.lease / 3);
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, period, [&] { return stopped_; })) return;
    }
    (void)renew_leases();  // a database error: retried next period, sends pause meanwhile
  }
}

void OutboxSender::poke() {
  {
    std::lock_guard lock(mu_);
    ++pokes_;
  }
  cv_.notify_all();
}

void OutboxSender::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_all();
}

}  // namespace escala::services
