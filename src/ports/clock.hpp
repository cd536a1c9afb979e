#pragma once
// The only way Escala learns the time. Production uses adapters/system_clock; tests use
// ManualClock and move time by hand. Implementations are thread-safe.

#include <atomic>

#include "core/time.hpp"

namespace escala::ports {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Instant now() const = 0;
};

// A clock that moves only when told to. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Instant start) : ms_(to_unix_millis(start)) {}
  Instant now() const override { return from_unix_millis(ms_.load()); }
  void set(Instant t) { ms_.store(to_unix_millis(t)); }
  void advance(Millis d) { ms_.fetch_add(d.count()); }

 private:
  std::atomic<long long> ms_;
};

}  // namespace escala::ports
