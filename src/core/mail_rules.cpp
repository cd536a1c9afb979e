#include "core/mail_rules.hpp"

#include <date/date.h>

#include <algorithm>
#include <cassert>
#include <unordered_set>
#include <array>
#include <cctype>
#include <chrono>
#include <regex>

#include "core/rules.hpp"
#include "core/text.hpp"

namespace escala::core {
namespace {

// ---------------------------------------------------------------------------------------
// Small text helpers. "Folded" text is fold_for_search output: ASCII lower case, Latin
// accents removed, Latin-1 punctuation (¿ ¡ « » NBSP) turned into spaces.

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim_view(std::string_view s) {
  size_t b = 0, e = s.size();
  while (true) {
    if (b < e && is_space(s[b])) {
      ++b;
    } else if (b + 1 < e && s[b] == '\xC2' && s[b + 1] == '\xA0') {  // NBSP
      b += 2;
    } else {
      break;
    }
  }
  while (true) {
    if (e > b && is_space(s[e - 1])) {
      --e;
    } else if (e >= b + 2 && s[e - 2] == '\xC2' && s[e - 1] == '\xA0') {
      e -= 2;
    } else {
      break;
    }
  }
  return s.substr(b, e - b);
}

std::string trim(std::string_view s) { return std::string(trim_view(s)); }

bool is_word_byte(char ch) {
  auto c = static_cast<unsigned char>(ch);
  return std::isalnum(c) || c >= 0x80;
}

// Folded text with every run of non-word characters turned into one space, with a space
// at each end, so that " phrase " searches respect word boundaries.
std::string words_only(std::string_view text) {
  std::string f = fold_for_search(text);
  std::string out = " ";
  for (char ch : f) {
    if (is_word_byte(ch) || ch == '\'') {
      out += ch;
    } else if (out.back() != ' ') {
      out += ' ';
    }
  }
  if (out.back() != ' ') out += ' ';
  return out;
}

// `hay` is words_only() output; `phrase` is folded words separated by single spaces.
bool has_words(std::string_view hay, std::string_view phrase) {
  std::string needle = " " + std::string(phrase) + " ";
  return hay.find(needle) != std::string_view::npos;
}

bool has_any_words(std::string_view hay, std::initializer_list<std::string_view> phrases) {
  for (auto p : phrases)
    if (has_words(hay, p)) return true;
  return false;
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes)
    if (s.starts_with(p)) return true;
  return false;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      lines.push_back(text.substr(start));
      break;
    }
    auto line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = nl + 1;
  }
  if (!lines.empty() && !lines.back().empty() && lines.back().back() == '\r')
    lines.back().remove_suffix(1);
  return lines;
}

std::string local_part(std::string_view address) {
  auto at = address.rfind('@');
  return ascii_lower(trim(at == std::string_view::npos ? address : address.substr(0, at)));
}

// The first token of a header value such as "auto-generated (failure)" or "bulk; x".
std::string first_token(std::string_view value) {
  std::string v = ascii_lower(trim(value));
  size_t end = v.find_first_of(" \t;(,");
  return end == std::string::npos ? v : v.substr(0, end);
}

// ---------------------------------------------------------------------------------------
// classify_mail

const std::string* header(const MailMessage& m, const char* name) { return m.header(name); }

bool header_present(const MailMessage& m, const char* name) {
  auto* h = m.header(name);
  return h && !trim_view(*h).empty();
}

// Subjects of delivery delay notices (folded, matched at the start of the subject).
bool is_delay_subject(std::string_view folded) {
  return starts_with_any(folded,
                         {"delivery status notification (delay)",
                          "delivery status notification (mail delivery delayed)", "delayed mail",
                          "delivery delayed", "mail delivery delayed", "message delayed",
                          "warning: could not send message", "warning: message ",
                          "returned mail: warning", "notificacion de estado de entrega (retraso)",
                          "entrega retrasada", "retraso en la entrega", "mensaje retrasado",
                          "entrega atrasada", "atraso na entrega", "mensagem atrasada"}) ||
         folded.find("delivery delayed") != std::string_view::npos ||
         folded.find("(delay)") != std::string_view::npos;
}

// Subjects of permanent delivery failures (folded, matched at the start of the subject).
bool is_bounce_subject(std::string_view folded) {
  return starts_with_any(folded, {"undelivered mail returned to sender",
                                  "delivery status notification (failure)",
                                  "delivery status notification",
                                  "mail delivery failed",
                                  "mail delivery failure",
                                  "failure notice",
                                  "returned mail",
                                  "undeliverable",
                                  "undelivered mail",
                                  "delivery failure",
                                  "delivery has failed",
                                  "delivery failed",
                                  "message not delivered",
                                  "mail system error",
                                  "non-delivery",
                                  "nondeliverable",
                                  "could not deliver",
                                  "no se puede entregar",
                                  "no se pudo entregar",
                                  "no entregado",
                                  "mensaje no entregado",
                                  "correo no entregado",
                                  "error de entrega",
                                  "entrega fallida",
                                  "notificacion de estado de entrega",
                                  "nao entregue",
                                  "nao foi possivel entregar",
                                  "mensagem nao entregue",
                                  "falha na entrega",
                                  "nao foi entregue",
                                  "non recapitabile",
                                  "unzustellbar",
                                  "non remis",
                                  "impossible de remettre"});
}

bool is_daemon_sender(const MailMessage& m) {
  auto local = local_part(m.from.address);
  if (local == "mailer-daemon" || local == "postmaster" || local == "mail-daemon" ||
      local == "mailerdaemon")
    return true;
  auto name = fold_for_search(m.from.name);
  return name == "mail delivery subsystem" || name == "mail delivery system" ||
         name == "mailer-daemon" || name == "mail delivery service";
}

bool null_return_path(const MailMessage& m) {
  auto* rp = header(m, "return-path");
  return rp && trim(*rp) == "<>";
}

