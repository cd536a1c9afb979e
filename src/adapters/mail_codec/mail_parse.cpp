// parse_mail and parse_mail_file: GMime builds the MIME tree; this file walks it under
// the ParseLimits and fills core::MailMessage. Text decoding (charsets, RFC 2047) is done
// by charset.cpp rather than by GMime so that broken input can be reported as a defect
// and read the way mail clients read it (unknown charsets as UTF-8 or windows-1252).

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "adapters/mail_codec/charset.hpp"
#include "adapters/mail_codec/dsn.hpp"
#include "adapters/mail_codec/gmime_ptr.hpp"
#include "adapters/mail_codec/mail_codec.hpp"

namespace escala::adapters {

using namespace mail_codec_internal;

void mail_codec_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_mime_init();
    // Only crypto_hash_sha256 is used, which needs no RNG; a failure here cannot matter.
    int sodium = sodium_init();
    (void)sodium;
  });
}

namespace {

constexpr size_t kMaxDefects = 100;
constexpr size_t kMaxHeaderValueBytes = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

std::string to_hex(const unsigned char* bytes, size_t n) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xF];
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return to_hex(digest, sizeof digest);
}

const char* warning_name(GMimeParserWarning code) {
  switch (code) {
    case GMIME_WARN_DUPLICATED_HEADER: return "duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER: return "duplicated parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER: return "unencoded 8-bit header";
    case GMIME_WARN_INVALID_CONTENT_TYPE: return "invalid content type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE: return "invalid RFC 2047 header value";
    case GMIME_WARN_MALFORMED_MULTIPART: return "malformed multipart";
    case GMIME_WARN_TRUNCATED_MESSAGE: return "truncated message";
    case GMIME_WARN_MALFORMED_MESSAGE: return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME: return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER: return "conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER: return "conflicting parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY: return "multipart without boundary";
    case GMIME_WARN_INVALID_PARAMETER: return "invalid parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST: return "invalid address list";
    case GMIME_CRIT_NESTING_OVERFLOW: return "MIME nesting too deep";
    case GMIME_WARN_PART_WITHOUT_CONTENT: return "part without content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT: return "part without headers or content";
  }
  return "parser warning";
}

// State of one parse. It outlives every GMime object of that parse, because GMime keeps
// the parser options (and so the warning callback's user data) and may decode lazily.
struct ParseState {
  const ParseLimits& limits;
  core::MailMessage& out;
  GMimeParserOptions* options = nullptr;
  std::vector<std::string> defects;
  int parts_seen = 0;
  bool parts_defect = false;
  bool depth_defect = false;
  bool report_without_type = false;
  std::vector<std::string> plains;
  std::vector<std::string> htmls;
  std::vector<std::string> embedded_ids;  // Message-IDs of attached messages, in order

  void defect(std::string text) {
    if (defects.size() >= kMaxDefects) return;
    for (const auto& d : defects) {
      if (d == text) return;
    }
    defects.push_back(std::move(text));
  }
};

void on_parser_warning(gint64 offset, GMimeParserWarning code, const gchar* item,
                       gpointer user_data) {
  auto* state = static_cast<ParseState*>(user_data);
  std::string text = warning_name(code);
  if (item != nullptr && *item != '\0') {
    text += ": ";
    text += sanitize_utf8(cut_utf8(item, 80));
  }
  state->defect(std::move(text));
}

struct OptionsFree {
  void operator()(GMimeParserOptions* p) const { g_mime_parser_options_free(p); }
};

std::string lower_or_empty(const char* s) { return s ? ascii_lower(s) : std::string(); }

const char* raw_header(GMimeObject* object, const char* name) {
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  if (!list) return nullptr;
  GMimeHeader* header = g_mime_header_list_get_header(list, name);
  if (!header) return nullptr;
  return g_mime_header_get_raw_value(header);
}

