#pragma once
// Absolute time in Escala: UTC instants with millisecond precision. Civil (local) times
// exist only inside the calendar code, converted through a named zone.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace escala {

using Instant = std::chrono::sys_time<std::chrono::milliseconds>;
using Millis = std::chrono::milliseconds;
using Seconds = std::chrono::seconds;

// "2026-11-27T20:47:00Z", or with milliseconds when they are not zero.
std::string format_iso8601(Instant t);

// Accepts "YYYY-MM-DDTHH:MM[:SS[.fff]]" followed by "Z" or "+HH:MM"/"-HH:MM" (also a space
// instead of 'T'). Without a zone the result is nullopt unless `default_offset` is given,
// in which case the text is read as civil time at that offset from UTC.
std::optional<Instant> parse_iso8601(std::string_view text,
                                     std::optional<Seconds> default_offset = std::nullopt);

inline long long to_unix_millis(Instant t) { return t.time_since_epoch().count(); }
inline Instant from_unix_millis(long long ms) { return Instant{Millis{ms}}; }

}  // namespace escala
