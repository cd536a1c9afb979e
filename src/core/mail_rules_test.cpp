#include "core/mail_rules.hpp"

#include <gtest/gtest.h>

#include "core/rules.hpp"

namespace escala::core {
namespace {

// ---------------------------------------------------------------------------------------
// Helpers

DeskIdentity desk() {
  DeskIdentity d;
  d.mailbox_addresses = {"suporte@callmyway.com", "sosporte24@callmyway.com"};
  d.loop_token = "cmw-7f3a";
  d.message_id_domain = "desk.callmyway.com";
  return d;
}

MailMessage mail(std::string from, std::string subject,
                 std::map<std::string, std::string> headers = {}, std::string name = "") {
  MailMessage m;
  m.from = MailAddress{std::move(name), std::move(from)};
  m.subject = std::move(subject);
  m.headers = std::move(headers);
  m.message_id = "CAF1234@mail.gmail.com";
  m.text = "Hola";
  return m;
}

MailKind kind_of(const MailMessage& m) { return classify_mail(m, desk()).kind; }

Instant at(const char* iso) { return *parse_iso8601(iso); }

const Seconds kMexico{-6 * 3600};

// Whatever extract_fields returns must merge cleanly (it is applied to the case as is).
void expect_merges(CaseType type, const Json& fields) {
  auto r = merge_fields(type, Json::object(), fields, kMexico);
  ASSERT_TRUE(r.ok()) << r.error().message << " in " << fields.dump();
  EXPECT_EQ(*r, fields) << "extract_fields must return values in merge_fields' form";
}

Json incident(std::string_view text, const char* received = "2026-11-27T15:00:00Z",
              Seconds offset = kMexico) {
  auto f = extract_fields(CaseType::kIncident, text, at(received), offset);
  expect_merges(CaseType::kIncident, f);
  return f;
}

Json activation(std::string_view text) {
  auto f = extract_fields(CaseType::kActivation, text, at("2026-11-27T15:00:00Z"), kMexico);
  expect_merges(CaseType::kActivation, f);
  return f;
}

// occurred_at of "Fecha y hora: <value>".
std::string when(std::string_view value, const char* received = "2026-11-27T15:00:00Z",
                 Seconds offset = kMexico) {
  auto f = incident("Fecha y hora: " + std::string(value), received, offset);
  return f.value("occurred_at", "");
}

// ---------------------------------------------------------------------------------------
// classify_mail

TEST(Classify, PlainCustomerMailIsAPerson) {
  auto c = classify_mail(mail("ana@acme.com", "Sin tono en la 204"), desk());
  EXPECT_EQ(c.kind, MailKind::kPerson);
  EXPECT_TRUE(c.failed_recipients.empty());
}

TEST(Classify, LoopHeaderWithOurTokenIsOwnLoop) {
  auto c = classify_mail(mail("x@relay.example", "Hola", {{"x-escala-loop", "cmw-7f3a"}}), desk());
  EXPECT_EQ(c.kind, MailKind::kOwnLoop);
  EXPECT_NE(c.reason.find("X-Escala-Loop"), std::string::npos);
}

TEST(Classify, LoopHeaderOfAnotherDeskIsNotOwnLoop) {
  // Another Escala installation: a person there may write to us.
  EXPECT_EQ(kind_of(mail("agent@other.example", "Consulta", {{"x-escala-loop", "other-1"}})),
            MailKind::kPerson);
}

TEST(Classify, LoopHeaderCountsWhenNoTokenIsConfigured) {
  DeskIdentity d = desk();
  d.loop_token.clear();
  EXPECT_EQ(classify_mail(mail("x@y.com", "Hola", {{"x-escala-loop", "anything"}}), d).kind,
            MailKind::kOwnLoop);
}

TEST(Classify, OwnMessageIdDomainIsOwnLoop) {
  auto m = mail("relay@forwarder.example", "[CMW-000123] Recibido");
  m.message_id = "case-123.ack.1@DESK.callmyway.com";
  EXPECT_EQ(kind_of(m), MailKind::kOwnLoop);
}

TEST(Classify, CustomerReplyToOurMessageIsNotALoop) {
  // In-Reply-To and References point at our message; the message itself is the customer's.
  auto m = mail("ana@acme.com", "RE: [CMW-000123] Recibido");
  m.in_reply_to = {"case-123.ack.1@desk.callmyway.com"};
  m.references = {"case-123.ack.1@desk.callmyway.com"};
  EXPECT_EQ(kind_of(m), MailKind::kPerson);
}

TEST(Classify, FromADeskMailboxIsOwnLoop) {
  EXPECT_EQ(kind_of(mail("SoSporte24@CallMyWay.com", "Hola")), MailKind::kOwnLoop);
}

TEST(Classify, DomainSuffixOfAnotherHostIsNotOwnLoop) {
  auto m = mail("ana@acme.com", "Hola");
  m.message_id = "abc@notdesk.callmyway.com.evil";
  EXPECT_EQ(kind_of(m), MailKind::kPerson);
}

TEST(Classify, Rfc3464FailedIsBounceWithLowerCaseRecipients) {
  auto m = mail("MAILER-DAEMON@mx.acme.com", "Undelivered Mail Returned to Sender");
  m.report_type = "delivery-status";
  m.delivery = {{"Ana@ACME.com", "failed", "5.1.1", "user unknown"},
                {"ok@acme.com", "delivered", "2.0.0", ""}};
  auto c = classify_mail(m, desk());
  EXPECT_EQ(c.kind, MailKind::kBounce);
  EXPECT_EQ(c.failed_recipients, std::vector<std::string>{"ana@acme.com"});
}

TEST(Classify, Rfc3464OnlyDelayedIsDelay) {
  // enmime/dsn/delayed_dsn.raw: "Action: delayed" for every recipient.
  auto m = mail("postmaster@example.org", "Delivery Status Notification (Mail Delivery Delayed)");
  m.report_type = "delivery-status";
  m.delivery = {{"Pat@Example.com", "delayed", "4.4.7", ""}};
  auto c = classify_mail(m, desk());
  EXPECT_EQ(c.kind, MailKind::kDelay);
  EXPECT_EQ(c.failed_recipients, std::vector<std::string>{"pat@example.com"});
}

TEST(Classify, Rfc3464FailedAndDelayedIsBounceNamingOnlyTheFailed) {
  auto m = mail("mailer-daemon@mx.example", "Returned mail");
  m.report_type = "delivery-status";
  m.delivery = {{"a@x.com", "delayed", "4.4.1", ""}, {"b@x.com", "failed", "5.1.1", ""}};
  auto c = classify_mail(m, desk());
  EXPECT_EQ(c.kind, MailKind::kBounce);
  EXPECT_EQ(c.failed_recipients, std::vector<std::string>{"b@x.com"});
}

TEST(Classify, Rfc3464OnlyDeliveredIsAutomaticButNotABounce) {
  auto m = mail("mailer-daemon@mx.example", "Successful Mail Delivery Report");
  m.report_type = "delivery-status";
  m.delivery = {{"a@x.com", "delivered", "2.0.0", ""}};
  EXPECT_EQ(kind_of(m), MailKind::kAutoReply);
}

TEST(Classify, ReportTypeReadFromTheContentTypeHeader) {
  auto m = mail("someone@acme.com", "Nyaan",
                {{"content-type", "multipart/report; report-type=delivery-status; boundary=x"}});
  m.delivery = {{"a@x.com", "failed", "5.0.0", ""}};
  EXPECT_EQ(kind_of(m), MailKind::kBounce);
}

TEST(Classify, DeliveryReportWithoutRecipientBlocksUsesTheSubject) {
  auto m = mail("postmaster@x.com", "Delivery Status Notification (Delay)");
  m.report_type = "delivery-status";
  EXPECT_EQ(kind_of(m), MailKind::kDelay);
  m.subject = "Undeliverable: hola";
  EXPECT_EQ(kind_of(m), MailKind::kBounce);
}

TEST(Classify, GoogleGroupsBounceIsBounceNotAutoReply) {
  // sisimai bsd/lhost-googlegroups-07.eml: Auto-Submitted: auto-replied on a bounce.
  auto m = mail("mailer-daemon@googlemail.com", "Delivery Status Notification (Failure)",
                {{"return-path", "<>"},
                 {"auto-submitted", "auto-replied"},
                 {"x-failed-recipients", "LibSisimai@googlegroups.com, other@x.com"}},
                "Mail Delivery Subsystem");
  auto c = classify_mail(m, desk());
  EXPECT_EQ(c.kind, MailKind::kBounce);
  EXPECT_EQ(c.failed_recipients,
            (std::vector<std::string>{"libsisimai@googlegroups.com", "other@x.com"}));
}

TEST(Classify, XFailedRecipientsAloneIsBounce) {
  auto c =
      classify_mail(mail("relay@x.com", "Aviso", {{"x-failed-recipients", "a@b.com"}}), desk());
  EXPECT_EQ(c.kind, MailKind::kBounce);
  EXPECT_EQ(c.reason, "X-Failed-Recipients");
}

TEST(Classify, Office365BounceWithPrecedenceBulkIsBounce) {
  // sisimai bsd/lhost-office365-01.eml.
  auto m =
      mail("postmaster@example.com", "Undeliverable: Nyaan",
           {{"auto-submitted", "auto-replied"}, {"precedence", "bulk"}, {"return-path", "<>"}});
  EXPECT_EQ(kind_of(m), MailKind::kBounce);
}

TEST(Classify, ClassicBounceSubjectsFromTheMailerDaemon) {
  for (const char* s :
       {"Undelivered Mail Returned to Sender",                // Postfix
        "Delivery Status Notification (Failure)",             // Gmail
        "Mail delivery failed: returning message to sender",  // Exim
        "failure notice",                                     // qmail
        "Returned mail: see transcript for details",          // Sendmail
        "Undeliverable: Sin tono",                            // Exchange
        "No se puede entregar: Sin tono",                     // Exchange (es)
        "Não entregue: Sem tom",                              // Exchange (pt)
        "Mensaje no entregado: Sin tono", "DELIVERY FAILURE: User x not listed"}) {  // Domino
    auto m = mail("postmaster@mx.acme.com", s);
    EXPECT_EQ(kind_of(m), MailKind::kBounce) << s;
  }
}

TEST(Classify, MailDeliverySubsystemDisplayNameIsADaemon) {
  auto m =
      mail("bounces@mx.acme.com", "Returned mail: User unknown", {}, "Mail Delivery Subsystem");
  EXPECT_EQ(kind_of(m), MailKind::kBounce);
}

TEST(Classify, DelaySubjectsFromTheMailerDaemonAreDelays) {
  for (const char* s :
       {"Delayed Mail (still being retried)", "Delivery Status Notification (Delay)",
        "Warning: could not send message for past 4 hours"}) {
    EXPECT_EQ(kind_of(mail("MAILER-DAEMON@mx.acme.com", s)), MailKind::kDelay) << s;
  }
}

TEST(Classify, MailerDaemonWithAnUnknownSubjectIsStillABounce) {
  EXPECT_EQ(kind_of(mail("mailer-daemon@mx.acme.com", "Nyaan")), MailKind::kBounce);
}

TEST(Classify, PostmasterWritingAsAPersonIsAPerson) {
  // A customer's postmaster asking a question is not a bounce.
  EXPECT_EQ(kind_of(mail("postmaster@acme.com", "Consulta sobre SPF de sus envíos")),
            MailKind::kPerson);
}

TEST(Classify, PostmasterAutoGeneratedWithReasonIsBounce) {
  // sisimai bsd/lhost-sendmail-01.eml: "auto-generated (failure)".
  auto m = mail("postmaster@mx.example", "Nyaan", {{"auto-submitted", "auto-generated (failure)"}});
  EXPECT_EQ(kind_of(m), MailKind::kBounce);
}

TEST(Classify, NullReturnPathWithBounceSubjectIsBounce) {
  auto m = mail("noreply@mx.example", "Undeliverable: Nyaan", {{"return-path", "<>"}});
  EXPECT_EQ(kind_of(m), MailKind::kBounce);
}

TEST(Classify, NullReturnPathAloneDoesNotMakeABounce) {
  EXPECT_EQ(kind_of(mail("ana@acme.com", "Sin tono", {{"return-path", "<>"}})), MailKind::kPerson);
}

TEST(Classify, PersonForwardingABounceIsAPerson) {
  EXPECT_EQ(kind_of(mail("ana@acme.com", "Fwd: Undeliverable: cotización")), MailKind::kPerson);
}

TEST(Classify, DispositionNotificationReportIsReadReceipt) {
  // mimekit/messages/disposition-notification.txt
  auto m = mail("Joe_Recipient@example.com", "Disposition notification");
  m.report_type = "disposition-notification";
  EXPECT_EQ(kind_of(m), MailKind::kReadReceipt);
}

TEST(Classify, ReadReceiptSubjects) {
  for (const char* s :
       {"Read: [CMW-000123] Sin tono", "Leído: [CMW-000123] Sin tono", "Lido: [CMW-000123] Sem tom",
        "Read-Receipt: hola", "Return Receipt (displayed) - Sin tono", "No leído: Sin tono"}) {
    EXPECT_EQ(kind_of(mail("ana@acme.com", s)), MailKind::kReadReceipt) << s;
  }
}

TEST(Classify, SubjectMentioningReadIsNotAReceipt) {
  EXPECT_EQ(kind_of(mail("ana@acme.com", "Ready: extensión nueva")), MailKind::kPerson);
}

TEST(Classify, AutoSubmittedAutoRepliedIsAutoReply) {
  // sisimai bsd/rfc3834-01.eml
  auto c = classify_mail(
      mail("kijitora@example.net", "Away until May 5", {{"auto-submitted", "auto-replied"}}),
      desk());
  EXPECT_EQ(c.kind, MailKind::kAutoReply);
  EXPECT_EQ(c.reason, "Auto-Submitted: auto-replied");
}

TEST(Classify, AutoSubmittedNoIsAPerson) {
  EXPECT_EQ(kind_of(mail("ana@acme.com", "Sin tono", {{"auto-submitted", "No"}})),
            MailKind::kPerson);
}

TEST(Classify, AutoSubmittedAutoGeneratedFromAnApplicationIsAutomatic) {
  auto c = classify_mail(
      mail("alerts@pbx.acme.com", "Trunk down", {{"auto-submitted", "auto-generated"}}), desk());
  EXPECT_EQ(c.kind, MailKind::kAutoReply);
  EXPECT_EQ(c.reason, "Auto-Submitted: auto-generated");
}

TEST(Classify, XAutoreplyAndXAutorespondAreAutoReplies) {
  EXPECT_EQ(kind_of(mail("a@b.com", "Re: hola", {{"x-autoreply", "yes"}})), MailKind::kAutoReply);
  EXPECT_EQ(kind_of(mail("a@b.com", "Re: hola", {{"x-autorespond", "1"}})), MailKind::kAutoReply);
  EXPECT_EQ(kind_of(mail("a@b.com", "Re: hola", {{"x-autoreply", "no"}})), MailKind::kPerson);
}

TEST(Classify, PrecedenceAutoReplyIsAutoReply) {
  EXPECT_EQ(kind_of(mail("a@b.com", "Re: hola", {{"precedence", "auto_reply"}})),
            MailKind::kAutoReply);
}

TEST(Classify, ExchangeAutoReplyWithSuppressHeader) {
  // sisimai bsd/rfc3834-02.eml: Exchange puts "X-Auto-Response-Suppress: All" on its
  // automatic replies (the subject here is neutral on purpose).
  auto m = mail("nekonyaan@example.org", "Nyaan",
                {{"return-path", "<>"}, {"x-auto-response-suppress", "All"}});
  EXPECT_EQ(kind_of(m), MailKind::kAutoReply);
}

TEST(Classify, SuppressOofOnANewMessageIsAPersonButOnAReplyIsAutomatic) {
  auto m = mail("app@crm.acme.com", "Nueva extensión para Ana",
                {{"x-auto-response-suppress", "OOF, AutoReply"}});
  EXPECT_EQ(kind_of(m), MailKind::kPerson);
  m.in_reply_to = {"abc@desk.callmyway.com"};
  EXPECT_EQ(kind_of(m), MailKind::kAutoReply);
}

TEST(Classify, OutOfOfficeSubjectsInSpanishEnglishAndPortuguese) {
  for (const char* s :
       {"Respuesta automática: [CMW-000123] Sin tono", "Fuera de la oficina: Sin tono", "Ausente",
        "Ausente: RE: [CMW-000123] Sin tono", "Auto-reply: Sin tono", "Automatic reply: Nyaan",
        "Out of Office: Sin tono", "Out of the office until Monday", "Vacation",
        "Resposta automática: Sem tom", "Ausência temporária", "Fora do escritório: Sem tom",
        "Autoreply: hola", "I am away until 5 May", "Auto reply: Nyaan",
        "RE: Respuesta automática"}) {
    EXPECT_EQ(kind_of(mail("ana@acme.com", s)), MailKind::kAutoReply) << s;
  }
}

TEST(Classify, WeakAwayWordsStartingASentenceAreAPerson) {
  for (const char* s : {"Ausente el tono de marcado en la 204", "Vacation mode on the IVR",
                        "Ausencia de audio en llamadas entrantes", "Away message setup"}) {
    EXPECT_EQ(kind_of(mail("ana@acme.com", s)), MailKind::kPerson) << s;
  }
}

TEST(Classify, OutOfOfficeWordsMustBeWholeWords) {
  EXPECT_EQ(kind_of(mail("ana@acme.com", "Problema con el autoreplyer de la central")),
            MailKind::kPerson);
}

TEST(Classify, PrecedenceBulkListJunkAreBulk) {
  for (const char* p : {"bulk", "list", "junk", "Bulk"}) {
    EXPECT_EQ(kind_of(mail("news@x.com", "Ofertas", {{"precedence", p}})), MailKind::kBulk) << p;
  }
}

TEST(Classify, ListIdWithListUnsubscribeIsBulk) {
  auto m = mail("list@lists.example", "[voip-users] Nueva versión",
                {{"list-id", "<voip-users.lists.example>"},
                 {"list-unsubscribe", "<mailto:leave@lists.example>"}});
  EXPECT_EQ(kind_of(m), MailKind::kBulk);
}

TEST(Classify, ListIdAloneIsAPerson) {
  // A customer writing through their company's group address.
  EXPECT_EQ(kind_of(mail("soporte-ti@acme.com", "Sin tono", {{"list-id", "<ti.acme.com>"}})),
            MailKind::kPerson);
}

TEST(Classify, CampaignWithFeedbackIdAndUnsubscribeIsBulk) {
  auto m =
      mail("news@esp.example", "Novedades",
           {{"feedback-id", "123:campaign:esp"}, {"list-unsubscribe", "<https://u.example/x>"}});
  EXPECT_EQ(kind_of(m), MailKind::kBulk);
}

TEST(Classify, AutoReplyWinsOverBulk) {
  // sisimai bsd/rfc3834-06.eml: auto-replied with Precedence: bulk.
  auto m = mail("noreply@example.com", "AutoRespons :Nyaan?",
                {{"auto-submitted", "auto-replied"}, {"precedence", "bulk"}});
  EXPECT_EQ(kind_of(m), MailKind::kAutoReply);
}

TEST(Classify, OwnLoopWinsOverEverything) {
  auto m = mail("suporte@callmyway.com", "Undeliverable: x", {{"auto-submitted", "auto-replied"}});
  EXPECT_EQ(kind_of(m), MailKind::kOwnLoop);
}

TEST(MailKindNames, AreStable) {
  EXPECT_EQ(to_string(MailKind::kPerson), "person");
  EXPECT_EQ(to_string(MailKind::kAutoReply), "auto_reply");
  EXPECT_EQ(to_string(MailKind::kBounce), "bounce");
  EXPECT_EQ(to_string(MailKind::kDelay), "delay");
  EXPECT_EQ(to_string(MailKind::kReadReceipt), "read_receipt");
  EXPECT_EQ(to_string(MailKind::kBulk), "bulk");
  EXPECT_EQ(to_string(MailKind::kOwnLoop), "own_loop");
}

// ---------------------------------------------------------------------------------------
// case_number_in_subject

TEST(CaseNumber, BracketedAfterReplyPrefixes) {
  EXPECT_EQ(case_number_in_subject("RE: RV: [CMW-000123] Sin tono", "CMW-"), 123);
}

TEST(CaseNumber, PrefixIsCaseInsensitive) {
  EXPECT_EQ(case_number_in_subject("re: [cmw-000123] sin tono", "CMW-"), 123);
}

TEST(CaseNumber, SpacesInsideTheBracketsAreTolerated) {
  EXPECT_EQ(case_number_in_subject("Re: [ CMW-000123 ] Sin tono", "CMW-"), 123);
}

TEST(CaseNumber, FewerAndMoreDigitsThanPrintedAreAccepted) {
  EXPECT_EQ(case_number_in_subject("[CMW-7]", "CMW-"), 7);
  EXPECT_EQ(case_number_in_subject("[CMW-1234567]", "CMW-"), 1234567);
  EXPECT_EQ(case_number_in_subject("[CMW-999999999999]", "CMW-"), 999999999999);
}

TEST(CaseNumber, ThirteenDigitsAreNotACase) {
  EXPECT_EQ(case_number_in_subject("[CMW-0000000000001]", "CMW-"), std::nullopt);
}

TEST(CaseNumber, TrailingLetterIsNotACase) {
  EXPECT_EQ(case_number_in_subject("[CMW-000123x] hola", "CMW-"), std::nullopt);
}

TEST(CaseNumber, LongerPrefixIsNotACase) {
  EXPECT_EQ(case_number_in_subject("[XCMW-1] hola", "CMW-"), std::nullopt);
}

TEST(CaseNumber, UnbracketedIsNotACase) {
  EXPECT_EQ(case_number_in_subject("Sobre el caso CMW-000123", "CMW-"), std::nullopt);
}

TEST(CaseNumber, EmptyNumberAndZeroAreNotCases) {
  EXPECT_EQ(case_number_in_subject("[CMW-] hola", "CMW-"), std::nullopt);
  EXPECT_EQ(case_number_in_subject("[CMW-000000] hola", "CMW-"), std::nullopt);
  EXPECT_EQ(case_number_in_subject("[CMW-000123", "CMW-"), std::nullopt);
}

TEST(CaseNumber, FirstWellFormedOneWins) {
  EXPECT_EQ(case_number_in_subject("[CMW-12x] [CMW-000045] [CMW-000046]", "CMW-"), 45);
}

TEST(CaseNumber, CaseNumberAtTheEnd) {
  EXPECT_EQ(case_number_in_subject("Sin tono [CMW-000123]", "CMW-"), 123);
}

TEST(CaseNumber, ConfiguredPrefix) {
  EXPECT_EQ(case_number_in_subject("RE: [ACME-77] x", "ACME-"), 77);
  EXPECT_EQ(case_number_in_subject("RE: [CMW-77] x", "ACME-"), std::nullopt);
}

TEST(CaseNumber, EmptyPrefixIgnoresReplyCounters) {
  EXPECT_EQ(case_number_in_subject("RE[2]: hola", ""), std::nullopt);
  EXPECT_EQ(case_number_in_subject("RE[2]: [000123] hola", ""), 123);
}

// ---------------------------------------------------------------------------------------
// clean_subject

TEST(CleanSubject, ReplyAndForwardChainWithCaseNumber) {
  EXPECT_EQ(clean_subject("RE: RV: [CMW-000123] Sin tono", "CMW-"), "Sin tono");
}

TEST(CleanSubject, PrefixesInManyLanguagesAndForms) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const auto& c : std::vector<Case>{
           {"Re: Re: Re: Sin tono", "Sin tono"},
           {"RE[2]: Sin tono", "Sin tono"},
           {"Re(3): Sin tono", "Sin tono"},
           {"Re : Sin tono", "Sin tono"},
           {"Re:Sin tono", "Sin tono"},
           {"Fwd: FW: Sin tono", "Sin tono"},
           {"RV: Sin tono", "Sin tono"},
           {"RES: ENC: Sem tom", "Sem tom"},
           {"AW: WG: Kein Freizeichen", "Kein Freizeichen"},
           {"TR: RE: Pas de tonalité", "Pas de tonalité"},
           {"SV: VS: VB: Ingen ton", "Ingen ton"},
           {"R: R: R: I: FR-selca LA selcaE", "FR-selca LA selcaE"},  // mimekit issue358.txt
           {"  re: rv:  Sin tono  ", "Sin tono"},
       }) {
    EXPECT_EQ(clean_subject(c.in, "CMW-"), c.out) << c.in;
  }
}

