#include "core/model.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <utility>

namespace escala::core {
namespace {

template <typename E, size_t N>
std::optional<E> lookup(const std::array<std::pair<E, std::string_view>, N>& table,
                        std::string_view s) {
  for (const auto& [e, name] : table)
    if (name == s) return e;
  return std::nullopt;
}

template <typename E, size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
  for (const auto& [v, name] : table)
    if (v == e) return name;
  return "?";
}

constexpr std::array<std::pair<CaseType, std::string_view>, 3> kTypes{{
    {CaseType::kIncident, "incident"},
    {CaseType::kActivation, "activation"},
    {CaseType::kRequest, "request"},
}};
constexpr std::array<std::pair<CaseStatus, std::string_view>, 5> kStatuses{{
    {CaseStatus::kAwaitingInfo, "awaiting_info"},
    {CaseStatus::kOpen, "open"},
    {CaseStatus::kPendingCustomer, "pending_customer"},
    {CaseStatus::kResolved, "resolved"},
    {CaseStatus::kClosed, "closed"},
}};
constexpr std::array<std::pair<Severity, std::string_view>, 4> kSeverities{{
    {Severity::kS1, "S1"},
    {Severity::kS2, "S2"},
    {Severity::kS3, "S3"},
    {Severity::kS4, "S4"},
}};
constexpr std::array<std::pair<Role, std::string_view>, 5> kRoles{{
    {Role::kAdmin, "admin"},
    {Role::kSupervisor, "supervisor"},
    {Role::kAgent, "agent"},
    {Role::kCustomer, "customer"},
    {Role::kSystem, "system"},
}};

}  // namespace

std::string_view to_string(CaseType t) { return name_of(kTypes, t); }
std::string_view to_string(CaseStatus s) { return name_of(kStatuses, s); }
std::string_view to_string(Severity s) { return name_of(kSeverities, s); }
std::string_view to_string(Role r) { return name_of(kRoles, r); }
std::optional<CaseType> parse_case_type(std::string_view s) { return lookup(kTypes, s); }
std::optional<CaseStatus> parse_case_status(std::string_view s) { return lookup(kStatuses, s); }
std::optional<Severity> parse_severity(std::string_view s) { return lookup(kSeverities, s); }
std::optional<Role> parse_role(std::string_view s) {
  auto r = lookup(kRoles, s);
  if (r == Role::kSystem) return std::nullopt;  // never assignable from outside
  return r;
}

std::string format_case_number(std::string_view prefix, int64_t id) {
  char digits[32];
  std::snprintf(digits, sizeof digits, "%06lld", static_cast<long long>(id));
  std::string out(prefix);
  out += digits;
  return out;
}

std::optional<int64_t> parse_case_number(std::string_view prefix, std::string_view number) {
  if (number.size() <= prefix.size() || number.substr(0, prefix.size()) != prefix)
    return std::nullopt;
  auto digits = number.substr(prefix.size());
  if (digits.size() < 6 || digits.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || p != digits.data() + digits.size() || v <= 0) return std::nullopt;
  if (format_case_number(prefix, v) != number) return std::nullopt;  // one spelling per case
  return v;
}

}  // namespace escala::core
