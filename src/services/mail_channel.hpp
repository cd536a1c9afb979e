#pragma once
// The email channel's configuration, its message templates, and the mailer that turns case
// changes into messages for customers and staff. Messages are added to the change itself
// (core::Change::outbox), so they are stored in the same transaction as the change that
// causes them: nothing is announced that did not happen, and nothing that happened goes
// unannounced (the outbox sender delivers them later, with retries).

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/lifecycle.hpp"
#include "core/mail.hpp"
#include "core/mail_rules.hpp"
#include "ports/crypto.hpp"

namespace escala::services {

struct Mailbox {
  std::string address;  // lower case
  core::CaseType default_type = core::CaseType::kRequest;
  std::string language = "es";
  std::string queue;
  // A reply to a case of this mailbox closed longer ago than this starts a new case that
  // links to it (default: the desk's reopen window).
  std::optional<int> reopen_days;
};

struct MailSettings {
  std::vector<Mailbox> mailboxes;
  std::string desk_name = "CallMyWay Soporte";
  std::string message_id_domain = "escala.invalid";
  std::string loop_token;   // the X-Escala-Loop value on every message Escala sends
  std::string link_secret;  // signs the "confirm the resolution" links
  std::string public_url = "http://127.0.0.1:8080";
  // Automatic messages (acknowledgements, requests for data) to one address per 24 hours;
  // beyond it Escala stays silent and notes it on the case: the brake on any mail loop.
  int automatic_per_day = 20;
  int64_t max_attachment_bytes = 20 * 1024 * 1024;  // larger attachments are not kept
  size_t max_body_chars = 90'000;                   // text kept in the case per message

  const Mailbox* find(std::string_view address) const;
  const Mailbox& fallback() const;  // the first mailbox (there is always one)
  core::DeskIdentity identity() const;
  // From the desk's defaults ("mailboxes", "mail") and its secrets.
  static MailSettings from_defaults(const core::Json& defaults, std::string loop_token,
                                    std::string link_secret);
};

// The HTML alternative of a plain-text message: every character escaped, line breaks
// kept, blank lines as paragraph breaks, http(s) links clickable. Nothing of the text is
// ever interpreted as markup (subjects and replies carry what customers wrote).
std::string text_to_html(std::string_view text);

struct RenderedMail {
  std::string subject;
  std::string text;
};

// Customer- and staff-facing texts (D5: Spanish by default, English per contact), editable:
// `overrides` has the shape of defaults(): {name: {language: {subject, text}}}.
class MailTemplates {
 public:
  explicit MailTemplates(core::Json overrides = core::Json::object());
  // Renders `name` in `language` (Spanish when that language has no text). Variables are
  // inserted as written (plain text: no HTML escaping). Unknown names render empty.
  RenderedMail render(const std::string& name, const std::string& language,
                      const core::Json& vars) const;
  static const core::Json& defaults();
  // Checks a set of overrides (names, languages, mustache syntax); kInvalidArgument names
  // the offending template.
  static Status validate(const core::Json& overrides);

 private:
  core::Json merged_;
};

// Builds the messages about cases.
class CaseMailer {
 public:
  CaseMailer(MailSettings settings, MailTemplates templates, ports::Crypto& crypto,
             std::string number_prefix);

  const MailSettings& settings() const { return settings_; }
  // Where links in emails point. Set before serving (not synchronised).
  void set_public_url(std::string url) { settings_.public_url = std::move(url); }
  // The templates in use; replaced at once by an administrator's edit.
  std::shared_ptr<const MailTemplates> templates() const;
  void set_templates(MailTemplates templates);

  // Looks at what a change recorded (public replies, resolution, closing, reopening,
  // notifications to staff) and adds the messages it causes. The CaseService's decorator.
  void decorate(core::Change& change, const core::CaseContext& ctx, Instant now) const;

  // Adds a message from template `kind` to the case's requester, threaded into the case
  // (`in_reply_to`: the message it answers, if any). `automatic` messages count toward the
  // per-address cap. No-op when the case has no requester address.
  void add_customer_mail(core::Change& change, const std::string& kind, core::Json vars,
                         Instant now, const std::string& in_reply_to, bool automatic) const;

  // The signed token of the "confirm the resolution" link of a resolved case.
  std::string confirm_token(const core::Case& c) const;
  bool confirm_token_valid(const core::Case& c, std::string_view token) const;
  std::string confirm_url(const core::Case& c) const;
  std::string number_of(const core::Case& c) const;

  // A fresh Message-ID (without <>) for a message about case `id`.
  std::string new_message_id(int64_t case_id) const;

 private:
  core::Json base_vars(const core::Case& c) const;
  // Date, Message-ID, loop and case headers, queue times.
  void stamp(core::OutboxMessage& m, const core::Case& c, Instant now) const;
  void add_message(core::Change& change, core::OutboxMessage m, Instant now) const;

  MailSettings settings_;
  mutable std::mutex templates_mu_;
  std::shared_ptr<const MailTemplates> templates_;  // GUARDED_BY(templates_mu_)
  ports::Crypto& crypto_;
  std::string prefix_;
};

}  // namespace escala::services