TEST(CleanSubject, WordsThatOnlyStartLikeAPrefixStay) {
  for (const char* s : {"Reunión de equipo", "Revisión: extensión 204", "Info: cambio de plan",
                        "Tráfico: saliente", "Ring group: ventas", "Resumen"}) {
    EXPECT_EQ(clean_subject(s, "CMW-"), s);
  }
}

TEST(CleanSubject, CaseNumberBeforeAReplyPrefix) {
  EXPECT_EQ(clean_subject("[CMW-000123] RE: Sin tono", "CMW-"), "Sin tono");
}

TEST(CleanSubject, CaseNumberAtTheEndOrInTheMiddle) {
  EXPECT_EQ(clean_subject("Re: Sin tono [CMW-000123]", "CMW-"), "Sin tono");
  EXPECT_EQ(clean_subject("Sin tono [CMW-000123] en la 204", "CMW-"), "Sin tono en la 204");
}

TEST(CleanSubject, MalformedCaseNumberStays) {
  EXPECT_EQ(clean_subject("Re: Sin tono [CMW-000123x]", "CMW-"), "Sin tono [CMW-000123x]");
}

TEST(CleanSubject, OnlyPrefixesLeaveEmpty) {
  EXPECT_EQ(clean_subject("RE: [CMW-000123]", "CMW-"), "");
}

