#pragma once
// The MIME codec: reads a raw RFC 5322 message into core::MailMessage and composes
// core::OutboundMail into bytes, over GMime 3.2. Pure in the sense that matters here: no
// network, no clock, no database; the only file it reads is the one it is given.
//
// Thread-safety: call `mail_codec_init()` once before any other function (idempotent,
// thread-safe); after that every function may be called from any thread.
// Failure: malformed input never throws or crashes; what can be read is returned and the
// problems are listed in MailMessage::defects. kInvalidArgument only when the input is not
// a message at all (empty) or exceeds the limits.

#include <string>
#include <string_view>

#include "core/mail.hpp"
#include "core/result.hpp"

namespace escala::adapters {

struct ParseLimits {
  int64_t max_message_bytes = 64 * 1024 * 1024;
  int max_parts = 500;          // MIME parts walked; the rest are ignored (a defect)
  int max_depth = 20;           // nesting of multiparts and message/rfc822
  int64_t max_text_bytes = 4 * 1024 * 1024;  // body text kept; longer text is cut (a defect)
};

void mail_codec_init();

// Parses a message held in memory.
//
// How the fields are read (beyond what core/mail.hpp says):
// - text and html have "\n" line endings and are valid UTF-8 without NUL bytes; the text
//   is the inline text/plain parts joined (one per multipart/alternative), else the HTML
//   through html_to_text. Charsets GMime or iconv do not know, and undeclared 8-bit text,
//   are read as UTF-8 when valid, else windows-1252; each such guess is a defect.
// - headers holds every header of the top-level message (first occurrence), not only the
//   listed ones; "content-type" is filled from the top part when the header is absent.
// - attachments: parts with a file name, Content-Disposition attachment, or a type other
//   than text/plain and text/html. An attached message (message/rfc822, also when
//   base64-encoded) is one attachment "<its subject>.eml" holding its bytes; its text is
//   never the body. message/delivery-status, text/rfc822-headers and
//   message/disposition-notification parts are read into the report fields instead.
// - delivery[].diagnostic drops the diagnostic type ("smtp; 550 ..." gives "550 ...").
//   A multipart/report without report-type but with delivery-status blocks is given
//   "delivery-status" (with a defect).
// - original_message_id is only looked for in reports and in messages that look like
//   bounces (From MAILER-DAEMON/postmaster, X-Failed-Recipients, a bounce subject).
Result<core::MailMessage> parse_mail(std::string_view raw, const ParseLimits& limits = {});
// Parses a message from a file without reading it all into memory first (large
// attachments are decoded straight from the file).
Result<core::MailMessage> parse_mail_file(const std::string& path,
                                          const ParseLimits& limits = {});

// Composes a message: UTF-8 text (and HTML alternative when given), RFC 2047 encoded
// headers, Date, Message-ID, In-Reply-To, References, Auto-Submitted and extra headers.
// The result has CRLF line endings and no line over 998 octets (for values GMime can
// fold). Bodies are 7bit when short ASCII lines, else quoted-printable. Control characters
// in header values become spaces (no header injection); extra headers with invalid
// names are skipped. Date and Message-ID are written only when set.
std::string compose_mail(const core::OutboundMail& mail);

// Plain text from HTML (used for HTML-only mail): block elements become line breaks,
// <br> a newline, lists "- ", links "text (url)", entities decoded, script/style dropped,
// whitespace collapsed.
std::string html_to_text(std::string_view html);

}  // namespace escala::adapters
