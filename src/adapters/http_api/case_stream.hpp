#pragma once
// The push channel of the console (GET /api/v1/stream): Server-Sent Events telling a
// signed-in user which cases changed, as they change. Each message is one small JSON
// object, `data: {"case":"CMW-000123","version":7,"kind":"reply"}`; the reader refetches
// what it shows through the API. Privacy: services::may_hear (staff hear of every case, a
// customer only of their account's cases and never of internal-only changes, whose kind is
// never named to them). Every connection first gets `event: ready` (after a reconnect the
// client refetches, having perhaps missed changes meanwhile; sent again on an open stream when
// changes of other nodes may have been missed, CaseChanged::gap) and a comment line every
// heartbeat so that proxies keep it open; the stream ends when the session does.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "adapters/http_api/http_types.hpp"
#include "core/model.hpp"
#include "services/case_events.hpp"

namespace escala::adapters::http {

// How many streams may be open: in all, and per user (a console per browser tab).
class StreamLimits {
 public:
  StreamLimits(int max_total, int max_per_user) : max_total_(max_total), max_per_user_(max_per_user) {}
  enum class Verdict { kOk, kUserFull, kFull };
  Verdict acquire(int64_t user_id);
  void release(int64_t user_id);
  int open() const;
  int open_for(int64_t user_id) const;

 private:
  const int max_total_, max_per_user_;
  mutable std::mutex mu_;
  int total_ = 0;                  // GUARDED_BY(mu_)
  std::map<int64_t, int> by_user_;  // GUARDED_BY(mu_)
};

// The message about `change` that `reader` gets, or "" when they may not hear of it.
std::string sse_message(const core::Actor& reader, const services::CaseChanged& change);

class CaseStream : public ResponseStream {
 public:
  // Holds one of `limits`' places for `reader` (already acquired) until it ends. `alive`
  // tells whether the session that opened it still holds.
  CaseStream(services::CaseEvents& hub, std::shared_ptr<StreamLimits> limits, core::Actor reader,
             std::function<bool()> alive, std::chrono::milliseconds heartbeat);
  ~CaseStream() override;

  void start(std::function<void(std::string)> push) override;
  std::chrono::milliseconds heartbeat_interval() const override { return heartbeat_; }
  bool alive() override { return alive_ ? alive_() : true; }

 private:
  services::CaseEvents& hub_;
  std::shared_ptr<StreamLimits> limits_;
  core::Actor reader_;
  std::function<bool()> alive_;
  std::chrono::milliseconds heartbeat_;
  std::unique_ptr<services::CaseEventsSubscription> subscription_;
};

}  // namespace escala::adapters::http
