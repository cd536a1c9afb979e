#include "adapters/http_api/mail_routes.hpp"

#include <boost/url/parse.hpp>

#include "adapters/http_api/json_io.hpp"
#include "core/text.hpp"

namespace escala::adapters::http {
namespace {

using core::Json;

std::map<std::string, std::string> query_of(const std::string& target) {
  std::map<std::string, std::string> out;
  auto u = boost::urls::parse_origin_form(target);
  if (!u) return out;
  for (auto p : u->params()) out[std::string(p.key)] = std::string(p.value);
  return out;
}

// Form bodies (application/x-www-form-urlencoded) of the confirmation page.
std::map<std::string, std::string> form_of(const std::string& body) {
  return query_of("/?" + body);
}

std::string html_escape(std::string_view s) {
  std::string out;
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
  return out;
}

Response html_page(int status, const std::string& title, const std::string& body_html) {
  Response r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\">"
           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
           "<title>" + html_escape(title) + "</title><style>body{font-family:system-ui,sans-serif;"
           "max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}button{font-size:1rem;"
           "padding:.6rem 1.2rem;border-radius:.4rem;border:0;background:#0b5fff;color:#fff}"
           "</style></head><body>" + body_html + "</body></html>";
  r.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  return r;
}

// RFC 6266 / 5987: an ASCII fallback and the UTF-8 name.
std::string content_disposition(const std::string& name) {
  std::string ascii, encoded;
  static const char* kHex = "0123456789ABCDEF";
  for (unsigned char c : name) {
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') encoded += static_cast<char>(c);
    else {
      encoded += '%';
      encoded += kHex[c >> 4];
      encoded += kHex[c & 15];
    }
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

Json outbox_json(const core::OutboxMessage& m) {
  return Json{{"id", m.id},
              {"kind", m.kind},
              {"to", m.recipients},
              {"subject", m.mail.subject},
              {"message_id", m.mail.message_id},
              {"status", m.status},
              {"attempts", m.attempts},
              {"last_error", m.last_error.empty() ? Json(nullptr) : Json(m.last_error)},
              {"created_at", format_iso8601(m.created_at)},
              {"sent_at", m.sent_at ? Json(format_iso8601(*m.sent_at)) : Json(nullptr)}};
}

}  // namespace

MailRoutes::MailRoutes(services::CaseService& cases, MailApiDeps deps)
    : cases_(cases), deps_(std::move(deps)) {}

std::optional<Response> MailRoutes::public_route(const Request& req,
                                                 const std::vector<std::string>& seg) {
  if (seg.size() == 2 && seg[0] == "confirm") return confirm_page(req, seg[1]);
  if (seg.size() == 4 && seg[0] == "api" && seg[1] == "v1" && seg[2] == "mail" &&
      seg[3] == "inbound")
    return inbound(req);
  return std::nullopt;
}

Response MailRoutes::inbound(const Request& req) {
  if (req.method != "POST") {
    Response r = error_response(make_error(ErrorCode::kInvalidArgument, "use POST"));
    r.status = 405;
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  const std::string scheme = "Mailgate ";
  if (!deps_.inbound || req.authorization.rfind(scheme, 0) != 0 ||
      deps_.mailgate_token.empty() ||
      !core::constant_time_equal(std::string_view(req.authorization).substr(scheme.size()),
                                 deps_.mailgate_token))
    return error_response(make_error(ErrorCode::kUnauthenticated,
                                     "the mail gateway authenticates with "
                                     "'Authorization: Mailgate <secret of the desk>'"));
  if (req.body.empty())
    return error_response(make_error(ErrorCode::kInvalidArgument, "the message is empty", "body"));
  if (req.body.size() > deps_.max_message_bytes)
    return error_response(make_error(ErrorCode::kPayloadTooLarge, "the message is too large"));
  auto q = query_of(req.target);
  services::Envelope env;
  env.source = "mailgate";
  if (auto it = q.find("recipient"); it != q.end() && !it->second.empty())
    env.recipients.push_back(it->second);
  if (auto it = q.find("sender"); it != q.end()) env.mail_from = it->second;
  auto out = deps_.inbound->ingest(req.body, env);
  if (!out.ok()) return error_response(out.error());
  return json_response(200, Json{{"disposition", out->disposition},
                                 {"kind", out->kind},
                                 {"reason", out->reason},
                                 {"case", out->case_number.empty() ? Json(nullptr)
                                                                   : Json(out->case_number)},
                                 {"key", out->key}});
}

Response MailRoutes::confirm_page(const Request& req, const std::string& number) {
  if (!deps_.mailer) return html_page(404, "Escala", "<p>No disponible.</p>");
  const auto token_field = req.method == "POST" ? form_of(req.body) : query_of(req.target);
  auto it = token_field.find("t");
  const std::string token = it == token_field.end() ? "" : it->second;
  auto c = cases_.get(core::Actor::system(), number);
  const bool valid = c.ok() && deps_.mailer->confirm_token_valid(*c, token);
  const std::string n = html_escape(number);
  if (!valid) {
    // The same answer for an unknown case and a wrong or outdated link: nothing leaks.
    return html_page(404, "Enlace no válido",
                     "<h1>Enlace no válido / Invalid link</h1><p>Este enlace de confirmación no es "
                     "válido o ya no corresponde a la resolución actual del caso. Responda al "
                     "correo del caso si necesita ayuda.</p><p lang=\"en\">This confirmation link "
                     "is not valid or no longer matches the case's current resolution. Reply to "
                     "the case's email if you need help.</p>");
  }
  if (req.method == "GET") {
    if (c->status != core::CaseStatus::kResolved)
      return html_page(200, n, "<h1>" + n + "</h1><p>Este caso ya no espera confirmación. / "
                               "This case is no longer waiting for confirmation.</p>");
    return html_page(
        200, n,
        "<h1>" + n + "</h1><p>" + html_escape(c->subject) +
            "</p><p>¿Confirma que está resuelto? / Do you confirm it is resolved?</p>"
            "<form method=\"post\" action=\"/confirm/" + n + "\"><input type=\"hidden\" "
            "name=\"t\" value=\"" + html_escape(token) + "\"><button type=\"submit\">Confirmo / "
            "I confirm</button></form><p>Si no está resuelto, responda al correo del caso. / "
            "If it is not solved, reply to the case's email.</p>");
  }
  if (req.method != "POST") return html_page(405, n, "<p>GET o POST.</p>");
  const core::Actor by_link{0, core::Role::kSystem, core::kMaxLevel, "", "signed link"};
  auto done = cases_.confirm(by_link, number);
  if (!done.ok())
    return html_page(409, n, "<h1>" + n + "</h1><p>Este caso ya no espera confirmación. / This "
                             "case is no longer waiting for confirmation.</p>");
  return html_page(200, n, "<h1>" + n + "</h1><p>¡Gracias! Cerramos el caso. / Thank you! The "
                           "case is closed.</p>");
}

std::optional<Response> MailRoutes::user_route(const Request& req,
                                               const std::vector<std::string>& s,
                                               const core::Actor& actor) {
  const size_t n = s.size();
  const std::string& m = req.method;
  if (n == 4 && s[0] == "cases" && s[2] == "attachments") {
    if (m != "GET") return error_response(make_error(ErrorCode::kInvalidArgument, "use GET"));
    auto c = cases_.get(actor, s[1]);
    if (!c.ok()) return error_response(c.error());
    const core::AttachmentRef* ref = nullptr;
    for (const auto& a : c->attachments)
      if (a.sha256 == s[3]) ref = &a;
    if (!ref || !deps_.store)
      return error_response(make_error(ErrorCode::kNotFound, "no such attachment"));
    auto blob = deps_.store->get_blob(ref->sha256);
    if (!blob.ok()) return error_response(blob.error());
    if (!blob.value()) return error_response(make_error(ErrorCode::kNotFound, "no such attachment"));
    Response r;
    // Never rendered by the browser as a page of ours: a downloaded file.
    r.content_type = "application/octet-stream";
    r.body = std::move(*blob.value());
    r.headers.emplace_back("Content-Disposition", content_disposition(ref->name));
    r.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
    return r;
  }
  if (n == 4 && s[0] == "cases" && s[2] == "messages") {
    // The original of a received message (staff): exactly the bytes that arrived.
    if (m != "GET") return error_response(make_error(ErrorCode::kInvalidArgument, "use GET"));
    if (!actor.is_staff())
      return error_response(make_error(ErrorCode::kNotFound, "no such endpoint"));
    auto c = cases_.get(actor, s[1]);
    if (!c.ok()) return error_response(c.error());
    bool belongs = false;
    for (int64_t after = 0; !belongs;) {
      auto page = cases_.events(actor, s[1], after, 1000);
      if (!page.ok()) return error_response(page.error());
      for (const auto& e : page->items)
        belongs = belongs || (e.data.is_object() && e.data.value("raw_sha256", "") == s[3]);
      if (!page->next_after) break;
      after = *page->next_after;
    }
    if (!belongs || !deps_.store)
      return error_response(make_error(ErrorCode::kNotFound, "no such message on this case"));
    auto blob = deps_.store->get_blob(s[3]);
    if (!blob.ok()) return error_response(blob.error());
    if (!blob.value())
      return error_response(make_error(ErrorCode::kNotFound, "no such message on this case"));
    Response r;
    r.content_type = "message/rfc822";
    r.body = std::move(*blob.value());
    r.headers.emplace_back("Content-Disposition", content_disposition(s[3] + ".eml"));
    r.headers.emplace_back("Content-Security-Policy", "sandbox; default-src 'none'");
    return r;
  }
  if (n == 3 && s[0] == "cases" && s[2] == "mail") {
    if (m != "GET") return error_response(make_error(ErrorCode::kInvalidArgument, "use GET"));
    if (!actor.is_staff())
      return error_response(make_error(ErrorCode::kNotFound, "no such endpoint"));
    auto c = cases_.get(actor, s[1]);
    if (!c.ok()) return error_response(c.error());
    auto list = deps_.store ? deps_.store->outbox_for_case(c->id)
                            : Result<std::vector<core::OutboxMessage>>(std::vector<core::OutboxMessage>{});
    if (!list.ok()) return error_response(list.error());
    Json items = Json::array();
    for (const auto& x : *list) items.push_back(outbox_json(x));
    const auto total = static_cast<int64_t>(items.size());
    return json_response(200, Json{{"items", std::move(items)}, {"total", total}, {"next", nullptr}});
  }
  if (n == 2 && s[0] == "mail" && s[1] == "templates") {
    if (actor.role != core::Role::kAdmin)
      return error_response(make_error(ErrorCode::kPermissionDenied, "templates are for administrators"));
    if (m == "GET") {
      Json current = Json::object();
      if (deps_.settings) {
        auto stored = deps_.settings->get_setting("mail_templates");
        if (!stored.ok()) return error_response(stored.error());
        if (stored.value()) current = *stored.value();
      }
      Json merged = services::MailTemplates::defaults();
      merged.merge_patch(current);
      return json_response(200, Json{{"templates", merged}, {"overrides", current}});
    }
    if (m != "PUT") return error_response(make_error(ErrorCode::kInvalidArgument, "use GET or PUT"));
    auto body = parse_object(req.body);
    if (!body.ok()) return error_response(body.error());
    if (auto st = services::MailTemplates::validate(*body); !st.ok()) return error_response(st.error());
    if (!deps_.settings) return error_response(make_error(ErrorCode::kUnavailable, "no settings store"));
    ports::DirectoryStore::DeskEvent ev;
    ev.at = deps_.clock ? deps_.clock->now() : Instant{};
    ev.actor_id = actor.user_id;
    ev.actor_name = actor.name;
    ev.type = "mail_templates_changed";
    ev.data = Json{{"templates", *body}};
    if (auto st = deps_.settings->put_setting_with_event("mail_templates", *body, ev); !st.ok())
      return error_response(st.error());
    if (deps_.mailer) deps_.mailer->set_templates(services::MailTemplates(*body));
    return json_response(200, Json{{"overrides", *body}});
  }
  if (n == 2 && s[0] == "mail" && s[1] == "outbox") {
    if (actor.role != core::Role::kAdmin && actor.role != core::Role::kSupervisor)
      return error_response(make_error(ErrorCode::kPermissionDenied, "for supervisors and administrators"));
    if (!deps_.store) return error_response(make_error(ErrorCode::kUnavailable, "no mail store"));
    auto counts = deps_.store->outbox_counts();
    if (!counts.ok()) return error_response(counts.error());
    Json out = Json::object();
    for (const auto& [k, v] : *counts) out[k] = v;
    return json_response(200, Json{{"counts", out}});
  }
  return std::nullopt;
}

}  // namespace escala::adapters::http