std::string mime_type_of(GMimeObject* object) {
  GMimeContentType* type = g_mime_object_get_content_type(object);
  if (!type) return "application/octet-stream";
  GCharPtr mime(g_mime_content_type_get_mime_type(type));
  return mime ? sanitize_utf8(ascii_lower(mime.get())) : "application/octet-stream";
}

// The decoded (base64, quoted-printable, uuencode) content of a leaf part, read in chunks
// straight from the parser's stream. Returns false when it was cut at `cap` bytes.
bool read_decoded(GMimePart* part, int64_t cap, std::string* out) {
  out->clear();
  GMimeDataWrapper* wrapper = g_mime_part_get_content(part);
  if (!wrapper) return true;
  GMimeStream* source = g_mime_data_wrapper_get_stream(wrapper);
  if (!source) return true;
  GMimeContentEncoding encoding = g_mime_data_wrapper_get_encoding(wrapper);
  if (g_mime_stream_reset(source) == -1) return true;
  GPtr<GMimeStream> filtered(g_mime_stream_filter_new(source));
  if (!filtered) return true;
  if (encoding == GMIME_CONTENT_ENCODING_BASE64 ||
      encoding == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
      encoding == GMIME_CONTENT_ENCODING_UUENCODE) {
    GPtr<GMimeFilter> decoder(g_mime_filter_basic_new(encoding, FALSE));
    if (decoder) g_mime_stream_filter_add(GMIME_STREAM_FILTER(filtered.get()), decoder.get());
  }
  char buffer[kReadChunk];
  while (true) {
    ssize_t n = g_mime_stream_read(filtered.get(), buffer, sizeof buffer);
    if (n <= 0) break;
    out->append(buffer, static_cast<size_t>(n));
    if (static_cast<int64_t>(out->size()) > cap) {
      out->resize(static_cast<size_t>(cap));
      return false;
    }
  }
  return true;
}

// Serialises an object as GMime holds it: with a persistent stream the original bytes.
std::string write_object(GMimeObject* object) {
  GPtr<GMimeStream> memory(g_mime_stream_mem_new());
  if (!memory) return "";
  if (g_mime_object_write_to_stream(object, nullptr, memory.get()) == -1) return "";
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get()));
  if (!bytes) return "";
  return std::string(reinterpret_cast<const char*>(bytes->data), bytes->len);
}

// "charset=..." declared in an HTML <meta> near the top, for HTML parts without one in
// Content-Type.
std::string sniff_html_charset(std::string_view html) {
  std::string head = ascii_lower(html.substr(0, 4096));
  size_t at = head.find("charset=");
  if (at == std::string::npos) return "";
  at += 8;
  while (at < head.size() && (head[at] == '"' || head[at] == '\'' || head[at] == ' ')) ++at;
  size_t end = at;
  while (end < head.size() && (isalnum(static_cast<unsigned char>(head[end])) ||
                               head[end] == '-' || head[end] == '_' || head[end] == '.' ||
                               head[end] == ':')) {
    ++end;
  }
  return head.substr(at, end - at);
}

std::string part_text(ParseState& state, GMimePart* part, bool is_html) {
  std::string bytes;
  if (!read_decoded(part, state.limits.max_message_bytes, &bytes)) {
    state.defect("body part larger than the message limit was cut");
  }
  const char* declared =
      g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
  std::string charset = declared ? declared : "";
  if (charset.empty() && is_html) charset = sniff_html_charset(bytes);
  std::string defect;
  std::string text = to_utf8(bytes, charset, &defect);
  if (!defect.empty()) state.defect("body: " + defect);
  return normalize_newlines(text);
}

// A file name for an attachment: decoded by GMime (RFC 2231, RFC 2047), valid UTF-8,
// without directories or control characters.
std::string clean_filename(std::string_view name) {
  std::string text = sanitize_utf8(name);
  size_t slash = text.find_last_of("/\\");
  if (slash != std::string::npos) text = text.substr(slash + 1);
  std::string out;
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7F) ? ' ' : c;
  }
  std::string trimmed(trim(out));
  if (trimmed == "." || trimmed == "..") trimmed.clear();
  return std::string(cut_utf8(trimmed, 255));
}

