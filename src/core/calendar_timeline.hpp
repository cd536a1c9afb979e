#pragma once
// The business clock of one named calendar across its versions.
//
// A calendar is edited by administrators (versioned in the desk's history, D7). An edit
// applies from the instant it is saved: open time before that instant is measured on the
// hours that applied then, open time after it on the new hours. A CalendarTimeline is the
// list of versions with the instant each took effect.
//
// Its reading at an instant, the *mark*, is the open time elapsed since a fixed origin
// (2000-01-01T00:00Z; negative before it), in milliseconds. Marks never decrease, and the
// open time between two instants is the difference of their marks. SLA timers are kept as
// marks (a warning is due when the calendar's mark reaches the case's): a calendar edit
// changes *when* a mark is reached, never the mark, so no stored timer needs rewriting when
// hours change, whatever the number of open cases; only the instants derived from marks move.
//
// mark() and at_mark() cost one walk of at most 28 days: every version keeps the mark of
// each 28-day grid point from 2000 to 2100 (about 1,300 numbers), computed when the version
// is added. Outside that range they walk from the nearest known point (correct, slower).
//
// Immutable and therefore safe to share between threads; with_version() returns a new one.

#include <cstdint>
#include <memory>
#include <vector>

#include "core/calendar.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace escala::core {

// Where marks count from: 2000-01-01T00:00:00Z.
inline constexpr Instant kMarkOrigin{Millis{946'684'800'000}};

class CalendarTimeline {
 public:
  // One version that has always applied.
  explicit CalendarTimeline(std::shared_ptr<const BusinessCalendar> first);

  // This timeline with `next` applying from `from` on. An instant before the latest
  // version's start is moved up to it (time is not rewritten); a version starting at the
  // same instant as the latest replaces it.
  CalendarTimeline with_version(std::shared_ptr<const BusinessCalendar> next, Instant from) const;

  // Open time since kMarkOrigin up to `t` (negative before the origin).
  Millis mark(Instant t) const;

  // The earliest instant whose mark is at least `m`: the instant at which that much open
  // time has elapsed. kNever when the calendar never gets there before kHorizon.
  Instant at_mark(Millis m) const;

  // The version that applies at `t`, and the latest one.
  const BusinessCalendar& at(Instant t) const;
  const BusinessCalendar& current() const { return *versions_.back().calendar; }
  // When each version started to apply (the first: kEarliest).
  std::vector<Instant> version_starts() const;

 private:
  struct Version {
    int64_t from_ms;  // the first version: INT64_MIN
    std::shared_ptr<const BusinessCalendar> calendar;
    int64_t base = 0;        // mark at from_ms (unused for the first version)
    int64_t grid_first = 0;  // index of the first grid point inside this version
    std::vector<int64_t> grid_marks;  // marks of grid points grid_first, grid_first + 1, ...
  };

  CalendarTimeline() = default;
  size_t version_index(int64_t t_ms) const;
  // Fills v.grid_marks from its start to `end_ms` (exclusive), given its base.
  static void build_grid(Version& v, int64_t end_ms);
  int64_t mark_in(const Version& v, int64_t t_ms) const;

  std::vector<Version> versions_;
};

}  // namespace escala::core
