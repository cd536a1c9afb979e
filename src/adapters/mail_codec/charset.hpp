#pragma once
// Text helpers of the MIME codec, private to adapters/mail_codec: charset conversion to
// UTF-8, UTF-8 repair and cutting, RFC 2047 decoding. No GMime types appear here so the
// functions can be unit-tested on plain strings.
//
// Every function returns valid UTF-8 without NUL bytes, whatever the input: NUL is valid
// UTF-8 but PostgreSQL text cannot hold it, and nothing in a mail body needs it.

#include <string>
#include <string_view>
#include <vector>

#include "core/text.hpp"

namespace escala::adapters::mail_codec_internal {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points > U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Replaces every ill-formed sequence with U+FFFD and drops NUL bytes. Sets *changed when
// any ill-formed byte was replaced (dropped NULs do not count).
std::string sanitize_utf8(std::string_view s, bool* changed = nullptr);

// The longest prefix of `s` not longer than `max_bytes` that does not split a UTF-8
// sequence.
std::string_view cut_utf8(std::string_view s, size_t max_bytes);

// Converts bytes in `charset` to UTF-8. An empty, "us-ascii" or unknown charset is read as
// UTF-8 when the bytes are valid UTF-8, else as windows-1252 (the superset of ISO-8859-1
// every mail client writes in practice). ISO-8859-1 itself is read as windows-1252 too.
// On any fallback or replaced byte, `defect` is set to a sentence saying what happened.
std::string to_utf8(std::string_view bytes, std::string_view charset, std::string* defect);

// Decodes an unstructured header value: unfolds it, decodes RFC 2047 encoded words
// (joining adjacent ones, whose bytes may split a multi-byte character), reads raw 8-bit
// text as UTF-8 or windows-1252, and turns control characters into spaces. Leading and
// trailing blanks are removed. Problems are appended to `defects` (may be null).
std::string decode_header_text(std::string_view raw, std::vector<std::string>* defects);

// For address headers: replaces each run of encoded words outside quotes by a quoted
// string holding the decoded UTF-8 text (inside quotes: by the escaped text), so an
// address parser that does not know the charset still gets the right display name.
std::string predecode_address_header(std::string_view raw, std::vector<std::string>* defects);

// "\r\n" and lone "\r" become "\n".
std::string normalize_newlines(std::string_view s);

using core::ascii_lower;  // one ASCII lower-casing for the whole project

std::string_view trim(std::string_view s);

}  // namespace escala::adapters::mail_codec_internal
