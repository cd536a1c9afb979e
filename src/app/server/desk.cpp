#include "app/server/desk.hpp"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "adapters/http_api/api.hpp"
#include "adapters/http_api/browser_session.hpp"
#include "adapters/pg_store/pg_case_notifier.hpp"
#include "adapters/pg_store/pg_leader_lock.hpp"
#include "adapters/pg_store/pg_store.hpp"
#include "adapters/sqlite_store/sqlite_store.hpp"
#include "adapters/http_api/server.hpp"
#include "adapters/http_api/static_files.hpp"
#include "adapters/sodium_crypto/sodium_crypto.hpp"
#include "adapters/system_clock/offset_clock.hpp"
#include "adapters/system_clock/system_clock.hpp"
#include "app/server/config.hpp"
#include "app/server/mail_wiring.hpp"
#include "adapters/imap_poller/imap_poller.hpp"
#include "adapters/http_api/mail_routes.hpp"
#include "app/server/openapi.hpp"
#include "core/calendar.hpp"
#include "services/auth_service.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"
#include "services/directory_service.hpp"
#include "services/sla_scheduler.hpp"
#include "services/config_service.hpp"
#include "services/inbound_mail.hpp"
#include "services/mail_channel.hpp"
#include "services/outbox_sender.hpp"

namespace escala::app {

Result<OpenedDesk> open_desk(const DeskLocation& where) {
  const std::string& url = where.db_url;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    adapters::PgOptions opt;
    opt.url = url;
    opt.node_id = where.node_id;
    auto store = adapters::PgStore::open(opt);
    if (!store.ok()) return store.error();
    OpenedDesk desk;
    desk.store = std::move(store).value();
    desk.leader_locks = [url](const std::string& name) -> std::unique_ptr<ports::LeaderLock> {
      return std::make_unique<adapters::PgLeaderLock>(url, name);
    };
    // Never log a password of the URL.
    const auto at = url.find('@'), scheme = url.find("://");
    const auto colon = url.find(':', scheme + 3);
    desk.db_path = (at != std::string::npos && colon != std::string::npos && colon < at)
                       ? url.substr(0, colon) + ":***" + url.substr(at)
                       : url;
    return desk;
  }
  if (!url.empty() && url.rfind("sqlite:", 0) != 0)
    return make_error(ErrorCode::kInvalidArgument,
                      "--db must be postgresql://USER@HOST:PORT/DB or sqlite:PATH", "db");
  std::error_code ec;
  std::filesystem::create_directories(where.data_dir, ec);
  if (ec)
    return make_error(ErrorCode::kUnavailable,
                      "cannot create the data directory " + where.data_dir + ": " + ec.message());
  OpenedDesk desk;
  desk.db_path = where.db_url.empty() ? (std::filesystem::path(where.data_dir) / "escala.db").string()
                                      : where.db_url.substr(std::string("sqlite:").size());
  adapters::SqliteOptions opt;
  opt.path = desk.db_path;
  opt.synchronous_full = where.synchronous_full;
  auto store = adapters::SqliteStore::open(opt);
  if (!store.ok()) return store.error();
  desk.store = std::move(store).value();
  desk.leader_locks = [](const std::string&) -> std::unique_ptr<ports::LeaderLock> {
    return std::make_unique<ports::SoleLeader>();
  };
  return desk;
}

DeskPolicy load_policy(const core::Json& defaults) {
  DeskPolicy out;
  out.number_prefix = defaults.value("case_number_prefix", std::string("CMW-"));
  if (defaults.contains("severities") && defaults["severities"].is_array()) {
    for (const auto& s : defaults["severities"]) {
      auto sev = core::parse_severity(s.value("severity", ""));
      if (!sev) continue;
      auto& t = out.policy.targets[static_cast<int>(*sev) - 1];
      t.response = Seconds{s.value("response_seconds", t.response.count())};
      t.resolution = Seconds{s.value("resolution_seconds", t.resolution.count())};
      t.calendar = s.value("calendar", t.calendar);
    }
  }
  if (defaults.contains("severity_matrix") && defaults["severity_matrix"].is_object()) {
    const char* rows[] = {"outage", "serious", "degraded", "none"};
    const char* cols[] = {"one", "several", "all"};
    for (int r = 0; r < 4; ++r)
      for (int c = 0; c < 3; ++c) {
        auto v = defaults["severity_matrix"].value(rows[r], core::Json::object()).value(cols[c], "");
        if (auto sev = core::parse_severity(v)) out.policy.matrix.cells[r][c] = *sev;
      }
  }
  out.policy.reopen_window = Seconds{defaults.value("reopen_window_days", 30) * 24 * 3600};
  out.policy.warn_percent = defaults.value("sla_warn_percent", 75);
  out.policy.number_prefix = out.number_prefix;
  return out;
}

