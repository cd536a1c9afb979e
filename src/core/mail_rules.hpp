#pragma once
// The rules of the email channel, pure: what kind of message this is (a person, an
// auto-reply, a bounce...), which case a subject names, what required data a body
// carries, what the customer's words mean (confirm / not solved), and what part of a
// reply is new. Used by services/inbound_mail; no I/O, no clock (instants are passed in).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/mail.hpp"
#include "core/model.hpp"

namespace escala::core {

enum class MailKind {
  kPerson,        // written by a person: may create or join a case
  kAutoReply,     // RFC 3834 auto-replies, vacation / out-of-office, X-Autoreply...
  kBounce,        // a permanent delivery failure (RFC 3464 failed, classic MTA bounces)
  kDelay,         // a delivery delay notice (RFC 3464 delayed, "delayed" subjects)
  kReadReceipt,   // RFC 8098 disposition notifications, "Read:" / "Leído:" receipts
  kBulk,          // Precedence bulk/list/junk, mailing lists, newsletters
  kOwnLoop,       // one of Escala's own messages coming back
};

std::string_view to_string(MailKind k);

struct MailClass {
  MailKind kind = MailKind::kPerson;
  std::string reason;  // which rule decided, e.g. "Auto-Submitted: auto-replied"
  // Bounces and delays: the addresses that failed (lower case), when known.
  std::vector<std::string> failed_recipients;
};

// What the classifier knows about the desk itself.
struct DeskIdentity {
  std::vector<std::string> mailbox_addresses;  // lower case
  std::string loop_token;  // value of the X-Escala-Loop header Escala puts on its mail
  std::string message_id_domain;  // right-hand side of the Message-IDs Escala generates
};

// Classifies a message. Order: own loop, bounce/delay (RFC 3464 or classic), read receipt,
// auto-reply (RFC 3834 Auto-Submitted other than "no", X-Autoreply, X-Autorespond,
// Precedence auto_reply, X-Auto-Response-Suppress on a reply, out-of-office subjects in
// Spanish, English and Portuguese), bulk (Precedence bulk/list/junk, List-Id with
// List-Unsubscribe); otherwise a person.
MailClass classify_mail(const MailMessage& m, const DeskIdentity& desk);

// The case number a subject names in brackets, e.g. "RE: RV: [CMW-000123] Sin tono" → 123
// with prefix "CMW-". Only the bracketed form counts; the first well-formed one wins.
std::optional<int64_t> case_number_in_subject(std::string_view subject,
                                              std::string_view prefix);

// The subject without reply/forward prefixes (Re:, RE:, RV:, Fwd:, FW:, AW:, WG:, RES:,
// ENC:, TR:, SV:, in any number and case) and without a bracketed case number.
std::string clean_subject(std::string_view subject, std::string_view prefix);

// The part of a reply the customer wrote: without quoted history (">" lines, "On … wrote:",
// "El … escribió:", "Em … escreveu:", "-----Original Message-----", "-----Mensaje
// original-----", Outlook "From:/De: … Sent:/Enviado:" blocks, forwarded-message markers)
// and without signatures ("-- " line, "Sent from my …", "Enviado desde mi …"). Never
// empty when the input has text outside the quotes.
std::string strip_quoted_and_signature(std::string_view text);

enum class CustomerIntent { kNone, kConfirm, kNotSolved };

// What a customer's reply to a resolved case says, read from the stripped text: confirms
// ("confirmo", "resuelto", "sí, funciona", "ya funciona", "confirmed", "it works",
// "solved", "pode fechar"...) or says it is not solved ("no funciona", "sigue fallando",
// "no está resuelto", "not solved", "still not working", "não funciona"...). Negations
// win over the words they contain; anything unclear is kNone.
CustomerIntent detect_intent(std::string_view stripped_text);

// The case type a new message asks for, given the mailbox's default: activation words
// ("activación", "alta de extensión", "nueva extensión", "new extension", "activation")
// make an activation; incident words ("no funciona", "sin tono", "no puedo llamar",
// "incidencia", "falla", "not working", "outage", "cannot call") an incident; otherwise
// the default.
CaseType guess_case_type(CaseType mailbox_default, std::string_view subject,
                         std::string_view text);

// Required data written in a body (R2.1, R2.2): labelled lines in Spanish or English
// ("Extensión: 204", "Número contraparte: +52 55 1234 5678", "Tráfico: saliente",
// "Dirección: entrante", "Fecha y hora: 26/11 10:30", "ID de cuenta: ACME",
// "Nombre completo: Ana Pérez", "DID: sí", "Tipo de extensión: Teams",
// "Correo Teams: ana@acme.com", "Grupos de timbrado: Ventas, Soporte" / "ninguno") and
// numbered answers in the deck's order ("1) 204", "2. saliente", "3 - 5512345678"...).
// Returns an object of field name → value in the form merge_fields accepts (extensions
// and numbers as strings, direct_number as bool, ring_groups as an array, occurred_at as
// ISO 8601 UTC). Dates without a year take the year of `received` (the previous year if
// that would put them in the future); times without a zone are read at `offset`.
// Values that cannot be read are left out (never guessed).
Json extract_fields(CaseType type, std::string_view text, Instant received, Seconds offset);

// The label of a required field in "es" or "en", for messages that ask for missing data.
std::string field_label(CaseType type, std::string_view field, std::string_view language);

}  // namespace escala::core
