#pragma once
// The email channel over HTTP: the mail gateway's entry (POST /api/v1/mail/inbound,
// authenticated by the desk's mailgate secret), attachments of a case, the mail sent about
// a case, the templates, and the signed "confirm the resolution" link (/confirm/{number},
// a page with a button: link scanners that follow links do not confirm anything).

#include <optional>
#include <string>

#include "adapters/http_api/http_types.hpp"
#include "ports/clock.hpp"
#include "ports/mail_store.hpp"
#include "services/case_service.hpp"
#include "services/inbound_mail.hpp"
#include "services/mail_channel.hpp"

namespace escala::adapters::http {

struct MailApiDeps {
  services::InboundMail* inbound = nullptr;
  services::CaseMailer* mailer = nullptr;
  const ports::Clock* clock = nullptr;
  ports::MailStore* store = nullptr;
  ports::DirectoryStore* settings = nullptr;
  std::string mailgate_token;  // "Authorization: Mailgate <token>"
  size_t max_message_bytes = 25 * 1024 * 1024;
};

class MailRoutes {
 public:
  MailRoutes(services::CaseService& cases, MailApiDeps deps);

  // Routes that need no signed-in user: the mail gateway and the confirmation link.
  // nullopt when the request is not one of them.
  std::optional<Response> public_route(const Request& req, const std::vector<std::string>& seg);
  // Routes for a signed-in user under /api/v1 (`s` without "api", "v1").
  std::optional<Response> user_route(const Request& req, const std::vector<std::string>& s,
                                     const core::Actor& actor);
  size_t max_message_bytes() const { return deps_.max_message_bytes; }

 private:
  Response inbound(const Request& req);
  Response confirm_page(const Request& req, const std::string& number);

  services::CaseService& cases_;
  MailApiDeps deps_;
};

}  // namespace escala::adapters::http
