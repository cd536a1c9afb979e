#include "adapters/http_api/case_stream.hpp"

#include <nlohmann/json.hpp>

namespace escala::adapters::http {

StreamLimits::Verdict StreamLimits::acquire(int64_t user_id) {
  std::lock_guard lock(mu_);
  if (total_ >= max_total_) return Verdict::kFull;
  int& mine = by_user_[user_id];
  if (mine >= max_per_user_) {
    if (mine == 0) by_user_.erase(user_id);
    return Verdict::kUserFull;
  }
  ++mine;
  ++total_;
  return Verdict::kOk;
}

void StreamLimits::release(int64_t user_id) {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(user_id);
  if (it == by_user_.end()) return;
  --total_;
  if (--it->second <= 0) by_user_.erase(it);
}

int StreamLimits::open() const {
  std::lock_guard lock(mu_);
  return total_;
}

int StreamLimits::open_for(int64_t user_id) const {
  std::lock_guard lock(mu_);
  auto it = by_user_.find(user_id);
  return it == by_user_.end() ? 0 : it->second;
}

std::string sse_message(const core::Actor& reader, const services::CaseChanged& change) {
  if (!services::may_hear(reader, change)) return {};
  // Changes may have been missed (another node's were not heard for a while): the same
  // `ready` a reconnection gets, and the console refetches.
  if (change.gap) return "event: ready\ndata: {\"missed\":true}\n\n";
  const std::string& kind = reader.is_staff() ? change.kind : change.public_kind;
  core::Json j = {{"case", change.number}, {"version", change.version}, {"kind", kind}};
  return "data: " + j.dump() + "\n\n";
}

CaseStream::CaseStream(services::CaseEvents& hub, std::shared_ptr<StreamLimits> limits,
                       core::Actor reader, std::function<bool()> alive,
                       std::chrono::milliseconds heartbeat)
    : hub_(hub),
      limits_(std::move(limits)),
      reader_(std::move(reader)),
      alive_(std::move(alive)),
      heartbeat_(heartbeat) {}

CaseStream::~CaseStream() {
  subscription_.reset();  // no push after this
  if (limits_) limits_->release(reader_.user_id);
}

void CaseStream::start(std::function<void(std::string)> push) {
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(heartbeat_).count();
  // `retry`: how long a browser's EventSource waits before it reconnects.
  push("retry: 3000\nevent: ready\ndata: " +
       core::Json{{"heartbeat_seconds", secs}}.dump() + "\n\n");
  subscription_ = std::make_unique<services::CaseEventsSubscription>(
      hub_, [reader = reader_, push = std::move(push)](const services::CaseChanged& c) {
        if (auto m = sse_message(reader, c); !m.empty()) push(std::move(m));
      });
}

}  // namespace escala::adapters::http
