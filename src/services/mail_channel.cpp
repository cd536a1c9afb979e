#include "services/mail_channel.hpp"
#include "core/text.hpp"

#include <kainjow/mustache.hpp>

#include <algorithm>

namespace escala::services {
namespace {

using core::Json;
namespace mstch = kainjow::mustache;

mstch::data to_data(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      mstch::data d{mstch::data::type::object};
      for (const auto& [k, v] : j.items()) d.set(k, to_data(v));
      return d;
    }
    case Json::value_t::array: {
      mstch::data d{mstch::data::type::list};
      for (const auto& v : j) d.push_back(to_data(v));
      return d;
    }
    case Json::value_t::string: return mstch::data{j.get<std::string>()};
    case Json::value_t::boolean: return mstch::data{j.get<bool>()};
    case Json::value_t::null: return mstch::data{false};
    default: return mstch::data{j.dump()};
  }
}

std::string render_text(const std::string& tmpl, const Json& vars) {
  mstch::mustache m{tmpl};
  if (!m.is_valid()) return tmpl;  // validated on edit; never lose the text
  m.set_custom_escape([](const std::string& s) { return s; });
  return m.render(to_data(vars));
}

// The texts as shipped. Plain text; {{number}} is the case number, {{subject}} its subject.
const Json& shipped() {
  static const Json kTemplates = Json::parse(R"JSON({
  "acknowledgement": {
    "es": {"subject": "[{{number}}] {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nRecibimos su mensaje y abrimos el caso {{number}}. Nuestro equipo ya lo está revisando; le escribiremos con cada avance.\n\nPara agregar información, responda a este correo conservando el número [{{number}}] en el asunto.\n{{#dropped}}\nNo pudimos conservar estos adjuntos porque superan el tamaño máximo ({{limit}}): {{#files}}{{name}} {{/files}}\n{{/dropped}}\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nWe received your message and opened case {{number}}. Our team is already looking at it; we will write to you as it progresses.\n\nTo add information, reply to this email keeping [{{number}}] in the subject.\n{{#dropped}}\nWe could not keep these attachments because they exceed the size limit ({{limit}}): {{#files}}{{name}} {{/files}}\n{{/dropped}}\n{{desk_name}}\n"}
  },
  "missing_data": {
    "es": {"subject": "[{{number}}] Necesitamos algunos datos: {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nRecibimos su mensaje y abrimos el caso {{number}}. Para atenderlo necesitamos estos datos:\n\n{{#missing}}{{index}}. {{label}}\n{{/missing}}\n\nResponda a este correo con los datos, por ejemplo una línea por dato (\"{{example}}\"). La revisión del caso comienza cuando los recibamos.\n{{#dropped}}\nNo pudimos conservar estos adjuntos porque superan el tamaño máximo ({{limit}}): {{#files}}{{name}} {{/files}}\n{{/dropped}}\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] We need some details: {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nWe received your message and opened case {{number}}. To work on it we need these details:\n\n{{#missing}}{{index}}. {{label}}\n{{/missing}}\n\nPlease reply to this email with the details, for example one line each (\"{{example}}\"). The review of the case starts when we receive them.\n{{#dropped}}\nWe could not keep these attachments because they exceed the size limit ({{limit}}): {{#files}}{{name}} {{/files}}\n{{/dropped}}\n{{desk_name}}\n"}
  },
  "still_missing": {
    "es": {"subject": "[{{number}}] Aún faltan datos: {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nGracias por su respuesta. Para empezar la revisión del caso {{number}} todavía necesitamos:\n\n{{#missing}}{{index}}. {{label}}\n{{/missing}}\n\nResponda a este correo con esos datos.\n\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] Some details are still missing: {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nThank you for your reply. To start the review of case {{number}} we still need:\n\n{{#missing}}{{index}}. {{label}}\n{{/missing}}\n\nPlease reply to this email with those details.\n\n{{desk_name}}\n"}
  },
  "data_complete": {
    "es": {"subject": "[{{number}}] Datos completos: {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nYa tenemos todos los datos del caso {{number}} y comenzamos su revisión. Le escribiremos con cada avance.\n\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] Details complete: {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nWe now have all the details of case {{number}} and have started the review. We will write to you as it progresses.\n\n{{desk_name}}\n"}
  },
  "reply": {
    "es": {"subject": "[{{number}}] {{subject}}",
           "text": "{{body}}\n\n--\n{{agent}} · {{desk_name}}\nCaso {{number}} · estado: {{status_label}}\n"},
    "en": {"subject": "[{{number}}] {{subject}}",
           "text": "{{body}}\n\n--\n{{agent}} · {{desk_name}}\nCase {{number}} · status: {{status_label}}\n"}
  },
  "resolved": {
    "es": {"subject": "[{{number}}] Resuelto, ¿nos lo confirma?: {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nConsideramos resuelto el caso {{number}}:\n\n{{resolution}}\n\nPor favor confírmenos que está resuelto: responda \"confirmo\" a este correo o abra este enlace:\n{{confirm_url}}\n\nSi no está resuelto, responda \"no está resuelto\" y contándonos qué sigue pasando; el caso se reabre de inmediato.\n\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] Resolved, can you confirm?: {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nWe consider case {{number}} resolved:\n\n{{resolution}}\n\nPlease confirm that it is resolved: reply \"confirmed\" to this email or open this link:\n{{confirm_url}}\n\nIf it is not solved, reply \"not solved\" and tell us what still happens; the case reopens at once.\n\n{{desk_name}}\n"}
  },
  "closed": {
    "es": {"subject": "[{{number}}] Caso cerrado: {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nGracias por confirmar. Cerramos el caso {{number}}.\n\nSi el problema vuelve, responda a este correo y lo reabrimos.\n\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] Case closed: {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nThank you for confirming. We closed case {{number}}.\n\nIf the problem comes back, reply to this email and we will reopen it.\n\n{{desk_name}}\n"}
  },
  "reopened": {
    "es": {"subject": "[{{number}}] Caso reabierto: {{subject}}",
           "text": "Hola{{#name}} {{name}}{{/name}}:\n\nReabrimos el caso {{number}} y seguimos trabajando en él. Le escribiremos con cada avance.\n\n{{desk_name}}\n"},
    "en": {"subject": "[{{number}}] Case reopened: {{subject}}",
           "text": "Hello{{#name}} {{name}}{{/name}},\n\nWe reopened case {{number}} and keep working on it. We will write to you as it progresses.\n\n{{desk_name}}\n"}
  },
  "notification": {
    "es": {"subject": "[{{number}}] {{title}}", "text": "{{body}}\n\n{{case_url}}\n"},
    "en": {"subject": "[{{number}}] {{title}}", "text": "{{body}}\n\n{{case_url}}\n"}
  }
})JSON");
  return kTemplates;
}

