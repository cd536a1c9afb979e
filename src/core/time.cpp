#include "core/time.hpp"

#include <cctype>
#include <cstdio>

#include <date/date.h>

namespace escala {

std::string format_iso8601(Instant t) {
  auto secs = std::chrono::floor<Seconds>(t);
  auto ms = (t - secs).count();
  auto days = std::chrono::floor<date::days>(secs);
  date::year_month_day ymd{days};
  date::hh_mm_ss<Seconds> hms{secs - days};
  char buf[40];
  if (ms == 0) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()), int(ms));
  }
  return buf;
}

namespace {

bool read_digits(std::string_view s, size_t& pos, int count, int& out) {
  if (pos + count > s.size()) return false;
  int v = 0;
  for (int i = 0; i < count; ++i) {
    char c = s[pos + i];
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    v = v * 10 + (c - '0');
  }
  pos += count;
  out = v;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

std::optional<Instant> parse_iso8601(std::string_view s, std::optional<Seconds> default_offset) {
  size_t pos = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-') || !read_digits(s, pos, 2, mo) ||
      !expect(s, pos, '-') || !read_digits(s, pos, 2, d))
    return std::nullopt;
  if (!expect(s, pos, 'T') && !expect(s, pos, ' ')) return std::nullopt;
  if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':') || !read_digits(s, pos, 2, mi))
    return std::nullopt;
  if (expect(s, pos, ':')) {
    if (!read_digits(s, pos, 2, sec)) return std::nullopt;
    if (expect(s, pos, '.')) {
      int digits = 0;
      int frac = 0;
      while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
        if (digits < 3) frac = frac * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return std::nullopt;
      for (int i = digits; i < 3; ++i) frac *= 10;
      ms = frac;
    }
  }
  std::optional<Seconds> offset;
  if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
    offset = Seconds{0};
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    int oh, om = 0;
    if (!read_digits(s, pos, 2, oh)) return std::nullopt;
    if (expect(s, pos, ':')) {
      if (!read_digits(s, pos, 2, om)) return std::nullopt;
    } else if (pos < s.size()) {
      if (!read_digits(s, pos, 2, om)) return std::nullopt;
    }
    if (oh > 23 || om > 59) return std::nullopt;
    offset = Seconds{sign * (oh * 3600 + om * 60)};
  } else {
    offset = default_offset;
  }
  if (pos != s.size() || !offset) return std::nullopt;
  if (h > 23 || mi > 59 || sec > 60) return std::nullopt;
  date::year_month_day ymd{date::year{y}, date::month{unsigned(mo)}, date::day{unsigned(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto local = date::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
               Seconds{sec} + Millis{ms};
  return Instant{std::chrono::duration_cast<Millis>(local.time_since_epoch()) - *offset};
}

}  // namespace escala
