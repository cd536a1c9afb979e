// The email channel end to end, in memory: hand-written RFC 5322 messages go through the
// real codec and services::InboundMail (the filter chain), cases change through the real
// CaseService, the CaseMailer queues what the customer and the staff are told, and the
// OutboxSender delivers it through a scripted transport. ManualClock and FakeCrypto keep
// everything deterministic.

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "adapters/mail_codec/mail_codec.hpp"
#include "core/defaults.hpp"
#include "fakes/fake_crypto.hpp"
#include "fakes/memory_store.hpp"
#include "ports/clock.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"
#include "services/inbound_mail.hpp"
#include "services/mail_channel.hpp"
#include "services/outbox_sender.hpp"

namespace escala::services {
namespace {

using core::Json;

constexpr const char* kLoopToken = "loop-token-desk";
constexpr const char* kIncidents = "sosporte24@callmyway.com";
constexpr const char* kGeneral = "suporte@callmyway.com";

class Codec final : public ports::MailCodec {
 public:
  Result<core::MailMessage> parse(std::string_view raw) override { return adapters::parse_mail(raw); }
  Result<core::MailMessage> parse_file(const std::string& path) override {
    return adapters::parse_mail_file(path);
  }
  std::string compose(const core::OutboundMail& mail) override { return adapters::compose_mail(mail); }
};

// A relay that answers from a script (kSent once the script is empty) and keeps what it
// was given.
class ScriptedTransport final : public ports::MailTransport {
 public:
  std::deque<ports::SendReport> script;
  struct Sent {
    std::string envelope_from;
    std::vector<std::string> recipients;
    std::string raw;
  };
  std::vector<Sent> calls;
  std::function<void()> during_send;  // runs inside each send (a slow relay, another node)

  ports::SendReport send(const std::string& envelope_from, const std::vector<std::string>& recipients,
                         std::string_view raw_message) override {
    calls.push_back({envelope_from, recipients, std::string(raw_message)});
    if (auto hook = during_send) hook();  // a copy: the hook may clear itself
    if (script.empty()) return {ports::SendOutcome::kSent, 250, "ok"};
    auto r = script.front();
    script.pop_front();
    return r;
  }
};

// A message as a customer's client would write it.
struct Mail {
  std::string from = "Ana Perez <ana@acme.com>";
  std::string to = kIncidents;
  std::string subject = "Sin tono";
  std::string body = "Hola";
  std::string message_id;  // without <>; none when empty
  std::string in_reply_to;
  std::string references;
  std::vector<std::string> headers;  // extra "Name: value" lines

  std::string raw() const {
    std::string r;
    if (!from.empty()) r += "From: " + from + "\r\n";
    r += "To: " + to + "\r\n";
    r += "Subject: " + subject + "\r\n";
    r += "Date: Fri, 27 Nov 2026 08:55:00 -0600\r\n";
    if (!message_id.empty()) r += "Message-ID: <" + message_id + ">\r\n";
    if (!in_reply_to.empty()) r += "In-Reply-To: <" + in_reply_to + ">\r\n";
    if (!references.empty()) r += "References: " + references + "\r\n";
    for (const auto& h : headers) r += h + "\r\n";
    r += "MIME-Version: 1.0\r\n";
    r += "Content-Type: text/plain; charset=utf-8\r\n";
    r += "Content-Transfer-Encoding: 8bit\r\n\r\n";
    r += body;
    r += "\r\n";
    return r;
  }
};

const char* kFullIncident =
    "Buenos días, la extensión no puede llamar.\r\n"
    "Extensión: 204\r\n"
    "Tráfico: saliente\r\n"
    "Número contraparte: +52 55 1234 5678\r\n"
    "Fecha y hora: 26/11 10:30\r\n";

core::CasePolicy desk_policy(const CalendarSet& calendars) {
  core::CasePolicy p;
  p.due = &calendars;
  return p;
}

MailSettings desk_settings() {
  MailSettings s = MailSettings::from_defaults(core::deck_defaults(), kLoopToken, "link-secret");
  s.max_attachment_bytes = 1024 * 1024;  // 1 MB, so a test can exceed it cheaply
  return s;
}

class MailPipelineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { adapters::mail_codec_init(); }

  MailPipelineTest()
      : clock_(*parse_iso8601("2026-11-27T15:00:00Z")),
        cases_(store_, store_, clock_, desk_policy(calendars_), "CMW-"),
        mailer_(desk_settings(), MailTemplates(), crypto_, "CMW-"),
        inbound_(store_, store_, store_, codec_, cases_, mailer_, clock_) {
    cases_.set_change_decorator([this](core::Change& change, const core::CaseContext& ctx, Instant now) {
      mailer_.decorate(change, ctx, now);
    });
    core::Account acme;
    acme.code = "ACME";
    acme.name = "Acme";
    acme.contract = core::Contract{"Pro", core::Money{2500, "USD"}, {}};
    EXPECT_TRUE(store_.create_account(acme).ok());
    core::Account globex;
    globex.code = "GLOBEX";
    globex.name = "Globex";
    globex.language = "en";
    EXPECT_TRUE(store_.create_account(globex).ok());
    ana_ = contact("ACME", "Ana Perez", "ana@acme.com", "es");
    luis_ = contact("ACME", "Luis Gomez", "luis@acme.com", "es");
    john_ = contact("GLOBEX", "John Smith", "john@globex.com", "en");
    l1_ = user("l1@callmyway.com", core::Role::kAgent, 1, false);
    l2_ = user("l2@callmyway.com", core::Role::kAgent, 2, false);
    l2_quiet_ = user("l2-quiet@callmyway.com", core::Role::kAgent, 2, true);
    l3_ = user("l3@callmyway.com", core::Role::kAgent, 3, false);
  }

  core::Contact contact(const std::string& account, const std::string& name,
                        const std::string& email, const std::string& language) {
    core::Contact c;
    c.account = account;
    c.name = name;
    c.email = email;
    c.language = language;
    auto made = store_.create_contact(c);
    EXPECT_TRUE(made.ok());
    return *made;
  }

  core::Actor user(const std::string& email, core::Role role, int level, bool quiet) {
    core::User u;
    u.email = email;
    u.name = email.substr(0, email.find('@'));
    u.role = role;
    u.level = level;
    u.quiet = quiet;
    auto made = store_.create_user(u);
    EXPECT_TRUE(made.ok());
    return made->actor();
  }

  IngestOutcome ingest(const Mail& m, const std::string& rcpt = kIncidents) {
    return ingest_raw(m.raw(), rcpt);
  }
  IngestOutcome ingest_raw(const std::string& raw, const std::string& rcpt = kIncidents) {
    auto r = inbound_.ingest(raw, Envelope{"", {rcpt}, "smtp"});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : IngestOutcome{};
  }

  core::Case get(const std::string& number) {
    auto id = core::parse_case_number("CMW-", number);
    EXPECT_TRUE(id) << number;
    auto c = store_.get(id.value_or(0));
    EXPECT_TRUE(c.ok() && c.value()) << number;
    return c.ok() && c.value() ? *c.value() : core::Case{};
  }

  std::vector<core::OutboxMessage> outbox(const std::string& number) {
    auto out = store_.outbox_for_case(get(number).id);
    EXPECT_TRUE(out.ok());
    return out.ok() ? *out : std::vector<core::OutboxMessage>{};
  }

  std::vector<core::Event> events(const std::string& number) {
    ports::EventQuery q;
    q.case_id = get(number).id;
    q.include_internal = true;
    q.limit = 1000;
    auto page = store_.events(q);
    EXPECT_TRUE(page.ok());
    return page.ok() ? page->items : std::vector<core::Event>{};
  }