// ---------------------------------------------------------------------------------------
// strip_quoted_and_signature

TEST(StripQuoted, GmailEnglishAttribution) {
  // mailgun-talon standard_replies/gmail.eml
  EXPECT_EQ(
      strip_quoted_and_signature(
          "Hello\n\nOn Mon, Apr 2, 2012 at 6:26 PM, Megan One <xxx@gmail.com> wrote:\n\n> Hi\n"),
      "Hello");
}

TEST(StripQuoted, AppleMail) {
  // mailgun-talon standard_replies/apple_mail.eml
  EXPECT_EQ(strip_quoted_and_signature("Hello\n\nOn Apr 3, 2012, at 4:19 PM, bob wrote:\n\n> Hi\n"),
            "Hello");
}

TEST(StripQuoted, ThunderbirdBottomPostKeepsTheAnswerBelow) {
  // mailgun-talon standard_replies/thunderbird.eml
  EXPECT_EQ(strip_quoted_and_signature("On 04/02/2012 06:26 PM, Megan One wrote:\n> Hi \nHello"),
            "Hello");
}

TEST(StripQuoted, YahooOriginalMessage) {
  // mailgun-talon standard_replies/yahoo.eml
  EXPECT_EQ(strip_quoted_and_signature(
                "Hello\n\n\n----- Original Message -----\nFrom: \"bob@xxx.mailgun.org\" "
                "<bob@xxx.mailgun.org>\nTo: xxx@gmail.com\nCc: \nSent: Monday, April 2, 2012 "
                "5:44 PM\nSubject: Test\n\nHi\n"),
            "Hello");
}