std::string status_label(core::CaseStatus s, const std::string& lang) {
  const bool en = lang == "en";
  switch (s) {
    case core::CaseStatus::kAwaitingInfo: return en ? "waiting for your details" : "esperando sus datos";
    case core::CaseStatus::kOpen: return en ? "in progress" : "en atención";
    case core::CaseStatus::kPendingCustomer: return en ? "waiting for your answer" : "esperando su respuesta";
    case core::CaseStatus::kResolved: return en ? "resolved, waiting for your confirmation" : "resuelto, esperando su confirmación";
    case core::CaseStatus::kClosed: return en ? "closed" : "cerrado";
  }
  return "";
}

std::string language_of(const core::Case& c) {
  return c.requester.language == "en" ? "en" : "es";
}

}  // namespace

std::string text_to_html(std::string_view text) {
  std::string out =
      "<!doctype html><html><head><meta charset=\"utf-8\"></head>"
      "<body style=\"font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5;"
      "color:#1a1a1a\"><div>";
  auto escape_into = [&out](std::string_view s) {
    for (char c : s) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
  };
  size_t i = 0;
  int blank_run = 0;
  while (i <= text.size()) {
    size_t nl = text.find('\n', i);
    std::string_view line = text.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      if (++blank_run == 1) out += "</div><div style=\"margin-top:1em\">";
    } else {
      blank_run = 0;
      // Links (our own, e.g. the confirmation link) become clickable; the rest is text.
      size_t pos = 0;
      while (pos < line.size()) {
        size_t http = line.find("http", pos);
        if (http == std::string_view::npos ||
            !(line.substr(http).starts_with("http://") || line.substr(http).starts_with("https://"))) {
          escape_into(line.substr(pos));
          break;
        }
        escape_into(line.substr(pos, http - pos));
        size_t end = line.find_first_of(" \t<>\"'", http);
        std::string_view url = line.substr(http, end == std::string_view::npos ? std::string_view::npos : end - http);
        out += "<a href=\"";
        escape_into(url);
        out += "\">";
        escape_into(url);
        out += "</a>";
        pos = http + url.size();
      }
      out += "<br>";
    }
    if (nl == std::string_view::npos) break;
    i = nl + 1;
  }
  out += "</div></body></html>";
  return out;
}

