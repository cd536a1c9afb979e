#pragma once
// Reading the machine parts of reports and bounces, private to adapters/mail_codec:
// RFC 3464 delivery-status fields, returned headers, and the Message-ID quoted in the
// body of a classic (non-DSN) bounce. Works on decoded text; no GMime types.

#include <string>
#include <string_view>
#include <vector>

#include "core/mail.hpp"

namespace escala::adapters::mail_codec_internal {

struct Field {
  std::string name;   // lower case
  std::string value;  // unfolded, trimmed, as written (not RFC 2047 decoded)
};

// Splits text into blocks of "Name: value" fields separated by blank lines, joining
// continuation lines. Lines that are not fields are ignored.
std::vector<std::vector<Field>> parse_field_blocks(std::string_view text);

// The per-recipient blocks of a message/delivery-status body. Blocks without any
// recipient, action or status (the per-message block) are skipped.
std::vector<core::DeliveryStatus> parse_delivery_status(std::string_view text);

// "<a@b>" → "a@b"; also trims blanks and takes the first <...> when there is text around.
std::string strip_message_id(std::string_view value);

// The value of the first field `name` (lower case) in the first block of `text`, which
// holds headers (text/rfc822-headers, a returned message).
std::string first_block_field(std::string_view text, std::string_view name);

// The first "Message-ID: <...>" line in a bounce's body text (quoted with ">" or not)
// whose id differs from `own_id`; "" when none.
std::string find_quoted_message_id(std::string_view text, std::string_view own_id);

}  // namespace escala::adapters::mail_codec_internal