TEST(StripQuoted, HotmailQuotedHeaders) {
  // mailgun-talon standard_replies/hotmail.eml
  EXPECT_EQ(strip_quoted_and_signature("\nHello\n\n> Subject: Test\n> From: bob@xxx.mailgun.org\n"
                                       "> To: xxx@gmail.com\n> Date: Mon, 2 Apr 2012 17:44:22 "
                                       "+0400\n> \n> Hi\n \t\t \t   \t\t  "),
            "Hello");
}

TEST(StripQuoted, OutlookFromSentBlock) {
  // mailgun-talon standard_replies/outlook.eml
  EXPECT_EQ(strip_quoted_and_signature(
                "Hello\n\nFrom: xxx@xxx.mailgun.org [mailto:xxx@xxx.mailgun.org]\nSent: "
                "March-09-12 4:22 PM\nTo: Dan Le\nSubject: The manager has commented on your "
                "Loop\n\nHi dan.le@example.com<mailto:dan.le@example.com>,\n\nThe manager's "
                "comment:\n"),
            "Hello");
}

TEST(StripQuoted, AndroidAttributionWrappedOverTwoLines) {
  // mailgun-talon standard_replies/android.eml (Russian client, attribution wrapped).
  EXPECT_EQ(
      strip_quoted_and_signature("Hello\n02.04.2012 14:20 пользователь \"bob@xxx.mailgun.org\" <\n"
                                 "bob@xxx.mailgun.org> написал:\n\n> Hi\n>\n\n"),
      "Hello");
}

TEST(StripQuoted, YahooShareBlockWithUnquotedHistory) {
  // mailgun-talon reply-quotations-share-block.eml: the history after "wrote:" has no '>'.
  EXPECT_EQ(strip_quoted_and_signature(
                "Hi Katharine. Sounds great.\n\xC2\xA0\nJoe XXX\n\n--- On Wed, 4/4/12, "
                "xxx@example.com <xxx@example.com> wrote:\n\n\nFrom: xxx@example.com "
                "<xxx@example.com>\nSubject: You've got a new booking inquiry!\nTo: "
                "xxx@yahoo.com\nDate: Wednesday, April 4, 2012, 10:23 PM\n\nNew Booking Inquiry\n"),
            "Hi Katharine. Sounds great.\n\nJoe XXX");
}

TEST(StripQuoted, ItalianOutlookBlock) {
  // spamscope-mail-parser mail_test_7 (Italian Outlook: Da / Inviato / A / Oggetto).
  EXPECT_EQ(strip_quoted_and_signature(
                "Va bene, grazie.\n\nDa: export@agade.info [mailto:chiarodiluce@gmail.com]\n"
                "Inviato: venerdì 9 giugno 2017 15:50\nA: geronazzo <geronazzo@example.it>\n"
                "Oggetto: Ordine\n\nBuongiorno Mariachiara\n"),
            "Va bene, grazie.");
}

TEST(StripQuoted, ItalianForwardMarker) {
  // spamscope-mail-parser mail_test_7: "Inizio messaggio inoltrato:".
  EXPECT_EQ(
      strip_quoted_and_signature("Vedi sotto.\n\nInizio messaggio inoltrato:\n\nDa: "
                                 "\"export@agade.info\" <export@agade.info>\nOggetto: Ordine\n"),
      "Vedi sotto.");
}

TEST(StripQuoted, SpanishOutlookBlock) {
  EXPECT_EQ(
      strip_quoted_and_signature(
          "Sí, ya funciona.\n\nSaludos\nAna\n\nDe: Soporte CallMyWay <sosporte24@callmyway.com>\n"
          "Enviado el: lunes, 26 de noviembre de 2026 10:30\nPara: Ana Pérez "
          "<ana@acme.com>\nAsunto: [CMW-000123] Caso resuelto\n\nEstimada Ana: ¿puede "
          "confirmar que está resuelto?\n"),
      "Sí, ya funciona.\n\nSaludos\nAna");
}

TEST(StripQuoted, OutlookBoldLabelsAndUnderscoreRule) {
  EXPECT_EQ(strip_quoted_and_signature(
                "Listo, gracias\n\n________________________________\n*De:* Soporte <s@x.com>\n"
                "*Enviado:* lunes, 26 de noviembre de 2026 10:30\n*Para:* Ana\n*Asunto:* Caso\n\n"
                "Texto nuestro\n"),
            "Listo, gracias");
}

TEST(StripQuoted, PortugueseOutlookBlock) {
  EXPECT_EQ(strip_quoted_and_signature("Pode fechar.\n\nDe: Suporte <suporte@callmyway.com>\n"
                                       "Enviado: segunda-feira, 26 de novembro de 2026 10:30\n"
                                       "Para: Ana\nAssunto: Caso resolvido\n\nOlá\n"),
            "Pode fechar.");
}

TEST(StripQuoted, GmailSpanishAttributionWrapped) {
  EXPECT_EQ(strip_quoted_and_signature(
                "Sigue igual.\n\nEl lun, 26 nov 2026 a las 10:30, Soporte CallMyWay (<\n"
                "sosporte24@callmyway.com>) escribió:\n\n> Estimada Ana:\n> ¿Puede confirmar?\n"),
            "Sigue igual.");
}

TEST(StripQuoted, GmailSpanishAttributionOnOneLine) {
  EXPECT_EQ(strip_quoted_and_signature("Confirmo.\n\nEl lun, 26 nov 2026 a las 10:30, Ana "
                                       "(<ana@x.com>) escribió:\n> hola\n"),
            "Confirmo.");
}

TEST(StripQuoted, EnglishGmailAttribution) {
  EXPECT_EQ(strip_quoted_and_signature("It works.\n\nOn Mon, Nov 26, 2026 at 10:30 AM Ana "
                                       "<ana@x.com> wrote:\n> Hello\n"),
            "It works.");
}

TEST(StripQuoted, PortugueseGmailAttribution) {
  EXPECT_EQ(strip_quoted_and_signature("Funcionou.\n\nEm seg., 26 de nov. de 2026 às 10:30, Ana "
                                       "escreveu:\n\n> Olá\n"),
            "Funcionou.");
}

