#include "adapters/http_api/json_io.hpp"

#include <cmath>

#include "core/text.hpp"

namespace escala::adapters::http {
namespace {

std::string path(const std::string& prefix, const char* key) {
  return prefix.empty() ? std::string(key) : prefix + "." + key;
}

Json opt_time(const std::optional<Instant>& t) {
  return t ? Json(format_iso8601(*t)) : Json(nullptr);
}

}  // namespace

Result<Json> parse_object(const std::string& body) {
  if (!core::is_valid_utf8(body))
    return make_error(ErrorCode::kInvalidArgument, "the body is not valid UTF-8");
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return make_error(ErrorCode::kInvalidArgument, "the body is not valid JSON");
  if (!j.is_object())
    return make_error(ErrorCode::kInvalidArgument, "the body must be a JSON object");
  return j;
}

Status only_fields(const Json& obj, std::initializer_list<const char*> allowed,
                   const std::string& prefix) {
  for (const auto& [k, v] : obj.items()) {
    bool ok = false;
    for (const char* a : allowed)
      if (k == a) {
        ok = true;
        break;
      }
    if (!ok)
      return make_error(ErrorCode::kUnknownField, "unknown field '" + k + "'",
                        prefix.empty() ? k : prefix + "." + k);
  }
  return ok_status();
}

Result<std::optional<std::string>> opt_string(const Json& obj, const char* key, size_t max_len,
                                              const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string())
    return make_error(ErrorCode::kInvalidArgument, "must be a string", path(prefix, key));
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_len)
    return make_error(ErrorCode::kInvalidArgument,
                      "is too long (at most " + std::to_string(max_len) + " bytes)",
                      path(prefix, key));
  return std::optional<std::string>(s);
}

Result<std::string> req_string(const Json& obj, const char* key, size_t max_len,
                               const std::string& prefix) {
  auto s = opt_string(obj, key, max_len, prefix);
  if (!s.ok()) return s.error();
  if (!s.value())
    return make_error(ErrorCode::kInvalidArgument, "is required", path(prefix, key));
  return std::move(*s.value());
}

Result<std::optional<bool>> opt_bool(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return make_error(ErrorCode::kInvalidArgument, "must be true or false", key);
  return std::optional<bool>(it->get<bool>());
}

Result<std::optional<int64_t>> opt_int(const Json& obj, const char* key,
                                       const std::string& prefix) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<int64_t>();
  if (!it->is_number_integer())
    return make_error(ErrorCode::kInvalidArgument, "must be an integer", path(prefix, key));
  return std::optional<int64_t>(it->get<int64_t>());
}

int http_status_for(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kUnknownField: return 400;
    case ErrorCode::kUnauthenticated: return 401;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kInvalidTransition:
    case ErrorCode::kConflict: return 409;
    case ErrorCode::kPayloadTooLarge: return 413;
    case ErrorCode::kRateLimited: return 429;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

Response json_response(int status, const Json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, Json::error_handler_t::replace);
  return r;
}

Response error_response(const Error& error) {
  Json e = {{"code", error_code_name(error.code)}, {"message", error.message}};
  if (!error.field.empty()) e["field"] = error.field;
  Response r = json_response(http_status_for(error.code), Json{{"error", e}});
  if (error.code == ErrorCode::kUnauthenticated)
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  if (error.code == ErrorCode::kRateLimited) r.headers.emplace_back("Retry-After", "60");
  return r;
}

Json clock_json(const core::ClockReport& k) {
  auto secs = [](Millis m) { return std::chrono::duration_cast<Seconds>(m).count(); };
  return Json{{"target_seconds", k.target.count()},
              {"consumed_seconds", secs(k.consumed)},
              {"remaining_seconds", secs(k.remaining)},
              {"percent", std::round(k.percent * 10) / 10},
              {"running", k.running},
              {"due", opt_time(k.due)},
              {"met", k.met},
              {"breached", k.breached}};
}