std::vector<std::string> split_addresses(std::string_view value) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    auto t = ascii_lower(trim(cur));
    if (!t.empty() && t.front() == '<') t.erase(0, 1);
    if (!t.empty() && t.back() == '>') t.pop_back();
    if (!t.empty() && std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    cur.clear();
  };
  for (char c : value) {
    if (c == ',' || c == ';' || is_space(c)) {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  return out;
}

std::vector<std::string> recipients_with_action(const MailMessage& m, std::string_view action) {
  std::vector<std::string> out;
  for (const auto& d : m.delivery) {
    if (ascii_lower(trim(d.action)) != action) continue;
    auto r = ascii_lower(trim(d.recipient));
    if (!r.empty() && std::find(out.begin(), out.end(), r) == out.end()) out.push_back(r);
  }
  return out;
}

std::vector<std::string> x_failed_recipients(const MailMessage& m) {
  auto* h = header(m, "x-failed-recipients");
  return h ? split_addresses(*h) : std::vector<std::string>{};
}

MailClass make_class(MailKind kind, std::string reason) {
  MailClass c;
  c.kind = kind;
  c.reason = std::move(reason);
  return c;
}

MailClass bounce(const MailMessage& m, std::string reason) {
  auto c = make_class(MailKind::kBounce, std::move(reason));
  c.failed_recipients = recipients_with_action(m, "failed");
  if (c.failed_recipients.empty()) c.failed_recipients = x_failed_recipients(m);
  return c;
}

MailClass delay(const MailMessage& m, std::string reason) {
  auto c = make_class(MailKind::kDelay, std::move(reason));
  c.failed_recipients = recipients_with_action(m, "delayed");
  if (c.failed_recipients.empty()) c.failed_recipients = x_failed_recipients(m);
  return c;
}

std::string report_type_of(const MailMessage& m) {
  if (!m.report_type.empty()) return ascii_lower(trim(m.report_type));
  // The codec may leave report_type empty when it only read the top Content-Type.
  if (auto* ct = header(m, "content-type")) {
    auto v = ascii_lower(*ct);
    if (v.find("multipart/report") != std::string::npos) {
      if (v.find("delivery-status") != std::string::npos) return "delivery-status";
      if (v.find("disposition-notification") != std::string::npos)
        return "disposition-notification";
      if (v.find("feedback-report") != std::string::npos) return "feedback-report";
    }
  }
  return "";
}

std::optional<MailClass> own_loop(const MailMessage& m, const DeskIdentity& desk) {
  if (auto* loop = header(m, "x-escala-loop")) {
    auto v = trim(*loop);
    // Without a configured token any X-Escala-Loop is taken as ours; a different token is
    // another Escala desk (a person there may write to us, so it is not a loop by itself).
    if (desk.loop_token.empty() || v == desk.loop_token)
      return make_class(MailKind::kOwnLoop, "X-Escala-Loop: " + v);
  }
  if (!desk.message_id_domain.empty() && !m.message_id.empty()) {
    auto id = ascii_lower(m.message_id);
    auto suffix = "@" + ascii_lower(desk.message_id_domain);
    if (id.ends_with(suffix))
      return make_class(MailKind::kOwnLoop, "Message-ID of this desk: " + m.message_id);
  }
  auto from = ascii_lower(trim(m.from.address));
  if (!from.empty()) {
    for (const auto& mb : desk.mailbox_addresses)
      if (ascii_lower(trim(mb)) == from)
        return make_class(MailKind::kOwnLoop, "From is a desk mailbox: " + from);
  }
  return std::nullopt;
}

std::optional<MailClass> bounce_or_delay(const MailMessage& m, std::string_view subject) {
  const auto report = report_type_of(m);
  if (report == "delivery-status") {
    if (!recipients_with_action(m, "failed").empty())
      return bounce(m, "delivery-status report: failed");
    if (!recipients_with_action(m, "delayed").empty())
      return delay(m, "delivery-status report: delayed");
    if (m.delivery.empty()) {
      // A report whose per-recipient part could not be read: the subject tells.
      if (is_delay_subject(subject)) return delay(m, "delivery-status report, delay subject");
      return bounce(m, "delivery-status report without recipients");
    }
    // Only delivered / relayed / expanded: a success notice, automatic but harmless.
    return make_class(MailKind::kAutoReply, "delivery-status report without failures");
  }
  if (header_present(m, "x-failed-recipients")) return bounce(m, "X-Failed-Recipients");
  const bool daemon = is_daemon_sender(m);
  if (daemon) {
    if (is_delay_subject(subject)) return delay(m, "mailer daemon, delay subject");
    if (is_bounce_subject(subject)) return bounce(m, "mailer daemon, bounce subject");
    // MAILER-DAEMON never writes as a person; a postmaster might, so it needs a sign of
    // automation (RFC 3834, null return path or a report of another kind).
    auto* as = header(m, "auto-submitted");
    bool automated = (as && first_token(*as) != "no" && !first_token(*as).empty()) ||
                     null_return_path(m) || !report.empty();
    if (local_part(m.from.address) == "mailer-daemon" || automated)
      return bounce(m, "mailer daemon");
  }
  if (null_return_path(m)) {
    if (is_delay_subject(subject)) return delay(m, "null Return-Path, delay subject");
    if (is_bounce_subject(subject)) return bounce(m, "null Return-Path, bounce subject");
  }
  return std::nullopt;
}

std::optional<MailClass> read_receipt(const MailMessage& m, std::string_view subject) {
  if (report_type_of(m) == "disposition-notification")
    return make_class(MailKind::kReadReceipt, "disposition-notification report");
  if (starts_with_any(subject, {"read:",
                                "read :",
                                "leido:",
                                "leido :",
                                "lido:",
                                "lido :",
                                "not read:",
                                "no leido:",
                                "nao lido:",
                                "read-receipt",
                                "read receipt",
                                "return receipt",
                                "return-receipt",
                                "confirmacion de lectura",
                                "confirmacao de leitura",
                                "acuse de recibo",
                                "gelesen:",
                                "lu :",
                                "lu:",
                                "letto:"}))
    return make_class(MailKind::kReadReceipt, "read receipt subject");
  return std::nullopt;
}

bool has_reply_prefix(std::string_view folded_subject) {
  return starts_with_any(folded_subject, {"re:", "re :", "rv:", "res:", "aw:", "sv:", "r:"});
}

// Out-of-office and auto-reply subjects. Strong phrases count anywhere in the subject;
// words that a person might also start a subject with ("Ausente", "Vacation") count only
// as the whole subject or before a colon ("Ausente: Re: ...").
std::optional<std::string> auto_reply_subject(std::string_view folded) {
  auto words = words_only(folded);
  static const std::initializer_list<std::string_view> kStrong = {"respuesta automatica",
                                                                  "contestacion automatica",
                                                                  "fuera de la oficina",
                                                                  "fuera de oficina",
                                                                  "estoy ausente",
                                                                  "estare ausente",
                                                                  "auto reply",
                                                                  "autoreply",
                                                                  "auto response",
                                                                  "autoresponse",
                                                                  "autorespons",
                                                                  "automatic reply",
                                                                  "automatic response",
                                                                  "autoresponder",
                                                                  "out of office",
                                                                  "out of the office",
                                                                  "i am away",
                                                                  "i'm away",
                                                                  "i am out of the office",
                                                                  "resposta automatica",
                                                                  "ausencia temporaria",
                                                                  "fora do escritorio",
                                                                  "estou ausente",
                                                                  "away until",
                                                                  "ausente hasta",
                                                                  "de vacaciones",
                                                                  "on vacation",
                                                                  "on holiday",
                                                                  "risposta automatica",
                                                                  "automatische antwort",
                                                                  "abwesenheitsnotiz",
                                                                  "reponse automatique",
                                                                  "absence du bureau"};
  for (auto p : kStrong)
    if (has_words(words, p)) return "out-of-office subject: " + std::string(p);
  static const std::initializer_list<std::string_view> kWeak = {
      "ausente", "ausencia", "vacation", "vacaciones", "vacances",
      "ferias",  "away",     "oof",      "ooo",        "autoreply"};
  auto t = trim(folded);
  for (auto w : kWeak) {
    if (!t.starts_with(w)) continue;
    auto rest = trim_view(std::string_view(t).substr(w.size()));
    if (rest.empty() || rest.front() == ':') return "out-of-office subject: " + std::string(w);
  }
  return std::nullopt;
}

std::optional<MailClass> auto_reply(const MailMessage& m, std::string_view subject) {
  if (auto* as = header(m, "auto-submitted")) {
    auto v = first_token(*as);
    if (!v.empty() && v != "no") return make_class(MailKind::kAutoReply, "Auto-Submitted: " + v);
  }
  for (const char* name : {"x-autoreply", "x-autorespond"}) {
    if (auto* h = header(m, name)) {
      auto v = first_token(*h);
      if (v != "no" && v != "false" && v != "0")
        return make_class(MailKind::kAutoReply, std::string(name) + ": " + trim(*h));
    }
  }
  if (auto* p = header(m, "precedence")) {
    auto v = first_token(*p);
    if (v == "auto_reply" || v == "auto-reply")
      return make_class(MailKind::kAutoReply, "Precedence: " + v);
  }
  if (auto* s = header(m, "x-auto-response-suppress")) {
    // Exchange writes "All" on its own automatic replies; other values (OOF, AutoReply)
    // also appear on mail from applications, so they count only on a reply.
    auto v = ascii_lower(*s);
    bool all = words_only(v).find(" all ") != std::string::npos;
    bool oof = words_only(v).find(" oof ") != std::string::npos ||
               words_only(v).find(" autoreply ") != std::string::npos;
    bool reply = !m.in_reply_to.empty() || !m.references.empty() || has_reply_prefix(subject);
    if (all || (oof && reply))
      return make_class(MailKind::kAutoReply, "X-Auto-Response-Suppress: " + trim(*s));
  }
  if (auto why = auto_reply_subject(subject)) return make_class(MailKind::kAutoReply, *why);
  return std::nullopt;
}

std::optional<MailClass> bulk(const MailMessage& m) {
  if (auto* p = header(m, "precedence")) {
    auto v = first_token(*p);
    if (v == "bulk" || v == "list" || v == "junk")
      return make_class(MailKind::kBulk, "Precedence: " + v);
  }
  if (header_present(m, "list-unsubscribe")) {
    if (header_present(m, "list-id"))
      return make_class(MailKind::kBulk, "List-Id with List-Unsubscribe");
    // Campaign senders (Gmail's bulk-sender rules) tag mail with Feedback-ID.
    if (header_present(m, "feedback-id"))
      return make_class(MailKind::kBulk, "Feedback-ID with List-Unsubscribe");
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------
// Quotes and signatures

bool is_blank(std::string_view line) { return trim_view(line).empty(); }

bool is_quote_line(std::string_view line) {
  auto t = trim_view(line);
  return !t.empty() && t.front() == '>';
}

// "-- " (RFC 3676) and the footers mobile clients add.
bool is_signature_marker(std::string_view line) {
  auto t = trim_view(line);
  if (t == "--" || t == "-- " || t == "\xE2\x80\x94") return true;
  // Every phrase below starts with s, g, e or o and is short: test that before folding
  // (this runs for every line of every message).
  if (t.empty() || t.size() > 160) return false;
  const char first = static_cast<char>(std::tolower(static_cast<unsigned char>(t.front())));
  if (first != 's' && first != 'g' && first != 'e' && first != 'o') return false;
  auto f = trim(fold_for_search(t));
  if (f.size() > 80) return false;
  return starts_with_any(f, {"sent from my ",
                             "sent from mail for windows",
                             "sent from yahoo mail",
                             "sent from outlook",
                             "sent from samsung",
                             "sent with ",
                             "get outlook for ",
                             "enviado desde mi ",
                             "enviado desde correo",
                             "enviado desde yahoo",
                             "enviado desde outlook",
                             "enviado desde el ",
                             "enviado desde samsung",
                             "enviado do meu ",
                             "enviado do ",
                             "enviado de meu ",
                             "enviado de mi ",
                             "obtener outlook para ",
                             "obtenga outlook para ",
                             "obter o outlook para ",
                             "envoye de mon ",
                             "von meinem ",
                             "inviato da "});
}

// A line made of a marker such as "-----Original Message-----" or "Begin forwarded
// message:" and nothing else but dashes, underscores, '#', '*' and spaces.
bool is_separator_marker(std::string_view line) {
  // Separators are short, and either stand alone or are drawn with - _ # * = or end in ':'.
  auto t = trim_view(line);
  if (t.empty() || t.size() > 120) return false;
  if (t.size() > 40 && t.find_first_of("-_#*=:") == std::string_view::npos) return false;
  auto f = fold_for_search(t);
  std::string core;
  for (char c : f)
    if (c != '-' && c != '_' && c != '#' && c != '*' && c != '=') core += c;
  core = trim(core);
  if (core.empty()) return false;
  static const std::array<std::string_view, 24> kMarkers = {"original message",
                                                            "mensaje original",
                                                            "mensagem original",
                                                            "message d'origine",
                                                            "ursprungliche nachricht",
                                                            "messaggio originale",
                                                            "forwarded message",
                                                            "mensaje reenviado",
                                                            "mensagem encaminhada",
                                                            "mensagem reencaminhada",
                                                            "message transfere",
                                                            "weitergeleitete nachricht",
                                                            "begin forwarded message:",
                                                            "inicio del mensaje reenviado:",
                                                            "comienzo del mensaje reenviado:",
                                                            "inicio da mensagem reencaminhada:",
                                                            "inicio da mensagem encaminhada:",
                                                            "inizio messaggio inoltrato:",
                                                            "messaggio inoltrato",
                                                            "reply above this line",
                                                            "responda por encima de esta linea",
                                                            "escriba por encima de esta linea",
                                                            "responda acima desta linha",
                                                            "mensaje reenviado:"};
  for (auto m : kMarkers) {
    if (core == m) return true;
    if (m.back() != ':' && core == std::string(m) + ":") return true;
  }
  return false;
}

// The label of a header-like line ("From:", "*De:*", "Enviado el:"), folded, or "".
std::string header_label(std::string_view line) {
  auto t = trim_view(line);
  auto colon = t.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 20) return "";
  std::string label;
  for (char c : fold_for_search(t.substr(0, colon)))
    if (c != '*') label += c;
  return trim(label);
}

bool is_from_label(const std::string& l) {
  return l == "from" || l == "de" || l == "von" || l == "da" || l == "van" || l == "fra" ||
         l == "od" || l == "remitente";
}

bool is_other_header_label(const std::string& l) {
  static const std::array<std::string_view, 27> kLabels = {
      "sent",    "enviado",  "enviado el", "enviada em", "enviado em", "date",        "fecha",
      "data",    "gesendet", "datum",      "inviato",    "envoye",     "to",          "para",
      "a",       "an",       "cc",         "bcc",        "subject",    "asunto",      "assunto",
      "betreff", "oggetto",  "objet",      "cco",        "para:",      "destinatario"};
  return std::find(kLabels.begin(), kLabels.end(), l) != kLabels.end();
}

// Outlook's quote header: "From:/De:" followed closely by at least two of Sent/Date/To/
// Subject in any of the languages Outlook writes them.
bool is_header_block(const std::vector<std::string_view>& lines, size_t i) {
  if (!is_from_label(header_label(lines[i]))) return false;
  int others = 0;
  for (size_t j = i + 1; j < lines.size() && j <= i + 7; ++j) {
    if (is_blank(lines[j])) continue;
    if (is_other_header_label(header_label(lines[j]))) ++others;
  }
  return others >= 2;
}

bool is_underscore_rule(std::string_view line) {
  auto t = trim_view(line);
  return t.size() >= 8 && std::all_of(t.begin(), t.end(), [](char c) { return c == '_'; });
}

// How wrapped attributions begin: a lead word or a date.
bool starts_like_attribution(std::string_view line) {
  auto f = fold_for_search(trim_view(line));
  return starts_with_any(f, {"on ", "el ", "em ", "le ", "am ", "il ", "op ", "den ", "-"}) ||
         (!f.empty() && std::isdigit(static_cast<unsigned char>(f.front())));
}

// "On … wrote:", "El … escribió:", "Em … escreveu:" and the like, possibly wrapped over
// up to three lines. Returns the number of lines it spans (0 when not an attribution).
size_t attribution_span(const std::vector<std::string_view>& lines, size_t i) {
  static const std::array<std::string_view, 12> kEnds = {
      "wrote:",      "wrote :",   "escribio:",
      "escribio :",  "escreveu:", "escreveu :",
      "a ecrit :",   "a ecrit:",  "schrieb:",
      "ha scritto:", "skrev:",    "\xD0\xBD\xD0\xB0\xD0\xBF\xD0\xB8\xD1\x81\xD0\xB0\xD0\xBB:"};
  // Every ending above has a colon: lines without one nearby cannot be an attribution
  // (checked before folding; this runs for every line of every message).
  bool colon = false;
  for (size_t k = 0; k < 3 && i + k < lines.size() && !colon; ++k)
    colon = lines[i + k].find(':') != std::string_view::npos;
  if (!colon) return 0;
  std::string joined;
  for (size_t k = 0; k < 3 && i + k < lines.size(); ++k) {
    if (k > 0 && is_blank(lines[i + k])) break;
    if (k > 0) joined += ' ';
    joined += fold_for_search(trim_view(lines[i + k]));
    if (joined.size() > 400) return 0;
    for (auto e : kEnds) {
      if (joined.ends_with(e)) {
        bool looks_like_one = std::any_of(joined.begin(), joined.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) || c == '@';
        });
        if (!looks_like_one) return 0;
        // A wrapped attribution starts at its own line: when it also reads from the next
        // line, this line is the customer's ("Hello" above a two-line Android header).
        if (k > 0 &&
            (!starts_like_attribution(lines[i]) ||
             (starts_like_attribution(lines[i + 1]) && attribution_span(lines, i + 1) > 0)))
          return 0;
        return k + 1;
      }
    }
    if (!joined.empty() && joined.back() == ':') return 0;  // another kind of line
  }
  return 0;
}