TEST(StripQuoted, SpanishOriginalMessageSeparator) {
  EXPECT_EQ(strip_quoted_and_signature("Gracias\n-----Mensaje original-----\nDe: x\nAsunto: y\n"),
            "Gracias");
  EXPECT_EQ(strip_quoted_and_signature("Thanks\n-----Original Message-----\nFrom: x\n"), "Thanks");
  EXPECT_EQ(strip_quoted_and_signature("Obrigado\n-----Mensagem original-----\nDe: x\n"),
            "Obrigado");
}

TEST(StripQuoted, ForwardedMessageMarkers) {
  EXPECT_EQ(strip_quoted_and_signature("Vean abajo\n\n---------- Forwarded message ---------\n"
                                       "From: Carrier <noc@carrier.example>\nDate: x\n\nOutage\n"),
            "Vean abajo");
  EXPECT_EQ(strip_quoted_and_signature("Ver abajo\n\n---------- Mensaje reenviado ---------\n"
                                       "De: x\n"),
            "Ver abajo");
  EXPECT_EQ(strip_quoted_and_signature("See below\n\nBegin forwarded message:\n\nFrom: x\n"),
            "See below");
}

TEST(StripQuoted, DashDashSignature) {
  EXPECT_EQ(strip_quoted_and_signature("La extensión es 204.\n\n-- \nAna Pérez\nGerente TI\n"
                                       "Tel: +52 55 1111 2222\n"),
            "La extensión es 204.");
}

TEST(StripQuoted, MobileFooters) {
  EXPECT_EQ(strip_quoted_and_signature("Ya funciona\n\nEnviado desde mi iPhone\n\n> hola\n"),
            "Ya funciona");
  EXPECT_EQ(strip_quoted_and_signature("Works\n\nSent from my iPhone"), "Works");
  EXPECT_EQ(strip_quoted_and_signature("Funciona\n\nEnviado do meu iPhone"), "Funciona");
  EXPECT_EQ(strip_quoted_and_signature("Ok\n\nGet Outlook for Android"), "Ok");
  EXPECT_EQ(strip_quoted_and_signature("Ok\n\nObtener Outlook para iOS"), "Ok");
}

TEST(StripQuoted, InlineRepliesKeepTheCustomersLines) {
  EXPECT_EQ(strip_quoted_and_signature("> ¿Cuál es la extensión afectada?\n204\n\n"
                                       "> ¿Tráfico entrante o saliente?\nSaliente\n"),
            "204\n\nSaliente");
}

TEST(StripQuoted, TopPostedEmptyReplyKeepsTheTextRatherThanNothing) {
  const std::string text =
      "\n\nEl lun, 26 nov 2026 a las 10:30, Soporte (<s@callmyway.com>) escribió:\n"
      "> ¿Puede confirmar que está resuelto?\n";
  auto out = strip_quoted_and_signature(text);
  EXPECT_NE(out.find("¿Puede confirmar que está resuelto?"), std::string::npos);
}

TEST(StripQuoted, EmptyReplyWithSignatureDropsOnlyTheSignature) {
  auto out = strip_quoted_and_signature(
      "-- \nAna Pérez\nACME\n\nOn Mon, Nov 26, 2026 at 10:30 AM "
      "Soporte <s@x.com> wrote:\n> Resolved?\n");
  EXPECT_EQ(out.find("Ana Pérez"), std::string::npos);
  EXPECT_NE(out.find("> Resolved?"), std::string::npos);
}

TEST(StripQuoted, OnlyASignatureIsNeverEmpty) {
  EXPECT_EQ(strip_quoted_and_signature("Sent from my iPhone"), "Sent from my iPhone");
  EXPECT_EQ(strip_quoted_and_signature("   \n  "), "");
}

TEST(StripQuoted, SentencesThatMentionMarkersAreNotCut) {
  const std::string text =
      "Les reenvío el mensaje original que recibí, la extensión es 204.\n"
      "De: parte de Ana, gracias.\nEl equipo escribió: nada más";
  EXPECT_EQ(strip_quoted_and_signature(text), text);
}

TEST(StripQuoted, CrLfLineEnds) {
  EXPECT_EQ(strip_quoted_and_signature("Hola\r\n\r\nOn Mon, Nov 26, 2026 at 10:30 AM A <a@x.com> "
                                       "wrote:\r\n> x\r\n"),
            "Hola");
}

TEST(StripQuoted, TextWithoutQuotesIsUnchanged) {
  EXPECT_EQ(strip_quoted_and_signature("Extensión: 204\nTráfico: saliente"),
            "Extensión: 204\nTráfico: saliente");
}

// ---------------------------------------------------------------------------------------
// detect_intent

TEST(Intent, SpanishConfirmations) {
  for (const char* t :
       {"Confirmo", "Sí, funciona", "Ya funciona, gracias", "ok, gracias, funciona",
        "listo, confirmado", "Sí", "Ok", "Todo bien, pueden cerrar el caso",
        "Quedó resuelto, muchas gracias.", "SÍ, FUNCIONÓ", "Le confirmo que ya quedó resuelto",
        "Perfecto, ya se escucha bien", "Ya no falla, gracias", "Funciona sin problemas",
        "Ya funciona, les aviso si vuelve a fallar", "No hemos tenido más problemas, gracias"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kConfirm) << t;
  }
}

TEST(Intent, EnglishAndPortugueseConfirmations) {
  for (const char* t : {"It works now, thanks!", "Confirmed", "Solved, thanks", "Yes",
                        "No more issues, you can close it", "Yes, it's working",
                        "Pode fechar, obrigado", "Funcionou!", "Tudo certo", "Sim, resolvido"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kConfirm) << t;
  }
}

TEST(Intent, SpanishNotSolved) {
  for (const char* t :
       {"No funciona", "No está resuelto", "No, sigue igual", "Todavía no funciona", "Aún no",
        "No quedó resuelto", "No.", "Funciona a medias", "El problema persiste", "Sigue sin tono",
        "¿Por qué sigue sin funcionar?", "Funciona la 204 pero la 205 no",
        "Gracias, pero no se ha solucionado", "Ok, pero sigue fallando",
        "Volvió a fallar esta mañana", "no esta resuelto"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kNotSolved) << t;
  }
}

TEST(Intent, EnglishAndPortugueseNotSolved) {
  for (const char* t :
       {"not solved", "Still not working", "It still drops calls", "It is not fixed",
        "It isn't fixed", "It doesn't work", "Not yet", "não funciona", "Ainda não",
        "Não funcionou", "O problema continua", "Nope"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kNotSolved) << t;
  }
}

TEST(Intent, GratitudeAloneIsAmbiguous) {
  // "Gracias" may thank for an update without saying the problem is gone.
  for (const char* t :
       {"Gracias", "Muchas gracias", "Gracias por la información", "Thanks!", "Obrigado"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kNone) << t;
  }
}

TEST(Intent, QuestionsDoNotConfirm) {
  for (const char* t : {"¿Ya está resuelto?", "Is it fixed?", "¿Ya funciona la 204?"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kNone) << t;
  }
}

TEST(Intent, UncertaintyIsNone) {
  for (const char* t : {"No sé si funciona, lo pruebo mañana", "Voy a probar y les confirmo",
                        "Te confirmo en la tarde", "No sé", "Not sure yet, will test tomorrow",
                        "Todavía no lo he probado"}) {
    EXPECT_EQ(detect_intent(t), CustomerIntent::kNone) << t;
  }
}

TEST(Intent, WordsInsideOtherWordsDoNotCount) {
  EXPECT_EQ(detect_intent("Quiero saber sobre funcionalidades del plan"), CustomerIntent::kNone);
  EXPECT_EQ(detect_intent("Necesito la confirmación de la factura"), CustomerIntent::kNone);
}

TEST(Intent, LongMessageStartingWithOkIsNotAShortAssent) {
  EXPECT_EQ(detect_intent("Ok, les escribo porque necesito una extensión nueva para el área de "
                          "ventas de la oficina"),
            CustomerIntent::kNone);
}

TEST(Intent, AssentWithMoreToSayIsNotAConfirmation) {
  EXPECT_EQ(detect_intent("Ok, ya reviso y les aviso"), CustomerIntent::kNone);
  EXPECT_EQ(detect_intent("Ok, muchas gracias por la ayuda"), CustomerIntent::kConfirm);
  EXPECT_EQ(detect_intent("Yes, thank you"), CustomerIntent::kConfirm);
}

