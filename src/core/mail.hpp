#pragma once
// Email as the desk sees it: plain data read from a message by the MIME codec adapter
// (adapters/mail_codec) and written back by it. The rules that read it (classification,
// threading, required data, intent) live in mail_rules.hpp; nothing here does I/O.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace escala::core {

struct MailAddress {
  std::string name;     // display name, decoded to UTF-8 (may be empty)
  std::string address;  // "user@example.com" as written (compare case-insensitively)
};

struct MailAttachment {
  std::string filename;      // decoded to UTF-8, without any directory part
  std::string content_type;  // lower case, e.g. "application/pdf"
  std::string content_id;    // without <>, for inline images
  bool is_inline = false;
  int64_t size = 0;     // decoded bytes
  std::string sha256;   // lower-case hex of the decoded content
  std::string data;     // the decoded content
};

// One per-recipient block of an RFC 3464 delivery status notification.
struct DeliveryStatus {
  std::string recipient;   // Final-Recipient (or Original-Recipient) address, no "rfc822;"
  std::string action;      // failed | delayed | delivered | relayed | expanded (lower case)
  std::string status;      // "5.1.1"
  std::string diagnostic;  // Diagnostic-Code text
};

// What Escala reads from one message.
struct MailMessage {
  std::string message_id;               // without <>; empty when absent
  std::vector<std::string> in_reply_to;  // message ids without <>
  std::vector<std::string> references;   // message ids without <>, oldest first
  MailAddress from;
  std::optional<MailAddress> reply_to;
  std::vector<MailAddress> to;
  std::vector<MailAddress> cc;
  std::string subject;  // decoded (RFC 2047) to UTF-8, unfolded
  std::optional<Instant> date;
  // Headers the rules read, names in lower case, values decoded and unfolded; the first
  // occurrence of each. At least: return-path, auto-submitted, x-autoreply, x-autorespond,
  // x-auto-response-suppress, precedence, list-id, list-unsubscribe, x-failed-recipients,
  // content-type (of the top part), disposition-notification-to, x-escala-loop,
  // x-escala-case, feedback-id, x-mailer.
  std::map<std::string, std::string> headers;
  std::string text;  // the plain-text body in UTF-8 (from text/plain, else from the HTML)
  std::string html;  // the HTML body as received (not sanitised); empty when none
  std::vector<MailAttachment> attachments;
  // multipart/report: "delivery-status", "disposition-notification", ... ("" otherwise)
  std::string report_type;
  std::vector<DeliveryStatus> delivery;
  // The Message-ID of the message a report or bounce is about, when it can be found
  // (the returned headers of a DSN or of a classic bounce's quoted original).
  std::string original_message_id;
  std::string raw_sha256;  // of the message bytes as received
  int64_t raw_size = 0;
  // Problems the parser met and worked around (bad charset, truncated part...); parsing
  // still produced the fields above.
  std::vector<std::string> defects;

  const std::string* header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? nullptr : &it->second;
  }
};

// A message Escala sends. The codec composes it (UTF-8, quoted-printable or base64 as
// needed, RFC 2047 headers); the outbox stores it as this structure.
struct OutboundMail {
  MailAddress from;
  std::vector<MailAddress> to;
  std::optional<MailAddress> reply_to;
  std::string subject;
  std::string text;                     // the plain-text part
  std::string html;                     // optional HTML alternative
  std::string message_id;               // without <>; set by the sender of the change
  std::vector<std::string> in_reply_to;  // without <>
  std::vector<std::string> references;   // without <>
  std::optional<Instant> date;
  // RFC 3834: "auto-replied" for acknowledgements, "auto-generated" for notifications;
  // empty for messages written by a person.
  std::string auto_submitted;
  // Extra headers (X-Escala-Case, X-Escala-Loop, List-Unsubscribe...), written as given.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Bytes stored once by their SHA-256 (raw messages, attachments). Shared, not copied: a
// change may be computed more than once (a store retries a batch) and messages are large.
struct StoredBlob {
  std::string sha256;
  std::shared_ptr<const std::string> data;
};

// The ledger entry of one received message: it makes ingestion idempotent (`key` is
// unique) and keeps the original (`raw_sha256` names the stored bytes).
struct InboundRecord {
  std::string key;  // "mid:<Message-ID>" or "sha256:<hex of the bytes>" when absent
  std::string mailbox;
  std::string from;
  std::string subject;
  std::string message_id;
  std::string raw_sha256;
  int64_t raw_size = 0;
  std::string kind;         // to_string(MailKind)
  std::string disposition;  // new_case | joined | ignored | bounce | ...
  int64_t case_id = 0;
  Instant received_at{};
};

// A message waiting in (or gone through) the durable outbox.
struct OutboxMessage {
  int64_t id = 0;
  int64_t case_id = 0;  // 0 when not about a case
  std::string kind;     // acknowledgement, missing_data, reply, resolved, notification...
  std::string envelope_from;  // the SMTP return path
  std::vector<std::string> recipients;
  OutboundMail mail;
  bool automatic = true;  // counts toward the per-address daily cap on automatic mail
  std::string status = "pending";  // pending | sending | sent | failed
  int attempts = 0;
  Instant next_attempt_at{};
  std::string last_error;
  Instant created_at{};
  std::optional<Instant> sent_at;
};

}  // namespace escala::core
