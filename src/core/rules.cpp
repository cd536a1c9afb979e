#include "core/rules.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace escala::core {
namespace {

const std::vector<FieldSpec> kActivation{
    {"account_id", FieldKind::kText, {}, "ID de la cuenta", "Account ID"},
    {"user_full_name", FieldKind::kText, {}, "Nombre completo del usuario a crear",
     "Full name of the user to create"},
    {"extension", FieldKind::kDigits, {}, "Número de extensión deseado",
     "Desired extension number"},
    {"direct_number", FieldKind::kBool, {}, "¿Requiere número directo (DID)?",
     "Is a direct number (DID) needed?"},
    {"extension_type", FieldKind::kChoice, {"sip", "teams"},
     "Tipo de extensión (SIP o Microsoft Teams)", "Extension type (SIP or Microsoft Teams)"},
    {"teams_email", FieldKind::kEmail, {}, "Correo electrónico a ligar (Microsoft Teams)",
     "Email to link (Microsoft Teams)"},
    {"ring_groups", FieldKind::kTextList, {}, "Grupos o colas de timbrado (o ninguno)",
     "Ring groups or queues (or none)"},
};
const std::vector<FieldSpec> kIncident{
    {"extension", FieldKind::kDigits, {}, "Número de extensión o usuario afectado",
     "Affected extension or user"},
    {"direction", FieldKind::kChoice, {"inbound", "outbound"},
     "Tráfico saliente o entrante", "Outbound or inbound traffic"},
    {"counterpart_number", FieldKind::kPhone, {}, "Número de la contraparte",
     "Counterpart number"},
    {"occurred_at", FieldKind::kInstant, {}, "Fecha y hora aproximada del evento",
     "Approximate date and time of the event"},
};
const std::vector<FieldSpec> kRequest{};

constexpr size_t kMaxFieldText = 500;
constexpr size_t kMaxListItems = 50;

const FieldSpec* find_spec(CaseType type, std::string_view name) {
  for (const auto& s : field_specs(type))
    if (s.name == name) return &s;
  return nullptr;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

Result<Json> normalize(const FieldSpec& spec, const Json& v, Seconds default_offset) {
  const std::string field = "fields." + std::string(spec.name);
  auto bad = [&](std::string msg) { return make_error(ErrorCode::kInvalidArgument, msg, field); };
  switch (spec.kind) {
    case FieldKind::kText: {
      if (!v.is_string()) return bad("must be a string");
      auto s = trim(v.get<std::string>());
      if (s.empty()) return bad("must not be empty");
      if (s.size() > kMaxFieldText) return bad("is too long");
      return Json(s);
    }
    case FieldKind::kDigits: {
      std::string s;
      if (v.is_number_unsigned() || v.is_number_integer()) {
        s = v.dump();
      } else if (v.is_string()) {
        s = trim(v.get<std::string>());
      } else {
        return bad("must be an extension number");
      }
      if (s.empty() || s.size() > 16 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad("must be an extension number (digits only)");
      return Json(s);
    }
    case FieldKind::kPhone: {
      std::string s;
      if (v.is_number_unsigned() || v.is_number_integer()) s = v.dump();
      else if (v.is_string()) s = trim(v.get<std::string>());
      else return bad("must be a phone number");
      std::string digits;
      for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c >= '0' && c <= '9') digits += c;
        else if (c == '+' && i == 0) digits += c;
        else if (c == ' ' || c == '-' || c == '(' || c == ')' || c == '.') continue;
        else return bad("must be a phone number (digits, optional leading +)");
      }
      size_t n = digits.size() - (digits.starts_with('+') ? 1 : 0);
      if (n < 2 || n > 20) return bad("must be a phone number of 2 to 20 digits");
      return Json(digits);
    }
    case FieldKind::kEmail: {
      if (!v.is_string()) return bad("must be an email address");
      auto s = trim(v.get<std::string>());
      if (!is_email_address(s)) return bad("must be an email address");
      return Json(s);
    }
    case FieldKind::kBool: {
      if (!v.is_boolean()) return bad("must be true or false");
      return v;
    }
    case FieldKind::kChoice: {
      if (!v.is_string()) return bad("must be a string");
      auto s = trim(v.get<std::string>());
      std::transform(s.begin(), s.end(), s.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      for (auto c : spec.choices)
        if (c == s) return Json(s);
      std::string list;
      for (auto c : spec.choices) list += (list.empty() ? "" : ", ") + std::string(c);
      return bad("must be one of: " + list);
    }
    case FieldKind::kTextList: {
      if (!v.is_array()) return bad("must be a list of names (empty when none)");
      if (v.size() > kMaxListItems) return bad("has too many items");
      Json out = Json::array();
      for (const auto& item : v) {
        if (!item.is_string()) return bad("must be a list of names");
        auto s = trim(item.get<std::string>());
        if (s.empty() || s.size() > kMaxFieldText) return bad("has an empty or too long name");
        out.push_back(s);
      }
      return out;
    }
    case FieldKind::kInstant: {
      if (!v.is_string()) return bad("must be a date and time (ISO 8601)");
      auto t = parse_iso8601(trim(v.get<std::string>()), default_offset);
      if (!t) return bad("must be a date and time such as 2026-11-26T10:30:00-06:00");
      return Json(format_iso8601(*t));
    }
  }
  return bad("unsupported field");
}

}  // namespace

const std::vector<FieldSpec>& field_specs(CaseType type) {
  switch (type) {
    case CaseType::kActivation: return kActivation;
    case CaseType::kIncident: return kIncident;
    case CaseType::kRequest: return kRequest;
  }
  return kRequest;
}

Result<Json> merge_fields(CaseType type, const Json& current, const Json& patch,
                          Seconds default_offset) {
  if (!patch.is_object())
    return make_error(ErrorCode::kInvalidArgument, "fields must be an object", "fields");
  Json merged = current.is_object() ? current : Json::object();
  for (const auto& [name, value] : patch.items()) {
    const FieldSpec* spec = find_spec(type, name);
    if (!spec)
      return make_error(ErrorCode::kUnknownField,
                        "a " + std::string(to_string(type)) + " has no field '" + name + "'",
                        "fields." + name);
    if (value.is_null()) {
      merged.erase(name);
      continue;
    }
    auto norm = normalize(*spec, value, default_offset);
    if (!norm.ok()) return norm.error();
    merged[name] = std::move(norm).value();
  }
  if (type == CaseType::kActivation && merged.contains("teams_email")) {
    auto t = merged.find("extension_type");
    if (t != merged.end() && *t == "sip") {
      if (patch.contains("teams_email") && !patch["teams_email"].is_null())
        return make_error(ErrorCode::kInvalidArgument,
                          "teams_email applies only to Microsoft Teams extensions",
                          "fields.teams_email");
      // The type changed to SIP: the Teams address no longer applies.
      merged.erase("teams_email");
    }
  }
  return merged;
}

std::vector<std::string> missing_fields(CaseType type, const Json& fields) {
  std::vector<std::string> missing;
  for (const auto& spec : field_specs(type)) {
    if (spec.name == "teams_email") {
      auto t = fields.find("extension_type");
      if (t == fields.end() || *t != "teams") continue;
    }
    if (!fields.contains(spec.name)) missing.emplace_back(spec.name);
  }
  return missing;
}

}  // namespace escala::core