TEST(Intent, BareNoAnswersTheQuestionEvenWithThanks) {
  // The customer is answering "¿Podemos cerrar el caso?": "No, gracias" keeps it open.
  EXPECT_EQ(detect_intent("No, gracias"), CustomerIntent::kNotSolved);
  EXPECT_EQ(detect_intent("No problem, it works"), CustomerIntent::kConfirm);
}

TEST(Intent, ConditionalFailureDoesNotReopen) {
  EXPECT_EQ(detect_intent("Gracias. Si vuelve a fallar les escribo"), CustomerIntent::kNone);
  EXPECT_EQ(detect_intent("Works, thanks. If it fails again I'll write"), CustomerIntent::kConfirm);
}

TEST(Intent, EmptyIsNone) {
  EXPECT_EQ(detect_intent(""), CustomerIntent::kNone);
  EXPECT_EQ(detect_intent("  \n "), CustomerIntent::kNone);
}

TEST(Intent, OurOwnQuotedWordsDoNotConfirm) {
  // An empty reply comes back from strip_quoted_and_signature with the quote in it; our
  // question must not read as the customer's confirmation.
  auto stripped = strip_quoted_and_signature(
      "\nEl lun, 26 nov 2026 a las 10:30, Soporte (<s@callmyway.com>) escribió:\n"
      "> Su caso quedó resuelto. ¿Confirma que ya funciona?\n");
  EXPECT_EQ(detect_intent(stripped), CustomerIntent::kNone);
}

TEST(Intent, NegationBeatsTheWordItContains) {
  EXPECT_EQ(detect_intent("resuelto"), CustomerIntent::kConfirm);
  EXPECT_EQ(detect_intent("no resuelto"), CustomerIntent::kNotSolved);
  EXPECT_EQ(detect_intent("funciona"), CustomerIntent::kConfirm);
  EXPECT_EQ(detect_intent("nunca funciona"), CustomerIntent::kNotSolved);
}

// ---------------------------------------------------------------------------------------
// guess_case_type

TEST(CaseType, ActivationWordsInTheSubject) {
  EXPECT_EQ(guess_case_type(CaseType::kIncident, "Alta de extensión para Ana", ""),
            CaseType::kActivation);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "ACTIVACIÓN usuario nuevo", ""),
            CaseType::kActivation);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "New extension request", ""),
            CaseType::kActivation);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Nuevo anexo para recepción", ""),
            CaseType::kActivation);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Novo ramal", ""), CaseType::kActivation);
}

TEST(CaseType, IncidentWords) {
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Sin tono en la 204", ""), CaseType::kIncident);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Ayuda", "No puedo llamar a celulares"),
            CaseType::kIncident);
  EXPECT_EQ(guess_case_type(CaseType::kActivation, "Outage in Bogotá office", ""),
            CaseType::kIncident);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "URGENTE", "Las llamadas se cortan"),
            CaseType::kIncident);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Help", "We cannot call Mexico"),
            CaseType::kIncident);
}

TEST(CaseType, CannotActivateAFeatureIsAnIncident) {
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "No puedo activar el desvío de llamadas", ""),
            CaseType::kIncident);
}

TEST(CaseType, NothingKnownKeepsTheMailboxDefault) {
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Consulta de facturación", "¿Cuánto cuesta?"),
            CaseType::kRequest);
  EXPECT_EQ(guess_case_type(CaseType::kIncident, "Hola", "Los llamo luego"), CaseType::kIncident);
}

TEST(CaseType, WordsInsideOtherWordsDoNotCount) {
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Consulta sobre el ecosistema", "Problemático"),
            CaseType::kRequest);
}

TEST(CaseType, SubjectWeighsMoreThanBody) {
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "Nueva extensión",
                            "Hola, hubo una falla con la anterior"),
            CaseType::kActivation);
}

TEST(CaseType, TieKeepsAnActivationOrIncidentDefaultElseIncident) {
  const char* body = "Activación pendiente y la 204 no funciona";
  EXPECT_EQ(guess_case_type(CaseType::kActivation, "", body), CaseType::kActivation);
  EXPECT_EQ(guess_case_type(CaseType::kIncident, "", body), CaseType::kIncident);
  EXPECT_EQ(guess_case_type(CaseType::kRequest, "", body), CaseType::kIncident);
}

// ---------------------------------------------------------------------------------------
// extract_fields: incidents

TEST(ExtractFields, IncidentLabelledInSpanish) {
  auto f = incident(
      "Buenos días,\n\nExtensión: 204\nTráfico: saliente\n"
      "Número contraparte: +52 55 1234 5678\nFecha y hora: 26/11 10:30\n\nGracias");
  EXPECT_EQ(f, (Json{{"extension", "204"},
                     {"direction", "outbound"},
                     {"counterpart_number", "+525512345678"},
                     {"occurred_at", "2026-11-26T16:30:00Z"}}));
}

TEST(ExtractFields, IncidentLabelledInEnglish) {
  auto f = incident(
      "Extension: 204\nDirection: inbound\nCounterpart number: +1 305 644 5535\n"
      "Date and time: 2026-11-26 10:30");
  EXPECT_EQ(f, (Json{{"extension", "204"},
                     {"direction", "inbound"},
                     {"counterpart_number", "+13056445535"},
                     {"occurred_at", "2026-11-26T16:30:00Z"}}));
}

TEST(ExtractFields, DeckLabelsRoundTrip) {
  // The labels Escala itself prints when it asks for missing data are read back.
  Json values = {{"extension", "204"},
                 {"direction", "saliente"},
                 {"counterpart_number", "+52 55 1234 5678"},
                 {"occurred_at", "26/11/2026 10:30"}};
  for (const char* lang : {"es", "en"}) {
    std::string text;
    for (const auto& spec : field_specs(CaseType::kIncident))
      text += field_label(CaseType::kIncident, spec.name, lang) + ": " +
              values[std::string(spec.name)].get<std::string>() + "\n";
    auto f = incident(text);
    EXPECT_EQ(f.size(), 4u) << text << f.dump();
  }
}

TEST(ExtractFields, ExtensionLabelSynonyms) {
  for (const char* t : {"Extensión: 204", "Ext: 204", "Ext.: 204", "EXTENSION: 204", "Anexo: 204",
                        "Usuario afectado: 204", "Extension - 204", "Interno: 204",
                        "Número de extensión o usuario afectado: 204", "**Extensión:** 204",
                        "- Extensión: 204", "• Extensión: 204", "Extensión = 204"}) {
    EXPECT_EQ(incident(t).value("extension", ""), "204") << t;
  }
}

TEST(ExtractFields, CounterpartLabelSynonyms) {
  for (const char* t :
       {"Número contraparte: 5512345678", "Número de la contraparte: 5512345678",
        "Número destino: 5512345678", "Número de origen: 5512345678", "Número marcado: 5512345678",
        "Counterpart number: 5512345678", "Number dialled: 5512345678", "Number dialed: 5512345678",
        "Other party: 5512345678", "Numero destino - 5512345678"}) {
    EXPECT_EQ(incident(t).value("counterpart_number", ""), "5512345678") << t;
  }
}

TEST(ExtractFields, PhoneNumbersKeepPlusAndDigits) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const auto& c : std::vector<Case>{{"+52 (55) 4170-8422", "+525541708422"},
                                         {"+52.55.1234.5678", "+525512345678"},
                                         {"(55) 1234-5678", "5512345678"},
                                         {"al 55 1234 5678 desde la 204", "5512345678"},
                                         {"911", "911"}}) {
    EXPECT_EQ(incident(std::string("Número destino: ") + c.in).value("counterpart_number", ""),
              c.out)
        << c.in;
  }
}

TEST(ExtractFields, UnreadableCounterpartIsLeftOut) {
  EXPECT_FALSE(incident("Número destino: no lo sé").contains("counterpart_number"));
  EXPECT_FALSE(incident("Número destino: 5").contains("counterpart_number"));
}

TEST(ExtractFields, DirectionWords) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (const auto& c : std::vector<Case>{{"entrante", "inbound"},
                                         {"Saliente", "outbound"},
                                         {"recibidas", "inbound"},
                                         {"realizadas", "outbound"},
                                         {"llamadas entrantes", "inbound"},
                                         {"Llamadas salientes a celulares", "outbound"},
                                         {"Inbound", "inbound"},
                                         {"outbound", "outbound"},
                                         {"Outgoing calls", "outbound"}}) {
    EXPECT_EQ(incident(std::string("Tráfico: ") + c.in).value("direction", ""), c.out) << c.in;
  }
}