bool is_hard_cut(const std::vector<std::string_view>& lines, size_t i) {
  if (is_separator_marker(lines[i]) || is_header_block(lines, i)) return true;
  if (is_underscore_rule(lines[i])) {
    size_t j = i + 1;
    while (j < lines.size() && is_blank(lines[j])) ++j;
    return j < lines.size() && is_header_block(lines, j);
  }
  return false;
}

bool is_quote_start(const std::vector<std::string_view>& lines, size_t i) {
  return is_quote_line(lines[i]) || is_hard_cut(lines, i) || attribution_span(lines, i) > 0;
}

std::string join_lines(const std::vector<std::string_view>& kept) {
  std::string out;
  bool pending_blank = false;
  for (auto l : kept) {
    std::string_view line = l;
    while (!line.empty() && is_space(line.back())) line.remove_suffix(1);
    if (is_blank(line)) {
      pending_blank = !out.empty();
      continue;
    }
    if (pending_blank)
      out += "\n\n";
    else if (!out.empty())
      out += '\n';
    out += line;
    pending_blank = false;
  }
  return out;
}

// Quotes, quote headers and signatures removed; may be empty.
std::string strip_all(std::string_view text) {
  auto lines = split_lines(text);
  std::vector<std::string_view> kept;
  size_t i = 0;
  while (i < lines.size()) {
    if (is_signature_marker(lines[i]) || is_hard_cut(lines, i)) break;
    if (size_t span = attribution_span(lines, i)) {
      size_t j = i + span;
      while (j < lines.size() && is_blank(lines[j])) ++j;
      if (j < lines.size() && is_quote_line(lines[j])) {
        i = j;  // a quoted block follows: drop the attribution, keep reading after it
        continue;
      }
      break;  // unquoted history follows (Yahoo, forwarded blocks)
    }
    if (!is_quote_line(lines[i])) kept.push_back(lines[i]);
    ++i;
  }
  return join_lines(kept);
}

// Only the signature blocks removed: from a signature marker to the next quote.
std::string strip_signature_only(std::string_view text) {
  auto lines = split_lines(text);
  std::vector<std::string_view> kept;
  bool in_signature = false;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (is_signature_marker(lines[i])) {
      in_signature = true;
      continue;
    }
    if (in_signature && !is_quote_start(lines, i)) continue;
    in_signature = false;
    kept.push_back(lines[i]);
  }
  return join_lines(kept);
}

// ---------------------------------------------------------------------------------------
// Intent

struct Clause {
  std::vector<std::string> words;
  bool question = false;
};

// Splits folded text into clauses (at , ; : . ! ? and line ends); each clause knows
// whether its sentence is a question ("¿…?" or "…?").
std::vector<Clause> clauses_of(std::string_view text) {
  // '¿' is folded to a space; mark it first so questions without a final '?' are seen.
  std::string marked;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\xC2' && i + 1 < text.size() && text[i + 1] == '\xBF') {
      marked += '\x01';
      ++i;
    } else if (text.substr(i).starts_with("\xE2\x80\x99")) {  // ’
      marked += '\'';
      i += 2;
    } else {
      marked += text[i];
    }
  }
  std::string f = fold_for_search(marked);
  std::vector<Clause> out;
  std::vector<Clause> sentence;
  Clause cur;
  std::string word;
  bool sentence_question = false;
  auto end_word = [&] {
    if (!word.empty()) cur.words.push_back(std::move(word));
    word.clear();
  };
  auto end_clause = [&] {
    end_word();
    if (!cur.words.empty()) sentence.push_back(std::move(cur));
    cur = Clause{};
  };
  auto end_sentence = [&](bool question) {
    end_clause();
    for (auto& c : sentence) {
      c.question = question || sentence_question;
      out.push_back(std::move(c));
    }
    sentence.clear();
    sentence_question = false;
  };
  for (char ch : f) {
    if (is_word_byte(ch) || ch == '\'') {
      word += ch;
    } else if (ch == '\x01') {
      end_word();
      sentence_question = true;
    } else if (ch == '?') {
      end_sentence(true);
    } else if (ch == '.' || ch == '!' || ch == '\n') {
      end_sentence(false);
    } else if (ch == ',' || ch == ';' || ch == ':' || ch == '(' || ch == ')') {
      end_clause();
    } else {
      end_word();
    }
  }
  end_sentence(false);
  return out;
}

// Finds `phrase` (space-separated words) in `words` starting at or after `from`.
size_t find_phrase(const std::vector<std::string>& words, std::string_view phrase,
                   size_t from = 0) {
  std::vector<std::string_view> parts;
  size_t s = 0;
  while (s < phrase.size()) {
    size_t e = phrase.find(' ', s);
    if (e == std::string_view::npos) e = phrase.size();
    parts.push_back(phrase.substr(s, e - s));
    s = e + 1;
  }
  if (parts.empty() || words.size() < parts.size()) return std::string::npos;
  for (size_t i = from; i + parts.size() <= words.size(); ++i) {
    bool match = true;
    for (size_t k = 0; k < parts.size() && match; ++k) match = words[i + k] == parts[k];
    if (match) return i;
  }
  return std::string::npos;
}

// Removes every occurrence of the phrases; returns true when one was found.
bool erase_phrases(std::vector<std::string>& words,
                   std::initializer_list<std::string_view> phrases) {
  bool found = false;
  for (auto p : phrases) {
    size_t n = std::count(p.begin(), p.end(), ' ') + 1;
    size_t at;
    while ((at = find_phrase(words, p)) != std::string::npos) {
      words.erase(words.begin() + at, words.begin() + at + n);
      found = true;
    }
  }
  return found;
}

bool is_negator(std::string_view w) {
  static const std::array<std::string_view, 22> kNeg = {
      "no",     "not",     "nao",     "nunca",  "never", "tampoco", "sin",    "nor",
      "ni",     "don't",   "doesn't", "didn't", "isn't", "wasn't",  "aren't", "won't",
      "hasn't", "haven't", "can't",   "cannot", "nem",   "jamas"};
  return std::find(kNeg.begin(), kNeg.end(), w) != kNeg.end();
}

// "If it fails again I'll write": a condition says nothing about now.
void cut_conditionals(std::vector<std::string>& words) {
  static const std::initializer_list<std::string_view> kMarkers = {
      "si vuelve",    "si se vuelve", "si vuelven",  "si falla",     "si sigue",  "si persiste",
      "si hay",       "si tengo",     "si tenemos",  "si ocurre",    "si pasa",   "si se presenta",
      "si se repite", "si algo",      "en caso de",  "en caso que",  "if it",     "if there",
      "if anything",  "if the",       "in case",     "should it",    "se voltar", "se acontecer",
      "se houver",    "caso volte",   "caso ocorra", "se o problema"};
  size_t cut = words.size();
  for (auto m : kMarkers) cut = std::min(cut, find_phrase(words, m));
  words.resize(cut);
}

