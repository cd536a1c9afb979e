// html_to_text: a small tolerant HTML reader for HTML-only mail. It is not an HTML5
// parser: it only needs the words in reading order, with line breaks where a reader sees
// them, so it never builds a tree and never fails (unclosed tags, stray "<", unknown
// entities are read as text or skipped).

#include <cstdint>
#include <cstring>

#include "adapters/mail_codec/charset.hpp"
#include "adapters/mail_codec/mail_codec.hpp"
#include "core/text.hpp"

namespace escala::adapters {

using namespace mail_codec_internal;

namespace {

struct NamedEntity {
  const char* name;
  uint32_t code_point;
};

// The entities mail actually uses: markup escapes, typography, and Latin-1 letters.
constexpr NamedEntity kEntities[] = {
    {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
    {"nbsp", ' '}, {"ensp", ' '}, {"emsp", ' '}, {"thinsp", ' '},
    {"shy", 0}, {"zwnj", 0}, {"zwj", 0}, {"lrm", 0}, {"rlm", 0},
    {"copy", 0xA9}, {"reg", 0xAE}, {"trade", 0x2122}, {"hellip", 0x2026},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"lsquo", 0x2018}, {"rsquo", 0x2019},
    {"sbquo", 0x201A}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E},
    {"bull", 0x2022}, {"middot", 0xB7}, {"euro", 0x20AC}, {"pound", 0xA3},
    {"yen", 0xA5}, {"cent", 0xA2}, {"curren", 0xA4}, {"sect", 0xA7}, {"deg", 0xB0},
    {"plusmn", 0xB1}, {"times", 0xD7}, {"divide", 0xF7}, {"laquo", 0xAB},
    {"raquo", 0xBB}, {"lsaquo", 0x2039}, {"rsaquo", 0x203A}, {"iexcl", 0xA1},
    {"iquest", 0xBF}, {"ordf", 0xAA}, {"ordm", 0xBA}, {"para", 0xB6}, {"micro", 0xB5},
    {"acute", 0xB4}, {"cedil", 0xB8}, {"uml", 0xA8}, {"macr", 0xAF}, {"brvbar", 0xA6},
    {"not", 0xAC}, {"sup1", 0xB9}, {"sup2", 0xB2}, {"sup3", 0xB3}, {"frac14", 0xBC},
    {"frac12", 0xBD}, {"frac34", 0xBE}, {"dagger", 0x2020}, {"Dagger", 0x2021},
    {"permil", 0x2030}, {"prime", 0x2032}, {"larr", 0x2190}, {"rarr", 0x2192},
    {"uarr", 0x2191}, {"darr", 0x2193}, {"check", 0x2713},
    {"Agrave", 0xC0}, {"Aacute", 0xC1}, {"Acirc", 0xC2}, {"Atilde", 0xC3},
    {"Auml", 0xC4}, {"Aring", 0xC5}, {"AElig", 0xC6}, {"Ccedil", 0xC7},
    {"Egrave", 0xC8}, {"Eacute", 0xC9}, {"Ecirc", 0xCA}, {"Euml", 0xCB},
    {"Igrave", 0xCC}, {"Iacute", 0xCD}, {"Icirc", 0xCE}, {"Iuml", 0xCF}, {"ETH", 0xD0},
    {"Ntilde", 0xD1}, {"Ograve", 0xD2}, {"Oacute", 0xD3}, {"Ocirc", 0xD4},
    {"Otilde", 0xD5}, {"Ouml", 0xD6}, {"Oslash", 0xD8}, {"Ugrave", 0xD9},
    {"Uacute", 0xDA}, {"Ucirc", 0xDB}, {"Uuml", 0xDC}, {"Yacute", 0xDD},
    {"THORN", 0xDE}, {"szlig", 0xDF}, {"agrave", 0xE0}, {"aacute", 0xE1},
    {"acirc", 0xE2}, {"atilde", 0xE3}, {"auml", 0xE4}, {"aring", 0xE5}, {"aelig", 0xE6},
    {"ccedil", 0xE7}, {"egrave", 0xE8}, {"eacute", 0xE9}, {"ecirc", 0xEA},
    {"euml", 0xEB}, {"igrave", 0xEC}, {"iacute", 0xED}, {"icirc", 0xEE}, {"iuml", 0xEF},
    {"eth", 0xF0}, {"ntilde", 0xF1}, {"ograve", 0xF2}, {"oacute", 0xF3},
    {"ocirc", 0xF4}, {"otilde", 0xF5}, {"ouml", 0xF6}, {"oslash", 0xF8},
    {"ugrave", 0xF9}, {"uacute", 0xFA}, {"ucirc", 0xFB}, {"uuml", 0xFC},
    {"yacute", 0xFD}, {"thorn", 0xFE}, {"yuml", 0xFF}, {"OElig", 0x152},
    {"oelig", 0x153}, {"Scaron", 0x160}, {"scaron", 0x161}, {"Yuml", 0x178},
    {"fnof", 0x192}, {"circ", 0x2C6}, {"tilde", 0x2DC},
};

// Windows-1252 meanings of numeric references 128..159, as browsers read them.
constexpr uint16_t kCp1252[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

// Decodes the reference at s[0] == '&'. Returns the characters consumed (0 when it is
// not a reference, so the '&' is text) and the UTF-8 text in *text.
size_t decode_entity(std::string_view s, std::string* text) {
  text->clear();
  if (s.size() < 2) return 0;
  if (s[1] == '#') {
    size_t i = 2;
    bool hex = i < s.size() && (s[i] == 'x' || s[i] == 'X');
    if (hex) ++i;
    size_t start = i;
    uint32_t value = 0;
    bool too_big = false;
    while (i < s.size() && (hex ? isxdigit(static_cast<unsigned char>(s[i])) : is_digit(s[i]))) {
      int digit = is_digit(s[i]) ? s[i] - '0' : (tolower(static_cast<unsigned char>(s[i])) - 'a' + 10);
      if (value > 0x10FFFF) too_big = true;
      else value = value * (hex ? 16 : 10) + static_cast<uint32_t>(digit);
      ++i;
    }
    if (i == start) return 0;
    if (i < s.size() && s[i] == ';') ++i;
    if (too_big || value > 0x10FFFF || value == 0 || (value >= 0xD800 && value <= 0xDFFF)) {
      value = 0xFFFD;
    } else if (value >= 0x80 && value <= 0x9F) {
      value = kCp1252[value - 0x80];
    } else if (value < 0x20 && value != '\t' && value != '\n') {
      value = ' ';
    }
    core::append_utf8(*text, value);
    return i;
  }
  size_t i = 1;
  while (i < s.size() && i < 12 && (is_alpha(s[i]) || is_digit(s[i]))) ++i;
  std::string_view name = s.substr(1, i - 1);
  for (const auto& entity : kEntities) {
    if (name == entity.name) {
      if (entity.code_point != 0) core::append_utf8(*text, entity.code_point);
      if (i < s.size() && s[i] == ';') ++i;
      return i;
    }
  }
  return 0;
}

std::string decode_entities(std::string_view s) {
  std::string out;
  std::string entity;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      size_t n = decode_entity(s.substr(i), &entity);
      if (n > 0) {
        out += entity;
        i += n;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// Builds the text: words, collapsed blanks, and requested line breaks, which are only
// written when more text follows (so no trailing blank lines).
class TextBuilder {
 public:
  void text(std::string_view s, bool preformatted) {
    for (char c : s) {
      if (!preformatted && is_space(c)) {
        pending_space_ = true;
        continue;
      }
      if (preformatted && c == '\r') continue;
      flush();
      out_ += c;
    }
  }
  // n = 1: line break; n = 2: paragraph break.
  void line_break(int n) {
    breaks_ = std::min(2, std::max(breaks_, n));
    pending_space_ = false;
  }
  void hard_break() {  // <br>: each one counts
    breaks_ = std::min(2, breaks_ + 1);
    pending_space_ = false;
  }
  void space() { pending_space_ = true; }
  size_t size() const { return out_.size(); }
  std::string_view since(size_t pos) const {
    return std::string_view(out_).substr(std::min(pos, out_.size()));
  }
  std::string finish() {
    // Drop blanks at line ends; the output has no leading or trailing blank lines.
    std::string result;
    size_t start = 0;
    while (start <= out_.size()) {
      size_t end = out_.find('\n', start);
      if (end == std::string::npos) end = out_.size();
      std::string_view line = std::string_view(out_).substr(start, end - start);
      while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
      result.append(line);
      if (end < out_.size()) result += '\n';
      start = end + 1;
    }
    std::string_view trimmed = trim(result);
    return sanitize_utf8(trimmed);
  }

 private:
  void flush() {
    if (breaks_ > 0 && !out_.empty()) {
      int have = 0;
      for (auto it = out_.rbegin(); it != out_.rend() && *it == '\n'; ++it) ++have;
      while (!out_.empty() && out_.back() == ' ') out_.pop_back();
      for (int i = have; i < breaks_; ++i) out_ += '\n';
    } else if (pending_space_ && !out_.empty() && out_.back() != '\n' && out_.back() != ' ') {
      out_ += ' ';
    }
    breaks_ = 0;
    pending_space_ = false;
  }

  std::string out_;
  int breaks_ = 0;
  bool pending_space_ = false;
};

struct Tag {
  std::string name;  // lower case
  bool closing = false;
  std::string href;
  std::string alt;
  size_t length = 0;  // characters consumed, including '<' and '>'
};

// Parses the tag at s[0] == '<'. Returns false when this '<' does not start a tag.
bool parse_tag(std::string_view s, Tag* tag) {
  size_t i = 1;
  if (i < s.size() && s[i] == '/') {
    tag->closing = true;
    ++i;
  }
  if (i >= s.size() || !is_alpha(s[i])) return false;
  size_t name_start = i;
  while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '-' || s[i] == ':')) ++i;
  tag->name = ascii_lower(s.substr(name_start, i - name_start));
  while (i < s.size()) {
    while (i < s.size() && (is_space(s[i]) || s[i] == '/')) ++i;
    if (i >= s.size()) return false;
    if (s[i] == '>') {
      tag->length = i + 1;
      return true;
    }
    size_t attr_start = i;
    while (i < s.size() && !is_space(s[i]) && s[i] != '=' && s[i] != '>' && s[i] != '/') ++i;
    std::string attr = ascii_lower(s.substr(attr_start, i - attr_start));
    if (i == attr_start) ++i;  // a stray character such as '"': skip it
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') continue;
    ++i;
    while (i < s.size() && is_space(s[i])) ++i;
    std::string_view value;
    if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
      char quote = s[i++];
      size_t end = s.find(quote, i);
      if (end == std::string_view::npos) {
        // Unterminated quote: end the tag at the next '>' rather than eat the document.
        end = s.find('>', i);
        if (end == std::string_view::npos) return false;
        value = s.substr(i, end - i);
        i = end;
      } else {
        value = s.substr(i, end - i);
        i = end + 1;
      }
    } else {
      size_t start = i;
      while (i < s.size() && !is_space(s[i]) && s[i] != '>') ++i;
      value = s.substr(start, i - start);
    }
    if (attr == "href") tag->href = std::string(trim(decode_entities(value)));
    if (attr == "alt") tag->alt = decode_entities(value);
  }
  return false;
}

// Case-insensitive find of an ASCII lower-case `needle` in `s` from `from`.
size_t find_lower(std::string_view s, std::string_view needle, size_t from) {
  if (needle.empty() || s.size() < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= s.size(); ++i) {
    size_t k = 0;
    while (k < needle.size() &&
           tolower(static_cast<unsigned char>(s[i + k])) == static_cast<unsigned char>(needle[k])) {
      ++k;
    }
    if (k == needle.size()) return i;
  }
  return std::string_view::npos;
}

// Position just after the end of element `name` (its closing tag), or s.size().
size_t skip_element(std::string_view s, size_t from, std::string_view name) {
  std::string closing = "</" + std::string(name);
  size_t at = find_lower(s, closing, from);
  if (name == "head") {
    // A missing </head> must not hide the whole message: <body> ends it too.
    size_t body = find_lower(s, "<body", from);
    if (body != std::string_view::npos && (at == std::string_view::npos || body < at)) return body;
  }
  if (at == std::string_view::npos) return s.size();
  size_t end = s.find('>', at);
  return end == std::string_view::npos ? s.size() : end + 1;
}

bool is_one_of(const std::string& name, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (name == n) return true;
  }
  return false;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  TextBuilder out;
  int pre_depth = 0;
  bool in_link = false;
  size_t link_start = 0;
  std::string link_href;
  auto close_link = [&] {
    if (!in_link) return;
    in_link = false;
    std::string label(trim(out.since(link_start)));
    const std::string& href = link_href;
    if (href.empty() || href[0] == '#' || ascii_lower(href).rfind("javascript:", 0) == 0) return;
    if (label == href || "mailto:" + label == href || label.empty()) {
      if (label.empty()) out.text(href, false);
      return;
    }
    out.text(" (" + href + ")", false);
  };

