#pragma once
// Text helpers shared by the domain and the stores.

#include <string>
#include <string_view>
#include <vector>

namespace escala::core {

// Lower-cases and removes diacritics from Latin letters (á→a, Ñ→n, ç→c…), the same
// folding the full-text index applies, so "extension" matches "Extensión".
std::string fold_for_search(std::string_view text);

// Splits folded text into words of letters and digits.
std::vector<std::string> search_terms(std::string_view text);

// A plausible email address (one '@', a dotted domain, no spaces, quotes or list
// separators, at most 254 bytes): the one check every entry point uses.
bool is_email_address(std::string_view text);

// ASCII letters to lower case, every other byte as is (header names, addresses, tokens).
std::string ascii_lower(std::string_view text);

// Compares secrets in time independent of where they differ (tokens, signed links).
bool constant_time_equal(std::string_view a, std::string_view b);

// Appends one code point as UTF-8 (the caller passes a valid scalar value).
void append_utf8(std::string& out, char32_t code_point);

// True when the bytes are valid UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace escala::core