Json case_json(const core::Case& c, const std::string& prefix, bool staff,
               const core::SlaReport& sla) {
  Json j = {
      {"number", core::format_case_number(prefix, c.id)},
      {"type", core::to_string(c.type)},
      {"status", core::to_string(c.status)},
      {"level", c.level},
      {"severity", core::to_string(c.severity)},
      {"suggested_severity",
       c.suggested_severity ? Json(core::to_string(*c.suggested_severity)) : Json(nullptr)},
      {"impact", c.impact ? Json{{"affected", c.impact->affected},
                                 {"disruption", c.impact->disruption}}
                          : Json(nullptr)},
      {"account", c.account.empty() ? Json(nullptr) : Json(c.account)},
      {"contact", c.contact_id ? Json(*c.contact_id) : Json(nullptr)},
      {"channel", c.channel},
      {"subject", c.subject},
      {"description", c.description},
      {"fields", c.fields},
      {"missing_fields", c.missing_fields},
      {"sla",
       {{"calendar", sla.calendar},
        {"response_due", opt_time(sla.response.due)},
        {"resolution_due", opt_time(sla.resolution.due)},
        {"response_met_at", opt_time(sla.response.stopped_at)},
        {"resolved_at", opt_time(c.resolved_at)},
        {"paused", sla.paused},
        {"response", clock_json(sla.response)},
        {"resolution", clock_json(sla.resolution)}}},
      {"created_at", format_iso8601(c.created_at)},
      {"updated_at", format_iso8601(c.updated_at)},
      {"completed_at", opt_time(c.completed_at)},
      {"closed_at", opt_time(c.closed_at)},
      {"attachments", Json::array()},
      {"mailbox", c.mailbox.empty() ? Json(nullptr) : Json(c.mailbox)},
      {"requester", c.requester.email.empty() && c.requester.name.empty()
                        ? Json(nullptr)
                        : Json{{"name", c.requester.name},
                               {"email", c.requester.email},
                               {"language", c.requester.language}}},
      {"version", c.version},
  };
  for (const auto& a : c.attachments)
    j["attachments"].push_back({{"name", a.name},
                                {"size", a.size},
                                {"content_type", a.content_type},
                                {"sha256", a.sha256},
                                {"url", "/api/v1/cases/" + core::format_case_number(prefix, c.id) +
                                            "/attachments/" + a.sha256}});
  if (staff) {
    j["assignee"] = c.assignee_id ? Json(*c.assignee_id) : Json(nullptr);
    j["severity_reason"] = c.severity_reason.empty() ? Json(nullptr) : Json(c.severity_reason);
  }
  return j;
}

Json event_json(const core::Event& e) {
  return Json{{"seq", e.seq},
              {"type", e.type},
              {"at", format_iso8601(e.at)},
              {"actor", {{"id", e.actor_id ? Json(e.actor_id) : Json(nullptr)},
                         {"name", e.actor_name},
                         {"role", core::to_string(e.actor_role)}}},
              {"internal", e.internal},
              {"data", e.data}};
}

Json account_json(const core::Account& a) {
  Json j = {{"code", a.code},
            {"name", a.name},
            {"timezone", a.timezone},
            {"language", a.language},
            {"contract", nullptr},
            {"created_at", format_iso8601(a.created_at)}};
  if (a.contract) {
    Json sla = Json::object();
    for (const auto& [sev, t] : a.contract->sla)
      sla[std::string(core::to_string(sev))] = {{"response_seconds", t.response.count()},
                                                {"resolution_seconds", t.resolution.count()},
                                                {"calendar", t.calendar}};
    j["contract"] = {{"name", a.contract->name},
                     {"activation_charge",
                      {{"amount_cents", a.contract->activation_charge.amount_cents},
                       {"currency", a.contract->activation_charge.currency}}},
                     {"sla", sla}};
  }
  return j;
}

Json contact_json(const core::Contact& c) {
  return Json{{"id", c.id},
              {"account", c.account},
              {"name", c.name},
              {"email", c.email.empty() ? Json(nullptr) : Json(c.email)},
              {"phone", c.phone.empty() ? Json(nullptr) : Json(c.phone)},
              {"language", c.language},
              {"email_failure", c.email_failure.empty() ? Json(nullptr) : Json(c.email_failure)},
              {"created_at", format_iso8601(c.created_at)}};
}

Json user_json(const core::User& u) {
  return Json{{"id", u.id},
              {"email", u.email},
              {"name", u.name},
              {"role", core::to_string(u.role)},
              {"level", u.role == core::Role::kCustomer ? Json(nullptr) : Json(u.level)},
              {"specialties", u.specialties},
              {"account", u.account.empty() ? Json(nullptr) : Json(u.account)},
              {"language", u.language},
              {"timezone", u.timezone},
              {"active", u.active},
              {"quiet", u.quiet},
              {"created_at", format_iso8601(u.created_at)}};
}

Json billable_json(const core::BillableItem& b, const std::string& prefix) {
  return Json{{"id", b.id},
              {"account", b.account},
              {"case", core::format_case_number(prefix, b.case_id)},
              {"kind", b.kind},
              {"description", b.description},
              {"amount_cents", b.charge.amount_cents},
              {"currency", b.charge.currency},
              {"at", format_iso8601(b.at)}};
}

}  // namespace escala::adapters::http