  std::string entity;
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '<') {
      std::string_view rest = html.substr(i);
      if (rest.substr(0, 4) == "<!--") {
        size_t end = html.find("-->", i + 4);
        i = end == std::string_view::npos ? html.size() : end + 3;
        continue;
      }
      if (rest.size() > 1 && (rest[1] == '!' || rest[1] == '?')) {
        size_t end = html.find('>', i);
        i = end == std::string_view::npos ? html.size() : end + 1;
        continue;
      }
      Tag tag;
      if (!parse_tag(rest, &tag)) {
        out.text("<", pre_depth > 0);
        ++i;
        continue;
      }
      i += tag.length;
      const std::string& name = tag.name;
      if (!tag.closing && is_one_of(name, {"script", "style", "head", "title", "template",
                                           "noscript", "xml"})) {
        i = skip_element(html, i, name);
        continue;
      }
      if (name == "br") {
        out.hard_break();
      } else if (is_one_of(name, {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
                                  "table", "blockquote", "dl", "hr", "figure"})) {
        out.line_break(2);
      } else if (name == "pre") {
        out.line_break(2);
        pre_depth = tag.closing ? std::max(0, pre_depth - 1) : pre_depth + 1;
      } else if (is_one_of(name, {"div", "tr", "dt", "dd", "section", "article", "header",
                                  "footer", "address", "center", "form", "fieldset", "nav",
                                  "main", "aside", "caption", "body", "html"})) {
        out.line_break(1);
      } else if (name == "li") {
        out.line_break(1);
        if (!tag.closing) out.text("- ", true);
      } else if (is_one_of(name, {"td", "th"})) {
        out.space();
      } else if (name == "a") {
        close_link();
        if (!tag.closing) {
          in_link = true;
          link_href = tag.href;
          link_start = out.size();
        }
      } else if (name == "img" && !tag.alt.empty() && !tag.closing) {
        out.text(tag.alt, false);
      }
      continue;
    }
    if (c == '&') {
      size_t n = decode_entity(html.substr(i), &entity);
      if (n > 0) {
        out.text(entity, pre_depth > 0);
        i += n;
        continue;
      }
    }
    // Plain text up to the next markup character.
    size_t end = html.find_first_of("<&", i + 1);
    if (end == std::string_view::npos) end = html.size();
    out.text(html.substr(i, end - i), pre_depth > 0);
    i = end;
  }
  close_link();
  return out.finish();
}

}  // namespace escala::adapters
