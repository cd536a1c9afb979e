#pragma once
// The outbound SMTP client: hands finished messages (bytes from the mail codec) to a relay
// over libcurl, and says whether to retry. Start at SmtpSender::send.
//
// Thread-safety: a SmtpSender is used by one thread at a time (it owns one libcurl handle
// and its connection); use one sender per sending thread. Different senders may be used
// concurrently. Construction never fails and does no I/O; the relay is contacted by send().
//
// Connection reuse: the SMTP connection stays open between send() calls (libcurl's
// connection cache of the handle) and is reopened when the relay has dropped it.
//
// Failure: send() never throws. Every outcome is a SendResult: kTemporary means "retry
// later" (relay unreachable or slow, TLS could not be set up, a 4xx reply), kPermanent
// means "do not retry this message" (a 5xx reply, e.g. 550 unknown user or 535 bad
// credentials, or an invalid address given by the caller).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace escala::adapters::smtp {

struct SmtpRelay {
  std::string host;  // name or address of the relay
  uint16_t port = 25;
  bool starttls = false;           // require STARTTLS (fail, temporarily, when the relay lacks it);
                                   // false sends in the clear
  bool verify_peer = true;         // check the relay's certificate and name
  std::string username, password;  // AUTH (PLAIN, LOGIN, ...) when username is set
  std::string helo_name = "escala.local";
  std::chrono::seconds timeout{30};  // to connect, per server reply, and for a stalled upload
};

enum class SendOutcome { kSent, kTemporary, kPermanent };

// A recipient the relay refused while it took the message for the others.
struct RefusedRecipient {
  std::string address;
  int smtp_code = 0;  // 4xx: retry for this recipient; 5xx: do not
  std::string reply;  // the relay's reply line
};

struct SendResult {
  SendOutcome outcome = SendOutcome::kTemporary;
  int smtp_code = 0;   // the relay's last reply code; 0 when it never answered
  std::string detail;  // the relay's reply text, or libcurl's error when there was none
  // When kSent: recipients refused at RCPT (the message went to the others). When every
  // recipient was refused, the outcome is kTemporary if any refusal was 4xx, else
  // kPermanent, and the list names them all.
  std::vector<RefusedRecipient> refused;
};

class SmtpSender {
 public:
  explicit SmtpSender(SmtpRelay relay);
  ~SmtpSender();
  SmtpSender(const SmtpSender&) = delete;
  SmtpSender& operator=(const SmtpSender&) = delete;

  // Sends `raw_message` (RFC 5322 bytes with CRLF line endings; dot-stuffing is done here)
  // from `envelope_from` (empty for the null sender <>) to `recipients` (addresses
  // without <>).
  SendResult send(const std::string& envelope_from, const std::vector<std::string>& recipients,
                  std::string_view raw_message);

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace escala::adapters::smtp