TEST(ExtractFields, DirectionBothOrUnknownIsLeftOut) {
  EXPECT_FALSE(incident("Tráfico: entrante y saliente").contains("direction"));
  EXPECT_FALSE(incident("Dirección: Av. Reforma 222").contains("direction"));
}

TEST(ExtractFields, ExtensionIsTwoToEightDigitsStandingAlone) {
  EXPECT_EQ(incident("Extensión: 204 (Ana)").value("extension", ""), "204");
  EXPECT_EQ(incident("Extensión: la 3021").value("extension", ""), "3021");
  EXPECT_FALSE(incident("Extensión: +52 55 1234 5678").contains("extension"));
  EXPECT_FALSE(incident("Extensión: 1").contains("extension"));
  EXPECT_FALSE(incident("Extensión: 123456789").contains("extension"));
  EXPECT_FALSE(incident("Extensión: la de recepción").contains("extension"));
}

TEST(ExtractFields, NumberedIncidentAnswersFollowTheDeck) {
  auto f = incident("1) 204\n2. saliente\n3 - 5512345678\n4: 26/11/2026 10:30");
  EXPECT_EQ(f, (Json{{"extension", "204"},
                     {"direction", "outbound"},
                     {"counterpart_number", "5512345678"},
                     {"occurred_at", "2026-11-26T16:30:00Z"}}));
}

TEST(ExtractFields, NumberedLineWithALabelUsesTheLabel) {
  auto f = incident("1) Número destino: 5512345678");
  EXPECT_EQ(f, (Json{{"counterpart_number", "5512345678"}}));
}

TEST(ExtractFields, NumbersOutsideTheDeckAreIgnored) {
  EXPECT_TRUE(incident("5) 204\n10:30 aprox").empty());
}

TEST(ExtractFields, NumberedStepsThatAreNotAnswersYieldNothing) {
  auto f = incident("1. Llamo al 5512345678\n2. No suena\n3. Se corta");
  EXPECT_FALSE(f.contains("extension"));
  EXPECT_FALSE(f.contains("direction"));
}

TEST(ExtractFields, QuotedLinesAreNotRead) {
  EXPECT_EQ(incident("> Extensión: 999\nExtensión: 204").value("extension", ""), "204");
  EXPECT_TRUE(incident("> Extensión: 999\n> Tráfico: saliente").empty());
}

TEST(ExtractFields, ValueOnTheNextLine) {
  auto f = incident("Extensión:\n204\nTráfico:\nsaliente");
  EXPECT_EQ(f, (Json{{"extension", "204"}, {"direction", "outbound"}}));
}

TEST(ExtractFields, ALabelOnTheNextLineIsNotTakenAsAValue) {
  auto f = incident("Extensión:\nTráfico: saliente");
  EXPECT_EQ(f, (Json{{"direction", "outbound"}}));
}

TEST(ExtractFields, SentencesWithAColonAreNotLabels) {
  EXPECT_TRUE(incident("Les comento lo siguiente: la extensión 204 no marca").empty());
}

TEST(ExtractFields, FirstValueWins) {
  EXPECT_EQ(incident("Extensión: 204\nExtensión: 205").value("extension", ""), "204");
}

TEST(ExtractFields, RequestHasNoFields) {
  EXPECT_TRUE(
      extract_fields(CaseType::kRequest, "Extensión: 204", at("2026-11-27T15:00:00Z"), kMexico)
          .empty());
}

// --- dates ---

TEST(ExtractFields, DateFormats) {
  struct Case {
    const char* in;
    const char* out;
  };
  // Received 2026-11-27 09:00 in Mexico City (UTC-6).
  for (const auto& c : std::vector<Case>{
           {"26/11 10:30", "2026-11-26T16:30:00Z"},
           {"26/11/2026 10:30", "2026-11-26T16:30:00Z"},
           {"26-11-2026 10:30 hrs", "2026-11-26T16:30:00Z"},
           {"2026-11-26 10:30", "2026-11-26T16:30:00Z"},
           {"2026-11-26T10:30", "2026-11-26T16:30:00Z"},
           {"26 de noviembre 10:30", "2026-11-26T16:30:00Z"},
           {"26 de noviembre de 2026, 10:30", "2026-11-26T16:30:00Z"},
           {"26 nov 2026 10:30am", "2026-11-26T16:30:00Z"},
           {"26 nov 2026 10:30 p.m.", "2026-11-27T04:30:00Z"},
           {"26-nov-2026 10:30", "2026-11-26T16:30:00Z"},
           {"Nov 26, 2026 10:30 AM", "2026-11-26T16:30:00Z"},
           {"November 26 3pm", "2026-11-26T21:00:00Z"},
           {"26/11/26 10:30", "2026-11-26T16:30:00Z"},
           {"26.11.2026 10:30", "2026-11-26T16:30:00Z"},
           {"26/11 a las 3 de la tarde", "2026-11-26T21:00:00Z"},
           {"lunes 26/11 10h30", "2026-11-26T16:30:00Z"},
           {"26/11 12:15 am", "2026-11-26T06:15:00Z"},
           {"26/11 12 pm", "2026-11-26T18:00:00Z"},
           {"26/11 15 hrs", "2026-11-26T21:00:00Z"},
           {"26/11 10:30:45", "2026-11-26T16:30:00Z"},
           {"ayer 10:30", "2026-11-26T16:30:00Z"},
           {"Ayer a las 10", "2026-11-26T16:00:00Z"},
           {"hoy 08:15", "2026-11-27T14:15:00Z"},
           {"yesterday 3pm", "2026-11-26T21:00:00Z"},
           {"today at 8", "2026-11-27T14:00:00Z"},
           {"anteayer 10:30", "2026-11-25T16:30:00Z"},
           {"ontem às 10:30", "2026-11-26T16:30:00Z"},
       }) {
    EXPECT_EQ(when(c.in), c.out) << c.in;
  }
}

TEST(ExtractFields, IsoTimeWithItsOwnZoneKeepsIt) {
  EXPECT_EQ(when("2026-11-26T10:30:00-05:00"), "2026-11-26T15:30:00Z");
  EXPECT_EQ(when("2026-11-26T10:30Z"), "2026-11-26T10:30:00Z");
}

TEST(ExtractFields, DayMonthOrderUnlessOnlyMonthDayReads) {
  EXPECT_EQ(when("03/11/2026 10:30"), "2026-11-03T16:30:00Z");  // 3 November, not 11 March
  EXPECT_EQ(when("11/26/2026 10:30"), "2026-11-26T16:30:00Z");  // only M/D reads
}

TEST(ExtractFields, DateWithoutYearInJanuaryReadsLastDecember) {
  EXPECT_EQ(when("28/12 10:30", "2027-01-05T15:00:00Z"), "2026-12-28T16:30:00Z");
}

TEST(ExtractFields, DateLaterTodayStaysInThisYear) {
  // Received at 12:00 local; "18:00" the same day is a clock skew, not last year.
  EXPECT_EQ(when("26/11 18:00", "2026-11-26T18:00:00Z"), "2026-11-27T00:00:00Z");
}

TEST(ExtractFields, TomorrowWithoutYearReadsLastYear) {
  EXPECT_EQ(when("28/11 10:30", "2026-11-27T15:00:00Z"), "2025-11-28T16:30:00Z");
}

TEST(ExtractFields, LeapDayWithoutYearFindsTheLastLeapYear) {
  EXPECT_EQ(when("29/02 10:30", "2027-03-01T15:00:00Z"), "2024-02-29T16:30:00Z");
}

TEST(ExtractFields, RelativeDayUsesTheLocalDateAtTheOffset) {
  // 2026-11-27 03:00 UTC is still 26 November in Mexico City: "hoy" is the 26th.
  EXPECT_EQ(when("hoy 10:30", "2026-11-27T03:00:00Z"), "2026-11-26T16:30:00Z");
  // The same instant in Madrid (UTC+1) is the 27th.
  EXPECT_EQ(when("hoy 10:30", "2026-11-27T03:00:00Z", Seconds{3600}), "2026-11-27T09:30:00Z");
}

TEST(ExtractFields, DateWithoutTimeOrTimeWithoutDateIsLeftOut) {
  EXPECT_EQ(when("26/11/2026"), "");
  EXPECT_EQ(when("10:30"), "");
  EXPECT_EQ(when("ayer"), "");
  EXPECT_EQ(when("esta mañana"), "");
}

TEST(ExtractFields, DateAndTimeOnSeparateLinesCombine) {
  auto f = incident("Fecha: 26/11/2026\nHora aproximada: 10:30");
  EXPECT_EQ(f.value("occurred_at", ""), "2026-11-26T16:30:00Z");
}