  static std::vector<std::string> kinds(const std::vector<core::OutboxMessage>& out) {
    std::vector<std::string> k;
    for (const auto& m : out) k.push_back(m.kind);
    return k;
  }

  int64_t case_count() {
    ports::CaseQuery q;
    return store_.list(q)->total;
  }

  int64_t outbox_total() {
    int64_t n = 0;
    auto counts = store_.outbox_counts();
    EXPECT_TRUE(counts.ok());
    if (counts.ok())
      for (const auto& [status, count] : *counts) n += count;
    return n;
  }

  // A complete incident from Ana, acknowledged; answers its case number.
  std::string open_full_incident(const std::string& message_id = "first@acme.com") {
    Mail m;
    m.message_id = message_id;
    m.body = kFullIncident;
    auto got = ingest(m);
    EXPECT_EQ(got.disposition, "new_case");
    return got.case_number;
  }

  // The case of `number` resolved by an agent at its level.
  void resolve(const std::string& number, const core::Actor& agent) {
    auto r = cases_.resolve(agent, number, "Reiniciamos el troncal SIP.");
    ASSERT_TRUE(r.ok()) << r.error().message;
  }

  // Resolved by an agent, then confirmed by the customer's mail.
  void close_by_mail(const std::string& number) {
    resolve(number, l1_);
    Mail m;
    m.subject = "RE: [" + number + "] Resuelto";
    m.message_id = "confirm-" + number + "@acme.com";
    m.in_reply_to = last_sent_id(number);
    m.body = "Confirmo.";
    EXPECT_EQ(ingest(m).disposition, "confirmed");
    ASSERT_EQ(get(number).status, core::CaseStatus::kClosed);
  }

  // The Message-ID of the latest outbox message of the case.
  std::string last_sent_id(const std::string& number) {
    auto out = outbox(number);
    return out.empty() ? "" : out.back().mail.message_id;
  }

  CalendarSet calendars_;
  fakes::MemoryStore store_;
  fakes::FakeCrypto crypto_;
  ports::ManualClock clock_;
  Codec codec_;
  CaseService cases_;
  CaseMailer mailer_;
  InboundMail inbound_;
  core::Contact ana_, luis_, john_;
  core::Actor l1_, l2_, l2_quiet_, l3_;
};

// ---- new cases ----------------------------------------------------------------------------

TEST_F(MailPipelineTest, IncidentWithAllDataOpensAndIsAcknowledged) {
  Mail m;
  m.message_id = "abc123@acme.com";
  m.body = kFullIncident;
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "new_case");
  EXPECT_EQ(got.kind, "person");
  EXPECT_EQ(got.case_number, "CMW-000001");
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.type, core::CaseType::kIncident);
  EXPECT_EQ(c.status, core::CaseStatus::kOpen);
  EXPECT_TRUE(c.missing_fields.empty());
  EXPECT_EQ(c.account, "ACME");
  EXPECT_EQ(c.contact_id, ana_.id);
  EXPECT_EQ(c.mailbox, kIncidents);
  EXPECT_EQ(c.fields.value("extension", ""), "204");
  EXPECT_EQ(c.fields.value("direction", ""), "outbound");
  ASSERT_TRUE(c.completed_at);  // the SLA clocks run from now (D2)

  auto out = outbox(got.case_number);
  ASSERT_EQ(out.size(), 1u);
  const auto& ack = out[0];
  EXPECT_EQ(ack.kind, "acknowledgement");
  EXPECT_TRUE(ack.automatic);
  EXPECT_EQ(ack.status, "pending");
  EXPECT_EQ(ack.recipients, std::vector<std::string>{"ana@acme.com"});
  EXPECT_EQ(ack.envelope_from, kIncidents);
  EXPECT_EQ(ack.mail.from.address, kIncidents);
  EXPECT_EQ(ack.mail.auto_submitted, "auto-replied");
  EXPECT_EQ(ack.mail.in_reply_to, std::vector<std::string>{"abc123@acme.com"});
  EXPECT_NE(ack.mail.subject.find("[CMW-000001]"), std::string::npos) << ack.mail.subject;
  EXPECT_NE(ack.mail.text.find("CMW-000001"), std::string::npos);
  bool loop_header = false;
  for (const auto& [name, value] : ack.mail.headers)
    loop_header = loop_header || (name == "X-Escala-Loop" && value == kLoopToken);
  EXPECT_TRUE(loop_header);
  // The composed bytes carry what RFC 3834 and threading need.
  const std::string raw = codec_.compose(ack.mail);
  EXPECT_NE(raw.find("Auto-Submitted: auto-replied"), std::string::npos);
  EXPECT_NE(raw.find("In-Reply-To: <abc123@acme.com>"), std::string::npos);
}

TEST_F(MailPipelineTest, MissingDataIsAskedForByLabelInSpanish) {
  Mail m;
  m.message_id = "m1@acme.com";
  m.body = "No tenemos tono.\r\nExtensión: 204\r\n";
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "new_case");
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.status, core::CaseStatus::kAwaitingInfo);
  EXPECT_EQ(c.missing_fields,
            (std::vector<std::string>{"direction", "counterpart_number", "occurred_at"}));
  auto out = outbox(got.case_number);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, "missing_data");
  EXPECT_EQ(out[0].mail.auto_submitted, "auto-replied");
  const std::string& text = out[0].mail.text;
  EXPECT_NE(out[0].mail.subject.find("Necesitamos algunos datos"), std::string::npos);
  EXPECT_NE(text.find("1. Tráfico saliente o entrante"), std::string::npos) << text;
  EXPECT_NE(text.find("2. Número de la contraparte"), std::string::npos) << text;
  EXPECT_NE(text.find("3. Fecha y hora aproximada del evento"), std::string::npos) << text;
  EXPECT_EQ(text.find("Número de extensión o usuario afectado"), std::string::npos)
      << "asked for data the message gave";
  EXPECT_EQ(text.find("4."), std::string::npos) << text;
}

TEST_F(MailPipelineTest, MissingDataIsAskedInEnglishForAnEnglishContact) {
  Mail m;
  m.from = "John Smith <john@globex.com>";
  m.subject = "Cannot call";
  m.message_id = "j1@globex.com";
  m.body = "Our phones are not working.\r\nExtension: 301\r\nDirection: inbound\r\n";
  auto got = ingest(m);
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.account, "GLOBEX");
  EXPECT_EQ(c.requester.language, "en");
  EXPECT_EQ(c.status, core::CaseStatus::kAwaitingInfo);
  auto out = outbox(got.case_number);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, "missing_data");
  EXPECT_NE(out[0].mail.subject.find("We need some details"), std::string::npos);
  EXPECT_NE(out[0].mail.text.find("1. Counterpart number"), std::string::npos) << out[0].mail.text;
  EXPECT_NE(out[0].mail.text.find("2. Approximate date and time of the event"), std::string::npos);
  EXPECT_EQ(out[0].mail.text.find("Outbound or inbound traffic"), std::string::npos);
  EXPECT_EQ(out[0].mail.text.find("Tráfico"), std::string::npos);
}