Status load_calendars(const core::Json& defaults,
                      const std::vector<ports::DirectoryStore::DeskEvent>& history,
                      services::CalendarSet& calendars) {
  std::map<std::string, core::CalendarSpec> configured;
  auto it = defaults.find("calendars");
  if (it != defaults.end() && it->is_array()) {
    for (size_t i = 0; i < it->size(); ++i) {
      auto spec = core::calendar_from_json((*it)[i]);
      if (!spec.ok()) {
        Error e = spec.error();
        e.field = "calendars[" + std::to_string(i) + "]." + e.field;
        return e;
      }
      configured[spec->name] = std::move(spec).value();
    }
  }
  std::set<std::string> edited;
  for (const auto& e : history) edited.insert(e.data.value("name", std::string()));
  for (const auto& [name, spec] : configured)
    if (!edited.count(name)) ESCALA_TRY(calendars.put(spec));
  // Edits in the order they were made, each from its instant, as ConfigService applied them.
  for (const auto& e : history) {
    const std::string name = e.data.value("name", std::string());
    const core::Json& old = e.data.contains("old") ? e.data["old"] : core::Json(nullptr);
    if (!calendars.timeline(name) && old.is_object()) {
      auto first = core::calendar_from_json(old);
      if (first.ok()) ESCALA_TRY(calendars.put(std::move(first).value()));
    }
    auto next = core::calendar_from_json(e.data.contains("new") ? e.data["new"] : core::Json());
    if (!next.ok()) continue;  // validated when it was saved; a later rule may be stricter
    ESCALA_TRY(calendars.put(std::move(next).value(), e.at));
  }
  // The configuration is what applies now; if it differs from the history's last version
  // (edited outside the desk), it applies from now on.
  for (const auto& [name, spec] : configured) {
    auto current = calendars.find(name);
    if (current && !(current->spec() == spec)) {
      spdlog::warn("calendar '{}' differs from its last recorded edit; using the configured one",
                   name);
      ESCALA_TRY(calendars.put(spec, std::chrono::time_point_cast<Millis>(
                                         std::chrono::system_clock::now())));
    }
  }
  return ok_status();
}

Result<std::vector<ports::DirectoryStore::DeskEvent>> calendar_history(
    ports::DirectoryStore& store) {
  std::vector<ports::DirectoryStore::DeskEvent> out;
  int64_t before = 0;
  for (;;) {
    auto page = store.desk_events(before, 1000);
    if (!page.ok()) return page.error();
    for (auto& e : *page)
      if (e.type == "calendar_changed") out.push_back(std::move(e));
    if (page->size() < 1000) break;
    before = page->back().id;
  }
  std::reverse(out.begin(), out.end());  // oldest first
  return out;
}

