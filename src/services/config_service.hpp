#pragma once
// The desk's configuration that administrators edit while it runs: business calendars
// (each edit is versioned in the desk's history and applies from the moment it is saved;
// running SLA clocks count the rest of their time on the new hours).

#include <mutex>

#include "core/model.hpp"
#include "ports/case_store.hpp"
#include "ports/clock.hpp"
#include "ports/crypto.hpp"
#include "ports/directory_store.hpp"
#include "services/calendar_set.hpp"
#include "services/case_service.hpp"

namespace escala::services {

class ConfigService {
 public:
  ConfigService(ports::DirectoryStore& settings, CalendarSet& calendars, CaseService& cases,
                const ports::Clock& clock);

  Result<core::Json> calendars(const core::Actor& actor);
  // Adds the calendar `name` or a new version of it (administrators). Answers the stored
  // calendar and the instant it applies from.
  Result<core::Json> put_calendar(const core::Actor& actor, const std::string& name,
                                  const core::Json& spec);
  // Canned replies: saved answers agents put into the reply box, each
  // {id, title, body_es, body_en}, kept as the desk setting "canned_replies". Any staff
  // member reads them; administrators and supervisors replace the whole list (recorded in
  // the desk's history as canned_replies_changed with the ids added, changed, removed).
  // The list answered carries a "version" (a digest of the stored list): a PUT that sends
  // it back replaces the list only if nobody changed it since (else kConflict, nothing
  // written, even when two nodes race); a PUT without it replaces whatever is stored.
  // Bodies may hold the placeholders of kCannedPlaceholders ({{case}}, {{customer}}, …),
  // which the console fills in; any other {{…}} is refused. The largest list allowed
  // (100 × two 4,000-byte bodies) fits in the API's 1 MiB body limit.
  static constexpr size_t kMaxCannedReplies = 100;
  static constexpr size_t kMaxCannedTitle = 120;
  static constexpr size_t kMaxCannedBody = 4000;
  static constexpr const char* kCannedPlaceholders[] = {"case", "customer", "agent", "subject",
                                                        "account"};
  Result<core::Json> canned_replies(const core::Actor& actor);
  Result<core::Json> put_canned_replies(const core::Actor& actor, const core::Json& body);

  // The desk's mail secrets ({loop_token, link_secret, mailgate_token}), made with `crypto`
  // and stored on the desk's first start. Nodes starting together on a new desk all answer
  // the one set stored (written only where none is, else read back), so links and loop
  // tokens made by one are accepted by all. A failed read is an error, never new secrets
  // (they would void every link already sent).
  Result<core::Json> mail_secrets(ports::Crypto& crypto);

  Result<std::vector<ports::DirectoryStore::DeskEvent>> history(const core::Actor& actor,
                                                                int64_t before_id, int limit);

  // Calendar edits made by other nodes of the desk (or by this one): applies, in the order
  // they were made, the calendar_changed events of the desk's history newer than the last
  // one seen, each from its instant, and tells the SLA scheduler. Cheap when nothing
  // changed (one read of the newest history entry). Answers how many edits were applied.
  // `seen` starts at the newest history id read when the calendars were loaded.
  Result<int> sync_calendars();
  void set_history_seen(int64_t id) { seen_ = id; }

 private:
  ports::DirectoryStore& settings_;
  CalendarSet& calendars_;
  CaseService& cases_;
  const ports::Clock& clock_;
  std::mutex sync_mu_;
  int64_t seen_ = 0;  // GUARDED_BY(sync_mu_): the newest desk history id applied
};

}  // namespace escala::services
