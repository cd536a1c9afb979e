#pragma once
// The CallMyWay defaults from the deck: what a fresh desk starts with. Stored as
// configuration on first start; administrators edit them afterwards.

#include "core/model.hpp"

namespace escala::core {

// {"mailboxes": [...], "phone_numbers": [...], "hours": {...}, "levels": [...],
//  "severities": [...], "sla_policy": {...}, "case_number_prefix": "CMW-"}
Json deck_defaults();

}  // namespace escala::core