TEST_F(MailPipelineTest, AReplyWithTheMissingDataOpensTheCase) {
  Mail m;
  m.message_id = "m1@acme.com";
  m.body = "No tenemos tono.\r\nExtensión: 204\r\n";
  const std::string number = ingest(m).case_number;
  Mail reply;
  reply.subject = "RE: [" + number + "] Necesitamos algunos datos: Sin tono";
  reply.message_id = "m2@acme.com";
  reply.in_reply_to = last_sent_id(number);
  reply.body =
      "Tráfico: saliente\r\nNúmero contraparte: +52 55 1234 5678\r\nFecha y hora: 26/11 10:30\r\n"
      "\r\n> Para atenderlo necesitamos estos datos:\r\n";
  auto got = ingest(reply);
  EXPECT_EQ(got.disposition, "completed");
  EXPECT_EQ(got.case_number, number);
  core::Case c = get(number);
  EXPECT_EQ(c.status, core::CaseStatus::kOpen);
  EXPECT_TRUE(c.missing_fields.empty());
  EXPECT_EQ(c.fields.value("counterpart_number", ""), "+525512345678");
  EXPECT_EQ(kinds(outbox(number)), (std::vector<std::string>{"missing_data", "data_complete"}));
  EXPECT_EQ(outbox(number).back().mail.in_reply_to, std::vector<std::string>{"m2@acme.com"});
  EXPECT_EQ(case_count(), 1);
}

TEST_F(MailPipelineTest, AReplyStillLackingDataAsksForTheRest) {
  Mail m;
  m.message_id = "m1@acme.com";
  m.body = "No tenemos tono.\r\nExtensión: 204\r\n";
  const std::string number = ingest(m).case_number;
  Mail reply;
  reply.subject = "RE: [" + number + "] Necesitamos algunos datos: Sin tono";
  reply.message_id = "m2@acme.com";
  reply.in_reply_to = last_sent_id(number);
  reply.body = "Tráfico: saliente\r\n";
  auto got = ingest(reply);
  EXPECT_EQ(got.disposition, "joined");
  core::Case c = get(number);
  EXPECT_EQ(c.status, core::CaseStatus::kAwaitingInfo);
  EXPECT_EQ(c.fields.value("direction", ""), "outbound");
  auto out = outbox(number);
  ASSERT_EQ(kinds(out), (std::vector<std::string>{"missing_data", "still_missing"}));
  const std::string& text = out.back().mail.text;
  EXPECT_NE(text.find("1. Número de la contraparte"), std::string::npos) << text;
  EXPECT_NE(text.find("2. Fecha y hora aproximada del evento"), std::string::npos) << text;
  EXPECT_EQ(text.find("Tráfico saliente o entrante"), std::string::npos) << text;
}

// ---- threading -------------------------------------------------------------------------------

TEST_F(MailPipelineTest, AReplyToOurMessageThreadsByInReplyTo) {
  const std::string number = open_full_incident();
  Mail reply;
  reply.subject = "otra cosa";  // no case number: the header alone threads it
  reply.message_id = "r1@acme.com";
  reply.in_reply_to = last_sent_id(number);
  reply.body = "Sigue sin tono desde las 11.";
  auto got = ingest(reply);
  EXPECT_EQ(got.disposition, "joined");
  EXPECT_EQ(got.case_number, number);
  EXPECT_EQ(case_count(), 1);
  auto evs = events(number);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.back().type, "customer_message");
  EXPECT_EQ(evs.back().data.value("body", ""), "Sigue sin tono desde las 11.");
  // A joined message is not acknowledged again.
  EXPECT_EQ(outbox(number).size(), 1u);
  // References alone thread too (some clients drop In-Reply-To).
  Mail again;
  again.subject = "y otra";
  again.message_id = "r2@acme.com";
  again.references = "<unknown@elsewhere.com> <r1@acme.com>";
  again.body = "Ahora también la 205.";
  EXPECT_EQ(ingest(again).case_number, number);
}

TEST_F(MailPipelineTest, ABracketedNumberThreadsOnlyForTheSameAccountOrPerson) {
  const std::string number = open_full_incident();
  // A colleague of the same account, without any threading header.
  Mail colleague;
  colleague.from = "Luis Gomez <luis@acme.com>";
  colleague.subject = "RE: [" + number + "] Sin tono";
  colleague.message_id = "luis1@acme.com";
  colleague.body = "Aquí también pasa.";
  auto joined = ingest(colleague);
  EXPECT_EQ(joined.disposition, "joined");
  EXPECT_EQ(joined.case_number, number);
  // Another account's contact naming the same number gets a case of their own.
  Mail other;
  other.from = "John Smith <john@globex.com>";
  other.subject = "RE: [" + number + "] Sin tono";
  other.message_id = "john1@globex.com";
  other.body = "Hello, our line is down.";
  auto fresh = ingest(other);
  EXPECT_EQ(fresh.disposition, "new_case");
  EXPECT_EQ(fresh.case_number, "CMW-000002");
  EXPECT_EQ(get(fresh.case_number).account, "GLOBEX");
  // ...and so does a stranger.
  Mail stranger;
  stranger.from = "x@gmail.com";
  stranger.subject = "[" + number + "] hola";
  stranger.message_id = "s1@gmail.com";
  stranger.body = "hola";
  EXPECT_EQ(ingest(stranger).case_number, "CMW-000003");
  // Nothing of theirs reached Ana's case.
  for (const auto& e : events(number))
    if (e.type == "customer_message") {
      EXPECT_EQ(e.data.value("from", ""), "luis@acme.com");
    }
}

// ---- resolved and closed cases (D4, D4a) ---------------------------------------------------

TEST_F(MailPipelineTest, ConfirmingByMailClosesTheCase) {
  const std::string number = open_full_incident();
  resolve(number, l1_);
  Mail reply;
  reply.subject = "RE: [" + number + "] Resuelto, ¿nos lo confirma?: Sin tono";
  reply.message_id = "c1@acme.com";
  reply.in_reply_to = last_sent_id(number);
  reply.body = "Confirmo, ya funciona. Gracias.\r\n\r\n> Consideramos resuelto el caso\r\n";
  auto got = ingest(reply);
  EXPECT_EQ(got.disposition, "confirmed");
  core::Case c = get(number);
  EXPECT_EQ(c.status, core::CaseStatus::kClosed);
  ASSERT_TRUE(c.closed_at);
  auto out = outbox(number);
  EXPECT_EQ(kinds(out), (std::vector<std::string>{"acknowledgement", "resolved", "closed"}));
  EXPECT_FALSE(out.back().automatic);
  EXPECT_EQ(out.back().mail.in_reply_to, std::vector<std::string>{"c1@acme.com"});
}

TEST_F(MailPipelineTest, NotSolvedReopensAtTheResolvingLevel) {
  const std::string number = open_full_incident();
  ASSERT_TRUE(cases_.escalate(l1_, number, "needs the SIP team").ok());
  resolve(number, l2_);
  ASSERT_EQ(get(number).resolved_level, 2);
  Mail reply;
  reply.subject = "RE: [" + number + "] Resuelto";
  reply.message_id = "n1@acme.com";
  reply.in_reply_to = last_sent_id(number);
  reply.body = "No funciona, seguimos sin tono.";
  auto got = ingest(reply);
  EXPECT_EQ(got.disposition, "reopened");
  core::Case c = get(number);
  EXPECT_EQ(c.status, core::CaseStatus::kOpen);
  EXPECT_EQ(c.level, 2);
  EXPECT_FALSE(c.resolved_at);
  auto out = outbox(number);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().kind, "reopened");
  int reopened_messages = 0;
  for (const auto& m : out) reopened_messages += m.kind == "reopened";
  EXPECT_EQ(reopened_messages, 1) << "the decorator and the pipeline both announced it";
}

