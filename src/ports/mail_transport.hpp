#pragma once
// The email channel's two outside parts, as the services see them: the MIME codec (reads
// and writes messages) and the transport that hands a message to the relay.
//
// MailCodec: thread-safe, pure (no network). MailTransport: one instance is used by one
// thread at a time (it may hold a connection to the relay); make one per sending thread.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/mail.hpp"
#include "core/result.hpp"

namespace escala::ports {

class MailCodec {
 public:
  virtual ~MailCodec() = default;
  // kInvalidArgument when the bytes are not a message; kPayloadTooLarge over the limit.
  virtual Result<core::MailMessage> parse(std::string_view raw) = 0;
  // The same, reading the message from a file (large messages are not held twice).
  virtual Result<core::MailMessage> parse_file(const std::string& path) = 0;
  // RFC 5322 bytes with CRLF line ends, ready for SMTP.
  virtual std::string compose(const core::OutboundMail& mail) = 0;
};

enum class SendOutcome { kSent, kTemporary, kPermanent };

struct SendReport {
  SendOutcome outcome = SendOutcome::kTemporary;
  int smtp_code = 0;
  std::string detail;  // the relay's answer or the connection error
};

class MailTransport {
 public:
  virtual ~MailTransport() = default;
  virtual SendReport send(const std::string& envelope_from,
                          const std::vector<std::string>& recipients,
                          std::string_view raw_message) = 0;
};

}  // namespace escala::ports
