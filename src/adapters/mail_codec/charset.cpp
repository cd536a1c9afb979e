#include "adapters/mail_codec/charset.hpp"

#include <iconv.h>

#include <cerrno>
#include <cstdint>

#include "core/text.hpp"

namespace escala::adapters::mail_codec_internal {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i], or 0 when it is ill-formed
// (Unicode 15, table 3-7).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + need >= s.size()) return 0;
  unsigned char c1 = byte(i + 1);
  if (c1 < lo || c1 > hi) return 0;
  for (size_t k = 2; k <= need; ++k) {
    unsigned char ck = byte(i + k);
    if (ck < 0x80 || ck > 0xBF) return 0;
  }
  return need + 1;
}

// Windows-1252 0x80..0x9F; the five undefined bytes map to the C1 controls, as WHATWG does.
constexpr uint16_t kCp1252High[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

std::string from_windows_1252(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (char ch : bytes) {
    auto c = static_cast<unsigned char>(ch);
    if (c == 0) continue;
    if (c < 0x80) {
      out += ch;
    } else if (c < 0xA0) {
      core::append_utf8(out, kCp1252High[c - 0x80]);
    } else {
      core::append_utf8(out, c);
    }
  }
  return out;
}

bool is_charset_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_' || c == '.' || c == ':';
}

// The iconv name for a MIME charset label, or "" when the label is not worth trying
// (iconv takes "//TRANSLIT" and similar suffixes as options, so only plain names pass).
std::string iconv_name(std::string_view charset) {
  std::string name = ascii_lower(trim(charset));
  if (auto star = name.find('*'); star != std::string::npos) name.resize(star);  // RFC 2231 lang
  if (name.empty() || name.size() > 40) return "";
  for (char c : name) {
    if (!is_charset_name_char(c)) return "";
  }
  // Labels mail clients write that glibc does not know under that name.
  if (name == "ks_c_5601-1987" || name == "ks_c_5601") return "CP949";
  if (name == "x-sjis" || name == "shift-jis") return "SHIFT_JIS";
  if (name == "gb2312" || name == "x-gbk") return "GB18030";
  if (name == "x-mac-roman") return "MACINTOSH";
  if (name == "unicode-1-1-utf-7") return "UTF-7";
  return name;
}

bool is_utf8_label(std::string_view lower) {
  return lower == "utf-8" || lower == "utf8" || lower == "x-utf-8";
}

bool is_ascii_or_latin1_label(std::string_view lower) {
  return lower == "us-ascii" || lower == "ascii" || lower == "iso-8859-1" ||
         lower == "iso8859-1" || lower == "iso_8859-1" || lower == "latin1" ||
         lower == "latin-1" || lower == "windows-1252" || lower == "cp1252" ||
         lower == "x-user-defined" || lower == "ansi_x3.4-1968";
}

// Converts with iconv; an unconvertible byte becomes U+FFFD. Returns false when iconv
// does not know the charset.
bool convert_with_iconv(std::string_view bytes, const std::string& from, std::string* out,
                        bool* replaced) {
  iconv_t cd = iconv_open("UTF-8", from.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return false;
  out->clear();
  out->reserve(bytes.size() * 2 + 16);
  char* in = const_cast<char*>(bytes.data());
  size_t in_left = bytes.size();
  char buffer[4096];
  while (true) {
    char* out_ptr = buffer;
    size_t out_left = sizeof buffer;
    size_t r = in_left > 0 ? iconv(cd, &in, &in_left, &out_ptr, &out_left)
                           : iconv(cd, nullptr, nullptr, &out_ptr, &out_left);
    int err = errno;
    out->append(buffer, out_ptr - buffer);
    if (r != static_cast<size_t>(-1)) {
      if (in_left == 0) {
        // Flush shift state once more (the call above with nullptr did it already when
        // in_left was zero on entry).
        char* flush_ptr = buffer;
        size_t flush_left = sizeof buffer;
        iconv(cd, nullptr, nullptr, &flush_ptr, &flush_left);
        out->append(buffer, flush_ptr - buffer);
        break;
      }
      continue;
    }
    if (err == E2BIG) continue;
    // EILSEQ: an invalid byte; EINVAL: an incomplete sequence at the end.
    *replaced = true;
    out->append(kReplacement);
    if (in_left == 0) break;
    ++in;
    --in_left;
    if (err == EINVAL && in_left == 0) break;
  }
  iconv_close(cd);
  return true;
}

}  // namespace