void add_attachment(ParseState& state, GMimeObject* object, std::string filename,
                    std::string content_type, std::string data) {
  core::MailAttachment attachment;
  attachment.filename = clean_filename(filename);
  attachment.content_type = std::move(content_type);
  const char* content_id = g_mime_object_get_content_id(object);
  if (content_id) attachment.content_id = strip_message_id(content_id);
  std::string disposition = lower_or_empty(g_mime_object_get_disposition(object));
  attachment.is_inline =
      disposition == "inline" || (disposition.empty() && !attachment.content_id.empty());
  attachment.size = static_cast<int64_t>(data.size());
  attachment.sha256 = sha256_hex(data);
  attachment.data = std::move(data);
  state.out.attachments.push_back(std::move(attachment));
}

std::string eml_name(std::string_view subject) {
  std::string name(subject);
  for (char& c : name) {
    if (c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' ||
        c == '>' || c == '|') {
      c = '_';
    }
  }
  name = std::string(cut_utf8(clean_filename(name), 200));
  return (name.empty() ? std::string("message") : name) + ".eml";
}

void walk(ParseState& state, GMimeObject* object, int depth);

void walk_message_part(ParseState& state, GMimeMessagePart* part) {
  GMimeObject* object = GMIME_OBJECT(part);
  GMimeMessage* message = g_mime_message_part_get_message(part);
  std::string subject, id;
  if (message) {
    const char* raw_subject = raw_header(GMIME_OBJECT(message), "Subject");
    if (raw_subject) subject = decode_header_text(raw_subject, nullptr);
    const char* raw_id = raw_header(GMIME_OBJECT(message), "Message-ID");
    if (raw_id) id = strip_message_id(raw_id);
  }
  if (!id.empty()) state.embedded_ids.push_back(id);
  std::string data = message ? write_object(GMIME_OBJECT(message)) : std::string();
  add_attachment(state, object, eml_name(subject), mime_type_of(object), std::move(data));
}

void walk_leaf(ParseState& state, GMimePart* part) {
  GMimeObject* object = GMIME_OBJECT(part);
  std::string type = mime_type_of(object);
  std::string disposition = lower_or_empty(g_mime_object_get_disposition(object));
  const char* raw_name = g_mime_part_get_filename(part);
  std::string filename = raw_name ? std::string(raw_name) : std::string();

  if (type == "message/delivery-status" || type == "message/global-delivery-status") {
    std::string bytes;
    (void)read_decoded(part, state.limits.max_message_bytes, &bytes);
    auto blocks = parse_delivery_status(normalize_newlines(bytes));
    state.out.delivery.insert(state.out.delivery.end(), blocks.begin(), blocks.end());
    return;
  }
  if (type == "text/rfc822-headers" || type == "message/rfc822-headers" ||
      type == "message/global-headers" || type == "message/disposition-notification") {
    std::string bytes;
    (void)read_decoded(part, state.limits.max_message_bytes, &bytes);
    const char* field = type == "message/disposition-notification" ? "original-message-id"
                                                                  : "message-id";
    std::string id = strip_message_id(first_block_field(normalize_newlines(bytes), field));
    if (!id.empty()) state.embedded_ids.push_back(id);
    return;
  }
  if (type == "message/rfc822" || type == "message/global") {
    // An encoded (base64, quoted-printable) message that GMime leaves as a leaf part.
    std::string bytes;
    (void)read_decoded(part, state.limits.max_message_bytes, &bytes);
    std::string headers = normalize_newlines(bytes);
    std::string id = strip_message_id(first_block_field(headers, "message-id"));
    if (!id.empty()) state.embedded_ids.push_back(id);
    std::string subject = decode_header_text(first_block_field(headers, "subject"), nullptr);
    add_attachment(state, object, eml_name(subject), type, std::move(bytes));
    return;
  }

  bool is_plain = type == "text/plain";
  bool is_html = type == "text/html";
  bool is_body = (is_plain || is_html) && disposition != "attachment" && filename.empty();
  if (is_body) {
    std::string text = part_text(state, part, is_html);
    (is_html ? state.htmls : state.plains).push_back(std::move(text));
    return;
  }
  std::string data;
  if (!read_decoded(part, state.limits.max_message_bytes, &data)) {
    state.defect("attachment larger than the message limit was cut");
  }
  add_attachment(state, object, filename, type, std::move(data));
}

