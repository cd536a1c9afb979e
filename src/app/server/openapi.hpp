#pragma once
#include <string>
namespace escala::app {
// The OpenAPI 3 document of the REST API (api/openapi.json, compiled in).
const std::string& openapi_document();
}  // namespace escala::app
