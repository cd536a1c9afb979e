#pragma once
// The email channel's adapters seen through the services' ports: the GMime codec as a
// MailCodec, the libcurl relay client as a MailTransport, and the SMTP listener's handler
// that feeds the inbound pipeline.

#include <memory>
#include <string>

#include "adapters/smtp_listener/smtp_listener.hpp"
#include "adapters/smtp_sender/smtp_sender.hpp"
#include "ports/mail_transport.hpp"
#include "services/inbound_mail.hpp"

namespace escala::app {

class GmimeCodec final : public ports::MailCodec {
 public:
  explicit GmimeCodec(int64_t max_message_bytes);
  Result<core::MailMessage> parse(std::string_view raw) override;
  Result<core::MailMessage> parse_file(const std::string& path) override;
  std::string compose(const core::OutboundMail& mail) override;

 private:
  int64_t max_message_bytes_;
};

class RelayTransport final : public ports::MailTransport {
 public:
  explicit RelayTransport(adapters::smtp::SmtpRelay relay) : sender_(std::move(relay)) {}
  ports::SendReport send(const std::string& envelope_from,
                         const std::vector<std::string>& recipients,
                         std::string_view raw_message) override;

 private:
  adapters::smtp::SmtpSender sender_;
};

class DeskSmtpHandler final : public adapters::smtp::SmtpHandler {
 public:
  explicit DeskSmtpHandler(services::InboundMail& inbound) : inbound_(inbound) {}
  bool accept_recipient(std::string_view address) override { return inbound_.accepts(address); }
  Result<std::string> deliver(const adapters::smtp::SmtpEnvelope& envelope,
                              const adapters::smtp::SpooledMessage& message) override;

 private:
  services::InboundMail& inbound_;
};

}  // namespace escala::app