void walk_multipart(ParseState& state, GMimeMultipart* multipart, int depth) {
  GMimeObject* object = GMIME_OBJECT(multipart);
  std::string type = mime_type_of(object);
  if (type == "multipart/report" && state.out.report_type.empty()) {
    const char* report = g_mime_object_get_content_type_parameter(object, "report-type");
    state.out.report_type = sanitize_utf8(lower_or_empty(report));
    state.report_without_type = state.out.report_type.empty();
  }
  int count = g_mime_multipart_get_count(multipart);
  if (count == 0) state.defect(type + " without parts (its boundary never occurs)");
  if (type != "multipart/alternative") {
    for (int i = 0; i < count; ++i) {
      GMimeObject* child = g_mime_multipart_get_part(multipart, i);
      if (child) walk(state, child, depth + 1);
    }
    return;
  }
  // multipart/alternative: one plain and one HTML version of the same text. Keep the
  // first of each, whatever the nesting (an HTML part often sits in multipart/related).
  std::vector<std::string> outer_plains = std::move(state.plains);
  std::vector<std::string> outer_htmls = std::move(state.htmls);
  state.plains.clear();
  state.htmls.clear();
  for (int i = 0; i < count; ++i) {
    GMimeObject* child = g_mime_multipart_get_part(multipart, i);
    if (child) walk(state, child, depth + 1);
  }
  if (!state.plains.empty()) outer_plains.push_back(std::move(state.plains.front()));
  if (!state.htmls.empty()) outer_htmls.push_back(std::move(state.htmls.front()));
  state.plains = std::move(outer_plains);
  state.htmls = std::move(outer_htmls);
}

void walk(ParseState& state, GMimeObject* object, int depth) {
  if (depth > state.limits.max_depth) {
    if (!state.depth_defect) {
      state.defect("MIME nesting deeper than " + std::to_string(state.limits.max_depth) +
                   "; deeper parts were ignored");
      state.depth_defect = true;
    }
    return;
  }
  if (++state.parts_seen > state.limits.max_parts) {
    if (!state.parts_defect) {
      state.defect("more than " + std::to_string(state.limits.max_parts) +
                   " MIME parts; the rest were ignored");
      state.parts_defect = true;
    }
    return;
  }
  if (GMIME_IS_MULTIPART(object)) {
    walk_multipart(state, GMIME_MULTIPART(object), depth);
  } else if (GMIME_IS_MESSAGE_PART(object)) {
    walk_message_part(state, GMIME_MESSAGE_PART(object));
  } else if (GMIME_IS_PART(object)) {
    walk_leaf(state, GMIME_PART(object));
  }
  // GMimeMessagePartial and unknown object types carry nothing Escala reads.
}