TEST_F(MailPipelineTest, ThanksOnAResolvedCaseIsOnlyRecorded) {
  const std::string number = open_full_incident();
  resolve(number, l1_);
  const size_t before = outbox(number).size();
  Mail reply;
  reply.subject = "RE: [" + number + "] Resuelto";
  reply.message_id = "g1@acme.com";
  reply.in_reply_to = last_sent_id(number);
  reply.body = "Gracias";
  auto got = ingest(reply);
  EXPECT_EQ(got.disposition, "joined");
  EXPECT_EQ(get(number).status, core::CaseStatus::kResolved);
  auto evs = events(number);
  EXPECT_EQ(evs.back().type, "customer_message");
  EXPECT_EQ(evs.back().data.value("body", ""), "Gracias");
  EXPECT_EQ(outbox(number).size(), before);
}

TEST_F(MailPipelineTest, AClosedCaseReopensWithinTheWindow) {
  const std::string number = open_full_incident();
  close_by_mail(number);
  clock_.advance(std::chrono::hours(24 * 10));
  Mail m;
  m.subject = "RE: [" + number + "] Caso cerrado";
  m.message_id = "back@acme.com";
  m.in_reply_to = last_sent_id(number);
  m.body = "Volvió a fallar la 204.";
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "reopened");
  EXPECT_EQ(got.case_number, number);
  EXPECT_EQ(get(number).status, core::CaseStatus::kOpen);
  EXPECT_EQ(outbox(number).back().kind, "reopened");
  EXPECT_EQ(case_count(), 1);
}

TEST_F(MailPipelineTest, AClosedCaseBeyondTheWindowStartsALinkedCase) {
  const std::string number = open_full_incident();
  close_by_mail(number);
  clock_.advance(std::chrono::hours(24 * 31));
  Mail m;
  m.subject = "RE: [" + number + "] Caso cerrado";
  m.message_id = "late@acme.com";
  m.in_reply_to = last_sent_id(number);
  m.body = "Volvió a fallar la 204.";
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "linked_case");
  EXPECT_EQ(got.case_number, "CMW-000002");
  EXPECT_EQ(get(number).status, core::CaseStatus::kClosed);
  core::Case fresh = get(got.case_number);
  EXPECT_NE(fresh.description.find("[" + number + "]"), std::string::npos) << fresh.description;
  auto evs = events(got.case_number);
  ASSERT_FALSE(evs.empty());
  EXPECT_EQ(evs.front().type, "created");
  EXPECT_EQ(evs.front().data.value("follows", ""), number);
  EXPECT_EQ(fresh.account, "ACME");
  // The new case is acknowledged; the old one is told nothing.
  ASSERT_FALSE(outbox(got.case_number).empty());
  EXPECT_EQ(outbox(got.case_number).front().recipients, std::vector<std::string>{"ana@acme.com"});
}

TEST_F(MailPipelineTest, ALinkedCaseStillReadsTheDataOfItsFirstLine) {
  const std::string number = open_full_incident();
  close_by_mail(number);
  clock_.advance(std::chrono::hours(24 * 31));
  Mail m;
  m.subject = "RE: [" + number + "] Caso cerrado";
  m.message_id = "late2@acme.com";
  m.in_reply_to = last_sent_id(number);
  m.body = "Extensión: 205\r\nTráfico: entrante\r\nNúmero contraparte: +52 55 8765 4321\r\n"
           "Fecha y hora: 26/11 11:00\r\n";
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "linked_case");
  core::Case fresh = get(got.case_number);
  EXPECT_EQ(fresh.fields.value("extension", ""), "205") << fresh.description;
  EXPECT_TRUE(fresh.missing_fields.empty()) << Json(fresh.missing_fields).dump();
  EXPECT_EQ(fresh.status, core::CaseStatus::kOpen);
}

TEST_F(MailPipelineTest, AVeryLongSubjectIsCutOnOneLine) {
  Mail m;
  m.message_id = "long@acme.com";
  m.subject = "Sin tono " + std::string(400, 'x');
  m.body = kFullIncident;
  auto got = ingest(m);
  ASSERT_EQ(got.disposition, "new_case");
  core::Case c = get(got.case_number);
  EXPECT_LE(c.subject.size(), 290u);
  EXPECT_EQ(c.subject.find('\n'), std::string::npos) << c.subject;
  EXPECT_EQ(c.subject.rfind("xxx […]"), c.subject.size() - std::string("xxx […]").size());
  auto out = outbox(got.case_number);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].mail.subject.find('\n'), std::string::npos);
}

// ---- automatic mail ----------------------------------------------------------------------------

TEST_F(MailPipelineTest, AnAutoReplyToOurMessageIsRecordedNotAnswered) {
  const std::string number = open_full_incident();
  const int64_t before = outbox_total();
  Mail m;
  m.subject = "Respuesta automática: [" + number + "] Sin tono";
  m.message_id = "ooo@acme.com";
  m.in_reply_to = last_sent_id(number);
  m.headers = {"Auto-Submitted: auto-replied"};
  m.body = "Estoy de vacaciones hasta el lunes.";
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "ignored");
  EXPECT_EQ(got.kind, "auto_reply");
  EXPECT_EQ(got.case_number, number);
  auto evs = events(number);
  EXPECT_EQ(evs.back().type, "mail_ignored");
  EXPECT_TRUE(evs.back().internal);
  EXPECT_EQ(outbox_total(), before);
  EXPECT_EQ(get(number).status, core::CaseStatus::kOpen);
}

std::string bounce_of(const std::string& failed, const std::string& our_id) {
  return "From: Mail Delivery System <MAILER-DAEMON@mx.acme.com>\r\n"
         "To: " + std::string(kIncidents) + "\r\n"
         "Subject: Undelivered Mail Returned to Sender\r\n"
         "Date: Fri, 27 Nov 2026 09:10:00 -0600\r\n"
         "Message-ID: <bounce-1@mx.acme.com>\r\n"
         "Auto-Submitted: auto-replied\r\n"
         "MIME-Version: 1.0\r\n"
         "Content-Type: multipart/report; report-type=delivery-status; boundary=\"BB\"\r\n"
         "\r\n"
         "--BB\r\n"
         "Content-Type: text/plain\r\n\r\n"
         "Your message could not be delivered.\r\n"
         "--BB\r\n"
         "Content-Type: message/delivery-status\r\n\r\n"
         "Reporting-MTA: dns; mx.acme.com\r\n\r\n"
         "Final-Recipient: rfc822; " + failed + "\r\n"
         "Action: failed\r\n"
         "Status: 5.1.1\r\n"
         "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
         "--BB\r\n"
         "Content-Type: text/rfc822-headers\r\n\r\n"
         "From: CallMyWay Soporte <" + std::string(kIncidents) + ">\r\n"
         "To: " + failed + "\r\n"
         "Subject: [CMW-000001] Sin tono\r\n"
         "Message-ID: <" + our_id + ">\r\n"
         "--BB--\r\n";
}

TEST_F(MailPipelineTest, ABounceOfOurMessageMarksTheCaseAndTheContact) {
  const std::string number = open_full_incident();
  const int64_t before = outbox_total();
  auto got = ingest_raw(bounce_of("ana@acme.com", last_sent_id(number)));
  EXPECT_EQ(got.disposition, "bounce");
  EXPECT_EQ(got.kind, "bounce");
  EXPECT_EQ(got.case_number, number);
  auto evs = events(number);
  EXPECT_EQ(evs.back().type, "mail_bounced");
  EXPECT_EQ(evs.back().data["recipients"], Json::array({"ana@acme.com"}));
  EXPECT_EQ(evs.back().data.value("status", ""), "5.1.1");
  auto contacts = store_.find_contacts_by_email("ana@acme.com");
  ASSERT_EQ(contacts->size(), 1u);
  EXPECT_NE(contacts->front().email_failure.find("5.1.1"), std::string::npos)
      << contacts->front().email_failure;
  EXPECT_EQ(outbox_total(), before);
  EXPECT_EQ(case_count(), 1);
}