TEST(ExtractFields, ImpossibleDatesAreLeftOut) {
  EXPECT_EQ(when("31/02/2026 10:30"), "");
  EXPECT_EQ(when("26/11/2026 25:30"), "");
  EXPECT_EQ(when("26/11/2026 13:30 pm"), "");
  EXPECT_EQ(when("32 de noviembre 10:30"), "");
}

TEST(ExtractFields, WhenLabelSynonyms) {
  for (const char* t :
       {"Fecha y hora: 26/11 10:30", "Fecha: 26/11 10:30", "Hora aproximada: 26/11 10:30",
        "Date and time: 26/11 10:30", "When: 26/11 10:30"}) {
    EXPECT_EQ(incident(t).value("occurred_at", ""), "2026-11-26T16:30:00Z") << t;
  }
}

// --- activations ---

TEST(ExtractFields, ActivationLabelledInSpanish) {
  auto f = activation(
      "ID de cuenta: ACME\nNombre completo: Ana Pérez\nExtensión: 204\nDID: sí\n"
      "Tipo de extensión: Teams\nCorreo Teams: ana@acme.com\n"
      "Grupos de timbrado: Ventas, Soporte");
  EXPECT_EQ(f, (Json{{"account_id", "ACME"},
                     {"user_full_name", "Ana Pérez"},
                     {"extension", "204"},
                     {"direct_number", true},
                     {"extension_type", "teams"},
                     {"teams_email", "ana@acme.com"},
                     {"ring_groups", Json::array({"Ventas", "Soporte"})}}));
}

TEST(ExtractFields, ActivationDeckLabelsRoundTrip) {
  Json values = {{"account_id", "ACME"},      {"user_full_name", "Ana Pérez"},
                 {"extension", "204"},        {"direct_number", "sí"},
                 {"extension_type", "Teams"}, {"teams_email", "ana@acme.com"},
                 {"ring_groups", "Ventas"}};
  for (const char* lang : {"es", "en"}) {
    std::string text;
    for (const auto& spec : field_specs(CaseType::kActivation))
      text += field_label(CaseType::kActivation, spec.name, lang) + ": " +
              values[std::string(spec.name)].get<std::string>() + "\n";
    auto f = activation(text);
    EXPECT_EQ(f.size(), 7u) << lang << " " << f.dump();
    EXPECT_EQ(f.value("direct_number", false), true) << lang;
  }
}

TEST(ExtractFields, NumberedActivationAnswersFollowTheDeck) {
  auto f = activation("1) ACME\n2) Ana Pérez\n3) 204\n4) Sí\n5) Teams ana@acme.com\n6) ninguno");
  EXPECT_EQ(f, (Json{{"account_id", "ACME"},
                     {"user_full_name", "Ana Pérez"},
                     {"extension", "204"},
                     {"direct_number", true},
                     {"extension_type", "teams"},
                     {"teams_email", "ana@acme.com"},
                     {"ring_groups", Json::array()}}));
}

TEST(ExtractFields, NoRingGroupWords) {
  for (const char* t : {"ninguno", "Ninguna", "none", "No", "N/A", "no aplica", "nenhum"}) {
    EXPECT_EQ(activation(std::string("Grupos de timbrado: ") + t)["ring_groups"], Json::array())
        << t;
  }
}

TEST(ExtractFields, RingGroupListSeparators) {
  EXPECT_EQ(activation("Grupos: Ventas y Soporte")["ring_groups"],
            Json::array({"Ventas", "Soporte"}));
  EXPECT_EQ(activation("Colas: Ventas; Soporte / Cobranza")["ring_groups"],
            Json::array({"Ventas", "Soporte", "Cobranza"}));
  EXPECT_EQ(activation("Ring groups: Sales and Support.")["ring_groups"],
            Json::array({"Sales", "Support"}));
}

TEST(ExtractFields, DirectNumberAnswers) {
  struct Case {
    const char* in;
    bool out;
  };
  for (const auto& c : std::vector<Case>{{"sí", true},
                                         {"Si, por favor", true},
                                         {"yes", true},
                                         {"No", false},
                                         {"no requiere", false},
                                         {"not needed", false},
                                         {"+52 55 4170 8422", true}}) {
    auto f = activation(std::string("¿Requiere número directo (DID)?: ") + c.in);
    ASSERT_TRUE(f.contains("direct_number")) << c.in;
    EXPECT_EQ(f["direct_number"], c.out) << c.in;
  }
  EXPECT_FALSE(activation("DID: quizás").contains("direct_number"));
}

TEST(ExtractFields, ExtensionTypeChoices) {
  EXPECT_EQ(activation("Tipo de extensión: SIP")["extension_type"], "sip");
  EXPECT_EQ(activation("Tipo: Microsoft Teams")["extension_type"], "teams");
  EXPECT_EQ(activation("Extension type: teams")["extension_type"], "teams");
  EXPECT_FALSE(activation("Tipo de extensión: SIP o Teams").contains("extension_type"));
}

TEST(ExtractFields, TeamsEmailOnTheTypeLine) {
  auto f = activation("Tipo de extensión: Teams (ana@acme.com)");
  EXPECT_EQ(f["teams_email"], "ana@acme.com");
}

TEST(ExtractFields, TeamsEmailIsDroppedForSip) {
  // merge_fields refuses teams_email with a SIP extension in the same patch.
  auto f = activation("Tipo: SIP\nCorreo Teams: ana@acme.com");
  EXPECT_EQ(f, (Json{{"extension_type", "sip"}}));
}

TEST(ExtractFields, GenericEmailLabelCountsOnlyForTeams) {
  EXPECT_EQ(activation("Tipo: Teams\nCorreo: ana@acme.com").value("teams_email", ""),
            "ana@acme.com");
  EXPECT_FALSE(activation("Correo: jefe@acme.com").contains("teams_email"));
  EXPECT_FALSE(activation("Tipo: SIP\nEmail: jefe@acme.com").contains("teams_email"));
}

TEST(ExtractFields, InvalidEmailIsLeftOut) {
  EXPECT_FALSE(activation("Tipo: Teams\nCorreo Teams: ana arroba acme").contains("teams_email"));
}

TEST(ExtractFields, MailAccountLabelIsNotTheAccountId) {
  auto f = activation("Cuenta de correo: ana@acme.com\nID de cuenta: ACME");
  EXPECT_EQ(f, (Json{{"account_id", "ACME"}}));
}

TEST(ExtractFields, AnexoIsAnExtensionInActivationsToo) {
  EXPECT_EQ(activation("Anexo deseado: 3021")["extension"], "3021");
}

TEST(ExtractFields, NumberSevenIsNotInTheActivationDeck) {
  EXPECT_TRUE(activation("7) Ventas").empty());
}

// ---------------------------------------------------------------------------------------
// field_label

TEST(FieldLabel, SpanishByDefaultEnglishOnRequest) {
  EXPECT_EQ(field_label(CaseType::kIncident, "counterpart_number", "es"),
            "Número de la contraparte");
  EXPECT_EQ(field_label(CaseType::kIncident, "counterpart_number", "en"), "Counterpart number");
  EXPECT_EQ(field_label(CaseType::kIncident, "counterpart_number", "EN-us"), "Counterpart number");
  EXPECT_EQ(field_label(CaseType::kIncident, "counterpart_number", "pt"),
            "Número de la contraparte");
  EXPECT_EQ(field_label(CaseType::kActivation, "teams_email", "en"),
            "Email to link (Microsoft Teams)");
}

TEST(FieldLabel, UnknownFieldFallsBackToItsName) {
  EXPECT_EQ(field_label(CaseType::kIncident, "colour", "es"), "colour");
  EXPECT_EQ(field_label(CaseType::kRequest, "extension", "en"), "extension");
}

TEST(Classify, AbuseFeedbackReportIsNeverAPerson) {
  MailMessage m;
  m.from = {"FBL", "fbl@isp.example"};
  m.subject = "Abuse report";
  m.report_type = "feedback-report";
  DeskIdentity desk;
  auto c = classify_mail(m, desk);
  EXPECT_EQ(c.kind, MailKind::kBulk);
  MailMessage by_header;
  by_header.from = {"", "fbl@isp.example"};
  by_header.headers["content-type"] = "multipart/report; report-type=feedback-report; boundary=x";
  EXPECT_EQ(classify_mail(by_header, desk).kind, MailKind::kBulk);
}

}  // namespace
}  // namespace escala::core