std::vector<core::MailAddress> read_addresses(ParseState& state, GMimeObject* message,
                                              const char* name) {
  std::vector<core::MailAddress> out;
  const char* raw = raw_header(message, name);
  if (!raw) return out;
  std::vector<std::string> defects;
  std::string text = predecode_address_header(raw, &defects);
  for (auto& d : defects) state.defect(std::string(name) + ": " + d);
  GPtr<InternetAddressList> list(internet_address_list_parse(state.options, text.c_str()));
  if (!list) return out;
  // Groups are flattened one level ("undisclosed-recipients:;" gives nothing).
  auto add = [&](InternetAddress* address) {
    if (!INTERNET_ADDRESS_IS_MAILBOX(address)) return;
    core::MailAddress mailbox;
    const char* display = internet_address_get_name(address);
    if (display) {
      std::string decoded = sanitize_utf8(display);
      for (char& c : decoded) {
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
      }
      mailbox.name = std::string(trim(decoded));
    }
    const char* addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(address));
    if (addr) mailbox.address = sanitize_utf8(trim(addr));
    if (!mailbox.address.empty() || !mailbox.name.empty()) out.push_back(std::move(mailbox));
  };
  int count = internet_address_list_length(list.get());
  for (int i = 0; i < count; ++i) {
    InternetAddress* address = internet_address_list_get_address(list.get(), i);
    if (!address) continue;
    if (INTERNET_ADDRESS_IS_GROUP(address)) {
      InternetAddressList* members =
          internet_address_group_get_members(INTERNET_ADDRESS_GROUP(address));
      int n = members ? internet_address_list_length(members) : 0;
      for (int j = 0; j < n; ++j) add(internet_address_list_get_address(members, j));
    } else {
      add(address);
    }
  }
  return out;
}

std::vector<std::string> read_references(ParseState& state, GMimeObject* message,
                                         const char* name) {
  std::vector<std::string> out;
  const char* raw = raw_header(message, name);
  if (!raw) return out;
  GMimeReferences* refs = g_mime_references_parse(state.options, raw);
  if (!refs) return out;
  int count = g_mime_references_length(refs);
  for (int i = 0; i < count; ++i) {
    const char* id = g_mime_references_get_message_id(refs, i);
    if (id && *id) out.push_back(sanitize_utf8(id));
  }
  g_mime_references_free(refs);
  return out;
}

std::optional<Instant> read_date(GMimeObject* message) {
  const char* raw = raw_header(message, "Date");
  if (!raw) return std::nullopt;
  GDateTime* date = g_mime_utils_header_decode_date(raw);
  if (!date) return std::nullopt;
  int64_t ms = g_date_time_to_unix(date) * 1000 + g_date_time_get_microsecond(date) / 1000;
  g_date_time_unref(date);
  return from_unix_millis(ms);
}

void read_headers(ParseState& state, GMimeMessage* message) {
  GMimeObject* object = GMIME_OBJECT(message);
  core::MailMessage& out = state.out;
  GMimeHeaderList* list = g_mime_object_get_header_list(object);
  int count = list ? g_mime_header_list_get_count(list) : 0;
  for (int i = 0; i < count; ++i) {
    GMimeHeader* header = g_mime_header_list_get_header_at(list, i);
    const char* name = header ? g_mime_header_get_name(header) : nullptr;
    const char* raw = header ? g_mime_header_get_raw_value(header) : nullptr;
    if (!name || !raw) continue;
    std::string key = sanitize_utf8(ascii_lower(name));
    if (out.headers.count(key)) continue;
    std::string value = decode_header_text(raw, nullptr);
    out.headers.emplace(std::move(key), std::string(cut_utf8(value, kMaxHeaderValueBytes)));
  }
  GMimeObject* body = g_mime_message_get_mime_part(message);
  if (!out.headers.count("content-type") && body) {
    out.headers["content-type"] = mime_type_of(body);
  }

  const char* raw_id = raw_header(object, "Message-ID");
  if (raw_id) out.message_id = strip_message_id(raw_id);
  out.in_reply_to = read_references(state, object, "In-Reply-To");
  out.references = read_references(state, object, "References");
  auto from = read_addresses(state, object, "From");
  if (!from.empty()) out.from = std::move(from.front());
  auto reply_to = read_addresses(state, object, "Reply-To");
  if (!reply_to.empty()) out.reply_to = std::move(reply_to.front());
  out.to = read_addresses(state, object, "To");
  out.cc = read_addresses(state, object, "Cc");
  const char* raw_subject = raw_header(object, "Subject");
  if (raw_subject) {
    std::vector<std::string> subject_defects;
    out.subject = decode_header_text(raw_subject, &subject_defects);
    for (auto& d : subject_defects) state.defect("subject: " + d);
  }
  out.date = read_date(object);
}