namespace {

bool split_host_port(const std::string& s, std::string& host, unsigned short& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    int p = std::stoi(s.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<unsigned short>(p);
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

}  // namespace

int serve(const ServeOptions& options) {
  // Signals are taken by one thread with sigwait, so block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto config = load_config(options.config_file);
  if (!config.ok()) {
    spdlog::critical("configuration: {} {}", config.error().message, config.error().field);
    return 2;
  }
  DeskLocation where = options.where;
  where.synchronous_full = config->synchronous_full;
  {
    // This process's name among the nodes (live updates tell whose change they carry).
    std::random_device rd;
    char id[17];
    std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
    where.node_id = id;
  }
  // One server per data directory (its ports.json, spool and mailgate secret; with SQLite
  // also the database, whose single writer owns the numbering). Several nodes on one
  // PostgreSQL each have their own. The lock goes with the process (also on kill -9).
  std::error_code dir_error;
  std::filesystem::create_directories(where.data_dir, dir_error);
  const std::string lock_path = (std::filesystem::path(where.data_dir) / "serve.lock").string();
  int lock_fd = ::open(lock_path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    spdlog::critical("another escala serve is running on {} (lock {})", where.data_dir, lock_path);
    return 1;
  }
  auto desk = open_desk(where);
  if (!desk.ok()) {
    spdlog::critical("cannot open the desk: {}", desk.error().message);
    return 1;
  }
  auto& store = *desk->store;
  auto crypto = adapters::SodiumCrypto::create();
  if (!crypto.ok()) {
    spdlog::critical("{}", crypto.error().message);
    return 1;
  }
  adapters::SystemClock system_clock;
  adapters::OffsetClock test_clock((std::filesystem::path(where.data_dir) / "test-clock-offset").string());
  const ports::Clock& clock = options.test_clock ? static_cast<const ports::Clock&>(test_clock)
                                                 : system_clock;
  if (options.test_clock)
    spdlog::warn("--test-clock: POST /api/v1/test/clock can move this desk's time; tests only");
  auto defaults = store.get_setting("defaults");
  if (!defaults.ok()) {
    spdlog::critical("cannot read the desk's defaults: {}", defaults.error().message);
    return 1;
  }
  const core::Json desk_defaults = defaults->value_or(core::Json::object());
  DeskPolicy policy = load_policy(desk_defaults);
  if (desk_defaults.contains("escalation_rules")) {
    auto rules = core::rules_from_json(desk_defaults["escalation_rules"]);
    if (!rules.ok()) {
      spdlog::critical("escalation rules: {}: {}", rules.error().field, rules.error().message);
      return 2;
    }
    policy.policy.rules = std::move(rules).value();
  }
  services::CalendarSet calendars;
  auto calendar_edits = calendar_history(store);
  if (!calendar_edits.ok()) {
    spdlog::critical("cannot read the desk's history: {}", calendar_edits.error().message);
    return 1;
  }
  if (auto st = load_calendars(desk_defaults, *calendar_edits, calendars); !st.ok()) {
    spdlog::critical("calendar configuration: {}: {}", st.error().field, st.error().message);
    return 2;
  }
  policy.policy.due = &calendars;

  services::CaseService cases(store, store, clock, policy.policy, policy.number_prefix);
  services::CaseEvents case_events;
  cases.set_change_listener(
      [&case_events](const services::CaseChanged& change) { case_events.publish(change); });
  // Several nodes (PostgreSQL): the store NOTIFYs this node's changes as they commit; this
  // listener publishes the other nodes' into the same hub, and a gap after it reconnected.
  std::unique_ptr<adapters::PgCaseListener> other_nodes;
  if (!store.single_node()) {
    other_nodes = std::make_unique<adapters::PgCaseListener>(
        adapters::PgListenerOptions{.url = where.db_url, .node_id = where.node_id},
        [&cases, &case_events](const adapters::CaseNotice& n) {
          core::Case k;
          k.id = n.case_id;
          case_events.publish(services::CaseChanged{n.case_id, cases.number_of(k), n.account,
                                                    n.version, n.kind, n.public_kind});
        },
        [&case_events] {
          spdlog::info("live updates: listening to the other nodes again; consoles refetch");
          case_events.publish(services::CaseChanged::missed());
        });
    other_nodes->start();
    spdlog::info("live updates: node {} on channel {}", where.node_id, adapters::kCaseChannel);
  }
  services::DirectoryService directory(store, **crypto, clock);
  directory.set_staff_listener([&cases] { cases.forget_staff(); });
  directory.set_calendar_check([&calendars](const std::string& name) {
    return calendars.find(name) != nullptr;
  });
  services::AuthOptions auth_options;
  auth_options.token_ttl = config->token_ttl;
  services::AuthService auth(store, **crypto, clock, auth_options);
  adapters::http::ApiOptions api_options;
  api_options.max_json_body = config->max_json_body;
  api_options.openapi_json = openapi_document();
  services::SlaScheduler scheduler(store, cases, calendars, clock);
  cases.set_timer_listener([&scheduler](const std::optional<services::CaseService::TimerHint>& t) {
    if (t) scheduler.poke(t->calendar, t->mark);
    else scheduler.poke();
  });
  // A desk upgraded from a version that kept SLA timers as instants gives them marks once.
  if (auto legacy = cases.derive_legacy_timers(); !legacy.ok()) {
    spdlog::critical("cannot convert the SLA timers: {}", legacy.error().message);
    return 1;
  } else if (*legacy > 0) {
    spdlog::info("SLA timers of {} cases converted to calendar marks", *legacy);
  }
  if (options.test_clock)
    api_options.advance_clock = [&](Millis by) {
      Instant now = test_clock.advance(by);
      // Fire what fell due before answering, so a test sees the result deterministically.
      (void)scheduler.fire_due();
      return now;
    };
  services::ConfigService desk_config(store, calendars, cases, clock);
  // Calendar edits made on other nodes reach this one within the scheduler's round (1 s).
  {
    auto newest = store.desk_events(0, 1);
    if (newest.ok() && !newest->empty()) desk_config.set_history_seen(newest->front().id);
  }
  scheduler.set_before_round([&desk_config] {
    if (auto synced = desk_config.sync_calendars(); !synced.ok())
      spdlog::warn("cannot read calendar edits: {}", synced.error().message);
  });

  // ---- the email channel ----
  // Secrets made once per desk (on its first start; nodes starting together share them):
  // the loop token on every message Escala sends, the key of the confirmation links, and
  // the mail gateway's secret.
  core::Json secrets;
  if (auto got = desk_config.mail_secrets(**crypto); got.ok()) {
    secrets = std::move(got).value();
  } else {
    spdlog::critical("cannot read or store the mail secrets: {}", got.error().message);
    return 1;
  }
  services::MailSettings mail_settings = services::MailSettings::from_defaults(
      desk_defaults, secrets.value("loop_token", ""), secrets.value("link_secret", ""));
  core::Json template_overrides = core::Json::object();
  if (auto got = store.get_setting("mail_templates"); got.ok() && got.value())
    template_overrides = *got.value();
  services::CaseMailer mailer(mail_settings, services::MailTemplates(template_overrides), **crypto,
                              policy.number_prefix);
  cases.set_change_decorator(
      [&mailer](core::Change& change, const core::CaseContext& ctx, Instant now) {
        mailer.decorate(change, ctx, now);
      });
  GmimeCodec codec(config->smtp_max_message_bytes);
  services::InboundMail inbound(store, store, store, codec, cases, mailer, clock);
  adapters::smtp::SmtpRelay relay;
  const bool have_relay = !options.smtp_relay.empty();
  if (have_relay) {
    unsigned short relay_port = 25;
    if (!split_host_port(options.smtp_relay, relay.host, relay_port)) {
      spdlog::critical("--smtp-relay must be HOST:PORT, got '{}'", options.smtp_relay);
      return 2;
    }
    relay.port = relay_port;
    relay.starttls = config->relay_starttls;
    relay.verify_peer = config->relay_verify_peer;
    relay.username = config->relay_username;
    relay.password = config->relay_password;
    relay.helo_name = config->smtp_hostname;
  } else {
    spdlog::warn("no --smtp-relay: outgoing mail waits in the outbox until one is configured");
  }
  services::OutboxOptions outbox_options;
  outbox_options.lease = config->outbox_lease;
  services::OutboxSender outbox(
      store, store, codec,
      [&]() -> std::unique_ptr<ports::MailTransport> {
        return std::make_unique<RelayTransport>(relay);
      },
      clock, outbox_options);
  const std::string mailgate_path = (std::filesystem::path(where.data_dir) / "mailgate.token").string();
  {
    const std::string tmp = mailgate_path + ".tmp";
    int fd = ::open(tmp.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      const std::string token = secrets.value("mailgate_token", "") + "\n";
      bool ok = ::write(fd, token.data(), token.size()) == static_cast<ssize_t>(token.size());
      ::close(fd);
      if (ok) std::filesystem::rename(tmp, mailgate_path);
    }
  }
  adapters::http::MailApiDeps mail_deps;
  mail_deps.inbound = &inbound;
  mail_deps.mailer = &mailer;
  mail_deps.store = &store;
  mail_deps.settings = &store;
  mail_deps.clock = &clock;
  mail_deps.mailgate_token = secrets.value("mailgate_token", "");
  mail_deps.max_message_bytes = static_cast<size_t>(config->smtp_max_message_bytes);
  // Every committed change that queued mail wakes the sender (API, SMTP, IMAP, mailgate).
  cases.set_mail_listener([&outbox] { outbox.poke(); });
  adapters::http::MailRoutes mail_routes(cases, mail_deps);
  api_options.mail = &mail_routes;
  if (options.test_clock) {
    auto advance = api_options.advance_clock;
    api_options.advance_clock = [advance, &outbox](Millis by) {
      Instant now = advance(by);
      outbox.poke();  // retries that fell due are sent now
      return now;
    };
  }
  // ---- the web console (--web-root): its files at / beside the API ----
  std::unique_ptr<adapters::http::StaticFiles> web_console;
  if (!options.web_root.empty()) {
    auto opened = adapters::http::StaticFiles::open(options.web_root);
    if (!opened.ok()) {
      spdlog::critical("{}", opened.error().message);
      return 2;
    }
    web_console = std::move(*opened);
    api_options.web = web_console.get();
    spdlog::info("web console from {}", web_console->root().string());
  }
  // Browser sessions: Secure cookies when browsers come over https; the public URL's
  // origin is one of the desk's own (a proxy in front may rewrite Host).
  api_options.secure_cookies =
      config->behind_tls.value_or(config->public_url.rfind("https://", 0) == 0);
  if (auto origin = adapters::http::url_authority(config->public_url); !origin.empty())
    api_options.trusted_origins.push_back(origin);
  // Live updates: every committed case change goes to the hub, and from it to the open
  // streams of GET /api/v1/stream (the hub outlives the server, declared before it).
  api_options.events = &case_events;
  api_options.max_streams = config->max_streams;
  api_options.max_streams_per_user = config->max_streams_per_user;
  api_options.stream_heartbeat = config->stream_heartbeat;
  adapters::http::Api api(cases, directory, auth, store, api_options, &desk_config);

  adapters::http::ServerOptions http;
  if (!split_host_port(options.http, http.host, http.port)) {
    spdlog::critical("--http must be HOST:PORT, got '{}'", options.http);
    return 2;
  }
  http.max_body = config->max_json_body;
  http.network_threads = config->network_threads;
  const size_t max_message = static_cast<size_t>(config->smtp_max_message_bytes);
  http.body_limit_for = [max_message](std::string_view target) -> size_t {
    return target.rfind("/api/v1/mail/inbound", 0) == 0 ? max_message : 0;
  };
  auto server = adapters::http::Server::create(
      http, [&api](const adapters::http::Request& r) { return api.handle(r); },
      [](const adapters::http::Request& r) { return adapters::http::Api::is_blocking(r); });
  if (!server.ok()) {
    spdlog::critical("{}", server.error().message);
    return 1;
  }
  mailer.set_public_url(config->public_url.empty()
                            ? "http://" + http.host + ":" + std::to_string((*server)->port())
                            : config->public_url);
  DeskSmtpHandler smtp_handler(inbound);
  std::unique_ptr<adapters::smtp::SmtpListener> smtp;
  if (!options.smtp.empty()) {
    adapters::smtp::SmtpListenerOptions so;
    unsigned short smtp_port = 0;
    if (!split_host_port(options.smtp, so.host, smtp_port)) {
      spdlog::critical("--smtp must be HOST:PORT, got '{}'", options.smtp);
      return 2;
    }
    so.port = smtp_port;
    so.hostname = config->smtp_hostname;
    so.max_message_bytes = config->smtp_max_message_bytes;
    so.tls_cert_file = config->smtp_tls_cert;
    so.tls_key_file = config->smtp_tls_key;
    so.spool_dir = (std::filesystem::path(where.data_dir) / "spool").string();
    std::filesystem::create_directories(so.spool_dir, dir_error);
    smtp = std::make_unique<adapters::smtp::SmtpListener>(so, smtp_handler);
    if (auto st = smtp->listen(); !st.ok()) {
      spdlog::critical("SMTP listener: {}", st.error().message);
      return 1;
    }
  }
  {
    auto ports = std::filesystem::path(where.data_dir) / "ports.json";
    auto tmp = ports;
    tmp += ".tmp";
    core::Json p = {{"http", (*server)->port()}};
    if (smtp) p["smtp"] = smtp->port();
    std::ofstream(tmp) << p.dump() << "\n";
    std::filesystem::rename(tmp, ports);
  }
  if (smtp) {
    smtp->start();
    spdlog::info("escala taking mail on smtp://{}:{}", options.smtp.substr(0, options.smtp.rfind(':')),
                 smtp->port());
  }
  // IMAP: one poller (and thread) per hosted mailbox; a message is marked on the server
  // only after the desk stored it (or already had it).
  std::vector<std::unique_ptr<adapters::imap::ImapPoller>> pollers;
  for (const auto& m : config->imap) {
    adapters::imap::ImapAccount acc;
    acc.url = m.url;
    acc.username = m.username;
    acc.password = m.password;
    acc.mailbox_address = m.mailbox;
    acc.after_store = m.after_store;
    acc.starttls = m.starttls;
    acc.verify_peer = m.verify_peer;
    acc.interval = std::chrono::seconds(m.interval_seconds);
    acc.max_message_bytes = static_cast<uint64_t>(config->smtp_max_message_bytes);
    if (auto st = adapters::imap::ImapPoller::validate(acc); !st.ok()) {
      spdlog::critical("imap {}: {}", m.url, st.error().message);
      return 2;
    }
    auto ingest = [&inbound](std::string_view raw, const std::string& mailbox)
        -> Result<std::string> {
      services::Envelope env;
      env.recipients = {mailbox};
      env.source = "imap";
      auto out = inbound.ingest(raw, env);
      if (!out.ok()) return out.error();
      return out->disposition;
    };
    auto log = [url = m.url](adapters::imap::ImapLogLevel level, const std::string& msg) {
      if (level == adapters::imap::ImapLogLevel::kError) spdlog::error("imap {}: {}", url, msg);
      else if (level == adapters::imap::ImapLogLevel::kWarning) spdlog::warn("imap {}: {}", url, msg);
      else spdlog::info("imap {}: {}", url, msg);
    };
    pollers.push_back(std::make_unique<adapters::imap::ImapPoller>(acc, ingest, log));
    // One node polls a mailbox at a time (several nodes on PostgreSQL): the holder of its
    // leader lock. The lock is asked before every round and goes with the holder's
    // database session, so another node takes over when the holder dies.
    auto lock = std::shared_ptr<ports::LeaderLock>(
        desk->leader_locks("imap:" + m.url + " " + m.username));
    pollers.back()->set_leader_check([lock, url = m.url, was = std::make_shared<bool>(false)] {
      auto held = lock->hold();
      if (!held.ok()) spdlog::warn("imap {}: {}", url, held.error().message);
      const bool now = held.ok() && *held;
      if (now != *was) {
        spdlog::info("imap {}: {} polling", url, now ? "this node is" : "another node is");
        *was = now;
      }
      return now;
    });
  }
  std::vector<std::thread> poller_threads;
  for (auto& p : pollers) poller_threads.emplace_back([&p] { p->run(); });
  std::vector<std::thread> outbox_threads;
  // Without a relay nothing is attempted (attempts would run out and fail every message):
  // the outbox keeps them pending until the desk is started with --smtp-relay.
  for (int i = 0; i < (have_relay ? config->relay_connections : 0); ++i)
    outbox_threads.emplace_back([&outbox] { outbox.run(); });
  // Renews this node's outbox claims while it sends, so a short lease is safe (a dead
  // node's claims are retried by another within the lease).
  if (have_relay) outbox_threads.emplace_back([&outbox] { outbox.keep_leases(); });
  spdlog::info("escala serving http://{}:{} (database {})", http.host, (*server)->port(),
               desk->db_path);

  std::thread scheduler_thread([&] { scheduler.run(); });
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: stopping", sig);
    (*server)->stop();
  });
  (*server)->run();
  if (smtp) smtp->stop();
  for (auto& p : pollers) p->stop();
  for (auto& t : poller_threads) t.join();
  outbox.stop();
  for (auto& t : outbox_threads) t.join();
  scheduler.stop();
  scheduler_thread.join();
  if (other_nodes) other_nodes->stop();
  // run() returned because of stop(): make sure the signal thread ends too.
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return 0;
}

}  // namespace escala::app