enum class Signal { kNone, kConfirm, kNotSolved, kUnsure };

std::vector<Signal> clause_signals(std::vector<std::string> words, bool question) {
  std::vector<Signal> out;
  cut_conditionals(words);
  // Negations that mean it is fine now ("ya no falla", "no more issues").
  if (erase_phrases(words, {"ya no falla",
                            "ya no fallan",
                            "ya no se corta",
                            "ya no se cortan",
                            "ya no hay problema",
                            "ya no hay problemas",
                            "ya no tengo problema",
                            "ya no tengo problemas",
                            "ya no tenemos problemas",
                            "ya no presenta",
                            "no hay problema",
                            "no hubo problema",
                            "sin problema",
                            "sin problemas",
                            "sin novedad",
                            "sin inconvenientes",
                            "sin fallas",
                            "no more issues",
                            "no more problems",
                            "no issues",
                            "no problems",
                            "no longer fails",
                            "no longer failing",
                            "no problem",
                            "nao falha mais",
                            "sem problemas",
                            "sem problema",
                            "nao tem mais problema",
                            "nao ha mais problema",
                            "no tengo mas problemas",
                            "no hemos tenido mas problemas",
                            "no ha vuelto a fallar",
                            "no volvio a fallar",
                            "no se ha vuelto a presentar",
                            "no ha vuelto a pasar",
                            "no volvio a pasar"}) &&
      !question)
    out.push_back(Signal::kConfirm);
  // Not committed either way.
  if (erase_phrases(
          words, {"no se si",        "no lo se",         "no estoy seguro",  "no estoy segura",
                  "no he probado",   "no lo he probado", "no hemos probado", "no lo hemos probado",
                  "voy a probar",    "vamos a probar",   "lo pruebo",        "lo probamos",
                  "lo voy a probar", "not sure",         "not tested",       "haven't tested",
                  "have not tested", "will test",        "will try",         "let me check",
                  "let me test",     "nao sei",          "nao testei",       "vou testar",
                  "vamos testar"}) ||
      words == std::vector<std::string>{"no", "se"} ||
      words == std::vector<std::string>{"nao", "sei"})
    out.push_back(Signal::kUnsure);
  // "Te confirmo" announces an answer ("te confirmo en la tarde"); when it is one, other
  // words say so ("le confirmo que ya quedó").
  erase_phrases(words, {"te confirmo", "le confirmo", "les confirmo", "lo confirmo",
                        "te confirmamos", "les confirmamos"});
  static const std::initializer_list<std::string_view> kNotSolved = {"sigue igual",
                                                                     "sigue fallando",
                                                                     "sigue sin",
                                                                     "sigue el problema",
                                                                     "sigue con el problema",
                                                                     "sigue con problemas",
                                                                     "siguen fallando",
                                                                     "siguen igual",
                                                                     "sigue pasando",
                                                                     "sigue ocurriendo",
                                                                     "sigue presentando",
                                                                     "continua igual",
                                                                     "continua fallando",
                                                                     "continua sin",
                                                                     "continua el problema",
                                                                     "continuan",
                                                                     "persiste",
                                                                     "persisten",
                                                                     "todavia no",
                                                                     "aun no",
                                                                     "aun falla",
                                                                     "todavia falla",
                                                                     "aun sigue",
                                                                     "todavia sigue",
                                                                     "no sirve",
                                                                     "sin resolver",
                                                                     "vuelve a fallar",
                                                                     "volvio a fallar",
                                                                     "volvio a pasar",
                                                                     "otra vez",
                                                                     "de nuevo",
                                                                     "nuevamente",
                                                                     "reabrir",
                                                                     "reabran",
                                                                     "a medias",
                                                                     "parcialmente",
                                                                     "intermitente",
                                                                     "intermitencia",
                                                                     "a veces",
                                                                     "mismo problema",
                                                                     "el mismo error",
                                                                     "not yet",
                                                                     "still",
                                                                     "no luck",
                                                                     "same problem",
                                                                     "same issue",
                                                                     "same error",
                                                                     "reopen",
                                                                     "keeps failing",
                                                                     "keeps dropping",
                                                                     "again",
                                                                     "doesn't work",
                                                                     "does not work",
                                                                     "didn't work",
                                                                     "did not work",
                                                                     "won't work",
                                                                     "not work",
                                                                     "unsolved",
                                                                     "unresolved",
                                                                     "partially",
                                                                     "intermittent",
                                                                     "sometimes",
                                                                     "ainda nao",
                                                                     "ainda com",
                                                                     "continua com",
                                                                     "o problema continua",
                                                                     "mesmo problema",
                                                                     "reabrir o chamado",
                                                                     "nao deu certo",
                                                                     "de novo"};
  for (auto p : kNotSolved)
    if (find_phrase(words, p) != std::string::npos) {
      out.push_back(Signal::kNotSolved);
      return out;
    }
  static const std::initializer_list<std::string_view> kConfirm = {"confirmo",
                                                                   "confirmado",
                                                                   "confirmada",
                                                                   "confirmamos",
                                                                   "resuelto",
                                                                   "resuelta",
                                                                   "solucionado",
                                                                   "solucionada",
                                                                   "funciona",
                                                                   "funcionan",
                                                                   "funcionando",
                                                                   "funciono",
                                                                   "funcionaba",
                                                                   "quedo",
                                                                   "quedaron",
                                                                   "listo",
                                                                   "lista",
                                                                   "pueden cerrar",
                                                                   "puede cerrar",
                                                                   "pueden cerrarlo",
                                                                   "podemos cerrar",
                                                                   "cerrar el caso",
                                                                   "cerrar el ticket",
                                                                   "ya esta",
                                                                   "todo bien",
                                                                   "todo ok",
                                                                   "todo correcto",
                                                                   "todo en orden",
                                                                   "perfecto",
                                                                   "excelente",
                                                                   "genial",
                                                                   "correcto",
                                                                   "de acuerdo",
                                                                   "confirmed",
                                                                   "confirm",
                                                                   "works",
                                                                   "working",
                                                                   "worked",
                                                                   "solved",
                                                                   "resolved",
                                                                   "fixed",
                                                                   "all good",
                                                                   "close the case",
                                                                   "close the ticket",
                                                                   "can close",
                                                                   "please close",
                                                                   "perfect",
                                                                   "great",
                                                                   "awesome",
                                                                   "resolvido",
                                                                   "resolvida",
                                                                   "funcionou",
                                                                   "pode fechar",
                                                                   "podem fechar",
                                                                   "tudo certo",
                                                                   "tudo ok",
                                                                   "deu certo",
                                                                   "perfeito",
                                                                   "otimo",
                                                                   "fechar o chamado"};
  for (auto p : kConfirm) {
    size_t at = find_phrase(words, p);
    while (at != std::string::npos) {
      // A negator up to three words before turns the confirmation around ("no quedó
      // resuelto", "it is not fixed", "não funcionou").
      bool negated = false;
      for (size_t k = at >= 3 ? at - 3 : 0; k < at; ++k) negated = negated || is_negator(words[k]);
      if (negated) {
        out.push_back(Signal::kNotSolved);
        return out;
      }
      if (!question) out.push_back(Signal::kConfirm);
      at = find_phrase(words, p, at + 1);
    }
  }
  // "Funciona, pero la 205 no": a contrast followed by a negation.
  for (auto but : {"pero", "but", "porem", "mas"}) {
    size_t at = find_phrase(words, but);
    if (at == std::string::npos) continue;
    for (size_t k = at + 1; k < words.size(); ++k)
      if (is_negator(words[k])) {
        out.push_back(Signal::kNotSolved);
        return out;
      }
  }
  return out;
}

bool is_assent(std::string_view w) {
  static const std::array<std::string_view, 16> kAssent = {
      "si",    "yes",        "sim",    "ok",  "okay", "okey", "vale",  "dale",
      "claro", "afirmativo", "exacto", "yep", "yup",  "sure", "listo", "correcto"};
  return std::find(kAssent.begin(), kAssent.end(), w) != kAssent.end();
}

bool is_courtesy(std::string_view w) {
  static const std::array<std::string_view, 24> kCourtesy = {
      "gracias",  "muchas",  "mil",      "por",      "la",    "su",   "tu",    "ayuda",
      "atencion", "saludos", "thanks",   "thank",    "you",   "a",    "lot",   "for",
      "the",      "help",    "obrigado", "obrigada", "muito", "pela", "ajuda", "cordiales"};
  return std::find(kCourtesy.begin(), kCourtesy.end(), w) != kCourtesy.end();
}

// ---------------------------------------------------------------------------------------
// Case type

// Every run of 1..kMaxPhraseWords consecutive words of a words_only() text, for phrase
// lookups in constant time: searching a 10 KB body once per phrase of the lists below
// was a fifth of the CPU of SMTP ingestion (perf, 16 clients, 10 KB messages).
class PhraseIndex {
 public:
  static constexpr size_t kMaxPhraseWords = 5;
  explicit PhraseIndex(std::string_view words) {
    std::vector<size_t> starts;
    for (size_t i = 0; i + 1 < words.size(); ++i)
      if (words[i] == ' ' && words[i + 1] != ' ') starts.push_back(i + 1);
    grams_.reserve(starts.size() * kMaxPhraseWords);
    for (size_t k = 0; k < starts.size(); ++k)
      for (size_t n = 1; n <= kMaxPhraseWords && k + n - 1 < starts.size(); ++n) {
        const size_t stop = words.find(' ', starts[k + n - 1]);
        grams_.insert(words.substr(starts[k], stop - starts[k]));
      }
  }
  bool has(std::string_view phrase) const { return grams_.count(phrase) != 0; }

 private:
  std::unordered_set<std::string_view> grams_;  // views into the indexed text
};

int count_hits(const PhraseIndex& words, std::initializer_list<std::string_view> phrases) {
  int n = 0;
  for (auto p : phrases) {
    assert(std::count(p.begin(), p.end(), ' ') < static_cast<long>(PhraseIndex::kMaxPhraseWords));
    if (words.has(p)) ++n;
  }
  return n;
}

