#include "services/case_events.hpp"

namespace escala::services {

ChangeKinds kinds_of(const std::vector<core::Event>& events) {
  ChangeKinds k;
  for (const auto& e : events) {
    if (k.kind.empty()) k.kind = e.type;
    if (!e.internal && k.public_kind.empty()) k.public_kind = e.type;
  }
  return k;
}

bool may_hear(const core::Actor& reader, const CaseChanged& change) {
  if (reader.is_staff() || change.gap) return true;
  return !reader.account.empty() && reader.account == change.account &&
         !change.public_kind.empty();
}

CaseEvents::Id CaseEvents::subscribe(Listener listener) {
  std::lock_guard lock(mu_);
  const Id id = next_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void CaseEvents::unsubscribe(Id id) {
  std::lock_guard lock(mu_);
  listeners_.erase(id);
}

void CaseEvents::publish(const CaseChanged& change) {
  std::lock_guard lock(mu_);
  ++published_;
  for (auto& [id, listener] : listeners_) listener(change);
}

size_t CaseEvents::listeners() const {
  std::lock_guard lock(mu_);
  return listeners_.size();
}

uint64_t CaseEvents::published() const {
  std::lock_guard lock(mu_);
  return published_;
}

}  // namespace escala::services
