#include "adapters/imap_poller/imap_wire.hpp"

#include <algorithm>
#include <cctype>

namespace escala::adapters::imap {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && upper(a) == upper(b);
}

std::optional<uint64_t> parse_number(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v || next > max) return std::nullopt;
    v = next;
  }
  return v;
}

std::optional<uint32_t> parse_u32(std::string_view s) {
  auto v = parse_number(s, 0xffffffffULL);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

// If `line` ends with a literal announcement ("{12}", "{12+}", "~{12}"), the byte count and
// where the announcement starts.
std::optional<std::pair<uint64_t, size_t>> literal_marker(std::string_view line,
                                                          uint64_t max_literal) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view digits = line.substr(open + 1, line.size() - open - 2);
  if (!digits.empty() && digits.back() == '+') digits.remove_suffix(1);
  auto n = parse_number(digits, max_literal);
  if (!n) return std::nullopt;
  size_t start = open;
  if (start > 0 && line[start - 1] == '~') --start;  // literal8 (BINARY)
  return std::make_pair(*n, start);
}

struct Token {
  enum class Kind { kAtom, kString, kNil, kOpen, kClose } kind;
  std::string data;
};

// Tokens of one response: atoms (with [...] sections and <...> partials kept inside the
// atom), quoted strings, parentheses, and the literals as strings.
std::vector<Token> tokenize(const ImapResponse& r) {
  std::vector<Token> out;
  for (size_t seg = 0; seg < r.text.size(); ++seg) {
    std::string_view s = r.text[seg];
    size_t i = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == ' ') {
        ++i;
      } else if (c == '(') {
        out.push_back({Token::Kind::kOpen, "("});
        ++i;
      } else if (c == ')') {
        out.push_back({Token::Kind::kClose, ")"});
        ++i;
      } else if (c == '"') {
        std::string value;
        ++i;
        while (i < s.size() && s[i] != '"') {
          if (s[i] == '\\' && i + 1 < s.size()) ++i;
          value.push_back(s[i++]);
        }
        ++i;  // the closing quote (or the end of a malformed line)
        out.push_back({Token::Kind::kString, std::move(value)});
      } else {
        size_t start = i;
        int depth = 0;
        while (i < s.size()) {
          char d = s[i];
          if (d == '[') ++depth;
          if (d == ']' && depth > 0) --depth;
          if (depth == 0 && (d == ' ' || d == '(' || d == ')')) break;
          ++i;
        }
        std::string atom(s.substr(start, i - start));
        bool nil = iequals(atom, "NIL");
        out.push_back({nil ? Token::Kind::kNil : Token::Kind::kAtom, std::move(atom)});
      }
    }
    if (seg < r.literals.size()) out.push_back({Token::Kind::kString, r.literals[seg]});
  }
  return out;
}

}  // namespace

Result<std::vector<ImapResponse>> parse_responses(std::string_view stream,
                                                  uint64_t max_literal) {
  std::vector<ImapResponse> out;
  size_t p = 0;
  while (p < stream.size()) {
    ImapResponse r;
    for (;;) {
      size_t nl = stream.find('\n', p);
      size_t end = nl == std::string_view::npos ? stream.size() : nl;
      std::string_view line = stream.substr(p, end - p);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      p = nl == std::string_view::npos ? stream.size() : nl + 1;
      auto marker = literal_marker(line, max_literal);
      if (!marker || nl == std::string_view::npos) {
        r.text.emplace_back(line);
        break;
      }
      auto [n, at] = *marker;
      if (stream.size() - p < n)
        return make_error(ErrorCode::kUnavailable,
                          "IMAP response cut short: a literal of " + std::to_string(n) +
                              " bytes has only " + std::to_string(stream.size() - p));
      r.text.emplace_back(line.substr(0, at));
      r.literals.emplace_back(stream.substr(p, n));
      p += n;
    }
    std::string_view first = r.text.front();
    r.tag = std::string(first.substr(0, first.find(' ')));
    if (r.tag.empty() && r.text.size() == 1 && first.empty()) continue;  // a blank line
    out.push_back(std::move(r));
  }
  return out;
}

std::optional<ImapCompletion> last_completion(const std::vector<ImapResponse>& responses) {
  for (auto it = responses.rbegin(); it != responses.rend(); ++it) {
    if (it->tag == "*" || it->tag == "+" || it->tag.empty()) continue;
    std::string_view line = it->text.front();
    line.remove_prefix(std::min(line.size(), it->tag.size() + 1));
    size_t sp = line.find(' ');
    ImapCompletion c;
    c.tag = it->tag;
    c.status = upper(line.substr(0, sp));
    if (sp != std::string_view::npos) c.text = std::string(line.substr(sp + 1));
    return c;
  }
  return std::nullopt;
}

std::vector<uint32_t> search_results(const std::vector<ImapResponse>& responses) {
  std::vector<uint32_t> out;
  for (const auto& r : responses) {
    if (r.tag != "*") continue;
    auto tokens = tokenize(r);
    if (tokens.size() < 2 || !iequals(tokens[1].data, "SEARCH")) continue;
    for (size_t i = 2; i < tokens.size(); ++i) {
      if (tokens[i].kind == Token::Kind::kOpen) break;  // "(MODSEQ 917162500)"
      if (tokens[i].kind != Token::Kind::kAtom) continue;
      if (auto n = parse_u32(tokens[i].data); n && *n > 0) out.push_back(*n);
    }
  }
  return out;
}