const std::initializer_list<std::string_view> kActivationWords = {"activacion",
                                                                  "activaciones",
                                                                  "activar",
                                                                  "alta de extension",
                                                                  "alta de extensiones",
                                                                  "alta de usuario",
                                                                  "alta de usuarios",
                                                                  "alta de anexo",
                                                                  "alta de interno",
                                                                  "dar de alta",
                                                                  "nueva extension",
                                                                  "nuevas extensiones",
                                                                  "nuevo usuario",
                                                                  "nuevos usuarios",
                                                                  "nuevo anexo",
                                                                  "nuevo interno",
                                                                  "crear extension",
                                                                  "crear una extension",
                                                                  "crear usuario",
                                                                  "crear un usuario",
                                                                  "crear anexo",
                                                                  "activar extension",
                                                                  "activar una extension",
                                                                  "activar usuario",
                                                                  "new extension",
                                                                  "new extensions",
                                                                  "new user",
                                                                  "new users",
                                                                  "activation",
                                                                  "activate an extension",
                                                                  "activate extension",
                                                                  "create an extension",
                                                                  "create extension",
                                                                  "add an extension",
                                                                  "add extension",
                                                                  "add a user",
                                                                  "nova extensao",
                                                                  "novo ramal",
                                                                  "novos ramais",
                                                                  "criar ramal",
                                                                  "ativacao",
                                                                  "ativar ramal",
                                                                  "novo usuario"};

const std::initializer_list<std::string_view> kIncidentWords = {"no funciona",
                                                                "no funcionan",
                                                                "sin tono",
                                                                "no puedo llamar",
                                                                "no podemos llamar",
                                                                "no puedo recibir",
                                                                "no recibo llamadas",
                                                                "no recibimos llamadas",
                                                                "no entran llamadas",
                                                                "no salen llamadas",
                                                                "no puedo marcar",
                                                                "no puedo hacer llamadas",
                                                                "no se escucha",
                                                                "no escucho",
                                                                "no me escuchan",
                                                                "sin audio",
                                                                "no hay audio",
                                                                "audio de un solo lado",
                                                                "se corta",
                                                                "se cortan",
                                                                "cortes",
                                                                "llamadas caidas",
                                                                "caida",
                                                                "caido",
                                                                "no registra",
                                                                "ruido",
                                                                "eco",
                                                                "incidencia",
                                                                "incidencias",
                                                                "incidente",
                                                                "falla",
                                                                "fallas",
                                                                "fallo",
                                                                "error",
                                                                "problema",
                                                                "problemas",
                                                                "not working",
                                                                "doesn't work",
                                                                "does not work",
                                                                "outage",
                                                                "is down",
                                                                "cannot call",
                                                                "can't call",
                                                                "unable to call",
                                                                "no dial tone",
                                                                "one way audio",
                                                                "no audio",
                                                                "dropped calls",
                                                                "calls drop",
                                                                "choppy",
                                                                "incident",
                                                                "nao funciona",
                                                                "sem tom",
                                                                "sem audio",
                                                                "nao consigo ligar",
                                                                "nao recebo",
                                                                "queda",
                                                                "falha",
                                                                "problema na",
                                                                "no puedo",
                                                                "no podemos",
                                                                "cannot",
                                                                "can't",
                                                                "unable to",
                                                                "nao consigo",
                                                                "nao conseguimos"};

// ---------------------------------------------------------------------------------------
// Required fields

// The labels a customer writes, folded, most specific first within a case type. A label
// matches when its words contain one of the phrases.
struct LabelRule {
  std::string_view field;
  std::vector<std::string_view> phrases;
};

// Generic email labels name the Teams address only when the message says "Teams".
constexpr std::string_view kTeamsEmailGeneric = "teams_email?";

const std::vector<LabelRule>& label_rules(CaseType type) {
  static const std::vector<LabelRule> kActivation = {
      {"teams_email",
       {"correo teams", "correo de teams", "email teams", "e mail teams", "teams email",
        "teams e mail", "email de teams", "correo a ligar", "correo a vincular",
        "correo electronico a ligar", "correo electronico a vincular", "email to link",
        "teams account", "cuenta teams", "cuenta de teams", "usuario teams", "usuario de teams",
        "email do teams", "e mail do teams"}},
      {kTeamsEmailGeneric,
       {"correo", "email", "e mail", "mail", "correo electronico", "cuenta de correo"}},
      {"extension_type",
       {"tipo", "type", "sip o teams", "sip or teams", "teams o sip", "tecnologia"}},
      {"direct_number",
       {"did", "ddi", "numero directo", "direct number", "direct line", "linea directa",
        "numero publico", "numero direto"}},
      {"ring_groups",
       {"grupo", "grupos", "cola", "colas", "ring group", "ring groups", "queue", "queues",
        "hunt group", "timbrado", "fila", "filas"}},
      {"account_id",
       {"cuenta", "account", "id cliente", "id del cliente", "customer id", "conta",
        "numero de cliente"}},
      {"extension", {"extension", "ext", "anexo", "interno", "ramal"}},
      {"user_full_name",
       {"nombre", "name", "usuario a crear", "usuario", "user", "nome", "colaborador"}},
  };
  static const std::vector<LabelRule> kIncident = {
      {"occurred_at",
       {"fecha", "hora", "date", "time", "when", "cuando", "dia", "day", "horario", "data"}},
      {"direction",
       {"trafico", "traffic", "direccion", "direction", "sentido", "tipo de llamada",
        "tipo de llamadas", "entrante o saliente", "saliente o entrante", "inbound or outbound",
        "outbound or inbound", "llamadas entrantes o salientes"}},
      {"counterpart_number",
       {"contraparte", "counterpart", "destino", "origen", "marcado", "dialled", "dialed",
        "other party", "numero llamado", "numero que llama", "called number", "calling number",
        "numero externo", "destination", "numero b", "b number", "numero de la otra parte",
        "numero remoto"}},
      {"extension",
       {"extension", "ext", "anexo", "interno", "ramal", "usuario afectado", "usuario", "user",
        "affected", "afectado"}},
  };
  static const std::vector<LabelRule> kNone;
  switch (type) {
    case CaseType::kActivation:
      return kActivation;
    case CaseType::kIncident:
      return kIncident;
    case CaseType::kRequest:
      return kNone;
  }
  return kNone;
}

// The field a label names, or "".
std::string_view field_for_label(CaseType type, std::string_view label) {
  // "Extensión (número)": the parenthesis only explains.
  std::string l(label);
  for (size_t open; (open = l.find('(')) != std::string::npos;) {
    size_t close = l.find(')', open);
    l.erase(open, close == std::string::npos ? std::string::npos : close - open + 1);
  }
  auto words = words_only(l);
  if (std::count(words.begin(), words.end(), ' ') > 9) return "";  // a sentence, not a label
  for (const auto& rule : label_rules(type))
    for (auto p : rule.phrases)
      if (has_words(words, p)) return rule.field;
  return "";
}

// The deck's order for numbered answers.
std::string_view field_for_number(CaseType type, int n) {
  static const std::array<std::string_view, 6> kActivation = {"account_id",     "user_full_name",
                                                              "extension",      "direct_number",
                                                              "extension_type", "ring_groups"};
  static const std::array<std::string_view, 4> kIncident = {"extension", "direction",
                                                            "counterpart_number", "occurred_at"};
  if (n < 1) return "";
  if (type == CaseType::kActivation && n <= 6) return kActivation[n - 1];
  if (type == CaseType::kIncident && n <= 4) return kIncident[n - 1];
  return "";
}

struct LabelledLine {
  std::string label;
  std::string value;
};

// "Label: value", "Label - value", "Label = value".
std::optional<LabelledLine> split_label(std::string_view line) {
  size_t sep = std::string_view::npos, sep_len = 0;
  size_t colon = line.find(':');
  size_t dash = line.find(" - ");
  size_t en_dash = line.find(" \xE2\x80\x93 ");
  size_t equals = line.find('=');
  for (auto [pos, len] : {std::pair{colon, size_t{1}}, std::pair{dash, size_t{3}},
                          std::pair{en_dash, size_t{5}}, std::pair{equals, size_t{1}}}) {
    if (pos != std::string_view::npos && pos < sep) {
      sep = pos;
      sep_len = len;
    }
  }
  if (sep == std::string_view::npos || sep == 0 || sep > 80) return std::nullopt;
  auto label = trim_view(line.substr(0, sep));
  if (!std::any_of(label.begin(), label.end(), [](char c) {
        return std::isalpha(static_cast<unsigned char>(c)) || (c & 0x80);
      }))
    return std::nullopt;  // "10:30" is a time, not a label
  std::string l;
  for (char c : label)
    if (c != '*' && c != '_') l += c;  // "**Extensión:**" from Markdown-minded clients
  std::string v;
  for (char c : trim_view(line.substr(sep + sep_len))) v += c;
  while (!v.empty() && (v.front() == '*' || v.front() == '_')) v.erase(0, 1);
  return LabelledLine{trim(l), trim(v)};
}

// "1) x", "1. x", "1 - x", "1: x", "1.- x".
std::optional<std::pair<int, std::string>> split_number(std::string_view line) {
  size_t i = 0;
  int n = 0;
  while (i < line.size() && i < 2 && std::isdigit(static_cast<unsigned char>(line[i])))
    n = n * 10 + (line[i++] - '0');
  if (i == 0 || i >= line.size()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(line[i]))) return std::nullopt;
  size_t j = i;
  while (j < line.size() && line[j] == ' ') ++j;
  if (j >= line.size()) return std::nullopt;
  char c = line[j];
  if (c == ')') {
    ++j;
  } else if (c == '.' || c == ':' || c == '-') {
    ++j;
    if (c == '.' && j < line.size() && line[j] == '-') ++j;                         // "1.- "
    if (j < line.size() && line[j] != ' ' && line[j] != '\t') return std::nullopt;  // 1.5
  } else {
    return std::nullopt;
  }
  auto rest = trim(line.substr(j));
  if (rest.empty()) return std::nullopt;
  return std::pair{n, rest};
}

std::string strip_bullet(std::string_view line) {
  auto t = trim_view(line);
  for (std::string_view b : {"- ", "* ", "\xE2\x80\xA2", "\xC2\xB7", "+ "}) {
    if (t.starts_with(b)) return trim(t.substr(b.size()));
  }
  return std::string(t);
}

