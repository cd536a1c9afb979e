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
  kPerson,       // written by a person: may create or join a case
  kAutoReply,    // RFC 3834 auto-replies, vacation / out-of-office, X-Autoreply...
  kBounce,       // a permanent delivery failure (RFC 3464 failed, classic MTA bounces)
  kDelay,        // a delivery delay notice (RFC 3464 delayed, "delayed" subjects)
  kReadReceipt,  // RFC 8098 disposition notifications, "Read:" / "Leído:" receipts
  kBulk,         // Precedence bulk/list/junk, mailing lists, newsletters
  kOwnLoop,      // one of Escala's own messages coming back
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
  std::string loop_token;         // value of the X-Escala-Loop header Escala puts on its mail
  std::string message_id_domain;  // right-hand side of the Message-IDs Escala generates
};

// Classifies a message. Order: own loop, bounce/delay (RFC 3464 or classic), read receipt,
// auto-reply (RFC 3834 Auto-Submitted other than "no", X-Autoreply, X-Autorespond,
// Precedence auto_reply, X-Auto-Response-Suppress on a reply, out-of-office subjects in
// Spanish, English and Portuguese), bulk (Precedence bulk/list/junk, List-Id with
// List-Unsubscribe); otherwise a person.
// Details that matter:
// - Own loop: X-Escala-Loop equal to the desk's token (any value when no token is
//   configured; another desk's token is not a loop), the message's own Message-ID in
//   `message_id_domain`, or From one of the desk's mailboxes. In-Reply-To/References
//   pointing at our mail are a customer's reply, never a loop.
// - A delivery-status report is a bounce when any recipient failed, a delay when some were
//   only delayed, and an automatic (kAutoReply) success notice when none did either.
//   MAILER-DAEMON is always a bounce (or a delay by subject); "postmaster" only with a
//   bounce subject or a sign of automation, since a customer's postmaster may write.
// - X-Auto-Response-Suppress "All" (Exchange's own auto-replies) counts on any message;
//   "OOF"/"AutoReply" only on a reply, because applications put them on new mail.
// - Words a person could begin a subject with ("Ausente", "Vacation") count only as the
//   whole subject or before a colon.
MailClass classify_mail(const MailMessage& m, const DeskIdentity& desk);

// The case number a subject names in brackets, e.g. "RE: RV: [CMW-000123] Sin tono" → 123
// with prefix "CMW-". Only the bracketed form counts; the first well-formed one wins.
// Well-formed: '[', optional spaces, the prefix (any case), 1 to 12 digits (not all
// zeros), optional spaces, ']'. "[CMW-000123x]" and "[XCMW-1]" are not case numbers.
std::optional<int64_t> case_number_in_subject(std::string_view subject, std::string_view prefix);

// The subject without reply/forward prefixes (Re:, RE:, RV:, Fwd:, FW:, AW:, WG:, RES:,
// ENC:, TR:, SV:, VS:, VB:, Antw:, Italian R: and I:, with counters such as "RE[2]:" or
// "Re(3):" and a space before the colon, in any number and case) and without a bracketed
// case number (wherever it stands).
std::string clean_subject(std::string_view subject, std::string_view prefix);

// The part of a reply the customer wrote: without quoted history (">" lines, "On … wrote:",
// "El … escribió:", "Em … escreveu:", "-----Original Message-----", "-----Mensaje
// original-----", Outlook "From:/De: … Sent:/Enviado:" blocks, forwarded-message markers)
// and without signatures ("-- " line, "Sent from my …", "Enviado desde mi …"). Never
// empty when the input has text outside the quotes.
// A reply with nothing new (an empty top-post, only a signature) comes back with only the
// signature removed, quotes included, so nothing the customer wrote is lost; detect_intent
// re-strips its input, so quoted desk text never reads as the customer's answer. Inline
// answers between quoted lines are kept; the quoted lines go.
std::string strip_quoted_and_signature(std::string_view text);

enum class CustomerIntent { kNone, kConfirm, kNotSolved };

// What a customer's reply to a resolved case says, read from the stripped text: confirms
// ("confirmo", "resuelto", "sí, funciona", "ya funciona", "confirmed", "it works",
// "solved", "pode fechar"...) or says it is not solved ("no funciona", "sigue fallando",
// "no está resuelto", "not solved", "still not working", "não funciona"...). Negations
// win over the words they contain; anything unclear is kNone.
// Decisions: any not-solved sign wins over confirmations in the same reply ("funciona la
// 204 pero la 205 no"); "ya no falla" / "no problem" are positive; a bare "No" (or "No,
// gracias") is kNotSolved; an assent ("Sí", "Ok", "Yes") confirms only with nothing but
// courtesy around it; "Gracias" alone is kNone (it may thank for an update); questions
// never confirm; "no sé", "voy a probar", "te confirmo (luego)" are kNone; clauses after
// "si vuelve…" / "if it…" are conditions and ignored.
CustomerIntent detect_intent(std::string_view stripped_text);

// The case type a new message asks for, given the mailbox's default: activation words
// ("activación", "alta de extensión", "nueva extensión", "new extension", "activation")
// make an activation; incident words ("no funciona", "sin tono", "no puedo llamar",
// "incidencia", "falla", "not working", "outage", "cannot call") an incident; otherwise
// the default. Words in the subject weigh twice; on a tie an activation or incident
// mailbox keeps its default, and a general mailbox takes the incident. Only the first 4 KB
// of the text are read.
CaseType guess_case_type(CaseType mailbox_default, std::string_view subject, std::string_view text);

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
// Dates are D/M (Latin America) unless only M/D reads ("11/26"); "hoy", "ayer", "anteayer"
// (and English/Portuguese) are days at `offset`; a day without a time or a time without a
// day is left out; a date and a time on separate labelled lines combine. Every value
// returned has been passed through merge_fields, so the object merges as is; teams_email
// is left out when the same text says SIP, and a generic "Correo:" counts as the Teams
// address only when the text says Teams. Lines starting with '>' are never read.
Json extract_fields(CaseType type, std::string_view text, Instant received, Seconds offset);

// The label of a required field in "es" or "en", for messages that ask for missing data
// (field_specs' labels; "en…" languages get English, anything else Spanish (D5); an
// unknown field gives its own name).
std::string field_label(CaseType type, std::string_view field, std::string_view language);

}  // namespace escala::core