std::string_view trim(std::string_view s) {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s, bool* changed) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') {
      ++i;
      continue;
    }
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out.append(kReplacement);
      if (changed) *changed = true;
      ++i;
      // Skip the continuation bytes of this broken sequence: one U+FFFD per sequence.
      while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string_view cut_utf8(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  return s.substr(0, end);
}

std::string to_utf8(std::string_view bytes, std::string_view charset, std::string* defect) {
  std::string lower = ascii_lower(trim(charset));
  if (auto star = lower.find('*'); star != std::string::npos) lower.resize(star);
  if (lower.empty() || is_utf8_label(lower) || is_ascii_or_latin1_label(lower)) {
    if (is_valid_utf8(bytes)) return sanitize_utf8(bytes);
    if (is_utf8_label(lower)) {
      bool changed = false;
      std::string out = sanitize_utf8(bytes, &changed);
      if (defect) *defect = "invalid UTF-8 bytes replaced with U+FFFD";
      return out;
    }
    // Undeclared 8-bit text, or Latin-1 declared: windows-1252 is what senders mean.
    if (defect && (lower.empty() || lower == "us-ascii" || lower == "ascii")) {
      *defect = "8-bit text without a charset read as windows-1252";
    }
    return from_windows_1252(bytes);
  }
  std::string name = iconv_name(lower);
  std::string converted;
  bool replaced = false;
  if (!name.empty() && convert_with_iconv(bytes, name, &converted, &replaced)) {
    if (replaced && defect) *defect = "bytes invalid in charset " + name + " replaced";
    return sanitize_utf8(converted);
  }
  std::string shown = sanitize_utf8(cut_utf8(charset, 40));
  if (is_valid_utf8(bytes)) {
    if (defect) *defect = "unknown charset \"" + shown + "\" read as UTF-8";
    return sanitize_utf8(bytes);
  }
  if (defect) *defect = "unknown charset \"" + shown + "\" read as windows-1252";
  return from_windows_1252(bytes);
}