// Digit groups: an extension is a run of 2–8 digits standing alone (not part of a phone
// number written with separators, not after '+').
std::optional<std::string> read_extension(std::string_view value) {
  size_t i = 0;
  while (i < value.size()) {
    if (!std::isdigit(static_cast<unsigned char>(value[i]))) {
      ++i;
      continue;
    }
    size_t b = i;
    while (i < value.size() && std::isdigit(static_cast<unsigned char>(value[i]))) ++i;
    bool after_plus = b > 0 && value[b - 1] == '+';
    bool after_word = b > 0 && std::isalpha(static_cast<unsigned char>(value[b - 1]));
    // A separator followed by more digits makes it a phone number or a date.
    bool joined = i + 1 < value.size() &&
                  (value[i] == '-' || value[i] == '.' || value[i] == '/' || value[i] == ' ' ||
                   value[i] == ':') &&
                  std::isdigit(static_cast<unsigned char>(value[i + 1]));
    bool joined_before = b >= 2 &&
                         (value[b - 1] == '-' || value[b - 1] == '.' || value[b - 1] == '/' ||
                          value[b - 1] == ' ' || value[b - 1] == ')') &&
                         std::isdigit(static_cast<unsigned char>(value[b - 2]));
    bool before_letter = i < value.size() && std::isalpha(static_cast<unsigned char>(value[i]));
    size_t len = i - b;
    if (!after_plus && !after_word && !joined && !joined_before && !before_letter && len >= 2 &&
        len <= 8)
      return std::string(value.substr(b, len));
    // Skip the rest of a joined number.
    while (i < value.size() &&
           (std::isdigit(static_cast<unsigned char>(value[i])) || value[i] == '-' ||
            value[i] == '.' || value[i] == ' ' || value[i] == '(' || value[i] == ')') &&
           !(value[i] == ' ' &&
             (i + 1 >= value.size() || !std::isdigit(static_cast<unsigned char>(value[i + 1])))))
      ++i;
  }
  return std::nullopt;
}

// The first phone number in a value: an optional '+', digits, and the separators people
// write (spaces, dashes, dots, parentheses). Returns '+' and digits only.
std::optional<std::string> read_phone(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool start = std::isdigit(static_cast<unsigned char>(c)) ||
                 ((c == '+' || c == '(') && i + 1 < value.size() &&
                  (std::isdigit(static_cast<unsigned char>(value[i + 1])) || value[i + 1] == '('));
    if (!start) continue;
    if (i > 0 && std::isalpha(static_cast<unsigned char>(value[i - 1]))) continue;
    std::string out;
    size_t j = i;
    for (; j < value.size(); ++j) {
      char d = value[j];
      if (std::isdigit(static_cast<unsigned char>(d))) {
        out += d;
      } else if (d == '+' && out.empty()) {
        out += '+';
      } else if (d == ' ' || d == '-' || d == '.' || d == '(' || d == ')') {
        // A separator continues the number only when digits follow.
        size_t k = j;
        while (k < value.size() && (value[k] == ' ' || value[k] == '-' || value[k] == '.' ||
                                    value[k] == '(' || value[k] == ')'))
          ++k;
        if (k >= value.size() || !std::isdigit(static_cast<unsigned char>(value[k]))) break;
      } else {
        break;
      }
    }
    if (j < value.size() &&
        (std::isalpha(static_cast<unsigned char>(value[j])) || value[j] == '/' || value[j] == ':'))
      continue;  // "10:30", "26/11", "204b": not a phone number
    size_t digits = out.size() - (out.starts_with('+') ? 1 : 0);
    if (digits >= 2 && digits <= 20) return out;
    i = j;
  }
  return std::nullopt;
}

std::optional<bool> read_yes_no(std::string_view value) {
  auto w = words_only(value);
  if (has_any_words(w,
                    {"no requiere", "no necesita", "no necesito", "no lo requiere", "not needed",
                     "not required", "sin did", "sin numero directo", "nao precisa", "nao requer"}))
    return false;
  static const std::array<std::string_view, 11> kYes = {
      "si",       "yes",      "sim",      "y",        "s",     "true",
      "requiere", "necesito", "necesita", "required", "needed"};
  static const std::array<std::string_view, 9> kNo = {"no",    "nao",  "none",     "ninguno", "n",
                                                      "false", "nope", "negativo", "ninguna"};
  auto first = w.substr(1, w.find(' ', 1) - 1);
  if (std::find(kNo.begin(), kNo.end(), first) != kNo.end()) return false;
  if (std::find(kYes.begin(), kYes.end(), first) != kYes.end()) return true;
  if (has_any_words(w, {"con did", "with did", "con numero directo"})) return true;
  if (read_phone(value)) return true;  // they wrote the number they want
  return std::nullopt;
}

std::optional<std::string> read_direction(std::string_view value) {
  auto w = words_only(value);
  bool in =
      has_any_words(w, {"entrante", "entrantes", "recibidas", "recibida", "recibir", "inbound",
                        "incoming", "entrada", "entradas", "recepcion", "recebidas", "in"});
  bool out = has_any_words(
      w, {"saliente", "salientes", "realizadas", "realizada", "realizar", "outbound", "outgoing",
          "salida", "salidas", "efectuadas", "saida", "saidas", "efetuadas", "out"});
  if (in == out) return std::nullopt;  // neither, or both ("ambas")
  return in ? "inbound" : "outbound";
}

std::optional<std::string> read_extension_type(std::string_view value) {
  auto w = words_only(value);
  bool teams = has_any_words(w, {"teams", "microsoft teams", "ms teams"});
  bool sip = has_any_words(w, {"sip", "softphone", "ip phone", "telefono ip"});
  if (teams == sip) return std::nullopt;
  return teams ? "teams" : "sip";
}

std::optional<std::string> read_email(std::string_view value) {
  std::string cur;
  auto check = [&]() -> std::optional<std::string> {
    while (!cur.empty() && (cur.back() == '.' || cur.back() == ')')) cur.pop_back();
    if (cur.starts_with("mailto:")) cur.erase(0, 7);
    if (is_email_address(cur)) return cur;
    cur.clear();
    return std::nullopt;
  };
  for (char c : value) {
    if (is_space(c) || c == '<' || c == '>' || c == ',' || c == ';' || c == '(' || c == '"' ||
        c == '[' || c == ']') {
      if (auto e = check()) return e;
      cur.clear();
    } else {
      cur += c;
    }
  }
  return check();
}

std::optional<Json> read_ring_groups(std::string_view value) {
  auto w = words_only(value);
  if (w == " no " || w == " n a " || w == " na " ||
      has_any_words(
          w, {"ninguno", "ninguna", "none", "nenhum", "nenhuma", "no aplica", "not applicable",
              "sin grupo", "sin grupos", "no pertenece", "ningun grupo", "ninguna cola"}) ||
      trim(value) == "-")
    return Json::array();
  Json out = Json::array();
  std::string v = trim(value);
  // Separators: commas, semicolons, slashes and the words "y" / "and" / "e".
  std::vector<std::string> parts;
  std::string cur;
  auto flush = [&] {
    auto t = trim(cur);
    while (!t.empty() && (t.back() == '.' || t.back() == '"' || t.back() == '\'')) t.pop_back();
    while (!t.empty() && (t.front() == '"' || t.front() == '\'')) t.erase(0, 1);
    t = trim(t);
    if (!t.empty()) parts.push_back(t);
    cur.clear();
  };
  for (size_t i = 0; i < v.size(); ++i) {
    char c = v[i];
    if (c == ',' || c == ';' || c == '/' || c == '|') {
      flush();
      continue;
    }
    bool matched = false;
    for (std::string_view sep : {" y ", " Y ", " and ", " e "}) {
      if (std::string_view(v).substr(i).starts_with(sep)) {
        flush();
        i += sep.size() - 1;
        matched = true;
        break;
      }
    }
    if (!matched) cur += c;
  }
  flush();
  if (parts.empty() || parts.size() > 50) return std::nullopt;
  for (auto& p : parts) out.push_back(p);
  return out;
}

// --- Dates ------------------------------------------------------------------------------

struct DateTimeParts {
  std::optional<date::year_month_day> date;
  std::optional<int> day_shift;  // relative: 0 today, -1 yesterday...
  std::optional<int> minutes;    // minutes after midnight
};

int month_of(std::string_view w) {
  static const std::array<std::pair<std::string_view, int>, 52> kMonths = {
      {{"enero", 1},      {"ene", 1},        {"january", 1},  {"jan", 1},       {"janeiro", 1},
       {"febrero", 2},    {"feb", 2},        {"february", 2}, {"fevereiro", 2}, {"fev", 2},
       {"marzo", 3},      {"mar", 3},        {"march", 3},    {"marco", 3},     {"abril", 4},
       {"abr", 4},        {"april", 4},      {"apr", 4},      {"mayo", 5},      {"may", 5},
       {"maio", 5},       {"mai", 5},        {"junio", 6},    {"jun", 6},       {"june", 6},
       {"junho", 6},      {"julio", 7},      {"jul", 7},      {"july", 7},      {"julho", 7},
       {"agosto", 8},     {"ago", 8},        {"august", 8},   {"aug", 8},       {"septiembre", 9},
       {"setiembre", 9},  {"sep", 9},        {"sept", 9},     {"september", 9}, {"setembro", 9},
       {"set", 9},        {"octubre", 10},   {"oct", 10},     {"october", 10},  {"outubro", 10},
       {"out", 10},       {"noviembre", 11}, {"nov", 11},     {"november", 11}, {"novembro", 11},
       {"diciembre", 12}, {"dic", 12}}};
  for (auto [name, m] : kMonths)
    if (name == w) return m;
  if (w == "december" || w == "dec" || w == "dezembro" || w == "dez") return 12;
  return 0;
}

int year_of(const std::string& s) {
  int y = std::stoi(s);
  return s.size() == 2 ? 2000 + y : y;
}

