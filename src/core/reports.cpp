#include "core/reports.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <tuple>

namespace escala::core {
namespace {

int64_t seconds_of(Millis m) { return std::chrono::duration_cast<Seconds>(m).count(); }

constexpr Millis kDay = std::chrono::hours{24};

size_t severity_index(Severity s) {
  return std::clamp(static_cast<int>(s), 1, 4) - 1;
}

std::string severity_name(size_t index) {
  return std::string(to_string(static_cast<Severity>(index + 1)));
}

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

// ---- Dashboard ------------------------------------------------------------------------

Result<LocalDays> LocalDays::create(const std::string& zone) {
  LocalDays d;
  d.name_ = zone;
  if (zone.empty()) return make_error(ErrorCode::kInvalidArgument, "is required", "zone");
  // locate_zone reports an unknown name (and a missing zoneinfo folder) by throwing.
  try {
    d.zone_ = date::locate_zone(zone);
  } catch (const std::exception&) {
    return make_error(ErrorCode::kInvalidArgument,
                      "\"" + zone + "\" is not an IANA time zone (e.g. UTC, Europe/Madrid)",
                      "zone");
  }
  return d;
}

int64_t LocalDays::day_of(Instant t) const {
  const auto local = zone_->to_local(t);
  return date::floor<date::days>(local).time_since_epoch().count();
}

Instant LocalDays::start_of(int64_t day) const {
  const date::local_days midnight{date::days{day}};
  // A midnight skipped by a daylight-saving change starts the day at the change.
  return std::chrono::time_point_cast<Millis>(
      zone_->to_sys(midnight, date::choose::earliest));
}

std::string LocalDays::name_of(int64_t day) {
  const date::year_month_day ymd{date::sys_days{date::days{day}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

void BacklogAggregator::add(const Case& c) {
  if (c.status == CaseStatus::kResolved || c.status == CaseStatus::kClosed) return;
  const Millis age = now_ - c.created_at;
  const size_t bucket = age < kDay ? 0 : age < 3 * kDay ? 1 : age < 7 * kDay ? 2 : 3;
  ++counts_[severity_index(c.severity)][bucket];
  ++total_;
}

Json BacklogAggregator::to_json() const {
  Json by_severity = Json::object();
  Json by_age = Json::object();
  for (size_t b = 0; b < 4; ++b) by_age[kBacklogBuckets[b]] = 0;
  for (size_t s = 0; s < 4; ++s) {
    Json row = Json::object();
    int64_t sum = 0;
    for (size_t b = 0; b < 4; ++b) {
      row[kBacklogBuckets[b]] = counts_[s][b];
      by_age[kBacklogBuckets[b]] = by_age[kBacklogBuckets[b]].get<int64_t>() + counts_[s][b];
      sum += counts_[s][b];
    }
    row["total"] = sum;
    by_severity[severity_name(s)] = std::move(row);
  }
  Json buckets = Json::array();
  for (const char* b : kBacklogBuckets) buckets.push_back(b);
  return Json{{"buckets", std::move(buckets)},
              {"by_severity", std::move(by_severity)},
              {"by_age", std::move(by_age)},
              {"total", total_}};
}

CreatedPerDayAggregator::CreatedPerDayAggregator(const LocalDays& days, Instant from,
                                                 Instant before)
    : days_(days), from_(from), before_(before) {
  first_day_ = days_.day_of(from_);
  day_count_ = before_ > from_ ? days_.day_of(before_ - Millis{1}) - first_day_ + 1 : 0;
}

void CreatedPerDayAggregator::add(const Case& c) {
  if (c.created_at < from_ || c.created_at >= before_) return;
  const int64_t day = days_.day_of(c.created_at) - first_day_;
  if (day < 0 || day >= day_count_) return;  // cannot happen: the period's days cover it
  auto& series = by_channel_[c.channel.empty() ? std::string("(none)") : c.channel];
  if (series.empty()) series.assign(static_cast<size_t>(day_count_), 0);
  ++series[static_cast<size_t>(day)];
  ++total_;
}

Json CreatedPerDayAggregator::to_json() const {
  Json day_names = Json::array();
  std::vector<int64_t> totals(static_cast<size_t>(day_count_), 0);
  for (int64_t d = 0; d < day_count_; ++d) day_names.push_back(LocalDays::name_of(first_day_ + d));
  Json channels = Json::object();
  for (const auto& [channel, series] : by_channel_) {
    channels[channel] = series;
    for (size_t d = 0; d < series.size(); ++d) totals[d] += series[d];
  }
  return Json{{"days", std::move(day_names)},
              {"by_channel", std::move(channels)},
              {"per_day", std::move(totals)},
              {"total", total_}};
}

BreachAggregator::BreachAggregator(const LocalDays& days, Instant now, int day_count,
                                   size_t keep)
    : days_(days), now_(now), day_count_(std::max(day_count, 1)), keep_(keep) {
  first_day_ = days_.day_of(now_) - (day_count_ - 1);
  since_ = days_.start_of(first_day_);
  per_day_.assign(static_cast<size_t>(day_count_), {});
}

void BreachAggregator::add(BreachRecord b) {
  if (b.breached_at < since_ || b.breached_at > now_) return;
  const int64_t day = std::clamp<int64_t>(days_.day_of(b.breached_at) - first_day_, 0,
                                          day_count_ - 1);
  const size_t sev = severity_index(b.severity);
  ++by_target_[sev][b.target == "response" ? 0 : 1];
  ++per_day_[static_cast<size_t>(day)][sev];
  ++total_;
  latest_.push_back(std::move(b));
  // Newest first; the same instant in case-number order, so the answer is stable.
  auto newer = [](const BreachRecord& x, const BreachRecord& y) {
    return x.breached_at != y.breached_at ? x.breached_at > y.breached_at
                                          : std::tie(x.number, x.target) < std::tie(y.number, y.target);
  };
  if (latest_.size() > 2 * keep_ + 16) {
    std::sort(latest_.begin(), latest_.end(), newer);
    latest_.resize(keep_);
  }
}

Json BreachAggregator::to_json() const {
  std::vector<BreachRecord> latest = latest_;
  std::sort(latest.begin(), latest.end(), [](const BreachRecord& x, const BreachRecord& y) {
    return x.breached_at != y.breached_at ? x.breached_at > y.breached_at
                                          : std::tie(x.number, x.target) < std::tie(y.number, y.target);
  });
  if (latest.size() > keep_) latest.resize(keep_);
  Json by_severity = Json::object();
  Json per_day = Json::object();
  for (size_t s = 0; s < 4; ++s) {
    by_severity[severity_name(s)] = Json{{"response", by_target_[s][0]},
                                         {"resolution", by_target_[s][1]},
                                         {"total", by_target_[s][0] + by_target_[s][1]}};
    Json series = Json::array();
    for (const auto& day : per_day_) series.push_back(day[s]);
    per_day[severity_name(s)] = std::move(series);
  }
  Json day_names = Json::array();
  for (int d = 0; d < day_count_; ++d) day_names.push_back(LocalDays::name_of(first_day_ + d));
  Json items = Json::array();
  for (const auto& b : latest)
    items.push_back(Json{{"case", b.number},
                         {"subject", b.subject},
                         {"severity", to_string(b.severity)},
                         {"level", b.level},
                         {"target", b.target},
                         {"breached_at", format_iso8601(b.breached_at)}});
  return Json{{"since", format_iso8601(since_)},
              {"until", format_iso8601(now_)},
              {"days", std::move(day_names)},
              {"per_day", std::move(per_day)},
              {"by_severity", std::move(by_severity)},
              {"total", total_},
              {"latest", std::move(items)}};
}

}  // namespace escala::core
