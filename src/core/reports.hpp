#pragma once
// SLA reports (issue 3): compliance per severity, level and account (met / breached / in
// progress), business time to respond and to resolve (mean and percentiles), and the
// first-level resolution rate (R3.4). Pure aggregation over cases and their clock reports.
//
// Supervisor dashboard (issue 5): what is waiting (backlog by severity and age), what came
// in (cases created per channel per local day) and what went wrong lately (SLA breaches of
// the last seven local days). Each aggregator takes `now` and the viewer's zone; none reads
// a clock or a store.

#include <array>
#include <map>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/result.hpp"
#include "core/sla.hpp"

namespace date {
class time_zone;
}

namespace escala::core {

class SlaAggregator {
 public:
  void add(const Case& c, const SlaReport& sla);
  Json to_json() const;

 private:
  struct Compliance {
    int64_t met = 0, breached = 0, in_progress = 0, not_started = 0;
    void add(const ClockReport& k, bool started);
    Json to_json() const;
  };
  struct Group {
    int64_t cases = 0;
    Compliance response, resolution;
  };
  static Json durations(std::vector<int64_t> seconds);

  Group all_;
  std::map<std::string, Group> by_severity_, by_level_, by_account_;
  std::vector<int64_t> respond_seconds_, resolve_seconds_;
  int64_t incidents_resolved_ = 0, incidents_resolved_at_l1_ = 0;
};

// Local calendar days of one IANA zone ("UTC", "Europe/Madrid", "America/Mexico_City").
// Days are named "YYYY-MM-DD"; a day starts at its first instant of local midnight (or the
// first instant after it, when midnight falls in a daylight-saving gap).
class LocalDays {
 public:
  // kInvalidArgument (field "zone") for a name the time-zone database does not know.
  static Result<LocalDays> create(const std::string& zone);

  const std::string& zone() const { return name_; }
  // Days since 1970-01-01 of the local date of `t`.
  int64_t day_of(Instant t) const;
  Instant start_of(int64_t day) const;
  static std::string name_of(int64_t day);

 private:
  LocalDays() = default;
  std::string name_;
  const date::time_zone* zone_ = nullptr;
};

// The age buckets of the backlog: under a day, 1-3 days, 3-7 days, over 7 days since the
// case was created (wall-clock time, not business time: how long the customer has waited).
inline constexpr const char* kBacklogBuckets[] = {"lt_1d", "1d_3d", "3d_7d", "gt_7d"};

// Cases not yet resolved or closed, by severity and age at `now`.
class BacklogAggregator {
 public:
  explicit BacklogAggregator(Instant now) : now_(now) {}
  void add(const Case& c);  // resolved and closed cases are not counted
  Json to_json() const;     // every severity and bucket present, zeros included

 private:
  Instant now_;
  int64_t counts_[4][4] = {};  // [severity S1..S4][bucket]
  int64_t total_ = 0;
};

// Cases created per channel per local day over [from, before): one value per day of the
// period, the first and last days included even when the period cuts them.
class CreatedPerDayAggregator {
 public:
  CreatedPerDayAggregator(const LocalDays& days, Instant from, Instant before);
  void add(const Case& c);  // cases created outside the period are not counted
  Json to_json() const;

 private:
  LocalDays days_;
  Instant from_, before_;
  int64_t first_day_ = 0, day_count_ = 0;
  std::map<std::string, std::vector<int64_t>> by_channel_;
  int64_t total_ = 0;
};

// One SLA breach, as the case's history recorded it (an sla_breached event).
struct BreachRecord {
  std::string number;  // the case number
  std::string subject;
  Severity severity = Severity::kS3;  // when it breached
  int level = kMinLevel;
  std::string target;  // "response" or "resolution"
  Instant breached_at{};
};

// Breaches of the last `day_count` local days up to `now` (today included): counts per
// severity and target, per day and severity, and the latest `keep` breaches, newest first.
class BreachAggregator {
 public:
  BreachAggregator(const LocalDays& days, Instant now, int day_count = 7, size_t keep = 10);
  // The first instant of the window: breaches before it are not counted.
  Instant since() const { return since_; }
  void add(BreachRecord b);
  Json to_json() const;

 private:
  LocalDays days_;
  Instant now_, since_;
  int64_t first_day_ = 0;
  int day_count_ = 7;
  size_t keep_ = 10;
  int64_t by_target_[4][2] = {};            // [severity][response, resolution]
  std::vector<std::array<int64_t, 4>> per_day_;  // [day][severity]
  std::vector<BreachRecord> latest_;
  int64_t total_ = 0;
};

}  // namespace escala::core