// Reads a date and a time from a folded value. D/M order (Latin America) unless the
// second number cannot be a month.
DateTimeParts read_date_time(std::string_view raw) {
  DateTimeParts parts;
  std::string v = fold_for_search(raw);
  std::smatch m;
  auto blank = [&](const std::smatch& match) {
    v.replace(match.position(0), match.length(0), std::string(match.length(0), ' '));
  };
  auto set_date = [&](int y, int mo, int d) {
    date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                             date::day{static_cast<unsigned>(d)}};
    if (ymd.ok() && y >= 1970 && y <= 2200) parts.date = ymd;
  };
  static const std::regex kIso(R"((^|[^\d])(\d{4})-(\d{1,2})-(\d{1,2})(t|[^\d]|$))");
  static const std::regex kNumeric(
      R"((^|[^\d/.:-])(\d{1,2})([/-])(\d{1,2})(?:[/-](\d{4}|\d{2}))?($|[^\d/:-]))");
  static const std::regex kDotted(R"((^|[^\d.])(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})($|[^\d.]))");
  static const std::regex kDayMonth(
      R"((^|[^\d])(\d{1,2})(?:\s+de\s+|\s*-\s*|\s+)([a-z]{3,10})\.?(?:(?:\s+de\s+|\s+del\s+|,?\s+|-)(\d{4}))?(?![a-z\d]))");
  static const std::regex kMonthDay(
      R"((^|[^a-z])([a-z]{3,10})\.?\s+(\d{1,2})(?:st|nd|rd|th)?(?![\d:h]|\.\d)(?:,?\s+(\d{4})(?!\d))?)");
  if (std::regex_search(v, m, kIso)) {
    set_date(std::stoi(m[2]), std::stoi(m[3]), std::stoi(m[4]));
    if (parts.date) {
      // Blank the date (and a 'T' after it) so the time search sees only the time.
      size_t b = m.position(2), e = m.position(4) + m.length(4);
      if (e < v.size() && v[e] == 't') ++e;
      v.replace(b, e - b, std::string(e - b, ' '));
    }
  }
  if (!parts.date && std::regex_search(v, m, kNumeric)) {
    int a = std::stoi(m[2]), b = std::stoi(m[4]);
    int y = m[5].matched ? year_of(m[5]) : 0;
    int d = a, mo = b;
    if (b > 12 && a <= 12) std::swap(d, mo);  // "11/26": only M/D reads
    if (y) {
      set_date(y, mo, d);
    } else if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31) {
      // Year 0 stands for "no year" (it is a leap year, so 29/2 passes).
      date::year_month_day ymd = date::year{0} / mo / d;
      if (ymd.ok()) parts.date = ymd;
    }
    if (parts.date) blank(m);
  }
  if (!parts.date && std::regex_search(v, m, kDotted)) {
    set_date(year_of(m[4]), std::stoi(m[3]), std::stoi(m[2]));
    if (parts.date) blank(m);
  }
  // Month names: the first match whose word is a month ("26 de noviembre", "Nov 26, 2026").
  auto named = [&](const std::regex& re, int day_group, int month_group, int year_group) {
    for (auto it = std::sregex_iterator(v.begin(), v.end(), re); it != std::sregex_iterator();
         ++it) {
      const auto& mm = *it;
      int mo = month_of(mm[month_group].str());
      if (!mo) continue;
      int d = std::stoi(mm[day_group]);
      if (mm[year_group].matched) {
        set_date(std::stoi(mm[year_group]), mo, d);
      } else {
        date::year_month_day ymd = date::year{0} / mo / d;
        if (ymd.ok()) parts.date = ymd;
      }
      if (parts.date) {
        v.replace(mm.position(0), mm.length(0), std::string(mm.length(0), ' '));
        return;
      }
    }
  };
  if (!parts.date) named(kDayMonth, 2, 3, 4);
  if (!parts.date) named(kMonthDay, 3, 2, 4);
  if (!parts.date) {
    auto w = words_only(v);
    if (has_any_words(w, {"anteayer", "antier", "anteontem", "day before yesterday"}))
      parts.day_shift = -2;
    else if (has_any_words(w, {"ayer", "yesterday", "ontem"}))
      parts.day_shift = -1;
    else if (has_any_words(w, {"hoy", "today", "hoje", "esta manana", "this morning", "esta tarde",
                               "this afternoon"}))
      parts.day_shift = 0;
  }
  // Time: "10:30", "10:30:15", "10h30", "10.30 hrs", "3pm", "a las 10", "15 hrs".
  static const std::regex kClock(
      R"((^|[^\d:])(\d{1,2})(?::|h|\.)(\d{2})(?::\d{2})?(?!\d)\s*(a\.?\s?m\.?|p\.?\s?m\.?|hrs?\.?|hs\.?|h\b)?)");
  static const std::regex kHourOnly(
      R"((^|[^\d:])(\d{1,2})\s*(a\.?\s?m\.?|p\.?\s?m\.?|hrs?\b|hs\b|h\b))");
  static const std::regex kALas(R"((a las|at|as|a la)\s+(\d{1,2})(?![\d:/]))");
  int hour = -1, minute = 0;
  std::string suffix;
  size_t after = 0;
  if (std::regex_search(v, m, kClock)) {
    // "10.30" is a time only with a suffix or when no date used the dots.
    bool dotted = v[m.position(2) + m.length(2)] == '.';
    if (!dotted || m[4].matched) {
      hour = std::stoi(m[2]);
      minute = std::stoi(m[3]);
      suffix = m[4].str();
      after = m.position(0) + m.length(0);
    }
  }
  if (hour < 0 && std::regex_search(v, m, kHourOnly)) {
    hour = std::stoi(m[2]);
    suffix = m[3].str();
    after = m.position(0) + m.length(0);
  }
  if (hour < 0 && std::regex_search(v, m, kALas)) {
    hour = std::stoi(m[2]);
    after = m.position(0) + m.length(0);
  }
  if (hour >= 0) {
    std::string s;
    for (char c : suffix)
      if (std::isalpha(static_cast<unsigned char>(c))) s += c;
    auto rest = words_only(std::string_view(v).substr(after));
    bool pm = s == "pm" || rest.starts_with(" pm ") || rest.starts_with(" p m ") ||
              rest.starts_with(" de la tarde") || rest.starts_with(" de la noche") ||
              rest.starts_with(" da tarde") || rest.starts_with(" da noite") ||
              rest.starts_with(" in the afternoon") || rest.starts_with(" in the evening");
    bool am = s == "am" || rest.starts_with(" am ") || rest.starts_with(" a m ") ||
              rest.starts_with(" de la manana") || rest.starts_with(" da manha") ||
              rest.starts_with(" in the morning");
    if (pm || am) {
      if (hour < 1 || hour > 12)
        hour = -1;
      else if (pm && hour < 12)
        hour += 12;
      else if (am && hour == 12)
        hour = 0;
    }
    if (hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59) parts.minutes = hour * 60 + minute;
  }
  return parts;
}

// Civil date and time at `offset` → instant. A date without a year (year 0 here) takes
// the year of `received`, or the year before when the day would be after the day the
// message was received.
std::optional<Instant> resolve_date_time(const DateTimeParts& p, Instant received, Seconds offset) {
  if (!p.minutes) return std::nullopt;  // a day without a time is not "date and time"
  auto local_received = std::chrono::floor<date::days>(received + offset);
  date::year_month_day today{local_received};
  date::year_month_day ymd;
  if (p.date) {
    ymd = *p.date;
    if (ymd.year() == date::year{0}) {
      ymd = today.year() / ymd.month() / ymd.day();
      if (!ymd.ok() || date::sys_days{ymd} > local_received) {
        ymd = (today.year() - date::years{1}) / p.date->month() / p.date->day();
        // 29 February of a year that has none: try the last leap year before.
        for (int back = 2; !ymd.ok() && back <= 8; ++back)
          ymd = (today.year() - date::years{back}) / p.date->month() / p.date->day();
      }
      if (!ymd.ok()) return std::nullopt;
    }
  } else if (p.day_shift) {
    ymd = date::year_month_day{local_received + date::days{*p.day_shift}};
  } else {
    return std::nullopt;  // a time alone: which day is a guess
  }
  auto local = date::sys_days{ymd} + std::chrono::minutes{*p.minutes};
  return std::chrono::time_point_cast<Millis>(local - offset);
}

}  // namespace

// =========================================================================================

std::string_view to_string(MailKind k) {
  switch (k) {
    case MailKind::kPerson:
      return "person";
    case MailKind::kAutoReply:
      return "auto_reply";
    case MailKind::kBounce:
      return "bounce";
    case MailKind::kDelay:
      return "delay";
    case MailKind::kReadReceipt:
      return "read_receipt";
    case MailKind::kBulk:
      return "bulk";
    case MailKind::kOwnLoop:
      return "own_loop";
  }
  return "person";
}

MailClass classify_mail(const MailMessage& m, const DeskIdentity& desk) {
  const std::string subject = trim(fold_for_search(m.subject));
  if (auto c = own_loop(m, desk)) return *c;
  if (auto c = bounce_or_delay(m, subject)) return *c;
  if (auto c = read_receipt(m, subject)) return *c;
  // RFC 5965 abuse reports come from feedback-loop robots, never from a person.
  if (report_type_of(m) == "feedback-report")
    return make_class(MailKind::kBulk, "abuse feedback report (RFC 5965)");
  if (auto c = auto_reply(m, subject)) return *c;
  if (auto c = bulk(m)) return *c;
  return make_class(MailKind::kPerson, "no automatic signal");
}

std::optional<int64_t> case_number_in_subject(std::string_view subject, std::string_view prefix) {
  const std::string p = ascii_lower(prefix);
  size_t at = 0;
  while ((at = subject.find('[', at)) != std::string_view::npos) {
    size_t i = at + 1;
    // "RE[2]:" is a reply counter, not a case: with an empty prefix a bracket glued to a
    // word does not count.
    bool glued = at > 0 && std::isalnum(static_cast<unsigned char>(subject[at - 1]));
    while (i < subject.size() && subject[i] == ' ') ++i;
    if (ascii_lower(subject.substr(i, p.size())) == p && !(p.empty() && glued)) {
      i += p.size();
      size_t b = i;
      int64_t n = 0;
      while (i < subject.size() && i - b < 13 &&
             std::isdigit(static_cast<unsigned char>(subject[i])))
        n = n * 10 + (subject[i++] - '0');
      size_t digits = i - b;
      while (i < subject.size() && subject[i] == ' ') ++i;
      if (digits >= 1 && digits <= 12 && i < subject.size() && subject[i] == ']' && n > 0) return n;
    }
    at = at + 1;
  }
  return std::nullopt;
}

