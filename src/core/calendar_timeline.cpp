#include "core/calendar_timeline.hpp"

#include <algorithm>
#include <limits>

namespace escala::core {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kStepMs = 28 * kDayMs;
constexpr int64_t kOriginMs = 946'684'800'000;  // kMarkOrigin
// Grid points run from the origin to 2100-01-01.
constexpr int64_t kGridEndMs = 4'102'444'800'000;
constexpr int64_t kGridPoints = (kGridEndMs - kOriginMs) / kStepMs + 1;
constexpr int64_t kAlways = std::numeric_limits<int64_t>::min();

int64_t ms(Instant t) { return t.time_since_epoch().count(); }
Instant instant(int64_t ms) { return Instant{Millis{ms}}; }
int64_t clamp(int64_t t) { return std::clamp(t, ms(kEarliest), ms(kHorizon)); }

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t grid_instant(int64_t k) { return kOriginMs + k * kStepMs; }

int64_t open_ms(const BusinessCalendar& cal, int64_t from, int64_t to) {
  return cal.between_millis(instant(from), instant(to)).count();
}

}  // namespace

CalendarTimeline::CalendarTimeline(std::shared_ptr<const BusinessCalendar> first) {
  Version v{kAlways, std::move(first)};
  build_grid(v, std::numeric_limits<int64_t>::max());
  versions_.push_back(std::move(v));
}

void CalendarTimeline::build_grid(Version& v, int64_t end_ms) {
  v.grid_marks.clear();
  int64_t at = v.from_ms == kAlways ? kOriginMs : v.from_ms;
  int64_t mark = v.from_ms == kAlways ? 0 : v.base;
  const int64_t start = std::max(at, kOriginMs);
  int64_t k = std::max<int64_t>(0, floor_div(start - kOriginMs + kStepMs - 1, kStepMs));
  v.grid_first = k;
  if (v.from_ms != kAlways && at < kOriginMs && k < kGridPoints) {
    // A version that began before the origin: its first grid point is the origin.
    mark += open_ms(*v.calendar, at, kOriginMs);
    at = kOriginMs;
  }
  for (; k < kGridPoints; ++k) {
    const int64_t g = grid_instant(k);
    if (g >= end_ms) break;
    mark += open_ms(*v.calendar, at, g);
    v.grid_marks.push_back(mark);
    at = g;
  }
}

size_t CalendarTimeline::version_index(int64_t t_ms) const {
  auto it = std::upper_bound(versions_.begin() + 1, versions_.end(), t_ms,
                             [](int64_t t, const Version& v) { return t < v.from_ms; });
  return static_cast<size_t>(it - versions_.begin()) - 1;
}

int64_t CalendarTimeline::mark_in(const Version& v, int64_t t) const {
  const int64_t n = static_cast<int64_t>(v.grid_marks.size());
  const int64_t k = floor_div(t - kOriginMs, kStepMs);
  if (n > 0 && k >= v.grid_first) {
    const int64_t i = std::min(k - v.grid_first, n - 1);
    return v.grid_marks[static_cast<size_t>(i)] +
           open_ms(*v.calendar, grid_instant(v.grid_first + i), t);
  }
  if (v.from_ms != kAlways) return v.base + open_ms(*v.calendar, v.from_ms, t);
  // The first version, before the origin (or before its first grid point, the origin).
  return -open_ms(*v.calendar, t, kOriginMs);
}

Millis CalendarTimeline::mark(Instant t) const {
  const int64_t at = clamp(ms(t));
  return Millis{mark_in(versions_[version_index(at)], at)};
}

Instant CalendarTimeline::at_mark(Millis m_in) const {
  const int64_t m = m_in.count();
  // The first version whose span reaches m: the next one starts at or beyond it.
  size_t idx = 0;
  while (idx + 1 < versions_.size() && versions_[idx + 1].base < m) ++idx;
  const Version& v = versions_[idx];
  // A point of this version before the answer: its mark must be below m, so that the
  // walk from it finds the earliest instant reaching m.
  int64_t start = 0;
  int64_t start_mark = 0;
  auto below = std::lower_bound(v.grid_marks.begin(), v.grid_marks.end(), m);
  if (below != v.grid_marks.begin()) {
    const int64_t i = (below - v.grid_marks.begin()) - 1;
    start = grid_instant(v.grid_first + i);
    start_mark = v.grid_marks[static_cast<size_t>(i)];
  } else if (v.from_ms != kAlways) {
    start = v.from_ms;
    start_mark = v.base;
  } else {
    // Before the origin on the first version: step back until the mark is below m.
    int64_t span = kDayMs;
    for (;;) {
      start = std::max(kOriginMs - span, ms(kEarliest));
      start_mark = -open_ms(*v.calendar, start, kOriginMs);
      if (start_mark < m) break;
      if (start == ms(kEarliest)) return kEarliest;
      span *= 2;
    }
  }
  return v.calendar->add_millis(instant(start), Millis{m - start_mark});
}

CalendarTimeline CalendarTimeline::with_version(std::shared_ptr<const BusinessCalendar> next,
                                                Instant from) const {
  CalendarTimeline out = *this;
  int64_t f = clamp(ms(from));
  f = std::max(f, out.versions_.back().from_ms);
  if (out.versions_.size() > 1 && out.versions_.back().from_ms == f) out.versions_.pop_back();
  Version v{f, std::move(next)};
  v.base = out.mark(instant(f)).count();
  // The previous version now ends at f: drop its grid points from f on.
  Version& prev = out.versions_.back();
  while (!prev.grid_marks.empty() &&
         grid_instant(prev.grid_first + static_cast<int64_t>(prev.grid_marks.size()) - 1) >= f)
    prev.grid_marks.pop_back();
  build_grid(v, std::numeric_limits<int64_t>::max());
  out.versions_.push_back(std::move(v));
  return out;
}

const BusinessCalendar& CalendarTimeline::at(Instant t) const {
  return *versions_[version_index(clamp(ms(t)))].calendar;
}

std::vector<Instant> CalendarTimeline::version_starts() const {
  std::vector<Instant> out;
  for (const auto& v : versions_) out.push_back(v.from_ms == kAlways ? kEarliest : instant(v.from_ms));
  return out;
}

}  // namespace escala::core
