// libFuzzer target: any bytes through parse_mail, and what it read back through
// compose_mail and parse_mail again. Crashes, sanitizer reports, invalid UTF-8 in the
// output and composed messages that are not CRLF-only all stop the run.
// Built by fuzz/run.sh (clang, -fsanitize=fuzzer,address,undefined).

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "adapters/mail_codec/charset.hpp"
#include "adapters/mail_codec/mail_codec.hpp"

using escala::adapters::mail_codec_internal::is_valid_utf8;

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

escala::core::OutboundMail outbound_from(const escala::core::MailMessage& m) {
  escala::core::OutboundMail out;
  out.from = m.from;
  out.to = m.to;
  out.reply_to = m.reply_to;
  out.subject = m.subject;
  out.text = m.text;
  out.html = m.html;
  out.message_id = m.message_id;
  out.in_reply_to = m.in_reply_to;
  out.references = m.references;
  out.date = m.date;
  if (const std::string* value = m.header("auto-submitted")) out.auto_submitted = *value;
  int extra = 0;
  for (const auto& [name, value] : m.headers) {
    if (++extra > 8) break;
    out.headers.emplace_back(name, value);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool initialised = (escala::adapters::mail_codec_init(), true);
  (void)initialised;
  escala::adapters::ParseLimits limits;
  limits.max_message_bytes = 1 << 20;
  limits.max_text_bytes = 1 << 18;
  auto parsed = escala::adapters::parse_mail(
      std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!parsed.ok()) return 0;
  const auto& m = *parsed;
  require(is_valid_utf8(m.text) && is_valid_utf8(m.html) && is_valid_utf8(m.subject));
  require(is_valid_utf8(m.from.name) && is_valid_utf8(m.from.address));
  for (const auto& a : m.attachments) {
    require(is_valid_utf8(a.filename));
    require(a.size == static_cast<int64_t>(a.data.size()));
  }
  require(is_valid_utf8(escala::adapters::html_to_text(m.html)));

  std::string composed = escala::adapters::compose_mail(outbound_from(m));
  for (size_t i = 0; i < composed.size(); ++i) {
    if (composed[i] == '\n') require(i > 0 && composed[i - 1] == '\r');
    if (composed[i] == '\r') require(i + 1 < composed.size() && composed[i + 1] == '\n');
  }
  if (!composed.empty()) {
    auto again = escala::adapters::parse_mail(composed, limits);
    require(again.ok());
  }
  return 0;
}