TEST_F(MailPipelineTest, OurOwnMailComingBackIsIgnored) {
  Mail m;
  m.from = "Someone <someone@acme.com>";
  m.message_id = "loop1@acme.com";
  m.headers = {std::string("X-Escala-Loop: ") + kLoopToken};
  m.body = kFullIncident;
  auto got = ingest(m);
  EXPECT_EQ(got.disposition, "ignored");
  EXPECT_EQ(got.kind, "own_loop");
  EXPECT_EQ(case_count(), 0);
  EXPECT_EQ(outbox_total(), 0);
  // Another desk's token is not our loop: a person's message (through another Escala).
  Mail other = m;
  other.message_id = "loop2@acme.com";
  other.headers = {"X-Escala-Loop: someone-elses-token"};
  EXPECT_EQ(ingest(other).disposition, "new_case");
}

TEST_F(MailPipelineTest, ACallMyWayEmployeesMailIsNotTakenForOurOwn) {
  // Apple Mail and Thunderbird name their Message-IDs after the sender's domain. An
  // account manager at callmyway.com forwarding a customer's problem is a person, not
  // the desk's own mail coming back.
  Mail m;
  m.from = "Rosa Vendedora <rosa@callmyway.com>";
  m.to = kIncidents;
  m.subject = "RV: cliente sin tono";
  m.message_id = "5F1B2C3D-6E7F-4A8B-9C0D-1E2F3A4B5C6D@callmyway.com";
  m.body = kFullIncident;
  auto got = ingest(m);
  EXPECT_EQ(got.kind, "person") << got.reason;
  EXPECT_EQ(got.disposition, "new_case");
  // What the desk itself sends still comes back as its own.
  const std::string number = got.case_number;
  Mail echo;
  echo.from = "Someone <someone@acme.com>";
  echo.message_id = last_sent_id(number);
  echo.body = "eco";
  EXPECT_EQ(ingest(echo).kind, "own_loop");
}

TEST_F(MailPipelineTest, AutomaticMessagesToOneAddressStopAfterTheDailyCap) {
  for (int i = 1; i <= 20; ++i) {
    Mail m;
    m.message_id = "cap" + std::to_string(i) + "@acme.com";
    m.subject = "Sin tono " + std::to_string(i);
    m.body = kFullIncident;
    auto got = ingest(m);
    ASSERT_EQ(got.disposition, "new_case");
    ASSERT_EQ(outbox(got.case_number).size(), 1u) << i;
  }
  Mail m21;
  m21.message_id = "cap21@acme.com";
  m21.subject = "Sin tono 21";
  m21.body = kFullIncident;
  auto got = ingest(m21);
  EXPECT_EQ(got.disposition, "new_case");
  EXPECT_TRUE(outbox(got.case_number).empty());
  auto evs = events(got.case_number);
  EXPECT_EQ(evs.back().type, "auto_reply_held");
  EXPECT_EQ(evs.back().data.value("to", ""), "ana@acme.com");
  // A day later the brake is released.
  clock_.advance(std::chrono::hours(24) + std::chrono::seconds(1));
  Mail m22 = m21;
  m22.message_id = "cap22@acme.com";
  EXPECT_EQ(outbox(ingest(m22).case_number).size(), 1u);
}

// ---- exactly once --------------------------------------------------------------------------

TEST_F(MailPipelineTest, TheSameMessageIdIsADuplicate) {
  Mail m;
  m.message_id = "dup@acme.com";
  m.body = kFullIncident;
  auto first = ingest(m);
  Mail resent = m;
  resent.body = std::string(kFullIncident) + "(reenviado)\r\n";  // other bytes, same id
  auto second = ingest(resent);
  EXPECT_EQ(second.disposition, "duplicate");
  EXPECT_EQ(second.case_number, first.case_number);
  EXPECT_EQ(case_count(), 1);
  EXPECT_EQ(outbox_total(), 1);
}

TEST_F(MailPipelineTest, WithoutMessageIdTheSameBytesAreADuplicate) {
  Mail m;
  m.body = kFullIncident;  // no Message-ID
  auto first = ingest(m);
  EXPECT_EQ(first.disposition, "new_case");
  EXPECT_EQ(first.key.rfind("sha256:", 0), 0u) << first.key;
  auto second = ingest(m);
  EXPECT_EQ(second.disposition, "duplicate");
  EXPECT_EQ(second.case_number, first.case_number);
  EXPECT_EQ(case_count(), 1);
  EXPECT_EQ(outbox_total(), 1);
}

// ---- who wrote -----------------------------------------------------------------------------

TEST_F(MailPipelineTest, AColleagueOnACompanyDomainJoinsTheAccount) {
  Mail m;
  m.from = "Pedro Ruiz <pedro@acme.com>";
  m.message_id = "p1@acme.com";
  m.body = kFullIncident;
  auto got = ingest(m);
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.account, "ACME");
  auto made = store_.find_contacts_by_email("pedro@acme.com");
  ASSERT_EQ(made->size(), 1u);
  EXPECT_EQ(made->front().account, "ACME");
  EXPECT_EQ(made->front().name, "Pedro Ruiz");
  EXPECT_EQ(c.contact_id, made->front().id);
}

TEST_F(MailPipelineTest, ASenderOnAPublicProviderOpensAnUnidentifiedCase) {
  // Someone at gmail.com is no one's colleague, even if a contact uses gmail.com.
  contact("ACME", "Ana personal", "ana.perez@gmail.com", "es");
  Mail m;
  m.from = "Maria <maria.lopez@gmail.com>";
  m.message_id = "g1@mail.gmail.com";
  m.body = kFullIncident;
  auto got = ingest(m);
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.account, "");
  EXPECT_FALSE(c.contact_id);
  EXPECT_EQ(c.requester.email, "maria.lopez@gmail.com");
  EXPECT_EQ(c.requester.name, "Maria");
  EXPECT_TRUE(store_.find_contacts_by_email("maria.lopez@gmail.com")->empty());
  ASSERT_EQ(outbox(got.case_number).size(), 1u);
  EXPECT_EQ(outbox(got.case_number)[0].recipients,
            std::vector<std::string>{"maria.lopez@gmail.com"});
}

TEST_F(MailPipelineTest, TheAcknowledgementGoesToTheReplyTo) {
  Mail m;
  m.message_id = "rt@acme.com";
  m.headers = {"Reply-To: Mesa TI <ti@acme.com>"};
  m.body = kFullIncident;
  auto got = ingest(m);
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.account, "ACME");  // identified by From
  EXPECT_EQ(c.requester.email, "ti@acme.com");
  auto out = outbox(got.case_number);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].recipients, std::vector<std::string>{"ti@acme.com"});
  ASSERT_EQ(out[0].mail.to.size(), 1u);
  EXPECT_EQ(out[0].mail.to[0].address, "ti@acme.com");
}

