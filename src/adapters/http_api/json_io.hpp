#pragma once
// JSON in and out of the API: strict readers for request bodies (unknown fields, wrong
// types and limits are errors naming the field) and the public shapes of domain objects.

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http_api/http_types.hpp"
#include "core/model.hpp"
#include "core/sla.hpp"
#include "core/result.hpp"

namespace escala::adapters::http {

using core::Json;

// Parses a request body that must be one JSON object.
Result<Json> parse_object(const std::string& body);
// Refuses members not in `allowed`.
Status only_fields(const Json& obj, std::initializer_list<const char*> allowed,
                   const std::string& prefix = "");

Result<std::optional<std::string>> opt_string(const Json& obj, const char* key,
                                              size_t max_len = 10'000,
                                              const std::string& prefix = "");
Result<std::string> req_string(const Json& obj, const char* key, size_t max_len = 10'000,
                               const std::string& prefix = "");
Result<std::optional<bool>> opt_bool(const Json& obj, const char* key);
Result<std::optional<int64_t>> opt_int(const Json& obj, const char* key,
                                       const std::string& prefix = "");

Response json_response(int status, const Json& body);
Response error_response(const Error& error);
int http_status_for(ErrorCode code);

// How a case, event, account… looks to API clients. `staff` views include internal data.
Json case_json(const core::Case& c, const std::string& prefix, bool staff,
               const core::SlaReport& sla);
Json event_json(const core::Event& e);
Json account_json(const core::Account& a);
Json contact_json(const core::Contact& c);
Json user_json(const core::User& u);
Json billable_json(const core::BillableItem& b, const std::string& prefix);

}  // namespace escala::adapters::http
