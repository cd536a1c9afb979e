#pragma once
// CaseStore: durable cases and their append-only histories.
//
// Writes are linearisable per store: `create` and `update` run their callback with the
// current state while no other write to the store is in progress, then persist the result
// atomically (case row, events, billable item, search text). They return only after the
// change is durable (committed), so a caller may acknowledge it. Implementations may batch
// concurrent writes into one commit (group commit). Callbacks must be pure and fast: they
// run on the store's writer and must not call back into the store.
//
// Thread-safety: all methods may be called from any thread concurrently.
// Failure: kNotFound for an unknown case; kUnavailable when the database fails (nothing is
// stored); any error returned by a callback is passed through and nothing is stored.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/lifecycle.hpp"
#include "core/model.hpp"
#include "core/result.hpp"

namespace escala::ports {

// Full-text searches count their matches up to this many (counting every match of a word
// found in most cases would cost more than the search itself).
inline constexpr int64_t kSearchCountCap = 10'000;

struct CaseQuery {
  std::optional<core::CaseStatus> status;
  std::optional<int> level;
  std::optional<core::Severity> severity;
  std::optional<core::CaseType> type;
  std::optional<std::string> account;
  std::optional<int64_t> assignee;  // 0 means unassigned
  std::string text;                 // full-text query, accent- and case-insensitive
  std::optional<Instant> created_from;    // created at or after
  std::optional<Instant> created_before;  // created before
  std::optional<Instant> updated_from;    // changed (any event) at or after
  int limit = 50;
  std::optional<int64_t> before_id;  // keyset cursor: only cases with a smaller number
  bool count_total = true;           // false: CasePage::total may be left 0 (saves a scan)
  int64_t search_count_cap = kSearchCountCap;  // with `text`: count at most this many
};

struct CasePage {
  std::vector<core::Case> items;  // newest first
  int64_t total = 0;              // all cases matching the filters (capped for searches)
  bool total_exact = true;        // false: there are more than `total` matches
  std::optional<int64_t> next_before;
};

struct EventQuery {
  int64_t case_id = 0;
  bool include_internal = false;
  int64_t after_seq = 0;
  int limit = 100;
};

struct EventPage {
  std::vector<core::Event> items;  // oldest first
  int64_t total = 0;
  std::optional<int64_t> next_after;
};

// Builds a new case given the number the store reserved for it.
using CaseBuilder = std::function<Result<core::Change>(int64_t id)>;
// Computes a change of the current case.
using CaseMutator = std::function<Result<core::Change>(const core::Case& current)>;

class CaseStore {
 public:
  virtual ~CaseStore() = default;

  // Reserves the next case number, builds and stores the case. Numbers are consecutive on
  // one store; a failed build or write consumes no number.
  virtual Result<core::Case> create(const CaseBuilder& build) = 0;
  // Applies a change. A change without events stores nothing and returns the case as is,
  // except that a changed SLA timer instant (derived state, no history) is kept.
  virtual Result<core::Case> update(int64_t id, const CaseMutator& mutate) = 0;
  virtual Result<std::optional<core::Case>> get(int64_t id) = 0;
  virtual Result<CasePage> list(const CaseQuery& query) = 0;
  virtual Result<EventPage> events(const EventQuery& query) = 0;
  virtual Result<std::vector<core::BillableItem>> billable_items(const std::string& account) = 0;

  // SLA timers: each case's sla.next_timer_mark, a mark of its calendar (sla.calendar),
  // kept by the store beside the case (see core::DueCalculator). Marks of one calendar are
  // comparable; the scheduler asks per calendar.
  // The smallest pending mark on `calendar`, if any.
  virtual Result<std::optional<Millis>> next_sla_mark(const std::string& calendar) = 0;
  // Cases on `calendar` whose mark is at or below `mark`, smallest first, at most `limit`.
  virtual Result<std::vector<int64_t>> cases_with_due_timers(const std::string& calendar,
                                                             Millis mark, int limit) = 0;

  // Once after an upgrade from a version that kept timers as instants (schema 6 and
  // before): applies `mutate` to every case whose timer was kept that way, in one
  // transaction, storing its document and its timer mark and forgetting the instant.
  // Returns how many cases there were.
  virtual Result<int64_t> update_cases_with_legacy_timers(const CaseMutator& mutate) = 0;

  // Notifications stored with changes, for one person, newest first, ids below `before_id`
  // (0: from the newest).
  virtual Result<std::vector<core::Notification>> notifications(int64_t user_id,
                                                                int64_t before_id,
                                                                int limit) = 0;
};

}  // namespace escala::ports
