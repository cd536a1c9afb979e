#include "core/severity.hpp"

namespace escala::core {
namespace {

std::optional<int> affected_index(std::string_view a) {
  if (a == "one") return 0;
  if (a == "several") return 1;
  if (a == "all") return 2;
  return std::nullopt;
}

std::optional<int> disruption_index(std::string_view d) {
  if (d == "outage") return 0;
  if (d == "serious") return 1;
  if (d == "degraded") return 2;
  if (d == "none") return 3;
  return std::nullopt;
}

}  // namespace

Status validate_impact(const Impact& impact) {
  if (!affected_index(impact.affected))
    return make_error(ErrorCode::kInvalidArgument, "must be one of: one, several, all",
                      "impact.affected");
  if (!disruption_index(impact.disruption))
    return make_error(ErrorCode::kInvalidArgument,
                      "must be one of: outage, serious, degraded, none", "impact.disruption");
  return ok_status();
}

Severity SeverityMatrix::suggest(const Impact& impact) const {
  auto a = affected_index(impact.affected).value_or(0);
  auto d = disruption_index(impact.disruption).value_or(2);
  return cells[d][a];
}

}  // namespace escala::core
