#include "adapters/http_api/api.hpp"
#include "adapters/http_api/browser_session.hpp"
#include "adapters/http_api/case_stream.hpp"
#include "adapters/http_api/mail_routes.hpp"
#include "adapters/http_api/static_files.hpp"

#include <boost/url/parse.hpp>
#include <charconv>
#include <set>

#include "adapters/http_api/json_io.hpp"
#include "core/rules.hpp"
#include "core/severity.hpp"

namespace escala::adapters::http {
namespace {

using core::Json;

Error bad(std::string message, std::string field = {}) {
  return make_error(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

Response method_not_allowed(const std::string& allow) {
  Response r = json_response(
      405, Json{{"error", {{"code", "method_not_allowed"}, {"message", "use " + allow}}}});
  r.headers.emplace_back("Allow", allow);
  return r;
}

Response not_found_route() {
  return error_response(make_error(ErrorCode::kNotFound, "no such endpoint"));
}

// The parsed request target.
struct Target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> params;
};

std::optional<Target> parse_target(const std::string& raw) {
  auto u = boost::urls::parse_origin_form(raw);
  if (!u) return std::nullopt;
  Target t;
  for (auto seg : u->segments()) t.segments.push_back(std::string(seg));
  for (auto p : u->params()) t.params[std::string(p.key)] = std::string(p.value);
  return t;
}

Result<std::optional<int64_t>> int_param(const Target& t, const char* name, int64_t lo,
                                         int64_t hi) {
  auto it = t.params.find(name);
  if (it == t.params.end() || it->second.empty()) return std::optional<int64_t>();
  int64_t v = 0;
  const auto& s = it->second;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi)
    return bad("must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi),
               name);
  return std::optional<int64_t>(v);
}

// `limit` (1..1000, default `default_limit`) and a numeric `cursor` (0 when absent).
struct PageParams {
  int limit = 50;
  int64_t cursor = 0;
};

Result<PageParams> page_params(const Target& t, int default_limit) {
  auto limit = int_param(t, "limit", 1, 1000);
  if (!limit.ok()) return limit.error();
  auto cursor = int_param(t, "cursor", 0, INT64_MAX);
  if (!cursor.ok()) return cursor.error();
  return PageParams{static_cast<int>(limit->value_or(default_limit)), cursor->value_or(0)};
}

std::string bearer_token(const std::string& authorization) {
  static constexpr std::string_view kPrefix = "Bearer ";
  if (authorization.size() <= kPrefix.size()) return {};
  std::string_view a(authorization);
  if (a.substr(0, kPrefix.size()) != kPrefix && a.substr(0, kPrefix.size()) != "bearer ")
    return {};
  return std::string(a.substr(kPrefix.size()));
}

// 403 for a cookie-authenticated write without the session's CSRF token, or from a page
// of another site.
Response csrf_refused(const std::string& why) {
  return json_response(403, Json{{"error", {{"code", "csrf_failed"}, {"message", why}}}});
}

Json list_json(Json items, int64_t total, std::optional<std::string> next) {
  return Json{{"items", std::move(items)},
              {"total", total},
              {"next", next ? Json(*next) : Json(nullptr)}};
}

Result<core::Impact> read_impact(const Json& body) {
  const Json& j = body["impact"];
  if (!j.is_object()) return bad("must be an object with affected and disruption", "impact");
  ESCALA_TRY(only_fields(j, {"affected", "disruption"}, "impact"));
  auto affected = req_string(j, "affected", 20, "impact");
  if (!affected.ok()) return affected.error();
  auto disruption = req_string(j, "disruption", 20, "impact");
  if (!disruption.ok()) return disruption.error();
  core::Impact impact{*affected, *disruption};
  ESCALA_TRY(core::validate_impact(impact));
  return impact;
}

Result<std::optional<core::Contract>> read_contract(const Json& body) {
  auto it = body.find("contract");
  if (it == body.end() || it->is_null()) return std::optional<core::Contract>();
  if (!it->is_object()) return bad("must be an object", "contract");
  ESCALA_TRY(only_fields(*it, {"name", "activation_charge", "sla"}, "contract"));
  core::Contract c;
  auto name = opt_string(*it, "name", 200, "contract");
  if (!name.ok()) return name.error();
  c.name = name->value_or("");
  auto charge = it->find("activation_charge");
  if (charge != it->end() && !charge->is_null()) {
    if (!charge->is_object()) return bad("must be an object", "contract.activation_charge");
    ESCALA_TRY(only_fields(*charge, {"amount_cents", "currency"}, "contract.activation_charge"));
    auto amount = opt_int(*charge, "amount_cents", "contract.activation_charge");
    if (!amount.ok()) return amount.error();
    if (!amount.value()) return bad("is required", "contract.activation_charge.amount_cents");
    if (*amount.value() < 0)
      return bad("must not be negative", "contract.activation_charge.amount_cents");
    auto currency = opt_string(*charge, "currency", 3, "contract.activation_charge");
    if (!currency.ok()) return currency.error();
    c.activation_charge.amount_cents = *amount.value();
    c.activation_charge.currency = currency->value_or("USD");
    if (c.activation_charge.currency.size() != 3)
      return bad("must be a three-letter currency code", "contract.activation_charge.currency");
  }
  auto sla = it->find("sla");
  if (sla != it->end() && !sla->is_null()) {
    if (!sla->is_object()) return bad("must be an object of severities", "contract.sla");
    ESCALA_TRY(only_fields(*sla, {"S1", "S2", "S3", "S4"}, "contract.sla"));
    for (const auto& [sev_name, t] : sla->items()) {
      const std::string at = "contract.sla." + sev_name;
      if (!t.is_object()) return bad("must be an object", at);
      ESCALA_TRY(only_fields(t, {"response_seconds", "resolution_seconds", "calendar"}, at));
      auto response = opt_int(t, "response_seconds", at);
      if (!response.ok()) return response.error();
      auto resolution = opt_int(t, "resolution_seconds", at);
      if (!resolution.ok()) return resolution.error();
      auto calendar = opt_string(t, "calendar", 64, at);
      if (!calendar.ok()) return calendar.error();
      if (!response.value() || *response.value() <= 0 || *response.value() > 90LL * 86400)
        return bad("must be 1 second to 90 days", at + ".response_seconds");
      if (!resolution.value() || *resolution.value() <= 0 || *resolution.value() > 365LL * 86400)
        return bad("must be 1 second to a year", at + ".resolution_seconds");
      if (!calendar.value()) return bad("is required", at + ".calendar");
      c.sla[*core::parse_severity(sev_name)] =
          core::TargetOverride{Seconds{*response.value()}, Seconds{*resolution.value()},
                               *calendar.value()};
    }
  }
  return std::optional<core::Contract>(c);
}

constexpr size_t kMaxText = 100'000;

const std::vector<std::string> kChannels = {"email", "phone", "chat", "click2call",
                                            "whatsapp", "portal", "web", "api",
                                            "walk_in"};
bool is_channel(const std::string& c) {
  return std::find(kChannels.begin(), kChannels.end(), c) != kChannels.end();
}
std::string channel_names() {
  std::string out;
  for (const auto& c : kChannels) out += (out.empty() ? "" : ", ") + c;
  return out;
}
bool is_active(core::CaseStatus s) {
  return s != core::CaseStatus::kResolved && s != core::CaseStatus::kClosed;
}

// A queue as the console shows it: the store's filters, plus a channel, only active cases
// (not resolved or closed) and/or the order by SLA due. The store keeps no index for
// these, so the matching cases are read (newest first, at most kQueueScanCap of them),
// filtered and ordered here, and paged by offset. Queues of active cases are small next to
// the desk's history; a larger match says total_exact: false.
constexpr int64_t kQueueScanCap = 20'000;

struct QueueView {
  std::optional<std::string> channel;
  bool active = false;
  bool by_sla = false;
  bool wanted() const { return channel || active || by_sla; }
};

struct QueuePage {
  std::vector<std::pair<core::Case, core::SlaReport>> items;
  int64_t total = 0;
  bool total_exact = true;
  std::optional<int64_t> next_offset;
};

// The order by SLA due: the next target of each case (the response until it is met, then
// the resolution); breached clocks first, most overdue first, then running clocks by due
// instant, then the cases whose clock does not run (not started, paused, met), newest
// first. The same rule as the console's colours (web/src/format.ts).
struct SlaKey {
  int group = 2;
  Instant due{};
  int64_t id = 0;
  bool operator<(const SlaKey& o) const {
    if (group != o.group) return group < o.group;
    if (group < 2 && due != o.due) return due < o.due;
    return id > o.id;
  }
};
SlaKey sla_key(const core::Case& c, const core::SlaReport& r) {
  const bool response_done = r.response.met || r.response.stopped_at.has_value();
  const core::ClockReport& k = response_done ? r.resolution : r.response;
  SlaKey key;
  key.id = c.id;
  if (k.breached && k.due) {
    key.group = 0;
    key.due = *k.due;
  } else if (k.running && !k.met && k.due) {
    key.group = 1;
    key.due = *k.due;
  }
  return key;
}

Result<QueuePage> queue_view(services::CaseService& cases, const core::Actor& actor,
                             ports::CaseQuery q, const QueueView& view, int64_t offset) {
  const int limit = q.limit;
  q.limit = 1000;
  q.count_total = false;
  q.before_id.reset();
  std::vector<std::pair<core::Case, core::SlaReport>> matched;
  bool capped = false;
  int64_t scanned = 0;
  for (;;) {
    auto page = cases.list(actor, q);
    if (!page.ok()) return page.error();
    for (auto& c : page->items) {
      ++scanned;
      if (view.channel && c.channel != *view.channel) continue;
      if (view.active && !is_active(c.status)) continue;
      auto report = cases.sla_report(c);
      matched.emplace_back(std::move(c), std::move(report));
    }
    if (!page->next_before) break;
    if (scanned >= kQueueScanCap) {
      capped = true;
      break;
    }
    q.before_id = page->next_before;
  }
  if (view.by_sla) {
    std::vector<std::pair<SlaKey, size_t>> keys;
    keys.reserve(matched.size());
    for (size_t i = 0; i < matched.size(); ++i)
      keys.emplace_back(sla_key(matched[i].first, matched[i].second), i);
    std::sort(keys.begin(), keys.end());
    std::vector<std::pair<core::Case, core::SlaReport>> sorted;
    sorted.reserve(matched.size());
    for (const auto& [key, i] : keys) sorted.push_back(std::move(matched[i]));
    matched = std::move(sorted);
  }
  QueuePage out;
  out.total = static_cast<int64_t>(matched.size());
  out.total_exact = !capped;
  const auto from = std::min<int64_t>(offset, out.total);
  const auto to = std::min<int64_t>(from + limit, out.total);
  for (auto i = from; i < to; ++i) out.items.push_back(std::move(matched[static_cast<size_t>(i)]));
  if (to < out.total) out.next_offset = to;
  return out;
}

}  // namespace

Api::Api(services::CaseService& cases, services::DirectoryService& directory,
         services::AuthService& auth, ports::DirectoryStore& settings, ApiOptions options,
         services::ConfigService* config)
    : cases_(cases),
      directory_(directory),
      auth_(auth),
      settings_(settings),
      options_(std::move(options)),
      config_(config),
      stream_limits_(std::make_shared<StreamLimits>(options_.max_streams,
                                                    options_.max_streams_per_user)) {}

bool Api::is_blocking(const Request& request) {
  if (request.method != "GET") return true;
  std::string_view t(request.target);
  auto path_is = [&](std::string_view p) {
    return t.substr(0, p.size()) == p && (t.size() == p.size() || t[p.size()] == '?');
  };
  // Blobs may be large (attachments, original messages).
  if (t.find("/attachments/") != std::string_view::npos ||
      t.find("/messages/") != std::string_view::npos)
    return true;
  return path_is("/api/v1/cases") || path_is("/api/v1/accounts") ||
         path_is("/api/v1/users") || t.substr(0, 16) == "/api/v1/reports/";
}

Response Api::handle(const Request& request) {
  try {
    const bool raw_mail = options_.mail && request.target.rfind("/api/v1/mail/inbound", 0) == 0;
    const size_t limit = raw_mail ? options_.mail->max_message_bytes() : options_.max_json_body;
    if (request.body.size() > limit)
      return error_response(make_error(ErrorCode::kPayloadTooLarge,
                                       "the body is larger than " + std::to_string(limit) +
                                           " bytes"));
    return route(request);
  } catch (const std::exception& e) {
    return error_response(make_error(ErrorCode::kInternal, "unexpected error; nothing was changed"));
  }
}

Response Api::route(const Request& req) {
  auto target = parse_target(req.target);
  if (!target) return error_response(bad("malformed request target"));
  const auto& seg = target->segments;
  const std::string& m = req.method;

  if (seg.size() == 1 && seg[0] == "healthz") {
    if (m != "GET" && m != "HEAD") return method_not_allowed("GET");
    return json_response(200, Json{{"status", "ok"}});
  }
  if (options_.mail)
    if (auto r = options_.mail->public_route(req, seg)) return std::move(*r);
  if (options_.web)  // the console's files and client-side routes (never under /api/)
    if (auto r = options_.web->serve(req, seg)) return std::move(*r);
  if (seg.size() < 2 || seg[0] != "api" || seg[1] != "v1") return not_found_route();
  const std::vector<std::string> s(seg.begin() + 2, seg.end());
  const size_t n = s.size();

  if (n == 1 && s[0] == "openapi.json") {
    if (m != "GET") return method_not_allowed("GET");
    Response r;
    r.body = options_.openapi_json;
    return r;
  }

  // Body for writes: one JSON object.
  auto body_object = [&]() -> Result<Json> {
    if (req.body.empty()) return Json::object();
    return parse_object(req.body);
  };

  // Sign-in: {email, password} for a bearer token (login) or a browser session (session).
  auto sign_in = [&]() -> Result<services::LoginResult> {
    auto body = body_object();
    if (!body.ok()) return body.error();
    ESCALA_TRY(only_fields(*body, {"email", "password"}));
    auto email = req_string(*body, "email", 254);
    if (!email.ok()) return email.error();
    auto password = req_string(*body, "password", 1024);
    if (!password.ok()) return password.error();
    return auth_.login(*email, *password, req.client);
  };
  const bool secure = options_.secure_cookies || req.tls;
  const std::string cookie_name = session_cookie_name(secure);

  if (n == 2 && s[0] == "auth" && s[1] == "login") {
    if (m != "POST") return method_not_allowed("POST");
    auto login = sign_in();
    if (!login.ok()) return error_response(login.error());
    return json_response(200, Json{{"token", login->token},
                                   {"expires_at", format_iso8601(login->expires_at)},
                                   {"user", user_json(login->user)}});
  }
  if (n == 2 && s[0] == "auth" && s[1] == "session" && m == "POST") {
    // A browser signs in: the token goes into an HttpOnly cookie and never into the body,
    // so no script of the page ever holds it. Only a page of the desk may do this (no
    // signing a victim's browser into an attacker's account from another site).
    if (auto why = cross_origin_reason(req, options_.trusted_origins); !why.empty())
      return csrf_refused(why);
    auto login = sign_in();
    if (!login.ok()) return error_response(login.error());
    // The browser's previous session, if any, ends: one browser, one session.
    if (auto old = cookie_value(req.cookie, cookie_name); !old.empty()) (void)auth_.logout(old);
    Response r = json_response(200, Json{{"user", user_json(login->user)},
                                         {"expires_at", format_iso8601(login->expires_at)},
                                         {"csrf_token", auth_.csrf_token(login->token)},
                                         {"via", "cookie"}});
    r.headers.emplace_back("Set-Cookie", session_cookie(login->token, auth_.token_ttl(), secure));
    return r;
  }

  // Everything below needs a signed-in user: a bearer token (API clients, which need
  // nothing else), or else a browser's session cookie, whose writes must also come from a
  // page of the desk and carry the session's CSRF token.
  const bool by_cookie = req.authorization.empty();
  const std::string token =
      by_cookie ? cookie_value(req.cookie, cookie_name) : bearer_token(req.authorization);
  if (token.empty())
    return error_response(make_error(ErrorCode::kUnauthenticated,
                                     "sign in first: Authorization: Bearer TOKEN"));
  auto session = auth_.session(token);
  if (!session.ok()) {
    Response r = error_response(session.error());
    if (by_cookie) r.headers.emplace_back("Set-Cookie", clear_session_cookie(secure));
    return r;
  }
  if (by_cookie && !is_safe_method(m)) {
    if (auto why = cross_origin_reason(req, options_.trusted_origins); !why.empty())
      return csrf_refused(why);
    if (!auth_.csrf_token_matches(token, req.csrf_token))
      return csrf_refused(req.csrf_token.empty()
                              ? "a write signed in by cookie needs the session's X-CSRF-Token "
                                "header (from GET /api/v1/auth/session)"
                              : "the X-CSRF-Token header does not match this session");
  }
  const core::User* user = &session->user;
  const core::Actor actor = user->actor();
  if (n == 0) return not_found_route();  // regression: indexing s[0] of /api/v1 crashed
  const bool staff = actor.is_staff();
  const std::string& prefix = cases_.number_prefix();
  if (n == 1 && s[0] == "stream") {
    // Live updates: Server-Sent Events about the cases this user may see (case_stream.hpp).
    if (m != "GET") return method_not_allowed("GET");
    if (!options_.events)
      return error_response(make_error(ErrorCode::kUnavailable, "this desk sends no live updates"));
    const auto verdict = stream_limits_->acquire(actor.user_id);
    if (verdict != StreamLimits::Verdict::kOk) {
      Response r = verdict == StreamLimits::Verdict::kUserFull
                       ? error_response(make_error(
                             ErrorCode::kRateLimited,
                             "too many live update streams open for this user (at most " +
                                 std::to_string(options_.max_streams_per_user) + ")"))
                       : error_response(make_error(ErrorCode::kUnavailable,
                                                   "too many live update streams open"));
      if (verdict == StreamLimits::Verdict::kFull) r.headers.emplace_back("Retry-After", "30");
      return r;
    }
    Response r;
    r.content_type = "text/event-stream";
    r.stream = std::make_shared<CaseStream>(
        *options_.events, stream_limits_, actor,
        [this, token, id = actor.user_id] {
          auto again = auth_.session(token);
          return again.ok() && again->user.id == id && again->user.active;
        },
        options_.stream_heartbeat);
    return r;
  }
  if (options_.mail)
    if (auto r = options_.mail->user_route(req, s, actor)) return std::move(*r);

  if (n == 2 && s[0] == "auth" && s[1] == "logout") {
    if (m != "POST") return method_not_allowed("POST");
    auto st = auth_.logout(token);
    if (!st.ok()) return error_response(st.error());
    Response r{204, "application/json", "", {}};
    if (by_cookie) r.headers.emplace_back("Set-Cookie", clear_session_cookie(secure));
    return r;
  }
  if (n == 2 && s[0] == "auth" && s[1] == "session") {
    if (m != "GET") return method_not_allowed("GET, POST");
    Json out = {{"user", user_json(*user)},
                {"expires_at", format_iso8601(session->expires_at)},
                {"via", by_cookie ? "cookie" : "bearer"}};
    if (by_cookie) out["csrf_token"] = auth_.csrf_token(token);
    return json_response(200, out);
  }
  if (n == 2 && s[0] == "auth" && s[1] == "password") {
    if (m != "POST") return method_not_allowed("POST");
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    if (auto st = only_fields(*body, {"current_password", "new_password"}); !st.ok())
      return error_response(st.error());
    auto current = req_string(*body, "current_password", 1024);
    if (!current.ok()) return error_response(current.error());
    auto next = req_string(*body, "new_password", 4096);
    if (!next.ok()) return error_response(next.error());
    auto ended = auth_.change_password(*user, token, *current, *next);
    if (!ended.ok()) return error_response(ended.error());
    return json_response(200, Json{{"sessions_ended", *ended}});
  }
  if (n == 1 && s[0] == "me") {
    if (m == "GET") return json_response(200, user_json(*user));
    if (m != "PATCH") return method_not_allowed("GET, PATCH");
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    if (auto st = only_fields(*body, {"quiet"}); !st.ok()) return error_response(st.error());
    auto quiet = opt_bool(*body, "quiet");
    if (!quiet.ok()) return error_response(quiet.error());
    core::User me = *user;
    if (quiet.value()) {
      auto st = directory_.set_quiet(me, *quiet.value());
      if (!st.ok()) return error_response(st.error());
      me.quiet = *quiet.value();
    }
    return json_response(200, user_json(me));
  }
  if (n == 2 && s[0] == "me" && s[1] == "views") {
    // The user's saved views of the queue (they follow the user to any browser).
    if (m == "GET") {
      auto views = directory_.saved_views(*user);
      if (!views.ok()) return error_response(views.error());
      return json_response(200, Json{{"views", *views}});
    }
    if (m != "PUT") return method_not_allowed("GET, PUT");
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    if (auto st = only_fields(*body, {"views"}); !st.ok()) return error_response(st.error());
    if (!body->contains("views"))
      return error_response(make_error(ErrorCode::kInvalidArgument, "views is required", "views"));
    auto views = directory_.set_saved_views(*user, (*body)["views"]);
    if (!views.ok()) return error_response(views.error());
    return json_response(200, Json{{"views", *views}});
  }
  if (config_ && s[0] == "calendars" && n <= 2) {
    if (n == 1) {
      if (m != "GET") return method_not_allowed("GET");
      auto list = config_->calendars(actor);
      if (!list.ok()) return error_response(list.error());
      return json_response(200, *list);
    }
    if (m != "PUT") return method_not_allowed("PUT");
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    auto stored = config_->put_calendar(actor, s[1], *body);
    if (!stored.ok()) return error_response(stored.error());
    return json_response(200, *stored);
  }
  if (config_ && n == 1 && s[0] == "history") {
    if (m != "GET") return method_not_allowed("GET");
    auto page = page_params(*target, 50);
    if (!page.ok()) return error_response(page.error());
    const int lim = page->limit;
    auto list = config_->history(actor, page->cursor, lim);
    if (!list.ok()) return error_response(list.error());
    Json items = Json::array();
    for (const auto& e : *list)
      items.push_back(Json{{"id", e.id}, {"at", format_iso8601(e.at)},
                           {"actor", {{"id", e.actor_id}, {"name", e.actor_name}}},
                           {"type", e.type}, {"data", e.data}});
    std::optional<std::string> next;
    if (static_cast<int>(list->size()) == lim) next = std::to_string(list->back().id);
    return json_response(200, list_json(items, static_cast<int64_t>(items.size()), next));
  }
  if (n == 2 && s[0] == "reports" && s[1] == "sla") {
    if (m != "GET") return method_not_allowed("GET");
    auto& p = target->params;
    std::optional<Instant> from, before;
    if (!p["from"].empty()) {
      from = parse_iso8601(p["from"]);
      if (!from) return error_response(bad("must be an ISO 8601 instant with a zone", "from"));
    }
    if (!p["to"].empty()) {
      before = parse_iso8601(p["to"]);
      if (!before) return error_response(bad("must be an ISO 8601 instant with a zone", "to"));
    }
    std::optional<std::string> account;
    if (!p["account"].empty()) account = p["account"];
    auto report = cases_.sla_compliance(actor, from, before, account);
    if (!report.ok()) return error_response(report.error());
    return json_response(200, *report);
  }
  if (n == 2 && s[0] == "reports" && s[1] == "dashboard") {
    if (m != "GET") return method_not_allowed("GET");
    auto& p = target->params;
    services::CaseService::DashboardQuery q;
    for (const char* name : {"from", "before"}) {
      if (p[name].empty()) continue;
      auto t = parse_iso8601(p[name]);
      if (!t) return error_response(bad("must be an ISO 8601 instant with a zone", name));
      (std::string_view(name) == "from" ? q.from : q.before) = t;
    }
    if (!p["days"].empty()) {
      int days = 0;
      auto [end, ec] = std::from_chars(p["days"].data(), p["days"].data() + p["days"].size(), days);
      if (ec != std::errc() || end != p["days"].data() + p["days"].size())
        return error_response(bad("must be a whole number of days", "days"));
      q.days = days;
    }
    if (!p["zone"].empty()) q.zone = p["zone"];
    auto report = cases_.dashboard(actor, q);
    if (!report.ok()) return error_response(report.error());
    return json_response(200, *report);
  }
  if (n == 1 && s[0] == "notifications") {
    if (m != "GET") return method_not_allowed("GET");
    auto page = page_params(*target, 50);
    if (!page.ok()) return error_response(page.error());
    const int lim = page->limit;
    auto list = cases_.notifications(actor, page->cursor, lim);
    if (!list.ok()) return error_response(list.error());
    Json items = Json::array();
    for (const auto& x : *list)
      items.push_back(Json{{"id", x.id},
                           {"case", core::format_case_number(prefix, x.case_id)},
                           {"kind", x.kind},
                           {"subject", x.subject},
                           {"body", x.body},
                           {"created_at", format_iso8601(x.created_at)}});
    std::optional<std::string> next;
    if (static_cast<int>(list->size()) == lim) next = std::to_string(list->back().id);
    return json_response(200, list_json(items, static_cast<int64_t>(items.size()), next));
  }
  if (n == 1 && s[0] == "config") {
    if (m != "GET") return method_not_allowed("GET");
    auto defaults = settings_.get_setting("defaults");
    if (!defaults.ok()) return error_response(defaults.error());
    return json_response(200, defaults->value_or(Json::object()));
  }
  if (config_ && n == 1 && s[0] == "canned-replies") {
    if (m == "GET") {
      auto list = config_->canned_replies(actor);
      return list.ok() ? json_response(200, *list) : error_response(list.error());
    }
    if (m != "PUT") return method_not_allowed("GET, PUT");
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    auto stored = config_->put_canned_replies(actor, *body);
    return stored.ok() ? json_response(200, *stored) : error_response(stored.error());
  }
  if (n == 2 && s[0] == "fields") {
    if (m != "GET") return method_not_allowed("GET");
    auto type = core::parse_case_type(s[1]);
    if (!type) return error_response(make_error(ErrorCode::kNotFound, "no case type " + s[1]));
    Json items = Json::array();
    for (const auto& f : core::field_specs(*type)) {
      Json spec = {{"name", f.name}, {"label_es", f.label_es}, {"label_en", f.label_en}};
      if (!f.choices.empty()) spec["choices"] = f.choices;
      spec["required"] = f.name == "teams_email" ? "when extension_type is teams" : "always";
      items.push_back(std::move(spec));
    }
    return json_response(200, Json{{"type", s[1]}, {"fields", items}});
  }
  if (n == 1 && s[0] == "severity-suggestion") {
    if (m != "GET") return method_not_allowed("GET");
    core::Impact impact{target->params["affected"], target->params["disruption"]};
    if (auto st = core::validate_impact(impact); !st.ok()) return error_response(st.error());
    return json_response(200, Json{{"severity", core::to_string(cases_.suggest_severity(impact))}});
  }

  if (n == 2 && s[0] == "test" && s[1] == "clock" && options_.advance_clock) {
    if (m != "POST") return method_not_allowed("POST");
    if (actor.role != core::Role::kAdmin)
      return error_response(make_error(ErrorCode::kPermissionDenied, "administrators only"));
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    if (auto st = only_fields(*body, {"advance_seconds"}); !st.ok()) return error_response(st.error());
    auto secs = opt_int(*body, "advance_seconds");
    if (!secs.ok()) return error_response(secs.error());
    if (secs->value_or(0) < 0 || secs->value_or(0) > 10LL * 366 * 24 * 3600)
      return error_response(bad("must be 0 to ten years", "advance_seconds"));
    Instant now = options_.advance_clock(Seconds{secs->value_or(0)});
    return json_response(200, Json{{"now", format_iso8601(now)}});
  }

  // ---- accounts, contacts -------------------------------------------------------------
  if (s[0] == "accounts") {
    if (n == 1 && m == "POST") {
      auto body = body_object();
      if (!body.ok()) return error_response(body.error());
      if (auto st = only_fields(*body, {"code", "name", "timezone", "language", "contract"}); !st.ok())
        return error_response(st.error());
      core::Account a;
      auto code = req_string(*body, "code", 32);
      if (!code.ok()) return error_response(code.error());
      auto name = req_string(*body, "name", 200);
      if (!name.ok()) return error_response(name.error());
      auto tz = opt_string(*body, "timezone", 64);
      if (!tz.ok()) return error_response(tz.error());
      auto lang = opt_string(*body, "language", 8);
      if (!lang.ok()) return error_response(lang.error());
      auto contract = read_contract(*body);
      if (!contract.ok()) return error_response(contract.error());
      a.code = *code;
      a.name = *name;
      if (tz.value()) a.timezone = *tz.value();
      if (lang.value()) a.language = *lang.value();
      a.contract = *contract;
      auto created = directory_.create_account(actor, a);
      if (!created.ok()) return error_response(created.error());
      return json_response(201, account_json(*created));
    }
    if (n == 1 && m == "GET") {
      // The cursor of accounts is an account code, not a number.
      auto limit = int_param(*target, "limit", 1, 1000);
      if (!limit.ok()) return error_response(limit.error());
      const int lim = static_cast<int>(limit->value_or(100));
      auto list = directory_.list_accounts(actor, target->params["cursor"], lim);
      if (!list.ok()) return error_response(list.error());
      Json items = Json::array();
      for (const auto& a : *list) items.push_back(account_json(a));
      std::optional<std::string> next;
      if (static_cast<int>(list->size()) == lim) next = list->back().code;
      auto total = directory_.count_accounts(actor);
      if (!total.ok()) return error_response(total.error());
      return json_response(200, list_json(items, *total, next));
    }
    if (n == 1) return method_not_allowed("GET, POST");
    const std::string code = s[1];
    if (n == 2 && m == "GET") {
      auto a = directory_.get_account(actor, code);
      if (!a.ok()) return error_response(a.error());
      return json_response(200, account_json(*a));
    }
    if (n == 2 && m == "PATCH") {
      auto body = body_object();
      if (!body.ok()) return error_response(body.error());
      if (auto st = only_fields(*body, {"name", "timezone", "language", "contract"}); !st.ok())
        return error_response(st.error());
      for (const char* k : {"name", "timezone", "language"}) {
        auto v = opt_string(*body, k, 200);
        if (!v.ok()) return error_response(v.error());
      }
      auto contract = read_contract(*body);
      if (!contract.ok()) return error_response(contract.error());
      std::optional<std::optional<core::Contract>> replace_contract;
      if (body->contains("contract")) replace_contract = *contract;
      auto a = directory_.update_account(actor, code, *body, replace_contract);
      if (!a.ok()) return error_response(a.error());
      return json_response(200, account_json(*a));
    }
    if (n == 2) return method_not_allowed("GET, PATCH");
    if (n == 3 && s[2] == "contacts") {
      if (m == "POST") {
        auto body = body_object();
        if (!body.ok()) return error_response(body.error());
        if (auto st = only_fields(*body, {"name", "email", "phone", "language"}); !st.ok())
          return error_response(st.error());
        core::Contact c;
        c.account = code;
        auto name = req_string(*body, "name", 200);
        if (!name.ok()) return error_response(name.error());
        auto email = opt_string(*body, "email", 254);
        if (!email.ok()) return error_response(email.error());
        auto phone = opt_string(*body, "phone", 32);
        if (!phone.ok()) return error_response(phone.error());
        auto lang = opt_string(*body, "language", 8);
        if (!lang.ok()) return error_response(lang.error());
        c.name = *name;
        c.email = email->value_or("");
        c.phone = phone->value_or("");
        c.language = lang->value_or("es");
        auto created = directory_.create_contact(actor, c);
        if (!created.ok()) return error_response(created.error());
        return json_response(201, contact_json(*created));
      }
      if (m == "GET") {
        auto list = directory_.list_contacts(actor, code);
        if (!list.ok()) return error_response(list.error());
        Json items = Json::array();
        for (const auto& c : *list) items.push_back(contact_json(c));
        return json_response(200, list_json(items, static_cast<int64_t>(items.size()), std::nullopt));
      }
      return method_not_allowed("GET, POST");
    }
    if (n == 3 && s[2] == "billable-items") {
      if (m != "GET") return method_not_allowed("GET");
      auto items = cases_.billable_items(actor, code);
      if (!items.ok()) return error_response(items.error());
      Json out = Json::array();
      for (const auto& b : *items) out.push_back(billable_json(b, prefix));
      return json_response(200, list_json(out, static_cast<int64_t>(out.size()), std::nullopt));
    }
    return not_found_route();
  }

  // ---- users ---------------------------------------------------------------------------
  if (s[0] == "users" && n == 1) {
    if (m == "POST") {
      auto body = body_object();
      if (!body.ok()) return error_response(body.error());
      if (auto st = only_fields(*body, {"email", "name", "role", "level", "specialties", "account",
                                        "language", "timezone", "password"});
          !st.ok())
        return error_response(st.error());
      services::NewUser u;
      auto email = req_string(*body, "email", 254);
      if (!email.ok()) return error_response(email.error());
      auto name = req_string(*body, "name", 200);
      if (!name.ok()) return error_response(name.error());
      auto role = req_string(*body, "role", 20);
      if (!role.ok()) return error_response(role.error());
      auto parsed_role = core::parse_role(*role);
      if (!parsed_role) return error_response(bad("must be admin, supervisor, agent or customer", "role"));
      auto level = opt_int(*body, "level");
      if (!level.ok()) return error_response(level.error());
      auto account = opt_string(*body, "account", 32);
      if (!account.ok()) return error_response(account.error());
      auto lang = opt_string(*body, "language", 8);
      if (!lang.ok()) return error_response(lang.error());
      auto tz = opt_string(*body, "timezone", 64);
      if (!tz.ok()) return error_response(tz.error());
      auto password = req_string(*body, "password", 1024);
      if (!password.ok()) return error_response(password.error());
      if (body->contains("specialties")) {
        const Json& sp = (*body)["specialties"];
        if (!sp.is_array() || sp.size() > 50)
          return error_response(bad("must be a list of names", "specialties"));
        for (const auto& x : sp) {
          if (!x.is_string() || x.get<std::string>().empty() || x.get<std::string>().size() > 64)
            return error_response(bad("must be a list of names", "specialties"));
          u.specialties.push_back(x.get<std::string>());
        }
      }
      u.email = *email;
      u.name = *name;
      u.role = *parsed_role;
      u.level = static_cast<int>(level->value_or(0));
      u.account = account->value_or("");
      if (lang.value()) u.language = *lang.value();
      if (tz.value()) u.timezone = *tz.value();
      u.password = *password;
      auto created = directory_.create_user(actor, u);
      if (!created.ok()) return error_response(created.error());
      return json_response(201, user_json(*created));
    }
    if (m == "GET") {
      auto page = page_params(*target, 100);
      if (!page.ok()) return error_response(page.error());
      const int lim = page->limit;
      auto list = directory_.list_users(actor, page->cursor, lim);
      if (!list.ok()) return error_response(list.error());
      Json items = Json::array();
      for (const auto& u : *list) items.push_back(user_json(u));
      std::optional<std::string> next;
      if (static_cast<int>(list->size()) == lim) next = std::to_string(list->back().id);
      auto total = directory_.count_users(actor);
      if (!total.ok()) return error_response(total.error());
      return json_response(200, list_json(items, *total, next));
    }
    return method_not_allowed("GET, POST");
  }

  // ---- cases ---------------------------------------------------------------------------
  if (s[0] != "cases") return not_found_route();
  if (n == 1 && m == "POST") {
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    if (auto st = only_fields(*body, {"type", "account", "contact", "subject", "description",
                                      "channel", "fields", "impact", "severity",
                                      "severity_reason"});
        !st.ok())
      return error_response(st.error());
    core::OpenCaseInput in;
    auto type = req_string(*body, "type", 20);
    if (!type.ok()) return error_response(type.error());
    auto parsed_type = core::parse_case_type(*type);
    if (!parsed_type) return error_response(bad("must be incident, activation or request", "type"));
    in.type = *parsed_type;
    auto account = opt_string(*body, "account", 32);
    if (!account.ok()) return error_response(account.error());
    in.account = account->value_or("");
    auto contact = opt_int(*body, "contact");
    if (!contact.ok()) return error_response(contact.error());
    in.contact_id = *contact;
    auto subject = req_string(*body, "subject", 300);
    if (!subject.ok()) return error_response(subject.error());
    in.subject = *subject;
    auto description = opt_string(*body, "description", kMaxText);
    if (!description.ok()) return error_response(description.error());
    in.description = description->value_or("");
    auto channel = opt_string(*body, "channel", 32);
    if (!channel.ok()) return error_response(channel.error());
    in.channel = channel->value_or(staff ? "phone" : "portal");
    if (!is_channel(in.channel))
      return error_response(bad("must be one of: " + channel_names(), "channel"));
    if (body->contains("fields") && !(*body)["fields"].is_null()) {
      if (!(*body)["fields"].is_object()) return error_response(bad("must be an object", "fields"));
      in.fields = (*body)["fields"];
    }
    if (body->contains("impact") && !(*body)["impact"].is_null()) {
      auto impact = read_impact(*body);
      if (!impact.ok()) return error_response(impact.error());
      in.impact = *impact;
    }
    auto severity = opt_string(*body, "severity", 4);
    if (!severity.ok()) return error_response(severity.error());
    if (severity.value()) {
      auto sv = core::parse_severity(*severity.value());
      if (!sv) return error_response(bad("must be S1, S2, S3 or S4", "severity"));
      in.severity = sv;
    }
    auto reason = opt_string(*body, "severity_reason", 2000);
    if (!reason.ok()) return error_response(reason.error());
    in.severity_reason = reason->value_or("");
    auto created = cases_.open(actor, std::move(in));
    if (!created.ok()) return error_response(created.error());
    Response r = json_response(201, case_json(*created, prefix, staff, cases_.sla_report(*created)));
    r.headers.emplace_back("Location", "/api/v1/cases/" + cases_.number_of(*created));
    return r;
  }
  if (n == 1 && m == "GET") {
    ports::CaseQuery q;
    auto& p = target->params;
    if (!p["status"].empty()) {
      q.status = core::parse_case_status(p["status"]);
      if (!q.status) return error_response(bad("unknown status", "status"));
    }
    if (!p["severity"].empty()) {
      q.severity = core::parse_severity(p["severity"]);
      if (!q.severity) return error_response(bad("must be S1, S2, S3 or S4", "severity"));
    }
    if (!p["type"].empty()) {
      q.type = core::parse_case_type(p["type"]);
      if (!q.type) return error_response(bad("unknown type", "type"));
    }
    auto level = int_param(*target, "level", 1, 3);
    if (!level.ok()) return error_response(level.error());
    if (level.value()) q.level = static_cast<int>(*level.value());
    if (!p["account"].empty()) q.account = p["account"];
    if (p["assignee"] == "none") {
      q.assignee = 0;
    } else if (p["assignee"] == "me") {
      q.assignee = actor.user_id;
    } else {
      auto assignee = int_param(*target, "assignee", 1, INT64_MAX);
      if (!assignee.ok()) return error_response(assignee.error());
      q.assignee = *assignee;
    }
    if (p["q"].size() > 500) return error_response(bad("is too long", "q"));
    q.text = p["q"];
    auto limit = int_param(*target, "limit", 1, 1000);
    if (!limit.ok()) return error_response(limit.error());
    q.limit = static_cast<int>(limit->value_or(50));
    // Queue views: filters the store has no index for (channel, active) and the order by SLA
    // due are applied here, over the cases the store's filters match (see queue_view).
    QueueView view;
    if (!p["channel"].empty()) {
      if (!is_channel(p["channel"]))
        return error_response(bad("must be one of: " + channel_names(), "channel"));
      view.channel = p["channel"];
    }
    if (!p["active"].empty()) {
      if (p["active"] != "true" && p["active"] != "false")
        return error_response(bad("must be true or false", "active"));
      view.active = p["active"] == "true";
      if (view.active && q.status && !is_active(*q.status)) return json_response(200, list_json(Json::array(), 0, std::nullopt));
    }
    if (!p["sort"].empty()) {
      if (p["sort"] != "sla_due" && p["sort"] != "newest")
        return error_response(bad("must be newest or sla_due", "sort"));
      view.by_sla = p["sort"] == "sla_due";
    }
    if (view.wanted()) {
      auto offset = int_param(*target, "cursor", 0, kQueueScanCap);
      if (!offset.ok())
        return error_response(bad("is not a cursor from this list", "cursor"));
      auto page = queue_view(cases_, actor, q, view, offset->value_or(0));
      if (!page.ok()) return error_response(page.error());
      Json items = Json::array();
      for (const auto& [c, sla] : page->items) items.push_back(case_json(c, prefix, staff, sla));
      std::optional<std::string> next;
      if (page->next_offset) next = std::to_string(*page->next_offset);
      Json out = list_json(items, page->total, next);
      if (!page->total_exact) out["total_exact"] = false;
      return json_response(200, out);
    }
    if (!p["cursor"].empty()) {
      auto before = core::parse_case_number(prefix, p["cursor"]);
      if (!before) return error_response(bad("is not a cursor from this list", "cursor"));
      q.before_id = before;
    }
    auto page = cases_.list(actor, q);
    if (!page.ok()) return error_response(page.error());
    Json items = Json::array();
    for (const auto& c : page->items) items.push_back(case_json(c, prefix, staff, cases_.sla_report(c)));
    std::optional<std::string> next;
    if (page->next_before) next = core::format_case_number(prefix, *page->next_before);
    Json out = list_json(items, page->total, next);
    if (!page->total_exact) out["total_exact"] = false;  // a search with more matches
    return json_response(200, out);
  }
  if (n == 1) return method_not_allowed("GET, POST");

  const std::string number = s[1];
  auto answer = [&](const Result<core::Case>& c, int status = 200) {
    if (!c.ok()) return error_response(c.error());
    return json_response(status, case_json(*c, prefix, staff, cases_.sla_report(*c)));
  };
  if (n == 2) {
    if (m == "GET") return answer(cases_.get(actor, number));
    if (m != "PATCH") return method_not_allowed("GET, PATCH");
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    if (auto st = only_fields(*body, {"fields", "impact", "severity", "reason", "assignee",
                                      "account", "contact"});
        !st.ok())
      return error_response(st.error());
    services::CasePatch patch;
    // Identifying the customer of a case that came in unidentified (email from an unknown
    // address): staff name the account and, optionally, the contact.
    auto account = opt_string(*body, "account", 64);
    if (!account.ok()) return error_response(account.error());
    patch.account = account.value();
    auto contact = opt_int(*body, "contact");
    if (!contact.ok()) return error_response(contact.error());
    patch.contact = contact.value();
    if (body->contains("fields")) {
      if (!(*body)["fields"].is_object()) return error_response(bad("must be an object", "fields"));
      patch.fields = (*body)["fields"];
    }
    if (body->contains("impact")) {
      auto impact = read_impact(*body);
      if (!impact.ok()) return error_response(impact.error());
      patch.impact = *impact;
    }
    auto severity = opt_string(*body, "severity", 4);
    if (!severity.ok()) return error_response(severity.error());
    if (severity.value()) {
      patch.severity = core::parse_severity(*severity.value());
      if (!patch.severity) return error_response(bad("must be S1, S2, S3 or S4", "severity"));
    }
    auto reason = opt_string(*body, "reason", 2000);
    if (!reason.ok()) return error_response(reason.error());
    patch.reason = reason->value_or("");
    if (body->contains("assignee")) {
      patch.set_assignee = true;
      auto assignee = opt_int(*body, "assignee");
      if (!assignee.ok()) return error_response(assignee.error());
      patch.assignee = *assignee;
    }
    return answer(cases_.patch(actor, number, std::move(patch)));
  }
  if (n == 3 && s[2] == "events") {
    if (m != "GET") return method_not_allowed("GET");
    auto params = page_params(*target, 100);
    if (!params.ok()) return error_response(params.error());
    auto page = cases_.events(actor, number, params->cursor, params->limit);
    if (!page.ok()) return error_response(page.error());
    Json items = Json::array();
    for (const auto& e : page->items) items.push_back(event_json(e));
    std::optional<std::string> next;
    if (page->next_after) next = std::to_string(*page->next_after);
    return json_response(200, list_json(items, page->total, next));
  }
  static const std::set<std::string> kActions = {"replies", "escalate", "resolve", "confirm",
                                                 "reopen"};
  if (n != 3 || !kActions.count(s[2])) return not_found_route();
  if (m != "POST") return method_not_allowed("POST");
  {
    auto body = body_object();
    if (!body.ok()) return error_response(body.error());
    const std::string& action = s[2];
    if (action == "replies") {
      if (auto st = only_fields(*body, {"body", "internal", "pending"}); !st.ok()) return error_response(st.error());
      auto text = req_string(*body, "body", kMaxText);
      if (!text.ok()) return error_response(text.error());
      auto internal = opt_bool(*body, "internal");
      if (!internal.ok()) return error_response(internal.error());
      auto pending = opt_bool(*body, "pending");
      if (!pending.ok()) return error_response(pending.error());
      return answer(cases_.reply(actor, number, *text, internal->value_or(false),
                                 pending->value_or(false)),
                    201);
    }
    if (action == "escalate") {
      if (auto st = only_fields(*body, {"reason"}); !st.ok()) return error_response(st.error());
      auto reason = req_string(*body, "reason", 2000);
      if (!reason.ok()) return error_response(reason.error());
      return answer(cases_.escalate(actor, number, *reason));
    }
    if (action == "resolve") {
      if (auto st = only_fields(*body, {"resolution"}); !st.ok()) return error_response(st.error());
      auto resolution = req_string(*body, "resolution", kMaxText);
      if (!resolution.ok()) return error_response(resolution.error());
      return answer(cases_.resolve(actor, number, *resolution));
    }
    if (action == "confirm") {
      if (auto st = only_fields(*body, {}); !st.ok()) return error_response(st.error());
      return answer(cases_.confirm(actor, number));
    }
    if (action == "reopen") {
      if (auto st = only_fields(*body, {"reason"}); !st.ok()) return error_response(st.error());
      auto reason = req_string(*body, "reason", 2000);
      if (!reason.ok()) return error_response(reason.error());
      return answer(cases_.reopen(actor, number, *reason));
    }
  }
  return not_found_route();
}

}  // namespace escala::adapters::http