std::optional<uint32_t> uidvalidity(const std::vector<ImapResponse>& responses) {
  std::optional<uint32_t> found;
  for (const auto& r : responses) {
    if (r.tag != "*") continue;
    std::string line = upper(r.text.front());
    size_t at = line.find("[UIDVALIDITY ");
    if (at == std::string::npos) {
      at = line.find("UIDVALIDITY ");  // STATUS INBOX (UIDVALIDITY n)
      if (at == std::string::npos || line.find(" STATUS ") == std::string::npos) continue;
    } else {
      ++at;
    }
    size_t start = at + 12;
    size_t end = line.find_first_not_of("0123456789", start);
    if (auto n = parse_u32(std::string_view(line).substr(start, end - start)); n && *n > 0)
      found = *n;  // the last one wins: a reselect after a reconnect comes later
  }
  return found;
}

std::set<std::string> capabilities(const std::vector<ImapResponse>& responses) {
  std::set<std::string> caps;
  auto add_words = [&](std::string_view words) {
    while (!words.empty()) {
      size_t sp = words.find(' ');
      std::string_view w = words.substr(0, sp);
      if (!w.empty()) caps.insert(upper(w));
      words = sp == std::string_view::npos ? std::string_view{} : words.substr(sp + 1);
    }
  };
  for (const auto& r : responses) {
    std::string line = upper(r.text.front());
    if (r.tag == "*" && line.rfind("* CAPABILITY ", 0) == 0) {
      caps.clear();  // the latest list replaces earlier ones (pre-login vs. post-login)
      add_words(std::string_view(line).substr(13));
      continue;
    }
    size_t at = line.find("[CAPABILITY ");
    if (at == std::string::npos) continue;
    size_t end = line.find(']', at);
    if (end == std::string::npos) continue;
    caps.clear();
    add_words(std::string_view(line).substr(at + 12, end - at - 12));
  }
  return caps;
}

bool has_code(std::string_view text, std::string_view code) {
  std::string t = upper(text);
  std::string c = "[" + upper(code);
  size_t at = t.find(c);
  if (at == std::string::npos) return false;
  char next = at + c.size() < t.size() ? t[at + c.size()] : '\0';
  return next == ']' || next == ' ';
}

std::optional<uint32_t> FetchResponse::uid() const {
  auto it = attributes.find("UID");
  if (it == attributes.end() || it->second.kind != FetchValue::Kind::kAtom) return std::nullopt;
  return parse_u32(it->second.data);
}

std::vector<FetchResponse> fetch_responses(const std::vector<ImapResponse>& responses) {
  std::vector<FetchResponse> out;
  for (const auto& r : responses) {
    if (r.tag != "*") continue;
    auto t = tokenize(r);
    if (t.size() < 4 || !iequals(t[2].data, "FETCH") || t[3].kind != Token::Kind::kOpen)
      continue;
    auto seq = parse_u32(t[1].data);
    if (!seq) continue;
    FetchResponse f;
    f.sequence = *seq;
    size_t i = 4;
    while (i < t.size() && t[i].kind != Token::Kind::kClose) {
      if (t[i].kind != Token::Kind::kAtom || i + 1 >= t.size()) break;
      std::string name = upper(t[i].data);
      ++i;
      FetchValue v;
      if (t[i].kind == Token::Kind::kOpen) {
        v.kind = FetchValue::Kind::kList;
        int depth = 0;
        for (; i < t.size(); ++i) {
          if (t[i].kind == Token::Kind::kOpen) {
            if (depth++ > 0) v.data += "(";
          } else if (t[i].kind == Token::Kind::kClose) {
            if (--depth == 0) break;
            v.data += ")";
          } else {
            if (!v.data.empty() && v.data.back() != '(') v.data += " ";
            v.data += t[i].data;
          }
        }
        ++i;
      } else if (t[i].kind == Token::Kind::kClose) {
        break;
      } else {
        v.kind = t[i].kind == Token::Kind::kString ? FetchValue::Kind::kString
                 : t[i].kind == Token::Kind::kNil  ? FetchValue::Kind::kNil
                                                   : FetchValue::Kind::kAtom;
        v.data = std::move(t[i].data);
        ++i;
      }
      f.attributes[std::move(name)] = std::move(v);
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string uid_set(const std::vector<uint32_t>& uids) {
  std::string out;
  for (size_t i = 0; i < uids.size();) {
    size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) out += ":" + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

Result<std::string> quote_mailbox(std::string_view name) {
  if (name.empty() || name.size() > 512)
    return make_error(ErrorCode::kInvalidArgument, "a folder name needs 1 to 512 characters",
                      "after_store");
  std::string out = "\"";
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '&')
      return make_error(ErrorCode::kInvalidArgument,
                        "folder names must be printable US-ASCII without '&' (non-ASCII "
                        "names need modified UTF-7)",
                        "after_store");
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace escala::adapters::imap
