// compose_mail: builds the message with GMime (which folds headers and writes RFC 2047
// encoded words) and returns it with CRLF line endings, ready for SMTP DATA.

#include "adapters/mail_codec/charset.hpp"
#include "adapters/mail_codec/gmime_ptr.hpp"
#include "adapters/mail_codec/mail_codec.hpp"

namespace escala::adapters {

using namespace mail_codec_internal;

namespace {

// Header values come from people and templates: a CR or LF in them would start a new
// header (header injection), so control characters become spaces.
std::string header_safe(std::string_view value) {
  std::string out = sanitize_utf8(value);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) c = ' ';
  }
  return out;
}

bool is_header_name(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 32 || u >= 127 || c == ':') return false;
  }
  return true;
}

// 7bit only for short ASCII lines without trailing blanks (which relays may strip).
bool needs_quoted_printable(std::string_view body) {
  size_t line_length = 0;
  char previous = '\n';
  for (char c : body) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      if (previous == ' ' || previous == '\t') return true;
      line_length = 0;
    } else {
      if (u >= 0x80 || (u < 0x20 && c != '\t') || u == 0x7F) return true;
      if (++line_length > 76) return true;
    }
    previous = c;
  }
  return previous == ' ' || previous == '\t';
}

GMimeObject* make_text_part(const char* subtype, std::string_view text) {
  std::string body = normalize_newlines(sanitize_utf8(text));
  GMimeTextPart* part = g_mime_text_part_new_with_subtype(subtype);
  if (!part) return nullptr;
  // Not g_mime_text_part_set_text: it re-encodes to the "best" charset (often ISO-8859-1).
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(body.data(), body.size()));
  GPtr<GMimeDataWrapper> content(
      g_mime_data_wrapper_new_with_stream(stream.get(), GMIME_CONTENT_ENCODING_DEFAULT));
  g_mime_part_set_content(GMIME_PART(part), content.get());
  g_mime_text_part_set_charset(part, "utf-8");
  g_mime_part_set_content_encoding(GMIME_PART(part),
                                   needs_quoted_printable(body)
                                       ? GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
                                       : GMIME_CONTENT_ENCODING_7BIT);
  return GMIME_OBJECT(part);
}

void add_mailbox(GMimeMessage* message, GMimeAddressType type, const core::MailAddress& a) {
  std::string name = header_safe(a.name);
  std::string address = header_safe(a.address);
  InternetAddressList* list = g_mime_message_get_addresses(message, type);
  GPtr<InternetAddress> mailbox(
      internet_address_mailbox_new(name.empty() ? nullptr : name.c_str(), address.c_str()));
  if (!list || !mailbox) return;
  // Left alone GMime picks the "smallest" charset per name (windows-1251 for an em dash).
  internet_address_set_charset(mailbox.get(), "utf-8");
  internet_address_list_add(list, mailbox.get());
}

// A subject that already looks like an encoded word must be encoded itself, or readers
// would decode it: UTF-8 base64 words of at most 45 bytes (60 characters encoded).
std::string encode_as_words(std::string_view text) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  while (!text.empty()) {
    std::string_view chunk = cut_utf8(text, 45);
    if (chunk.empty()) chunk = text.substr(0, 1);
    text.remove_prefix(chunk.size());
    std::string b64;
    for (size_t i = 0; i < chunk.size(); i += 3) {
      uint32_t v = static_cast<uint8_t>(chunk[i]) << 16;
      if (i + 1 < chunk.size()) v |= static_cast<uint8_t>(chunk[i + 1]) << 8;
      if (i + 2 < chunk.size()) v |= static_cast<uint8_t>(chunk[i + 2]);
      b64 += kAlphabet[(v >> 18) & 63];
      b64 += kAlphabet[(v >> 12) & 63];
      b64 += i + 1 < chunk.size() ? kAlphabet[(v >> 6) & 63] : '=';
      b64 += i + 2 < chunk.size() ? kAlphabet[v & 63] : '=';
    }
    if (!out.empty()) out += ' ';
    out += "=?UTF-8?B?" + b64 + "?=";
  }
  return out;
}

std::string id_list(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) {
    std::string clean = header_safe(id);
    if (clean.empty()) continue;
    if (!out.empty()) out += ' ';
    out += '<' + clean + '>';
  }
  return out;
}

// Every line break becomes CRLF, whatever GMime wrote for the body.
std::string to_crlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 20);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      out += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      out += "\r\n";
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::string compose_mail(const core::OutboundMail& mail) {
  mail_codec_init();
  GPtr<GMimeMessage> message(g_mime_message_new(TRUE));
  if (!message) return "";
  GMimeObject* object = GMIME_OBJECT(message.get());

  add_mailbox(message.get(), GMIME_ADDRESS_TYPE_FROM, mail.from);
  for (const auto& to : mail.to) add_mailbox(message.get(), GMIME_ADDRESS_TYPE_TO, to);
  if (mail.reply_to) add_mailbox(message.get(), GMIME_ADDRESS_TYPE_REPLY_TO, *mail.reply_to);
  std::string subject = header_safe(mail.subject);
  if (subject.find("=?") != std::string::npos) {
    g_mime_object_set_header(object, "Subject", encode_as_words(subject).c_str(), nullptr);
  } else {
    g_mime_message_set_subject(message.get(), subject.c_str(), "utf-8");
  }
  if (mail.date) {
    GDateTime* date = g_date_time_new_from_unix_utc(
        std::chrono::duration_cast<Seconds>(mail.date->time_since_epoch()).count());
    if (date) {
      g_mime_message_set_date(message.get(), date);
      g_date_time_unref(date);
    }
  }
  if (std::string id = header_safe(mail.message_id); !id.empty()) {
    g_mime_message_set_message_id(message.get(), id.c_str());
  }
  if (std::string ids = id_list(mail.in_reply_to); !ids.empty()) {
    g_mime_object_set_header(object, "In-Reply-To", ids.c_str(), nullptr);
  }
  if (std::string ids = id_list(mail.references); !ids.empty()) {
    g_mime_object_set_header(object, "References", ids.c_str(), nullptr);
  }
  if (std::string value = header_safe(mail.auto_submitted); !value.empty()) {
    g_mime_object_set_header(object, "Auto-Submitted", value.c_str(), nullptr);
  }
  for (const auto& [name, value] : mail.headers) {
    if (!is_header_name(name)) continue;  // a template bug must not break the message
    g_mime_object_append_header(object, name.c_str(), header_safe(value).c_str(), "utf-8");
  }

  GPtr<GMimeObject> text(make_text_part("plain", mail.text));
  if (!text) return "";
  if (mail.html.empty()) {
    g_mime_message_set_mime_part(message.get(), text.get());
  } else {
    GPtr<GMimeMultipart> alternative(g_mime_multipart_new_with_subtype("alternative"));
    GPtr<GMimeObject> html(make_text_part("html", mail.html));
    if (!alternative || !html) return "";
    g_mime_multipart_add(alternative.get(), text.get());
    g_mime_multipart_add(alternative.get(), html.get());
    g_mime_message_set_mime_part(message.get(), GMIME_OBJECT(alternative.get()));
  }

  GMimeFormatOptions* format = g_mime_format_options_new();
  g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
  GPtr<GMimeStream> memory(g_mime_stream_mem_new());
  std::string out;
  if (memory && g_mime_object_write_to_stream(object, format, memory.get()) != -1) {
    GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(memory.get()));
    if (bytes) out.assign(reinterpret_cast<const char*>(bytes->data), bytes->len);
  }
  g_mime_format_options_free(format);
  return to_crlf(out);
}

}  // namespace escala::adapters
