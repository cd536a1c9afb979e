#pragma once
// The IMAP wire format as the poller needs it: pure functions over the bytes a server sent
// (RFC 9051 / 3501 response syntax), no I/O. Used by imap_poller.cpp on the stream libcurl
// hands to its header callback, and tested on their own in imap_wire_test.cpp.
//
// A server's answer is untrusted input: every function here returns an error or an empty
// answer for malformed text, never crashes, and bounds what it allocates.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace escala::adapters::imap {

// One response: "* ..." (untagged), "+ ..." (continuation) or "A004 OK ..." (tagged). Its
// literals ({n} followed by n raw bytes) are cut out: text[0] literal[0] text[1] ...
// text[k], so text.size() == literals.size() + 1 and line endings are not kept.
struct ImapResponse {
  std::string tag;  // "*", "+" or the command tag
  std::vector<std::string> text;
  std::vector<std::string> literals;
};

// Splits a stream into complete responses. A literal announced with more bytes than the
// stream holds is an error (the transfer was cut short, or libcurl ended the command at a
// line inside a literal that looked like its tag): the bytes cannot be trusted.
// `max_literal` bounds each literal.
Result<std::vector<ImapResponse>> parse_responses(std::string_view stream,
                                                  uint64_t max_literal);

// The tagged completion that ends the stream: status "OK", "NO" or "BAD" and the rest of
// the line (with its response code, e.g. "[TRYCREATE] Mailbox doesn't exist").
struct ImapCompletion {
  std::string tag, status, text;
};
std::optional<ImapCompletion> last_completion(const std::vector<ImapResponse>& responses);

// The numbers of every "* SEARCH n n n" response (in the order sent; a "(MODSEQ n)" tail
// and anything else that is not a number is ignored).
std::vector<uint32_t> search_results(const std::vector<ImapResponse>& responses);

// "[UIDVALIDITY n]" from a SELECT/EXAMINE (or a STATUS reply), when present.
std::optional<uint32_t> uidvalidity(const std::vector<ImapResponse>& responses);

// Capabilities announced in "* CAPABILITY ..." responses or "[CAPABILITY ...]" codes,
// upper-cased. Empty when none was sent.
std::set<std::string> capabilities(const std::vector<ImapResponse>& responses);

// A response code in a completion text: has_code("[ALREADYEXISTS] ...", "ALREADYEXISTS").
bool has_code(std::string_view text, std::string_view code);

// One value of a FETCH attribute list.
struct FetchValue {
  enum class Kind { kAtom, kString, kNil, kList } kind = Kind::kAtom;
  std::string data;  // the atom, the string (literal or quoted, unescaped), the list's text
};

// "* 12 FETCH (UID 7 RFC822.SIZE 81 BODY[]<0> {81}...)": attribute names upper-cased.
struct FetchResponse {
  uint32_t sequence = 0;
  std::map<std::string, FetchValue> attributes;
  std::optional<uint32_t> uid() const;
};
std::vector<FetchResponse> fetch_responses(const std::vector<ImapResponse>& responses);

// "1:5,7,9:10" for sorted unique UIDs.
std::string uid_set(const std::vector<uint32_t>& sorted_uids);

// A mailbox name as an IMAP quoted string. Only printable US-ASCII names are accepted
// (others need modified UTF-7, which the poller does not produce).
Result<std::string> quote_mailbox(std::string_view name);

}  // namespace escala::adapters::imap