TEST_F(MailPipelineTest, AttachmentsOverTheLimitAreDroppedAndNamed) {
  const std::string big(1024 * 1024 + 10, 'x');  // over the 1 MB limit of this desk
  std::string encoded;
  {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i = 0;
    for (; i + 2 < big.size(); i += 3) {
      uint32_t v = (uint8_t(big[i]) << 16) | (uint8_t(big[i + 1]) << 8) | uint8_t(big[i + 2]);
      encoded += k[v >> 18 & 63];
      encoded += k[v >> 12 & 63];
      encoded += k[v >> 6 & 63];
      encoded += k[v & 63];
      if (encoded.size() % 78 == 76) encoded += "\r\n";
    }
    size_t rest = big.size() - i;
    if (rest) {
      uint32_t v = uint8_t(big[i]) << 16 | (rest == 2 ? uint8_t(big[i + 1]) << 8 : 0);
      encoded += k[v >> 18 & 63];
      encoded += k[v >> 12 & 63];
      encoded += rest == 2 ? k[v >> 6 & 63] : '=';
      encoded += '=';
    }
  }
  const std::string raw =
      "From: Ana Perez <ana@acme.com>\r\n"
      "To: sosporte24@callmyway.com\r\n"
      "Subject: Sin tono, adjunto capturas\r\n"
      "Message-ID: <att@acme.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
      "--XX\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
      std::string(kFullIncident) +
      "--XX\r\nContent-Type: text/plain; name=\"log.txt\"\r\n"
      "Content-Disposition: attachment; filename=\"log.txt\"\r\n\r\n"
      "INVITE sip:204@pbx 486 Busy\r\n"
      "--XX\r\nContent-Type: application/pdf; name=\"captura-grande.pdf\"\r\n"
      "Content-Disposition: attachment; filename=\"captura-grande.pdf\"\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      encoded + "\r\n--XX--\r\n";
  auto got = ingest_raw(raw);
  ASSERT_EQ(got.disposition, "new_case");
  core::Case c = get(got.case_number);
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].name, "log.txt");
  auto kept = store_.get_blob(c.attachments[0].sha256);
  ASSERT_TRUE(kept.ok() && kept.value());
  auto out = outbox(got.case_number);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, "acknowledgement");
  EXPECT_NE(out[0].mail.text.find("captura-grande.pdf"), std::string::npos) << out[0].mail.text;
  EXPECT_NE(out[0].mail.text.find("1 MB"), std::string::npos) << out[0].mail.text;
  EXPECT_EQ(out[0].mail.text.find("log.txt"), std::string::npos);
  auto evs = events(got.case_number);
  ASSERT_TRUE(evs.front().data.contains("attachments"));
  EXPECT_EQ(evs.front().data["attachments"].size(), 1u);
}

TEST_F(MailPipelineTest, AnActivationFromAKnownContactTakesTheAccountFromTheSender) {
  Mail m;
  m.to = kGeneral;
  m.subject = "Alta de extensión";
  m.message_id = "act@acme.com";
  m.body =
      "Solicitamos una nueva extensión.\r\n"
      "Nombre completo: Carla Diaz\r\n"
      "Extensión: 310\r\n"
      "DID: sí\r\n"
      "Tipo de extensión: SIP\r\n"
      "Grupos de timbrado: ninguno\r\n";
  auto got = ingest(m, kGeneral);
  core::Case c = get(got.case_number);
  EXPECT_EQ(c.type, core::CaseType::kActivation);
  EXPECT_EQ(c.fields.value("account_id", ""), "ACME");
  EXPECT_EQ(c.status, core::CaseStatus::kOpen) << Json(c.missing_fields).dump();
  EXPECT_EQ(c.mailbox, kGeneral);
  EXPECT_EQ(outbox(got.case_number).front().envelope_from, kGeneral);
  auto billed = store_.billable_items("ACME");
  ASSERT_TRUE(billed.ok());
  EXPECT_EQ(billed->size(), 1u);  // R2.1: charged against the contract
}

// ---- what staff do, told to the customer (CaseMailer::decorate) ----------------------------

TEST_F(MailPipelineTest, AnAgentsPublicReplyIsMailedInTheThread) {
  const std::string number = open_full_incident("orig@acme.com");
  const std::string ack_id = last_sent_id(number);
  auto r = cases_.reply(l1_, number, "Revisamos el troncal; ¿puede probar de nuevo?", false, true);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto out = outbox(number);
  ASSERT_EQ(kinds(out), (std::vector<std::string>{"acknowledgement", "reply"}));
  const auto& reply = out.back();
  EXPECT_FALSE(reply.automatic);
  EXPECT_EQ(reply.mail.auto_submitted, "");
  EXPECT_EQ(reply.recipients, std::vector<std::string>{"ana@acme.com"});
  EXPECT_NE(reply.mail.subject.find("[" + number + "]"), std::string::npos);
  EXPECT_NE(reply.mail.text.find("¿puede probar de nuevo?"), std::string::npos);
  EXPECT_NE(reply.mail.text.find("esperando su respuesta"), std::string::npos) << reply.mail.text;
  const auto& refs = reply.mail.references;
  EXPECT_NE(std::find(refs.begin(), refs.end(), "orig@acme.com"), refs.end());
  EXPECT_NE(std::find(refs.begin(), refs.end(), ack_id), refs.end());
  EXPECT_EQ(reply.mail.in_reply_to, std::vector<std::string>{ack_id});
  // The customer's answer to it threads back and opens the pending case.
  Mail answer;
  answer.subject = "RE: [" + number + "] Sin tono";
  answer.message_id = "ans@acme.com";
  answer.in_reply_to = reply.mail.message_id;
  answer.body = "Ya probé y sigue igual.";
  EXPECT_EQ(ingest(answer).case_number, number);
  EXPECT_EQ(get(number).status, core::CaseStatus::kOpen);
}

TEST_F(MailPipelineTest, AnInternalNoteSendsNothing) {
  const std::string number = open_full_incident();
  const int64_t before = outbox_total();
  ASSERT_TRUE(cases_.reply(l1_, number, "El cliente tiene deuda, revisar.", true, false).ok());
  EXPECT_EQ(outbox_total(), before);
}

// The outbox sender is woken by committed changes that queued mail, and only by them
// (before, every API write woke it and made it claim through the writer).
TEST_F(MailPipelineTest, TheMailListenerHearsOfChangesThatQueuedMailOnly) {
  int heard = 0;
  cases_.set_mail_listener([&heard] { ++heard; });
  const std::string number = open_full_incident();  // the acknowledgement
  EXPECT_EQ(heard, 1);
  ASSERT_TRUE(cases_.reply(l1_, number, "Nota interna.", true, false).ok());
  EXPECT_EQ(heard, 1);
  ASSERT_TRUE(cases_.reply(l1_, number, "Respuesta pública.", false, false).ok());
  EXPECT_EQ(heard, 2);
  Mail auto_reply;  // recorded on the case, answered by nobody
  auto_reply.subject = "Respuesta automática: fuera de la oficina";
  auto_reply.in_reply_to = last_sent_id(number);
  auto_reply.headers = {"Auto-Submitted: auto-replied"};
  (void)ingest(auto_reply);
  EXPECT_EQ(heard, 2);
}

