// Business-time arithmetic on the support calendar (R1.6). The budget is 2 µs per add() for
// targets up to a week; every SLA due instant goes through it.

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/calendar.hpp"

namespace escala::core {
namespace {

constexpr int64_t kStarts = 4096;
constexpr int64_t kYearMs = 365LL * 86'400'000;

// Random instants with milliseconds across 2026, so starts fall inside and outside hours.
std::vector<Instant> random_starts() {
  std::mt19937_64 rng(42);
  const Instant base = *parse_iso8601("2026-01-01T00:00:00Z");
  std::vector<Instant> starts(kStarts);
  for (auto& s : starts) s = base + Millis{static_cast<int64_t>(rng() % kYearMs)};
  return starts;
}

BusinessCalendar calendar(CalendarSpec spec) {
  return std::move(BusinessCalendar::create(spec)).value();
}

// A calendar with a time zone that changes offset and holidays, to price the general path.
CalendarSpec new_york_office() {
  CalendarSpec spec;
  spec.name = "ny";
  spec.time_zone = "America/New_York";
  for (size_t d = 0; d < 5; ++d) spec.week[d] = {{Seconds{9 * 3600}, Seconds{17 * 3600}}};
  spec.holidays = {
      {"New Year", 1, 1, std::nullopt, {}},
      {"July 4", 7, 4, std::nullopt, {}},
      {"Thanksgiving", 11, 26, 2026, {}},
      {"Christmas Eve", 12, 24, std::nullopt, {{Seconds{9 * 3600}, Seconds{12 * 3600}}}},
      {"Christmas", 12, 25, std::nullopt, {}}};
  return spec;
}

void add_on(benchmark::State& state, const CalendarSpec& spec) {
  const auto cal = calendar(spec);
  const auto starts = random_starts();
  const Seconds target{state.range(0)};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cal.add(starts[i], target));
    i = (i + 1) % starts.size();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SupportAdd(benchmark::State& state) { add_on(state, support_calendar()); }
BENCHMARK(BM_SupportAdd)
    ->ArgName("seconds")
    ->Arg(3600)             // 1 h
    ->Arg(4 * 3600)         // 4 h
    ->Arg(7 * 24 * 3600)    // 1 week
    ->Arg(52 * 95 * 3600);  // a year of open time

void BM_NewYorkAdd(benchmark::State& state) { add_on(state, new_york_office()); }
BENCHMARK(BM_NewYorkAdd)->ArgName("seconds")->Arg(3600)->Arg(4 * 3600)->Arg(7 * 24 * 3600);

void BM_SupportBetween(benchmark::State& state) {
  const auto cal = calendar(support_calendar());
  const auto starts = random_starts();
  const Millis span{state.range(0) * 1000};
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cal.between(starts[i], starts[i] + span));
    i = (i + 1) % starts.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SupportBetween)->ArgName("seconds")->Arg(3600)->Arg(24 * 3600)->Arg(7 * 24 * 3600);

void BM_SupportIsOpen(benchmark::State& state) {
  const auto cal = calendar(support_calendar());
  const auto starts = random_starts();
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cal.is_open(starts[i]));
    i = (i + 1) % starts.size();
  }
}
BENCHMARK(BM_SupportIsOpen);

}  // namespace
}  // namespace escala::core