// ---- settings ---------------------------------------------------------------------------------

const Mailbox* MailSettings::find(std::string_view address) const {
  const std::string a = core::ascii_lower(std::string(address));
  for (const auto& m : mailboxes)
    if (m.address == a) return &m;
  return nullptr;
}

const Mailbox& MailSettings::fallback() const {
  static const Mailbox kNone{"support@escala.invalid", core::CaseType::kRequest, "es", ""};
  return mailboxes.empty() ? kNone : mailboxes.front();
}

core::DeskIdentity MailSettings::identity() const {
  core::DeskIdentity id;
  for (const auto& m : mailboxes) id.mailbox_addresses.push_back(m.address);
  id.loop_token = loop_token;
  id.message_id_domain = message_id_domain;
  return id;
}

MailSettings MailSettings::from_defaults(const Json& defaults, std::string loop_token,
                                         std::string link_secret) {
  MailSettings s;
  for (const auto& m : defaults.value("mailboxes", Json::array())) {
    if (!m.is_object() || !m.contains("address")) continue;
    Mailbox box;
    box.address = core::ascii_lower(m.value("address", ""));
    box.default_type =
        core::parse_case_type(m.value("default_case_type", "request")).value_or(core::CaseType::kRequest);
    box.language = m.value("language", "es");
    box.queue = m.value("queue", "");
    if (m.contains("reopen_days") && m["reopen_days"].is_number_integer())
      box.reopen_days = std::clamp(m["reopen_days"].get<int>(), 0, 3650);
    s.mailboxes.push_back(box);
  }
  const Json mail = defaults.value("mail", Json::object());
  s.desk_name = mail.value("desk_name", s.desk_name);
  s.public_url = mail.value("public_url", s.public_url);
  s.automatic_per_day = mail.value("automatic_per_day", s.automatic_per_day);
  s.max_attachment_bytes = mail.value("max_attachment_bytes", s.max_attachment_bytes);
  // Message-IDs ending in this domain are taken for the desk's own mail coming back, so it
  // is a subdomain no one writes from: mail clients (Apple Mail, Thunderbird) name their
  // Message-IDs after the sender's domain, and staff at the mailbox domain write to the desk.
  const std::string& first = s.fallback().address;
  auto at = first.find('@');
  s.message_id_domain =
      mail.value("message_id_domain", at == std::string::npos ? s.message_id_domain
                                                               : "escala." + first.substr(at + 1));
  s.loop_token = std::move(loop_token);
  s.link_secret = std::move(link_secret);
  return s;
}

// ---- templates --------------------------------------------------------------------------------

const Json& MailTemplates::defaults() { return shipped(); }

MailTemplates::MailTemplates(Json overrides) : merged_(shipped()) {
  if (overrides.is_object()) merged_.merge_patch(overrides);
}

Status MailTemplates::validate(const Json& overrides) {
  if (!overrides.is_object())
    return make_error(ErrorCode::kInvalidArgument, "templates must be an object");
  for (const auto& [name, langs] : overrides.items()) {
    if (!shipped().contains(name))
      return make_error(ErrorCode::kInvalidArgument, "no template " + name, name);
    if (!langs.is_object())
      return make_error(ErrorCode::kInvalidArgument, "expected languages", name);
    for (const auto& [lang, t] : langs.items()) {
      if (lang != "es" && lang != "en")
        return make_error(ErrorCode::kInvalidArgument, "languages are es and en", name + "." + lang);
      for (const char* part : {"subject", "text"}) {
        if (!t.is_object() || !t.contains(part) || !t[part].is_string())
          return make_error(ErrorCode::kInvalidArgument, std::string("missing ") + part,
                            name + "." + lang);
        mstch::mustache m{t[part].get<std::string>()};
        if (!m.is_valid())
          return make_error(ErrorCode::kInvalidArgument, m.error_message(),
                            name + "." + lang + "." + part);
      }
    }
  }
  return ok_status();
}