TEST_F(MailPipelineTest, TheResolvedMessageCarriesALinkThatExpiresWithTheResolution) {
  const std::string number = open_full_incident();
  resolve(number, l1_);
  auto out = outbox(number);
  ASSERT_EQ(out.back().kind, "resolved");
  const std::string& text = out.back().mail.text;
  const std::string prefix = "http://127.0.0.1:8080/confirm/" + number + "?t=";
  auto at = text.find(prefix);
  ASSERT_NE(at, std::string::npos) << text;
  // The token runs to the end of the link's line (its length is the crypto's business).
  auto token_at = [&prefix](const std::string& t, size_t at) {
    const size_t from = at + prefix.size();
    return t.substr(from, t.find_first_of(" \r\n", from) - from);
  };
  const std::string token = token_at(text, at);
  EXPECT_NE(text.find("Reiniciamos el troncal SIP."), std::string::npos);
  EXPECT_TRUE(mailer_.confirm_token_valid(get(number), token));
  EXPECT_FALSE(mailer_.confirm_token_valid(get(number), std::string(32, '0')));

  ASSERT_TRUE(cases_.reopen(l1_, number, "the customer called: still failing").ok());
  EXPECT_FALSE(mailer_.confirm_token_valid(get(number), token)) << "not resolved any more";
  clock_.advance(std::chrono::minutes(5));
  resolve(number, l1_);
  EXPECT_FALSE(mailer_.confirm_token_valid(get(number), token)) << "an earlier resolution's link";
  const std::string& again = outbox(number).back().mail.text;
  auto at2 = again.find(prefix);
  ASSERT_NE(at2, std::string::npos);
  EXPECT_TRUE(mailer_.confirm_token_valid(get(number), token_at(again, at2)));
  // Only the whole token: a link with more (or less) after it does not confirm.
  EXPECT_FALSE(mailer_.confirm_token_valid(get(number), token_at(again, at2) + "0"));
}

TEST_F(MailPipelineTest, AnS1IncidentNotifiesTheL2AgentsWhoWantIt) {
  const std::string number = open_full_incident();
  CasePatch p;
  p.severity = core::Severity::kS1;
  p.reason = "toda la empresa sin servicio";
  auto r = cases_.patch(l1_, number, p);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> notified;
  for (const auto& m : outbox(number))
    if (m.kind == "notification") {
      ASSERT_EQ(m.recipients.size(), 1u);
      notified.push_back(m.recipients.front());
      EXPECT_FALSE(m.automatic);  // to staff: never capped
      EXPECT_EQ(m.mail.auto_submitted, "auto-generated");
      EXPECT_NE(m.mail.subject.find("[" + number + "]"), std::string::npos);
      EXPECT_NE(m.mail.text.find("/cases/" + number), std::string::npos);
    }
  EXPECT_EQ(notified, std::vector<std::string>{"l2@callmyway.com"});
}

TEST_F(MailPipelineTest, DecorateMailsOnlyStaffWithAnAddressWhoAreNotQuiet) {
  core::CaseContext ctx;
  ctx.staff = {core::StaffMember{1, core::Role::kAgent, 2, false, "a@callmyway.com", "A", "es"},
               core::StaffMember{2, core::Role::kAgent, 2, true, "b@callmyway.com", "B", "es"},
               core::StaffMember{3, core::Role::kAgent, 2, false, "", "C", "es"},
               core::StaffMember{4, core::Role::kSupervisor, 0, false, "d@callmyway.com", "D", "en"}};
  core::Change change;
  change.after.id = 7;
  for (int64_t id : {1, 2, 3, 4, 99})
    change.notifications.push_back(core::Notification{0, id, 7, "created", "Nuevo S1", "cuerpo", {}});
  mailer_.decorate(change, ctx, clock_.now());
  std::vector<std::string> to;
  for (const auto& m : change.outbox) to.push_back(m.recipients.front());
  EXPECT_EQ(to, (std::vector<std::string>{"a@callmyway.com", "d@callmyway.com"}));
}

// A warning and a breach that fell due together (e.g. while the desk was down) are one
// message per person, not one per timer.
TEST_F(MailPipelineTest, DecorateSendsOneMessagePerPersonAndChange) {
  core::CaseContext ctx;
  ctx.staff = {core::StaffMember{1, core::Role::kAgent, 1, false, "a@callmyway.com", "A", "es"},
               core::StaffMember{4, core::Role::kSupervisor, 0, false, "d@callmyway.com", "D", "en"}};
  core::Change change;
  change.after.id = 7;
  change.notifications = {
      core::Notification{0, 1, 7, "sla_warning", "Aviso: respuesta al 75 %", "queda poco", {}},
      core::Notification{0, 4, 7, "sla_breached", "Incumplido: respuesta", "vencido", {}},
      core::Notification{0, 1, 7, "sla_breached", "Incumplido: respuesta", "vencido", {}}};
  mailer_.decorate(change, ctx, clock_.now());
  ASSERT_EQ(change.outbox.size(), 2u);
  const auto& a = change.outbox[0];
  EXPECT_EQ(a.recipients, std::vector<std::string>{"a@callmyway.com"});
  EXPECT_NE(a.mail.subject.find("Aviso: respuesta al 75 % · Incumplido: respuesta"), std::string::npos)
      << a.mail.subject;
  EXPECT_LT(a.mail.text.find("queda poco"), a.mail.text.find("vencido")) << a.mail.text;
  const auto& d = change.outbox[1];
  EXPECT_EQ(d.recipients, std::vector<std::string>{"d@callmyway.com"});
  EXPECT_NE(d.mail.subject.find("Incumplido: respuesta"), std::string::npos);
  EXPECT_EQ(d.mail.subject.find("Aviso"), std::string::npos) << d.mail.subject;
  EXPECT_EQ(change.notifications.size(), 3u) << "the records stay one per cause";
}

// ---- the outbox sender -----------------------------------------------------------------------

class OutboxSenderTest : public MailPipelineTest {
 protected:
  OutboxSender sender(OutboxOptions o = {}) {
    return OutboxSender(store_, store_, codec_, [] { return std::make_unique<ScriptedTransport>(); },
                        clock_, o);
  }
  core::OutboxMessage only_message(const std::string& number) {
    auto out = outbox(number);
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? core::OutboxMessage{} : out.front();
  }
};

TEST_F(OutboxSenderTest, ASentMessageIsMarkedSent) {
  const std::string number = open_full_incident();
  ScriptedTransport relay;
  auto s = sender();
  auto n = s.send_due(relay);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  ASSERT_EQ(relay.calls.size(), 1u);
  EXPECT_EQ(relay.calls[0].envelope_from, kIncidents);
  EXPECT_EQ(relay.calls[0].recipients, std::vector<std::string>{"ana@acme.com"});
  EXPECT_NE(relay.calls[0].raw.find("X-Escala-Loop: " + std::string(kLoopToken)), std::string::npos);
  EXPECT_NE(relay.calls[0].raw.find("[CMW-000001]"), std::string::npos);
  auto m = only_message(number);
  EXPECT_EQ(m.status, "sent");
  EXPECT_EQ(m.attempts, 1);
  EXPECT_TRUE(m.sent_at);
  EXPECT_EQ(s.sent(), 1);
  EXPECT_EQ(*s.send_due(relay), 0);  // nothing is sent twice
}

TEST_F(OutboxSenderTest, ATemporaryFailureRetriesAfterTheBackoff) {
  EXPECT_EQ(outbox_backoff(1), std::chrono::seconds(30));
  EXPECT_EQ(outbox_backoff(2), std::chrono::minutes(1));
  EXPECT_EQ(outbox_backoff(7), std::chrono::hours(1));
  const std::string number = open_full_incident();
  ScriptedTransport relay;
  relay.script = {{ports::SendOutcome::kTemporary, 451, "451 4.3.0 try later"}};
  auto s = sender();
  const Instant t0 = clock_.now();
  ASSERT_EQ(*s.send_due(relay), 1);
  auto m = only_message(number);
  EXPECT_EQ(m.status, "pending");
  EXPECT_EQ(m.next_attempt_at, t0 + std::chrono::seconds(30));
  EXPECT_EQ(m.last_error, "451 4.3.0 try later");
  clock_.advance(std::chrono::seconds(29));
  EXPECT_EQ(*s.send_due(relay), 0);
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(*s.send_due(relay), 1);
  m = only_message(number);
  EXPECT_EQ(m.status, "sent");
  EXPECT_EQ(m.attempts, 2);
  for (const auto& e : events(number)) EXPECT_NE(e.type, "mail_failed");
}

