#pragma once
// The wall clock: the only place Escala reads real time.

#include "ports/clock.hpp"

namespace escala::adapters {

class SystemClock final : public ports::Clock {
 public:
  Instant now() const override {
    return std::chrono::time_point_cast<Millis>(std::chrono::system_clock::now());
  }
};

}  // namespace escala::adapters