RenderedMail MailTemplates::render(const std::string& name, const std::string& language,
                                   const Json& vars) const {
  auto t = merged_.find(name);
  if (t == merged_.end()) return {};
  const Json* text = nullptr;
  if (t->contains(language)) text = &(*t)[language];
  else if (t->contains("es")) text = &(*t)["es"];
  if (!text) return {};
  return RenderedMail{render_text(text->value("subject", ""), vars),
                      render_text(text->value("text", ""), vars)};
}

// ---- mailer ----------------------------------------------------------------------------------

CaseMailer::CaseMailer(MailSettings settings, MailTemplates templates, ports::Crypto& crypto,
                       std::string number_prefix)
    : settings_(std::move(settings)),
      templates_(std::make_shared<const MailTemplates>(std::move(templates))),
      crypto_(crypto),
      prefix_(std::move(number_prefix)) {}

std::shared_ptr<const MailTemplates> CaseMailer::templates() const {
  std::lock_guard lock(templates_mu_);
  return templates_;
}

void CaseMailer::set_templates(MailTemplates templates) {
  auto fresh = std::make_shared<const MailTemplates>(std::move(templates));
  std::lock_guard lock(templates_mu_);
  templates_ = std::move(fresh);
}

std::string CaseMailer::number_of(const core::Case& c) const {
  return core::format_case_number(prefix_, c.id);
}

std::string CaseMailer::new_message_id(int64_t case_id) const {
  return "escala." + std::to_string(case_id) + "." + crypto_.random_token(9) + "@" +
         settings_.message_id_domain;
}

std::string CaseMailer::confirm_token(const core::Case& c) const {
  // Bound to the resolution it confirms: a link from an earlier resolution stops working
  // once the case is reopened and resolved again.
  const std::string what = number_of(c) + "|" +
                           (c.resolved_at ? std::to_string(to_unix_millis(*c.resolved_at)) : "-");
  return crypto_.hmac_sha256_hex(settings_.link_secret, what).substr(0, 32);
}

bool CaseMailer::confirm_token_valid(const core::Case& c, std::string_view token) const {
  return c.resolved_at && core::constant_time_equal(confirm_token(c), token);
}

std::string CaseMailer::confirm_url(const core::Case& c) const {
  return settings_.public_url + "/confirm/" + number_of(c) + "?t=" + confirm_token(c);
}

Json CaseMailer::base_vars(const core::Case& c) const {
  return Json{{"number", number_of(c)},
              {"subject", c.subject},
              {"name", c.requester.name.empty() ? Json(nullptr) : Json(c.requester.name)},
              {"desk_name", settings_.desk_name},
              {"status_label", status_label(c.status, language_of(c))}};
}

void CaseMailer::stamp(core::OutboxMessage& m, const core::Case& c, Instant now) const {
  m.case_id = c.id;
  m.created_at = now;
  m.next_attempt_at = now;
  m.mail.date = now;
  m.mail.message_id = new_message_id(c.id);
  // How Escala recognises its own mail when it comes back (loop protection).
  m.mail.headers.emplace_back("X-Escala-Loop", settings_.loop_token);
  m.mail.headers.emplace_back("X-Escala-Case", number_of(c));
}

void CaseMailer::add_message(core::Change& change, core::OutboxMessage m, Instant now) const {
  stamp(m, change.after, now);
  // D1: every subject names the case.
  const std::string tag = "[" + number_of(change.after) + "]";
  if (m.mail.subject.find(tag) == std::string::npos) m.mail.subject = tag + " " + m.mail.subject;
  // Threading: the first message of the thread and the latest ones (RFC 5322 §3.6.4).
  auto& refs = change.after.mail_refs;
  m.mail.references = refs;
  if (m.mail.in_reply_to.empty() && !refs.empty()) m.mail.in_reply_to = {refs.back()};
  if (!m.mail.in_reply_to.empty() &&
      std::find(m.mail.references.begin(), m.mail.references.end(), m.mail.in_reply_to[0]) ==
          m.mail.references.end())
    m.mail.references.push_back(m.mail.in_reply_to[0]);
  refs.push_back(m.mail.message_id);
  constexpr size_t kKeep = 10;
  if (refs.size() > kKeep) refs.erase(refs.begin() + 1, refs.end() - (kKeep - 1));
  change.thread_ids.push_back(m.mail.message_id);
  change.outbox.push_back(std::move(m));
}