TEST_F(OutboxSenderTest, APermanentFailureFailsAndIsRecordedOnTheCase) {
  const std::string number = open_full_incident();
  ScriptedTransport relay;
  relay.script = {{ports::SendOutcome::kPermanent, 550, "550 5.1.1 no such user"}};
  auto s = sender();
  ASSERT_EQ(*s.send_due(relay), 1);
  auto m = only_message(number);
  EXPECT_EQ(m.status, "failed");
  EXPECT_EQ(m.last_error, "550 5.1.1 no such user");
  auto evs = events(number);
  EXPECT_EQ(evs.back().type, "mail_failed");
  EXPECT_TRUE(evs.back().internal);
  EXPECT_EQ(evs.back().data.value("kind", ""), "acknowledgement");
  EXPECT_EQ(evs.back().data.value("reason", ""), "550 5.1.1 no such user");
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(*s.send_due(relay), 0);  // never retried
}

TEST_F(OutboxSenderTest, TemporaryFailuresGiveUpAfterMaxAttempts) {
  const std::string number = open_full_incident();
  ScriptedTransport relay;
  for (int i = 0; i < 5; ++i) relay.script.push_back({ports::SendOutcome::kTemporary, 421, "421 busy"});
  OutboxOptions o;
  o.max_attempts = 3;
  auto s = sender(o);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_EQ(*s.send_due(relay), 1) << attempt;
    clock_.advance(std::chrono::minutes(2));
  }
  auto m = only_message(number);
  EXPECT_EQ(m.status, "failed");
  EXPECT_EQ(m.attempts, 3);
  EXPECT_NE(m.last_error.find("gave up after 3 attempts"), std::string::npos) << m.last_error;
  EXPECT_EQ(events(number).back().type, "mail_failed");
  clock_.advance(std::chrono::hours(2));
  EXPECT_EQ(*s.send_due(relay), 0);
  EXPECT_EQ(relay.calls.size(), 3u);
}

// Leases (issue 6): a send slower than the lease keeps its claim while the sender renews it,
// so no other sender (another node) takes the message meanwhile.
TEST_F(OutboxSenderTest, ARenewedClaimOutlastsASlowSend) {
  const std::string number = open_full_incident();
  OutboxOptions o;
  o.lease = std::chrono::seconds(6);
  auto a = sender(o);
  auto b = sender(o);  // another node
  ScriptedTransport relay_a, relay_b;
  relay_a.during_send = [&] {
    for (int i = 0; i < 6; ++i) {  // 12 s in the relay: twice the lease
      clock_.advance(std::chrono::seconds(2));
      ASSERT_EQ(*a.renew_leases(), 1);
      ASSERT_EQ(*b.send_due(relay_b), 0);
    }
  };
  ASSERT_EQ(*a.send_due(relay_a), 1);
  EXPECT_EQ(relay_a.calls.size(), 1u);
  EXPECT_EQ(relay_b.calls.size(), 0u);
  EXPECT_EQ(only_message(number).status, "sent");
  EXPECT_EQ(only_message(number).attempts, 1);
  EXPECT_EQ(*a.renew_leases(), 0);  // nothing held any more
}

// A node that dies holding claims stops renewing them: another sender takes them once the
// lease has run out, not before.
TEST_F(OutboxSenderTest, ADeadSendersClaimsAreRetriedWhenTheLeaseEnds) {
  const std::string number = open_full_incident();
  OutboxOptions o;
  o.lease = std::chrono::seconds(6);
  ASSERT_EQ(store_.claim_outbox(clock_.now(), o.lease, 10)->size(), 1u);  // then it died
  auto survivor = sender(o);
  ScriptedTransport relay;
  clock_.advance(std::chrono::milliseconds(5999));
  EXPECT_EQ(*survivor.send_due(relay), 0);
  clock_.advance(std::chrono::milliseconds(1));
  EXPECT_EQ(*survivor.send_due(relay), 1);
  EXPECT_EQ(relay.calls.size(), 1u);
  EXPECT_EQ(only_message(number).status, "sent");
  EXPECT_EQ(only_message(number).attempts, 2);
}

// A claim that ran out while its sender was stalled (no renewal reached the database) and
// was taken by another sender is not sent by the stalled one when it wakes up.
TEST_F(OutboxSenderTest, ALostClaimIsNotSent) {
  const std::string first = open_full_incident("one@acme.com");
  const std::string second = open_full_incident("two@acme.com");
  OutboxOptions o;
  o.lease = std::chrono::seconds(6);
  auto stalled = sender(o);
  ScriptedTransport relay;
  relay.during_send = [&] {
    relay.during_send = nullptr;
    clock_.advance(std::chrono::seconds(7));  // stalled past the lease
    auto taken = store_.claim_outbox(clock_.now(), o.lease, 10);  // another node claims
    ASSERT_EQ(taken->size(), 2u);
    ASSERT_EQ(*stalled.renew_leases(), 0);  // the stalled sender learns it lost them
  };
  ASSERT_EQ(*stalled.send_due(relay), 2);  // claimed both; the second is not sent
  EXPECT_EQ(relay.calls.size(), 1u);
  EXPECT_NE(relay.calls[0].raw.find("[" + first + "]"), std::string::npos);
  EXPECT_EQ(stalled.abandoned(), 1);
  EXPECT_EQ(only_message(second).status, "sending");  // the other node's to finish
  EXPECT_EQ(only_message(second).attempts, 2);
}

// Without a renewal, the sender does not begin a send on a claim about to run out.
TEST_F(OutboxSenderTest, AnExpiringClaimIsNotSentWithoutARenewal) {
  open_full_incident("one@acme.com");
  open_full_incident("two@acme.com");
  OutboxOptions o;
  o.lease = std::chrono::seconds(6);
  auto s = sender(o);
  ScriptedTransport relay;
  relay.during_send = [&] {
    relay.during_send = nullptr;
    clock_.advance(std::chrono::milliseconds(5500));  // within a tenth of the lease's end
  };
  ASSERT_EQ(*s.send_due(relay), 2);
  EXPECT_EQ(relay.calls.size(), 1u);
  EXPECT_EQ(s.abandoned(), 1);
  clock_.advance(std::chrono::seconds(1));  // the lease ends: anyone (this node too) retries
  EXPECT_EQ(*s.send_due(relay), 1);
  EXPECT_EQ(relay.calls.size(), 2u);
}

}  // namespace
// The HTML alternative never lets what a customer wrote become markup.
TEST(TextToHtml, EscapesEverythingKeepsBreaksAndLinksUrls) {
  const std::string html = services::text_to_html(
      "Hola <b>Ana</b> & \"equipo\":\n<img src=x onerror=alert(1)>\n\n"
      "Confirme aquí: https://desk.example/confirm/CMW-000001?t=ab&x=\"1\"\n");
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(html.find("Hola &lt;b&gt;Ana&lt;/b&gt; &amp; &quot;equipo&quot;:<br>"), std::string::npos);
  EXPECT_NE(html.find("<div style=\"margin-top:1em\">"), std::string::npos);  // the blank line
  // The link stops at the quote; its & is escaped inside the attribute.
  EXPECT_NE(html.find("<a href=\"https://desk.example/confirm/CMW-000001?t=ab&amp;x=\">"),
            std::string::npos);
}

}  // namespace escala::services