namespace {

// Length of a reply/forward prefix at the start of `s` ("Re:", "RE[2]:", "Re :", "Fwd:",
// "RV:", "R:", "I:"...), 0 when there is none.
size_t reply_prefix_length(std::string_view s) {
  static const std::array<std::string_view, 30> kPrefixes = {
      "re",  "rv", "fw",     "fwd",     "aw", "wg",  "res", "enc", "tr",    "sv",
      "vs",  "vb", "antw",   "antwort", "r",  "i",   "rif", "ref", "reenv", "reenviado",
      "rsp", "fs", "doorst", "odp",     "pd", "ynt", "ilt", "wg",  "tr",    "fwd"};
  size_t i = 0;
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return 0;
  auto word = ascii_lower(s.substr(0, i));
  if (std::find(kPrefixes.begin(), kPrefixes.end(), word) == kPrefixes.end()) return 0;
  // Optional counter: "RE[2]:", "Re(3):", "Re^2:".
  if (i < s.size() && (s[i] == '[' || s[i] == '(')) {
    char close = s[i] == '[' ? ']' : ')';
    size_t j = i + 1;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i + 1 && j < s.size() && s[j] == close) i = j + 1;
  } else if (i < s.size() && s[i] == '^') {
    size_t j = i + 1;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j > i + 1) i = j;
  }
  while (i < s.size() && s[i] == ' ') ++i;
  if (i < s.size() && s[i] == ':') return i + 1;
  if (s.substr(i).starts_with("\xEF\xBC\x9A")) return i + 3;  // full-width colon
  return 0;
}

// Length of a bracketed case number at the start of `s`, 0 when none.
size_t case_tag_length(std::string_view s, std::string_view prefix) {
  if (s.empty() || s.front() != '[') return 0;
  size_t close = s.find(']');
  if (close == std::string_view::npos) return 0;
  return case_number_in_subject(s.substr(0, close + 1), prefix) ? close + 1 : 0;
}

}  // namespace

std::string clean_subject(std::string_view subject, std::string_view prefix) {
  std::string s = trim(subject);
  // Leading chains: "RE: RV: [CMW-000123] Re: Sin tono".
  bool changed = true;
  while (changed) {
    changed = false;
    if (size_t n = reply_prefix_length(s)) {
      s = trim(std::string_view(s).substr(n));
      changed = true;
    }
    if (size_t n = case_tag_length(s, prefix)) {
      s = trim(std::string_view(s).substr(n));
      changed = true;
    }
  }
  // A case number elsewhere ("Sin tono [CMW-000123]").
  for (size_t at = s.find('['); at != std::string::npos;) {
    if (size_t n = case_tag_length(std::string_view(s).substr(at), prefix)) {
      s.erase(at, n);
      std::string collapsed;
      for (char c : trim(s))
        if (!(c == ' ' && !collapsed.empty() && collapsed.back() == ' ')) collapsed += c;
      s = std::move(collapsed);
      at = s.find('[');
    } else {
      at = s.find('[', at + 1);
    }
  }
  return trim(s);
}

std::string strip_quoted_and_signature(std::string_view text) {
  auto stripped = strip_all(text);
  if (!stripped.empty()) return stripped;
  // Nothing outside the quotes: never lose what the customer wrote.
  auto unsigned_text = strip_signature_only(text);
  if (!unsigned_text.empty()) return unsigned_text;
  return trim(text);
}

CustomerIntent detect_intent(std::string_view stripped_text) {
  // Re-strip: a reply that was all quotes comes back whole from strip_quoted_and_signature,
  // and our own words in it ("¿Puede confirmar que está resuelto?") must not count.
  auto text = strip_all(stripped_text);
  if (text.empty()) return CustomerIntent::kNone;
  auto clauses = clauses_of(text);
  if (clauses.empty()) return CustomerIntent::kNone;
  bool confirm = false, unsure = false;
  // A bare "No" (or "No, …") answers "is it solved?".
  const auto& first = clauses.front();
  if (!first.question && first.words.size() == 1 &&
      (first.words[0] == "no" || first.words[0] == "nao" || first.words[0] == "nope" ||
       first.words[0] == "negativo"))
    return CustomerIntent::kNotSolved;
  for (const auto& c : clauses) {
    for (Signal s : clause_signals(c.words, c.question)) {
      if (s == Signal::kNotSolved) return CustomerIntent::kNotSolved;
      if (s == Signal::kConfirm) confirm = true;
      if (s == Signal::kUnsure) unsure = true;
    }
  }
  // An assent with nothing but courtesy around it ("Sí", "Ok, gracias", "Yes, thank you")
  // confirms; a bare "gracias" does not, and "Ok, lo reviso y les aviso" says more.
  if (!first.question && is_assent(first.words[0])) {
    bool only_courtesy = true;
    for (const auto& c : clauses)
      for (const auto& w : c.words)
        only_courtesy = only_courtesy && (is_assent(w) || is_courtesy(w));
    if (only_courtesy) confirm = true;
  }
  if (unsure) return CustomerIntent::kNone;
  return confirm ? CustomerIntent::kConfirm : CustomerIntent::kNone;
}

CaseType guess_case_type(CaseType mailbox_default, std::string_view subject,
                         std::string_view text) {
  // A request says what it is near its start: the first few kilobytes decide (a long
  // pasted log below would only add noise, and cost time on every message).
  constexpr size_t kRead = 4096;
  size_t cut = std::min(text.size(), kRead);
  while (cut < text.size() && cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;  // on a UTF-8 character boundary
  const std::string s_words = words_only(subject), t_words = words_only(text.substr(0, cut));
  const PhraseIndex s(s_words), t(t_words);
  int activation = 2 * count_hits(s, kActivationWords) + count_hits(t, kActivationWords);
  int incident = 2 * count_hits(s, kIncidentWords) + count_hits(t, kIncidentWords);
  if (activation == 0 && incident == 0) return mailbox_default;
  if (activation > incident) return CaseType::kActivation;
  if (incident > activation) return CaseType::kIncident;
  // A tie: the mailbox knows best when it is one of the two; otherwise an incident is
  // the one that cannot wait.
  if (mailbox_default != CaseType::kRequest) return mailbox_default;
  return CaseType::kIncident;
}

Json extract_fields(CaseType type, std::string_view text, Instant received, Seconds offset) {
  Json out = Json::object();
  if (type == CaseType::kRequest) return out;
  auto lines = split_lines(text);
  // Raw values per field in reading order; the first readable one wins.
  std::vector<std::pair<std::string, std::string>> values;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (is_quote_line(lines[i])) continue;  // quoted history is not the customer's answer
    std::string line = strip_bullet(lines[i]);
    if (line.empty()) continue;
    std::string field;
    std::string value;
    auto numbered = split_number(line);
    std::string body = numbered ? numbered->second : line;
    if (auto lab = split_label(body)) {
      auto f = field_for_label(type, lab->label);
      if (!f.empty()) {
        field = f;
        value = lab->value;
        if (value.empty()) {
          // "Extensión:" with the answer on the next line.
          size_t j = i + 1;
          while (j < lines.size() && is_blank(lines[j])) ++j;
          if (j < lines.size() && !is_quote_line(lines[j])) {
            auto next = strip_bullet(lines[j]);
            auto next_label = split_label(next);
            if (!(next_label && !field_for_label(type, next_label->label).empty()) &&
                !split_number(next)) {
              value = next;
              i = j;
            }
          }
        }
      }
    }
    if (field.empty() && numbered) {
      field = field_for_number(type, numbered->first);
      value = numbered->second;
    }
    if (field.empty() || value.empty()) continue;
    values.emplace_back(field, value);
  }

  Json patch = Json::object();
  DateTimeParts when;
  std::optional<std::string> generic_email;
  for (const auto& [field, value] : values) {
    if (field == "occurred_at") {
      if (auto exact = parse_iso8601(trim(value)); exact && !patch.contains(field)) {
        patch[field] = format_iso8601(*exact);  // a full ISO 8601 time with its own zone
        continue;
      }
      auto p = read_date_time(value);
      if (!when.date && !when.day_shift && (p.date || p.day_shift)) {
        when.date = p.date;
        when.day_shift = p.day_shift;
      }
      if (!when.minutes && p.minutes) when.minutes = p.minutes;
      continue;
    }
    if (patch.contains(field)) continue;
    if (field == "extension") {
      if (auto e = read_extension(value)) patch[field] = *e;
    } else if (field == "counterpart_number") {
      if (auto p = read_phone(value)) patch[field] = *p;
    } else if (field == "direction") {
      if (auto d = read_direction(value)) patch[field] = *d;
    } else if (field == "direct_number") {
      if (auto b = read_yes_no(value)) patch[field] = *b;
    } else if (field == "extension_type") {
      if (auto t = read_extension_type(value)) {
        patch[field] = *t;
        if (*t == "teams" && !patch.contains("teams_email"))
          if (auto e = read_email(value)) patch["teams_email"] = *e;
      }
    } else if (field == "teams_email") {
      if (auto e = read_email(value)) patch[field] = *e;
    } else if (field == kTeamsEmailGeneric) {
      if (!generic_email) generic_email = read_email(value);
    } else if (field == "ring_groups") {
      if (auto g = read_ring_groups(value)) patch[field] = *g;
    } else if (field == "account_id" || field == "user_full_name") {
      patch[field] = value;
    }
  }
  if (!patch.contains("occurred_at"))
    if (auto t = resolve_date_time(when, received, offset))
      patch["occurred_at"] = format_iso8601(*t);
  if (generic_email && !patch.contains("teams_email") &&
      patch.value("extension_type", "") == "teams")
    patch["teams_email"] = *generic_email;
  if (patch.value("extension_type", "") == "sip") patch.erase("teams_email");

  // Keep only what merge_fields accepts, in the form it stores.
  for (const auto& [name, value] : patch.items()) {
    auto merged = merge_fields(type, Json::object(), Json{{name, value}}, offset);
    if (merged.ok() && merged->contains(name)) out[name] = (*merged)[name];
  }
  return out;
}

std::string field_label(CaseType type, std::string_view field, std::string_view language) {
  bool english = ascii_lower(language).starts_with("en");
  for (const auto& spec : field_specs(type))
    if (spec.name == field) return std::string(english ? spec.label_en : spec.label_es);
  return std::string(field);
}

}  // namespace escala::core
