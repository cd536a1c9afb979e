#pragma once
// The inbound email pipeline: every way in (SMTP listener, IMAP poller, mailgate) hands a
// received message here, and gets an answer only once the message is durably stored.
//
// A named filter chain decides what a message is and does:
//   parse → dedupe (ledger key) → loop (Escala's own mail) → bounce/delay → read receipt →
//   auto-reply/bulk → follow-up (threading) → sender (contact, account) → required data.
// Recognised automatic mail never creates a case and never gets an answer; where it
// belongs to a case it is recorded there as its own event type.
//
// Thread-safety: ingest may be called from many threads at once. Exactly once: the
// ledger key (Message-ID, else a hash of the bytes) is stored in the same transaction as
// the change the message causes; a second delivery of the same message changes nothing
// and is acknowledged as a duplicate.

#include <string>
#include <vector>

#include "ports/case_store.hpp"
#include "ports/clock.hpp"
#include "ports/directory_store.hpp"
#include "ports/mail_store.hpp"
#include "ports/mail_transport.hpp"
#include "services/case_service.hpp"
#include "services/mail_channel.hpp"

namespace escala::services {

struct Envelope {
  std::string mail_from;               // SMTP reverse path ("" for <>)
  std::vector<std::string> recipients;  // RCPT TO addresses (may be empty for mailgate)
  std::string source = "smtp";          // smtp | imap | mailgate | api
};

struct IngestOutcome {
  std::string disposition;  // new_case | joined | completed | reopened | confirmed |
                            // linked_case | ignored | bounce | duplicate
  std::string kind;         // core::to_string(MailKind)
  std::string reason;       // why (the filter that decided)
  std::string case_number;  // when a case was created or changed
  std::string key;          // the ledger key
};

class InboundMail {
 public:
  InboundMail(ports::CaseStore& cases, ports::DirectoryStore& directory,
              ports::MailStore& mail, ports::MailCodec& codec, CaseService& case_service,
              const CaseMailer& mailer, const ports::Clock& clock);

  // A message held in memory.
  Result<IngestOutcome> ingest(std::string_view raw, const Envelope& envelope);
  // A message spooled to a file (large messages).
  Result<IngestOutcome> ingest_file(const std::string& path, const Envelope& envelope);
  // Would mail to this address be accepted (one of the desk's mailboxes)?
  bool accepts(std::string_view address) const;

 private:
  Result<IngestOutcome> process(core::MailMessage msg, std::string raw, const Envelope& env);

  ports::CaseStore& cases_;
  ports::DirectoryStore& directory_;
  ports::MailStore& mail_;
  ports::MailCodec& codec_;
  CaseService& case_service_;
  const CaseMailer& mailer_;
  const ports::Clock& clock_;
};

}  // namespace escala::services