void CaseMailer::add_customer_mail(core::Change& change, const std::string& kind, Json vars,
                                   Instant now, const std::string& in_reply_to,
                                   bool automatic) const {
  const core::Case& c = change.after;
  if (c.requester.email.empty()) return;
  Json all = base_vars(c);
  if (vars.is_object()) all.update(vars);
  auto text = templates()->render(kind, language_of(c), all);
  const Mailbox* box = settings_.find(c.mailbox);
  const std::string from = box ? box->address : settings_.fallback().address;
  core::OutboxMessage m;
  m.kind = kind;
  m.envelope_from = from;
  m.recipients = {c.requester.email};
  m.automatic = automatic;
  m.mail.from = core::MailAddress{settings_.desk_name, from};
  m.mail.to = {core::MailAddress{c.requester.name, c.requester.email}};
  m.mail.subject = text.subject;
  m.mail.text = text.text;
  m.mail.html = text_to_html(text.text);  // the same words, for clients that prefer HTML
  if (!in_reply_to.empty()) m.mail.in_reply_to = {in_reply_to};
  m.mail.auto_submitted = automatic ? "auto-replied" : "";
  add_message(change, std::move(m), now);
}

void CaseMailer::decorate(core::Change& change, const core::CaseContext& ctx,
                          Instant now) const {
  // Customer-facing messages caused by what staff did (messages caused by the customer's
  // own mail are added by the inbound pipeline, which knows the message they answer).
  for (const auto& e : change.events) {
    const bool by_staff = e.actor_role != core::Role::kCustomer;
    if (e.internal || !by_staff) continue;
    if (e.type == "reply" && e.actor_role != core::Role::kSystem) {
      add_customer_mail(change, "reply",
                        Json{{"body", e.data.value("body", "")}, {"agent", e.actor_name}}, now,
                        "", /*automatic=*/false);
    } else if (e.type == "resolved") {
      add_customer_mail(change, "resolved",
                        Json{{"resolution", e.data.value("resolution", "")},
                             {"confirm_url", confirm_url(change.after)}},
                        now, "", false);
    } else if (e.type == "reopened") {
      add_customer_mail(change, "reopened", Json::object(), now, "", false);
    } else if (e.type == "status_changed" && e.data.value("to", "") == "closed") {
      add_customer_mail(change, "closed", Json::object(), now, "", false);
    }
  }
  // Staff notifications (D6) by email, to those who want them (the core already left out
  // the quiet ones). One message per person and change: a change that fires several
  // timers at once (e.g. a warning and a breach that both fell due while the desk was
  // down) or several rules tells each person everything in one message, titles joined.
  std::vector<int64_t> people;  // in the order of their first notification
  for (const auto& n : change.notifications)
    if (std::find(people.begin(), people.end(), n.user_id) == people.end())
      people.push_back(n.user_id);
  for (int64_t person : people) {
    const core::StaffMember* who = nullptr;
    for (const auto& s : ctx.staff)
      if (s.id == person) who = &s;
    if (!who || who->email.empty() || who->quiet) continue;
    std::string title, body;
    for (const auto& n : change.notifications) {
      if (n.user_id != person) continue;
      title += (title.empty() ? "" : " · ") + n.subject;
      body += (body.empty() ? "" : "\n\n") + n.body;
    }
    const std::string number = number_of(change.after);
    auto text = templates()->render(
        "notification", who->language,
        Json{{"number", number},
             {"title", title},
             {"body", body},
             {"case_url", settings_.public_url + "/cases/" + number}});
    core::OutboxMessage m;
    m.kind = "notification";
    m.envelope_from = settings_.fallback().address;
    m.recipients = {who->email};
    m.automatic = false;  // to staff: never capped
    m.mail.from = core::MailAddress{settings_.desk_name, settings_.fallback().address};
    m.mail.to = {core::MailAddress{who->name, who->email}};
    m.mail.subject = text.subject;
    m.mail.text = text.text;
    m.mail.auto_submitted = "auto-generated";
    stamp(m, change.after, now);  // not threaded into the customer's conversation
    change.outbox.push_back(std::move(m));
  }
}

}  // namespace escala::services
