#include "core/reports.hpp"

#include <algorithm>
#include <cmath>

namespace escala::core {
namespace {

int64_t seconds_of(Millis m) { return std::chrono::duration_cast<Seconds>(m).count(); }

}  // namespace

void SlaAggregator::Compliance::add(const ClockReport& k, bool started) {
  if (!started) ++not_started;
  else if (k.breached) ++breached;
  else if (k.met) ++met;
  else ++in_progress;
}

Json SlaAggregator::Compliance::to_json() const {
  const int64_t decided = met + breached;
  return Json{{"met", met},
              {"breached", breached},
              {"in_progress", in_progress},
              {"not_started", not_started},
              {"compliance_percent",
               decided ? Json(std::round(1000.0 * met / decided) / 10) : Json(nullptr)}};
}

Json SlaAggregator::durations(std::vector<int64_t> s) {
  if (s.empty()) return Json{{"count", 0}, {"mean", nullptr}, {"p50", nullptr}, {"p90", nullptr},
                             {"p95", nullptr}};
  std::sort(s.begin(), s.end());
  auto pct = [&](double p) {  // nearest rank
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
    return s[std::clamp<size_t>(rank, 1, s.size()) - 1];
  };
  double sum = 0;
  for (auto v : s) sum += static_cast<double>(v);
  return Json{{"count", s.size()},
              {"mean", std::llround(sum / static_cast<double>(s.size()))},
              {"p50", pct(50)},
              {"p90", pct(90)},
              {"p95", pct(95)}};
}

void SlaAggregator::add(const Case& c, const SlaReport& sla) {
  const bool started = c.sla.response.started_at.has_value();
  for (Group* g : {&all_, &by_severity_[std::string(to_string(c.severity))],
                   &by_level_["L" + std::to_string(c.level)],
                   &by_account_[c.account.empty() ? std::string("(none)") : c.account]}) {
    ++g->cases;
    g->response.add(sla.response, started);
    g->resolution.add(sla.resolution, started);
  }
  if (sla.response.stopped_at) respond_seconds_.push_back(seconds_of(sla.response.consumed));
  if (sla.resolution.stopped_at) resolve_seconds_.push_back(seconds_of(sla.resolution.consumed));
  if (c.type == CaseType::kIncident && c.resolved_level > 0 &&
      (c.status == CaseStatus::kResolved || c.status == CaseStatus::kClosed)) {
    ++incidents_resolved_;
    if (c.resolved_level == kMinLevel) ++incidents_resolved_at_l1_;
  }
}

Json SlaAggregator::to_json() const {
  auto group = [](const Group& g) {
    return Json{{"cases", g.cases},
                {"response", g.response.to_json()},
                {"resolution", g.resolution.to_json()}};
  };
  auto groups = [&](const std::map<std::string, Group>& m) {
    Json out = Json::object();
    for (const auto& [k, g] : m) out[k] = group(g);
    return out;
  };
  return Json{
      {"total", group(all_)},
      {"by_severity", groups(by_severity_)},
      {"by_level", groups(by_level_)},
      {"by_account", groups(by_account_)},
      {"business_seconds_to_respond", durations(respond_seconds_)},
      {"business_seconds_to_resolve", durations(resolve_seconds_)},
      {"first_level_resolution",
       {{"incidents_resolved", incidents_resolved_},
        {"resolved_at_level_1", incidents_resolved_at_l1_},
        {"rate_percent", incidents_resolved_
                             ? Json(std::round(1000.0 * incidents_resolved_at_l1_ /
                                               incidents_resolved_) / 10)
                             : Json(nullptr)}}},
  };
}

}  // namespace escala::core
