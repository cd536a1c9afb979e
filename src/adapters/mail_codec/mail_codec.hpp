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
Result<core::MailMessage> parse_mail(std::string_view raw, const ParseLimits& limits = {});
// Parses a message from a file without reading it all into memory first (large
// attachments are decoded straight from the file).
Result<core::MailMessage> parse_mail_file(const std::string& path,
                                          const ParseLimits& limits = {});

// Composes a message: UTF-8 text (and HTML alternative when given), RFC 2047 encoded
// headers, Date, Message-ID, In-Reply-To, References, Auto-Submitted and extra headers.
std::string compose_mail(const core::OutboundMail& mail);

// Plain text from HTML (used for HTML-only mail): block elements become line breaks,
// <br> a newline, lists "- ", links "text (url)", entities decoded, script/style dropped,
// whitespace collapsed.
std::string html_to_text(std::string_view html);

}  // namespace escala::adapters
