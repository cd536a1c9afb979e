#pragma once
// The impact matrix of D3: affected users × disruption → suggested severity.

#include <array>
#include <optional>
#include <string_view>

#include "core/model.hpp"
#include "core/result.hpp"

namespace escala::core {

// Rows: outage, serious, degraded, none. Columns: one, several, all.
struct SeverityMatrix {
  std::array<std::array<Severity, 3>, 4> cells{{
      {Severity::kS2, Severity::kS1, Severity::kS1},
      {Severity::kS2, Severity::kS2, Severity::kS1},
      {Severity::kS3, Severity::kS3, Severity::kS2},
      {Severity::kS4, Severity::kS4, Severity::kS4},
  }};

  Severity suggest(const Impact& impact) const;
};

// Checks the two words of an impact; errors name "impact.affected" / "impact.disruption".
Status validate_impact(const Impact& impact);

}  // namespace escala::core