std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += '\n';
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Lenient: characters outside the alphabet are skipped, missing padding is accepted.
std::string decode_base64(std::string_view text) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = base64_value(c);
    if (v < 0) {
      if (c == '=') break;
      continue;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string decode_q(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < text.size() &&
               hex_value(text[i + 1]) >= 0 && hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

struct EncodedWord {
  std::string charset;
  std::string bytes;
  size_t length = 0;  // characters of the raw text it spans
};

// Parses "=?charset?B|Q?text?=" at the start of `s`.
bool parse_encoded_word(std::string_view s, EncodedWord* word) {
  if (s.size() < 8 || s[0] != '=' || s[1] != '?') return false;
  size_t q1 = s.find('?', 2);
  if (q1 == std::string_view::npos || q1 == 2 || q1 > 2 + 64) return false;
  std::string_view charset = s.substr(2, q1 - 2);
  for (char c : charset) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return false;
  }
  if (q1 + 2 >= s.size() || s[q1 + 2] != '?') return false;
  char encoding = s[q1 + 1];
  if (encoding != 'b' && encoding != 'B' && encoding != 'q' && encoding != 'Q') return false;
  size_t text_start = q1 + 3;
  size_t q2 = s.find('?', text_start);
  if (q2 == std::string_view::npos || q2 + 1 >= s.size() || s[q2 + 1] != '=') return false;
  std::string_view text = s.substr(text_start, q2 - text_start);
  word->charset = std::string(charset);
  word->bytes = (encoding == 'b' || encoding == 'B') ? decode_base64(text) : decode_q(text);
  word->length = q2 + 2;
  return true;
}

std::string unfold(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (char c : raw) {
    if (c != '\r' && c != '\n') out += c;
  }
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

// One piece of a header value: literal raw text, or the bytes of one or more adjacent
// encoded words in one charset.
struct Piece {
  bool encoded = false;
  std::string charset;
  std::string bytes;
};

std::vector<Piece> split_encoded_words(std::string_view s) {
  std::vector<Piece> pieces;
  size_t i = 0;
  while (i < s.size()) {
    EncodedWord word;
    if (s[i] == '=' && parse_encoded_word(s.substr(i), &word)) {
      // Blanks between two encoded words are not part of the text (RFC 2047 section 6.2).
      if (!pieces.empty() && !pieces.back().encoded && pieces.size() >= 2 &&
          pieces[pieces.size() - 2].encoded) {
        bool all_blank = true;
        for (char c : pieces.back().bytes) all_blank = all_blank && is_blank(c);
        if (all_blank) pieces.pop_back();
      }
      if (!pieces.empty() && pieces.back().encoded &&
          ascii_lower(pieces.back().charset) == ascii_lower(word.charset)) {
        pieces.back().bytes += word.bytes;
      } else {
        pieces.push_back({true, word.charset, std::move(word.bytes)});
      }
      i += word.length;
      continue;
    }
    if (pieces.empty() || pieces.back().encoded) pieces.push_back({});
    pieces.back().bytes += s[i];
    ++i;
  }
  return pieces;
}

std::string decode_piece(const Piece& piece, std::vector<std::string>* defects) {
  std::string defect;
  std::string text = to_utf8(piece.bytes, piece.encoded ? piece.charset : "", &defect);
  if (!defect.empty() && defects) defects->push_back("header: " + defect);
  return text;
}

std::string controls_to_spaces(std::string s) {
  for (char& c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return s;
}

}  // namespace

std::string decode_header_text(std::string_view raw, std::vector<std::string>* defects) {
  std::string unfolded = unfold(raw);
  std::string out;
  for (const Piece& piece : split_encoded_words(unfolded)) out += decode_piece(piece, defects);
  return std::string(trim(controls_to_spaces(std::move(out))));
}

std::string predecode_address_header(std::string_view raw, std::vector<std::string>* defects) {
  std::string s = unfold(raw);
  std::string out;
  bool in_quotes = false;
  size_t i = 0;
  auto escape = [](const std::string& text) {
    std::string e;
    for (char c : text) {
      if (c == '"' || c == '\\') e += '\\';
      e += c;
    }
    return e;
  };
  while (i < s.size()) {
    char c = s[i];
    if (in_quotes && c == '\\' && i + 1 < s.size()) {
      out += s.substr(i, 2);
      i += 2;
      continue;
    }
    if (c == '"') {
      in_quotes = !in_quotes;
      out += c;
      ++i;
      continue;
    }
    EncodedWord word;
    if (c == '=' && parse_encoded_word(std::string_view(s).substr(i), &word)) {
      // Take the whole run of encoded words separated by blanks.
      size_t end = i + word.length;
      while (true) {
        size_t j = end;
        while (j < s.size() && is_blank(s[j])) ++j;
        EncodedWord next;
        if (j < s.size() && parse_encoded_word(std::string_view(s).substr(j), &next)) {
          end = j + next.length;
        } else {
          break;
        }
      }
      std::string decoded;
      for (const Piece& piece : split_encoded_words(std::string_view(s).substr(i, end - i))) {
        decoded += decode_piece(piece, defects);
      }
      decoded = controls_to_spaces(std::move(decoded));
      if (in_quotes) {
        out += escape(decoded);
      } else {
        out += '"' + escape(decoded) + '"';
      }
      i = end;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace escala::adapters::mail_codec_internal
