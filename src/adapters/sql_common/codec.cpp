#include "adapters/sql_common/codec.hpp"

#include "core/text.hpp"

namespace escala::adapters::sql {
namespace {

using core::Json;

Json opt_ms(const std::optional<Instant>& t) {
  return t ? Json(to_unix_millis(*t)) : Json(nullptr);
}

std::optional<Instant> get_opt_ms(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return from_unix_millis(it->get<long long>());
}

Json clock_to_json(const core::SlaClock& k) {
  return Json{{"target_s", k.target.count()},
              {"consumed_ms", k.consumed.count()},
              {"started_at", opt_ms(k.started_at)},
              {"running_since", opt_ms(k.running_since)},
              {"stopped_at", opt_ms(k.stopped_at)},
              {"warned", k.warned},
              {"breach_recorded", k.breach_recorded}};
}

core::SlaClock clock_from_json(const Json& j) {
  core::SlaClock k;
  k.target = Seconds{j.value("target_s", 0LL)};
  k.consumed = Millis{j.value("consumed_ms", 0LL)};
  k.started_at = get_opt_ms(j, "started_at");
  k.running_since = get_opt_ms(j, "running_since");
  k.stopped_at = get_opt_ms(j, "stopped_at");
  k.warned = j.value("warned", false);
  k.breach_recorded = j.value("breach_recorded", false);
  return k;
}

}  // namespace

std::string case_to_doc(const core::Case& c) {
  Json j = {
      {"id", c.id},
      {"type", core::to_string(c.type)},
      {"status", core::to_string(c.status)},
      {"level", c.level},
      {"severity", core::to_string(c.severity)},
      {"suggested_severity",
       c.suggested_severity ? Json(core::to_string(*c.suggested_severity)) : Json(nullptr)},
      {"severity_reason", c.severity_reason},
      {"impact", c.impact ? Json{{"affected", c.impact->affected},
                                 {"disruption", c.impact->disruption}}
                          : Json(nullptr)},
      {"account", c.account},
      {"contact_id", c.contact_id ? Json(*c.contact_id) : Json(nullptr)},
      {"assignee_id", c.assignee_id ? Json(*c.assignee_id) : Json(nullptr)},
      {"created_by", c.created_by ? Json(*c.created_by) : Json(nullptr)},
      {"channel", c.channel},
      {"subject", c.subject},
      {"description", c.description},
      {"fields", c.fields},
      {"missing_fields", c.missing_fields},
      {"created_at", to_unix_millis(c.created_at)},
      {"updated_at", to_unix_millis(c.updated_at)},
      {"completed_at", opt_ms(c.completed_at)},
      {"first_response_at", opt_ms(c.first_response_at)},
      {"resolved_at", opt_ms(c.resolved_at)},
      {"closed_at", opt_ms(c.closed_at)},
      {"resolved_level", c.resolved_level},
      {"sla",
       {{"calendar", c.sla.calendar},
        {"response", clock_to_json(c.sla.response)},
        {"resolution", clock_to_json(c.sla.resolution)},
        {"unassigned_since", opt_ms(c.sla.unassigned_since)},
        {"unassigned_alerts", c.sla.unassigned_alerts},
        {"next_timer_mark",
         c.sla.next_timer_mark ? Json(c.sla.next_timer_mark->count()) : Json(nullptr)}}},
      {"version", c.version},
  };
  // The email channel's part, only when there is one (keeps other cases' rows small).
  if (!c.mailbox.empty()) j["mailbox"] = c.mailbox;
  if (!c.requester.email.empty() || !c.requester.name.empty())
    j["requester"] = {{"name", c.requester.name},
                      {"email", c.requester.email},
                      {"language", c.requester.language}};
  if (!c.attachments.empty()) {
    Json a = Json::array();
    for (const auto& x : c.attachments)
      a.push_back({{"name", x.name}, {"type", x.content_type}, {"size", x.size},
                   {"sha256", x.sha256}});
    j["attachments"] = std::move(a);
  }
  if (!c.mail_refs.empty()) j["mail_refs"] = c.mail_refs;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<core::Case> case_from_doc(const std::string& doc) {
  try {
    Json j = Json::parse(doc);
    core::Case c;
    c.id = j.at("id").get<int64_t>();
    c.type = core::parse_case_type(j.at("type").get<std::string>()).value();
    c.status = core::parse_case_status(j.at("status").get<std::string>()).value();
    c.level = j.at("level").get<int>();
    c.severity = core::parse_severity(j.at("severity").get<std::string>()).value();
    if (!j["suggested_severity"].is_null())
      c.suggested_severity = core::parse_severity(j["suggested_severity"].get<std::string>());
    c.severity_reason = j.value("severity_reason", "");
    if (!j["impact"].is_null())
      c.impact = core::Impact{j["impact"]["affected"], j["impact"]["disruption"]};
    c.account = j.value("account", "");
    if (!j["contact_id"].is_null()) c.contact_id = j["contact_id"].get<int64_t>();
    if (!j["assignee_id"].is_null()) c.assignee_id = j["assignee_id"].get<int64_t>();
    if (!j["created_by"].is_null()) c.created_by = j["created_by"].get<int64_t>();
    c.channel = j.value("channel", "");
    c.subject = j.value("subject", "");
    c.description = j.value("description", "");
    c.fields = j.at("fields");
    c.missing_fields = j.at("missing_fields").get<std::vector<std::string>>();
    c.created_at = from_unix_millis(j.at("created_at").get<long long>());
    c.updated_at = from_unix_millis(j.at("updated_at").get<long long>());
    c.completed_at = get_opt_ms(j, "completed_at");
    c.first_response_at = get_opt_ms(j, "first_response_at");
    c.resolved_at = get_opt_ms(j, "resolved_at");
    c.closed_at = get_opt_ms(j, "closed_at");
    c.resolved_level = j.value("resolved_level", 0);
    const Json& sla = j.at("sla");
    c.sla.calendar = sla.value("calendar", "");
    c.sla.response = clock_from_json(sla.at("response"));
    c.sla.resolution = clock_from_json(sla.at("resolution"));
    // Documents written before marks hold "next_timer_at" (an instant) instead; such cases
    // get their mark from update_cases_with_legacy_timers after the upgrade.
    if (auto m = sla.find("next_timer_mark"); m != sla.end() && m->is_number_integer())
      c.sla.next_timer_mark = Millis{m->get<int64_t>()};
    c.sla.unassigned_since = get_opt_ms(sla, "unassigned_since");
    if (sla.contains("unassigned_alerts"))
      c.sla.unassigned_alerts = sla["unassigned_alerts"].get<std::vector<std::string>>();
    c.version = j.at("version").get<int64_t>();
    c.mailbox = j.value("mailbox", "");
    if (auto r = j.find("requester"); r != j.end() && r->is_object()) {
      c.requester.name = r->value("name", "");
      c.requester.email = r->value("email", "");
      c.requester.language = r->value("language", "");
    }
    if (auto a = j.find("attachments"); a != j.end() && a->is_array())
      for (const auto& x : *a)
        c.attachments.push_back(core::AttachmentRef{x.value("name", ""), x.value("type", ""),
                                                    x.value("size", 0LL),
                                                    x.value("sha256", "")});
    if (auto m = j.find("mail_refs"); m != j.end() && m->is_array())
      c.mail_refs = m->get<std::vector<std::string>>();
    return c;
  } catch (const std::exception& e) {
    return make_error(ErrorCode::kInternal, std::string("stored case is unreadable: ") + e.what());
  }
}

std::string contract_to_doc(const std::optional<core::Contract>& contract) {
  if (!contract) return "";
  Json sla = Json::object();
  for (const auto& [sev, t] : contract->sla)
    sla[std::string(core::to_string(sev))] = {{"response_seconds", t.response.count()},
                                              {"resolution_seconds", t.resolution.count()},
                                              {"calendar", t.calendar}};
  return Json{{"name", contract->name},
              {"activation_charge",
               {{"amount_cents", contract->activation_charge.amount_cents},
                {"currency", contract->activation_charge.currency}}},
              {"sla", sla}}
      .dump();
}

std::optional<core::Contract> contract_from_doc(const std::string& doc) {
  if (doc.empty()) return std::nullopt;
  try {
    Json j = Json::parse(doc);
    core::Contract c;
    c.name = j.value("name", "");
    c.activation_charge.amount_cents = j["activation_charge"].value("amount_cents", 0LL);
    c.activation_charge.currency = j["activation_charge"].value("currency", "USD");
    if (j.contains("sla") && j["sla"].is_object())
      for (const auto& [k, v] : j["sla"].items())
        if (auto sev = core::parse_severity(k))
          c.sla[*sev] = core::TargetOverride{Seconds{v.value("response_seconds", 0LL)},
                                             Seconds{v.value("resolution_seconds", 0LL)},
                                             v.value("calendar", std::string())};
    return c;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string case_search_text(const core::Case& c) {
  std::string t = c.description;
  t += ' ';
  t += c.account;
  for (const auto& [k, v] : c.fields.items()) {
    t += ' ';
    if (v.is_string()) t += v.get<std::string>();
    else if (v.is_array())
      for (const auto& x : v) t += (x.is_string() ? x.get<std::string>() : x.dump()) + " ";
  }
  return t;
}

std::string event_search_text(const core::Event& e) {
  if (e.internal || (e.type != "reply" && e.type != "customer_message")) return "";
  return e.data.value("body", "");
}

namespace {
Json address_json(const core::MailAddress& a) { return Json{{"name", a.name}, {"address", a.address}}; }
core::MailAddress address_of(const Json& j) {
  return core::MailAddress{j.value("name", ""), j.value("address", "")};
}
}  // namespace

std::string outbound_to_doc(const core::OutboundMail& m) {
  Json to = Json::array();
  for (const auto& a : m.to) to.push_back(address_json(a));
  Json headers = Json::array();
  for (const auto& [k, v] : m.headers) headers.push_back(Json::array({k, v}));
  Json j = {{"from", address_json(m.from)},
            {"to", to},
            {"reply_to", m.reply_to ? address_json(*m.reply_to) : Json(nullptr)},
            {"subject", m.subject},
            {"text", m.text},
            {"html", m.html},
            {"message_id", m.message_id},
            {"in_reply_to", m.in_reply_to},
            {"references", m.references},
            {"date", opt_ms(m.date)},
            {"auto_submitted", m.auto_submitted},
            {"headers", headers}};
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

core::OutboundMail outbound_from_doc(const std::string& doc) {
  core::OutboundMail m;
  Json j = Json::parse(doc, nullptr, false);
  if (!j.is_object()) return m;
  if (j.contains("from")) m.from = address_of(j["from"]);
  for (const auto& a : j.value("to", Json::array())) m.to.push_back(address_of(a));
  if (j.contains("reply_to") && j["reply_to"].is_object()) m.reply_to = address_of(j["reply_to"]);
  m.subject = j.value("subject", "");
  m.text = j.value("text", "");
  m.html = j.value("html", "");
  m.message_id = j.value("message_id", "");
  m.in_reply_to = j.value("in_reply_to", std::vector<std::string>{});
  m.references = j.value("references", std::vector<std::string>{});
  m.date = get_opt_ms(j, "date");
  m.auto_submitted = j.value("auto_submitted", "");
  for (const auto& h : j.value("headers", Json::array()))
    if (h.is_array() && h.size() == 2) m.headers.emplace_back(h[0].get<std::string>(), h[1].get<std::string>());
  return m;
}

std::string events_search_text(const std::vector<core::Event>& events) {
  std::string out;
  for (const auto& e : events) {
    auto t = event_search_text(e);
    if (t.empty()) continue;
    out += t;
    out += '\n';
  }
  return out;
}

std::string fts_query(const std::string& text) {
  std::string q;
  for (const auto& term : core::search_terms(text)) {
    if (term.size() > 64) continue;
    if (!q.empty()) q += ' ';
    q += '"';
    q += term;  // terms hold only letters and digits: no quote to escape
    q += '"';
  }
  return q;
}

}  // namespace escala::adapters::sql
