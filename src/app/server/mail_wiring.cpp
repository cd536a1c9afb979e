#include "app/server/mail_wiring.hpp"

#include "adapters/mail_codec/mail_codec.hpp"

namespace escala::app {

GmimeCodec::GmimeCodec(int64_t max_message_bytes) : max_message_bytes_(max_message_bytes) {
  adapters::mail_codec_init();
}

Result<core::MailMessage> GmimeCodec::parse(std::string_view raw) {
  adapters::ParseLimits limits;
  limits.max_message_bytes = max_message_bytes_;
  return adapters::parse_mail(raw, limits);
}

Result<core::MailMessage> GmimeCodec::parse_file(const std::string& path) {
  adapters::ParseLimits limits;
  limits.max_message_bytes = max_message_bytes_;
  return adapters::parse_mail_file(path, limits);
}

std::string GmimeCodec::compose(const core::OutboundMail& mail) {
  return adapters::compose_mail(mail);
}

ports::SendReport RelayTransport::send(const std::string& envelope_from,
                                       const std::vector<std::string>& recipients,
                                       std::string_view raw_message) {
  auto r = sender_.send(envelope_from, recipients, raw_message);
  ports::SendReport out;
  out.smtp_code = r.smtp_code;
  out.detail = r.detail;
  switch (r.outcome) {
    case adapters::smtp::SendOutcome::kSent: out.outcome = ports::SendOutcome::kSent; break;
    case adapters::smtp::SendOutcome::kTemporary: out.outcome = ports::SendOutcome::kTemporary; break;
    case adapters::smtp::SendOutcome::kPermanent: out.outcome = ports::SendOutcome::kPermanent; break;
  }
  return out;
}

Result<std::string> DeskSmtpHandler::deliver(const adapters::smtp::SmtpEnvelope& envelope,
                                             const adapters::smtp::SpooledMessage& message) {
  services::Envelope env;
  env.mail_from = envelope.mail_from;
  env.recipients = envelope.rcpt_to;
  env.source = "smtp";
  auto out = message.path.empty() ? inbound_.ingest(message.data, env)
                                  : inbound_.ingest_file(message.path, env);
  if (!out.ok()) return out.error();
  std::string id = out->disposition;
  if (!out->case_number.empty()) id = out->case_number + " " + id;
  return id;
}

}  // namespace escala::app
