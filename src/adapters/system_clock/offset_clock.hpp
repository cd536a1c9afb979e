#pragma once
// The wall clock moved by an offset: for integration tests that must cross SLA deadlines
// without waiting for them. Enabled only by `escala serve --test-clock`; never the default.
// The offset is kept in a file so that it survives a restart of the test's server.

#include <atomic>
#include <fstream>
#include <string>

#include "adapters/system_clock/system_clock.hpp"

namespace escala::adapters {

class OffsetClock final : public ports::Clock {
 public:
  explicit OffsetClock(std::string state_file) : file_(std::move(state_file)) {
    long long ms = 0;
    std::ifstream in(file_);
    if (in >> ms) offset_ms_.store(ms);
  }
  Instant now() const override { return wall_.now() + Millis{offset_ms_.load()}; }
  // Moves the clock forward (never back: instants already recorded stay in the past).
  Instant advance(Millis by) {
    if (by.count() > 0) offset_ms_.fetch_add(by.count());
    std::ofstream(file_, std::ios::trunc) << offset_ms_.load() << "\n";
    return now();
  }

 private:
  SystemClock wall_;
  std::string file_;
  std::atomic<long long> offset_ms_{0};
};

}  // namespace escala::adapters