bool looks_like_bounce(const core::MailMessage& m) {
  std::string from = ascii_lower(m.from.address);
  std::string local = from.substr(0, from.find('@'));
  if (local == "mailer-daemon" || local == "postmaster" || local == "mail-daemon") return true;
  if (m.header("x-failed-recipients")) return true;
  std::string subject = ascii_lower(m.subject);
  for (const char* word : {"undeliver", "delivery status", "delivery failure",
                           "returned mail", "failure notice", "delivery has failed",
                           "not delivered", "mail delivery failed", "delivery notification"}) {
    if (subject.find(word) != std::string::npos) return true;
  }
  return false;
}

void finish_body(ParseState& state) {
  core::MailMessage& out = state.out;
  std::string text;
  for (const auto& plain : state.plains) {
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += plain;
  }
  std::string html;
  for (const auto& part : state.htmls) {
    if (!html.empty() && html.back() != '\n') html += '\n';
    html += part;
  }
  if (trim(text).empty() && !html.empty()) text = html_to_text(html);
  auto limit = static_cast<size_t>(std::max<int64_t>(0, state.limits.max_text_bytes));
  if (text.size() > limit) {
    text = std::string(cut_utf8(text, limit));
    state.defect("body text longer than " + std::to_string(limit) + " bytes was cut");
  }
  if (html.size() > limit) {
    html = std::string(cut_utf8(html, limit));
    state.defect("HTML body longer than " + std::to_string(limit) + " bytes was cut");
  }
  out.text = std::move(text);
  out.html = std::move(html);
  if (state.report_without_type && out.report_type.empty() && !out.delivery.empty()) {
    // Some MTAs omit the parameter; the delivery-status part says what the report is.
    out.report_type = "delivery-status";
    state.defect("multipart/report without report-type; delivery-status inferred");
  }

  if (!out.report_type.empty() || looks_like_bounce(out)) {
    for (const auto& id : state.embedded_ids) {
      if (id != out.message_id) {
        out.original_message_id = id;
        break;
      }
    }
    if (out.original_message_id.empty()) {
      out.original_message_id = find_quoted_message_id(out.text, out.message_id);
    }
    for (size_t i = 0; out.original_message_id.empty() && i < out.attachments.size(); ++i) {
      const auto& a = out.attachments[i];
      if (a.content_type.rfind("text/", 0) == 0) {
        out.original_message_id =
            find_quoted_message_id(normalize_newlines(a.data), out.message_id);
      }
    }
  }
}

// Input that is not a message (no header block): readable text becomes the body, binary
// data gives nothing but the defect.
void read_headerless(ParseState& state, GMimeStream* stream) {
  if (g_mime_stream_reset(stream) == -1) return;
  std::string bytes;
  auto limit = static_cast<size_t>(std::max<int64_t>(0, state.limits.max_text_bytes));
  char buffer[kReadChunk];
  while (bytes.size() <= limit) {
    ssize_t n = g_mime_stream_read(stream, buffer, sizeof buffer);
    if (n <= 0) break;
    bytes.append(buffer, static_cast<size_t>(n));
  }
  if (bytes.find('\0') != std::string::npos) {
    state.defect("not a MIME message: binary data without a header block");
    return;
  }
  state.defect("no header block; the input was read as plain text");
  std::string defect;
  state.plains.push_back(normalize_newlines(to_utf8(bytes, "", &defect)));
  if (!defect.empty()) state.defect("body: " + defect);
  finish_body(state);
}

