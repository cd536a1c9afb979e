#pragma once
// SLA reports (issue 3): compliance per severity, level and account (met / breached / in
// progress), business time to respond and to resolve (mean and percentiles), and the
// first-level resolution rate (R3.4). Pure aggregation over cases and their clock reports.

#include <map>
#include <string>
#include <vector>

#include "core/model.hpp"
#include "core/sla.hpp"

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

}  // namespace escala::core
