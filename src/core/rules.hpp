#pragma once
// Required data per case type (R2.1, R2.2, R2.3): one rule set for every channel.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"

namespace escala::core {

enum class FieldKind { kText, kDigits, kPhone, kEmail, kBool, kChoice, kTextList, kInstant };

struct FieldSpec {
  std::string_view name;
  FieldKind kind;
  std::vector<std::string_view> choices;  // kChoice only
  std::string_view label_es;
  std::string_view label_en;
};

// The fields a case type knows, in the deck's order.
const std::vector<FieldSpec>& field_specs(CaseType type);

// Merges `patch` (an object; a null value clears a field) over `current`, checks names and
// types and normalises values (extensions to digit strings, instants to ISO 8601 UTC,
// choices to lower case). Times without a zone are read at `default_offset`.
// Errors name the field as "fields.<name>".
Result<Json> merge_fields(CaseType type, const Json& current, const Json& patch,
                          Seconds default_offset);

// Names of required fields that `fields` lacks, in the deck's order. Conditional rule:
// `teams_email` is required only when `extension_type` is "teams".
std::vector<std::string> missing_fields(CaseType type, const Json& fields);

}  // namespace escala::core