core::MailMessage parse_stream(GMimeStream* stream, const ParseLimits& limits,
                               std::string raw_sha256, int64_t raw_size) {
  core::MailMessage out;
  out.raw_sha256 = std::move(raw_sha256);
  out.raw_size = raw_size;
  ParseState state{limits, out};
  std::unique_ptr<GMimeParserOptions, OptionsFree> options(g_mime_parser_options_new());
  state.options = options.get();
  if (options) g_mime_parser_options_set_warning_callback(options.get(), on_parser_warning, &state);
  {
    GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream));
    GPtr<GMimeMessage> message;
    if (parser) {
      g_mime_parser_set_persist_stream(parser.get(), TRUE);
      message.reset(g_mime_parser_construct_message(parser.get(), options.get()));
    }
    if (!message) {
      read_headerless(state, stream);
    } else {
      read_headers(state, message.get());
      GMimeObject* body = g_mime_message_get_mime_part(message.get());
      if (body) walk(state, body, 0);
      finish_body(state);
    }
  }  // the message and the parser go before the options they point to
  out.defects = std::move(state.defects);
  return out;
}

Status check_size(int64_t size, const ParseLimits& limits) {
  if (size == 0) return make_error(ErrorCode::kInvalidArgument, "the message is empty");
  if (size > limits.max_message_bytes) {
    return make_error(ErrorCode::kPayloadTooLarge,
                      "the message is larger than " + std::to_string(limits.max_message_bytes) +
                          " bytes");
  }
  return ok_status();
}

}  // namespace

Result<core::MailMessage> parse_mail(std::string_view raw, const ParseLimits& limits) {
  mail_codec_init();
  ESCALA_TRY(check_size(static_cast<int64_t>(raw.size()), limits));
  // The stream reads the caller's bytes in place: the array does not own them.
  GByteArray* array = g_byte_array_new_take(
      reinterpret_cast<guint8*>(const_cast<char*>(raw.data())), raw.size());
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_byte_array(array));
  if (!stream) {
    g_byte_array_free(array, FALSE);
    return make_error(ErrorCode::kInternal, "GMime could not open a memory stream");
  }
  g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream.get()), FALSE);
  core::MailMessage message = parse_stream(stream.get(), limits, sha256_hex(raw),
                                           static_cast<int64_t>(raw.size()));
  stream.reset();
  g_byte_array_free(array, FALSE);
  return message;
}

Result<core::MailMessage> parse_mail_file(const std::string& path, const ParseLimits& limits) {
  mail_codec_init();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    return make_error(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kUnavailable,
                      "cannot open " + path + ": " + std::strerror(err), "path");
  }
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return make_error(ErrorCode::kInvalidArgument, path + " is not a regular file", "path");
  }
  if (Status size_ok = check_size(info.st_size, limits); !size_ok.ok()) {
    ::close(fd);
    return size_ok.error();
  }
  // Hash the bytes first with a small buffer; GMime then reads the file through its own
  // stream and, with a persistent stream, leaves part contents in the file until they are
  // decoded.
  crypto_hash_sha256_state hash;
  crypto_hash_sha256_init(&hash);
  std::string buffer(kReadChunk, '\0');
  int64_t total = 0;
  while (true) {
    ssize_t n = ::pread(fd, buffer.data(), buffer.size(), total);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return make_error(ErrorCode::kUnavailable, "cannot read " + path + ": " + std::strerror(err),
                        "path");
    }
    if (n == 0) break;
    crypto_hash_sha256_update(&hash, reinterpret_cast<const unsigned char*>(buffer.data()),
                              static_cast<unsigned long long>(n));
    total += n;
    if (total > limits.max_message_bytes) break;  // the file grew since fstat
  }
  if (Status size_ok = check_size(total, limits); !size_ok.ok()) {
    ::close(fd);
    return size_ok.error();
  }
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&hash, digest);
  GPtr<GMimeStream> stream(g_mime_stream_fs_new(fd));  // owns fd from here
  if (!stream) {
    ::close(fd);
    return make_error(ErrorCode::kInternal, "GMime could not open a file stream");
  }
  return parse_stream(stream.get(), limits, to_hex(digest, sizeof digest), total);
}

}  // namespace escala::adapters
