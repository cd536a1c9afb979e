#!/usr/bin/env python3
"""Differential test: `escala calendar due` against Business::Hours (issue 3, "How it is built").

Business::Hours (Debian's libbusiness-hours-perl, the module Request Tracker's SLA uses) is an
independent implementation of business-time arithmetic: it builds the set of business seconds
of a period with Set::IntSpan and indexes into it. This script generates random
(from, seconds) pairs with a fixed seed, asks both sides in one batch per calendar, and fails
if any answer differs after the one documented normalisation below.

Calendars compared:
  support         the built-in calendar of R1.6 (Mon-Fri 06:00-21:00, Sat-Sun 07:00-17:00,
                  Etc/GMT+6 = UTC-6); Business::Hours runs with TZ=Etc/GMT+6.
  diff-new-york   a custom calendar in America/New_York (daylight saving time), with a lunch
                  break, a closed day, recurring and dated holidays, and Sunday hours
                  01:00-04:00 that straddle every US DST change (02:00 local on a Sunday).
                  Escala reads it from a desk's stored defaults (a temporary data dir).
  24x7            the built-in always-open calendar; Business::Hours with every day
                  00:00-00:00 (the module reads End <= Start as "ends the next day") in UTC.

Semantics and the normalisation:
  escala calendar due FROM N   the earliest instant at which N business seconds have elapsed
                               since FROM; for N = 0, FROM itself when open, else the next
                               opening (contract.md). An answer may be a closing instant.
  Business::Hours add_seconds(FROM, N)
                               the first second of the (N+1)-th business second at or after
                               FROM (it returns element N of the set of business seconds).
  The two agree except when the N-th business second is the last one before a closing: escala
  answers the closing instant, Business::Hours the next opening. Issue 3 counts them as the
  same instant because no business time lies between them. A pair is accepted as such only
  when N > 0 and Business::Hours itself confirms it: first_after(escala - 1) == escala - 1
  (the second before escala's answer is open), and first_after(escala) == its own answer
  (nothing is open from escala's answer until then). For N = 0 there is no normalisation.
  Every other difference is a disagreement and fails the test.

Daylight saving time: both sides agree when every opening and closing is a civil time that
exists exactly once, or is the first of two (Time::Local, which Business::Hours uses, maps an
ambiguous time to the earlier instant, as escala's rule "open when the wall-clock time lies
inside an interval" does at an opening). They differ by design for hours that open or close
inside a spring-forward gap or a repeated fall-back hour, e.g. Sunday 01:30-02:30 in New York:
Time::Local turns a nonexistent 02:30 into 03:30 EDT (so Business::Hours counts an hour, 30
minutes of it at wall-clock times outside the interval) where escala counts the 30 real
minutes; on the fall-back night Business::Hours counts one span of 2 h from the first 01:30 to
02:30 EST, escala 1 h 30 (the second 01:00-01:30 lies before the opening by the wall clock).
The diff-new-york calendar below therefore keeps its boundaries out of 01:00-03:00 except the
01:00 opening, while its Sunday hours still straddle every change.

Usage:
  ESCALA_BIN=build/escala python3 tests/differential/calendar_vs_business_hours.py
Environment: ESCALA_BIN (default: build/escala of this checkout), DIFF_SEED (default 20261127),
DIFF_SCALE (multiplies the number of random cases, default 1), DIFF_DUMP (a file to which every
case is written as TSV: calendar, from, seconds, escala, business_hours, verdict).
Python 3 standard library only; needs perl with libbusiness-hours-perl. Exits 0 when everything
agrees, 1 on a disagreement, 2 when the set-up fails.
"""

import concurrent.futures
import datetime as dt
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ESCALA_BIN = os.environ.get("ESCALA_BIN") or os.path.join(ROOT, "build", "escala")
HELPER = os.path.join(HERE, "business_hours.pl")
PERL = shutil.which("perl") or "/usr/bin/perl"
SEED = int(os.environ.get("DIFF_SEED", "20261127"))
SCALE = float(os.environ.get("DIFF_SCALE", "1"))
WORKERS = max(1, min(os.cpu_count() or 1, 8))
SHOW = 20  # disagreements printed in full

UTC = dt.timezone.utc
RANGE_START = int(dt.datetime(2026, 1, 1, tzinfo=UTC).timestamp())
RANGE_END = int(dt.datetime(2028, 1, 1, tzinfo=UTC).timestamp())
FIRST_DAY = dt.date(2026, 1, 1)
DAYS = (dt.date(2028, 1, 1) - FIRST_DAY).days
SLA_TARGETS = (3600, 5400, 7200, 10800, 14400)  # R5: 1 h, 1.5 h, 2 h, 3 h, 4 h
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BH_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


class Calendar:
    """One calendar described once, rendered for escala (JSON) and Business::Hours (hash)."""

    def __init__(self, name, zone, week=None, holidays=(), always_open=False, builtin=False,
                 cases=0, max_seconds=None):
        self.name = name
        self.zone_name = zone
        self.zone = ZoneInfo(zone)
        self.week = week or [[] for _ in WEEKDAYS]  # Monday first, [(begin, end)] "HH:MM"
        self.holidays = list(holidays)              # "MM-DD" or "YYYY-MM-DD", closed all day
        self.always_open = always_open
        self.builtin = builtin
        self.cases = cases
        weekly = 7 * 86400 if always_open else sum(
            minutes(e) * 60 - minutes(b) * 60 for day in self.week for b, e in day)
        # From 0 to two weeks of business time (issue 3); the always-open calendar is capped
        # lower because Business::Hours enumerates every business second it looks at.
        self.max_seconds = max_seconds or 2 * weekly

    def escala_json(self):
        """The shape of calendar_to_json (src/core/calendar.hpp)."""
        return {
            "name": self.name,
            "time_zone": self.zone_name,
            "always_open": self.always_open,
            "week": {WEEKDAYS[i]: [[b, e] for b, e in self.week[i]] for i in range(7)},
            "holidays": [{"name": "holiday " + h, "date": h} for h in self.holidays],
        }

    def business_hours(self):
        """The argument of Business::Hours->business_hours: 0 = Sunday; a closed day is left
        out; several intervals a day become Start/End with Breaks between them."""
        hours = {}
        for i, day in enumerate(self.week):
            dow = (i + 1) % 7
            if self.always_open:
                hours[str(dow)] = {"Name": BH_DAY_NAMES[dow], "Start": "00:00", "End": "00:00"}
            elif day:
                hours[str(dow)] = {
                    "Name": BH_DAY_NAMES[dow], "Start": day[0][0], "End": day[-1][1],
                    "Breaks": [{"Start": day[k][1], "End": day[k + 1][0]}
                               for k in range(len(day) - 1)],
                }
        hours["holidays"] = self.holidays
        return hours

    def is_holiday(self, day):
        return day.strftime("%m-%d") in self.holidays or day.isoformat() in self.holidays

    def local_epoch(self, day, hhmm, fold=0):
        h, m = divmod(minutes(hhmm), 60)
        if h == 24:
            day, h = day + dt.timedelta(days=1), 0
        return int(dt.datetime(day.year, day.month, day.day, h, m, tzinfo=self.zone,
                               fold=fold).timestamp())

    def local_text(self, epoch):
        return dt.datetime.fromtimestamp(epoch, self.zone).strftime("%a %Y-%m-%d %H:%M:%S%z")


def minutes(hhmm):
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


CALENDARS = [
    Calendar("support", "Etc/GMT+6", builtin=True, cases=10000,  # issue 3: 10,000 pairs
             week=[[("06:00", "21:00")]] * 5 + [[("07:00", "17:00")]] * 2),
    Calendar("diff-new-york", "America/New_York", cases=1500,
             week=[
                 [("09:00", "17:30")],                    # Monday
                 [("08:00", "12:00"), ("13:00", "18:00")],  # Tuesday, lunch break
                 [("07:15", "19:45")],                    # Wednesday
                 [("08:00", "18:00")],                    # Thursday
                 [("08:00", "16:00")],                    # Friday
                 [],                                      # Saturday closed
                 [("01:00", "04:00")],                    # Sunday, across the DST changes
             ],
             # Recurring and dated; none on a DST Sunday, none the day before a 00:00 opening
             # (Business::Hours closes a holiday from midnight for 86,400 seconds, inclusive).
             holidays=["01-01", "07-04", "12-25", "2026-11-26", "2027-11-25", "2027-03-21"]),
    Calendar("24x7", "UTC", always_open=True, builtin=True, cases=100, max_seconds=86400),
]


# ---------------------------------------------------------------------------------------------
# Inputs


def format_from(cal, epoch, rng):
    """FROM as escala reads it: mostly UTC, sometimes with the calendar's offset or +00:00."""
    style = rng.random()
    if style < 0.7:
        return dt.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if style < 0.9:
        return dt.datetime.fromtimestamp(epoch, cal.zone).isoformat()
    return dt.datetime.fromtimestamp(epoch, UTC).isoformat()


def dst_changes(cal):
    """UTC instants in 2026-2027 at which the calendar's zone changes its offset."""
    out = []
    prev = None
    for hour in range(RANGE_START, RANGE_END + 1, 3600):
        off = dt.datetime.fromtimestamp(hour, cal.zone).utcoffset()
        if prev is not None and off != prev:
            out.append(hour)
        prev = off
    return out


def random_from(cal, rng, changes):
    kind = rng.random()
    day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
    if kind < 0.45 or cal.always_open and kind < 0.8:  # uniform over 2026-2027
        return "uniform", rng.randrange(RANGE_START, RANGE_END)
    if kind < 0.75 and not cal.always_open:  # an exact opening or closing, or a second off
        intervals = cal.week[day.weekday()]
        while not intervals:
            day += dt.timedelta(days=1)
            intervals = cal.week[day.weekday()]
        edge = rng.choice([t for b, e in intervals for t in (b, e)])
        delta = rng.choice((0, 0, 0, 0, 0, 0, -1, 1))
        return "boundary", cal.local_epoch(day, edge, fold=rng.randrange(2)) + delta
    if kind < 0.85:  # local midnight
        return "midnight", cal.local_epoch(day, "00:00") + rng.choice((0, 0, -1, 1))
    if kind < 0.95 or not changes:  # any time of a weekend
        day += dt.timedelta(days=(5 - day.weekday()) % 7 + rng.randrange(2))
        return "weekend", cal.local_epoch(day, "00:00") + rng.randrange(86400)
    return "dst", rng.choice(changes) + rng.randrange(-6 * 3600, 6 * 3600)


def random_case(cal, rng, changes):
    """(kind, from, seconds). One case in ten is aimed at a closing instant: it starts an SLA
    target before a closing, so that the answer is that closing when the interval is long
    enough (where the normalisation applies)."""
    if not cal.always_open and rng.random() < 0.1:
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        while not cal.week[day.weekday()]:
            day += dt.timedelta(days=1)
        n = rng.choice(SLA_TARGETS)
        closing = rng.choice(cal.week[day.weekday()])[1]
        return "to-closing", cal.local_epoch(day, closing) - n + rng.choice((0, 0, 0, -1, 1)), n
    kind, epoch = random_from(cal, rng, changes)
    return kind, epoch, random_seconds(cal, rng)


def random_seconds(cal, rng):
    """From 0 to two weeks of business time, mostly the SLA targets. Long amounts are rarer
    because Business::Hours lists every business second it walks over (about 30 ms a call
    for two weeks of the support calendar, 1.5 ms for an hour)."""
    kind = rng.random()
    if kind < 0.06:
        return 0
    if kind < 0.09:
        return 1
    if kind < 0.61:  # the SLA targets, exact or a second either side
        return rng.choice(SLA_TARGETS) + rng.choice((0,) * 6 + (-1, 1))
    if kind < 0.78:
        return rng.randint(1, 3600)
    if kind < 0.96:
        return rng.randint(1, max(1, cal.max_seconds // 14))  # up to a day of business time
    return rng.randint(0, cal.max_seconds)


def edge_cases(cal):
    """Deterministic cases pinned to the edges, before the random ones."""
    out = []
    if cal.always_open:
        for epoch in (RANGE_START, RANGE_START - 1, RANGE_END - 1):
            out += [("edge", epoch, n) for n in (0, 1, 3600, 86400)]
        return out
    amounts = (0, 1, 3599, 3600, 14400)
    # Every opening and closing of one ordinary week and of the week across the new year,
    # at the instant and a second either side.
    for start in (dt.date(2026, 11, 23), dt.date(2026, 12, 28)):
        for d in range(7):
            day = start + dt.timedelta(days=d)
            for b, e in cal.week[day.weekday()]:
                for hhmm in (b, e):
                    for delta in (-1, 0, 1):
                        out += [("edge", cal.local_epoch(day, hhmm) + delta, n) for n in amounts]
    # Around each DST change: the hours before and after, both readings of a repeated hour.
    for change in dst_changes(cal):
        day = dt.datetime.fromtimestamp(change, cal.zone).date()
        for hhmm in ("00:00", "00:59", "01:00", "01:30", "01:59", "02:00", "02:30", "03:00",
                     "03:59", "04:00"):
            for fold in (0, 1):
                for delta in (0, 59) if hhmm.endswith(":59") else (0,):
                    epoch = cal.local_epoch(day, hhmm, fold) + delta
                    out += [("dst", epoch, n) for n in amounts + (1800, 7200, 10799, 10800)]
        saturday_noon = cal.local_epoch(day - dt.timedelta(days=1), "12:00")
        out += [("dst", saturday_noon, n) for n in amounts]
    return out


def make_cases(cal, rng):
    changes = dst_changes(cal)
    cases, seen = [], set()
    for case in edge_cases(cal):
        if case[1:] not in seen:
            seen.add(case[1:])
            cases.append(case)
    cases += [random_case(cal, rng, changes) for _ in range(round(cal.cases * SCALE))]
    return [(kind, epoch, n, format_from(cal, epoch, rng)) for kind, epoch, n in cases]


# ---------------------------------------------------------------------------------------------
# The two sides


class SetupError(Exception):
    pass


def run(args, stdin, env=None, timeout=300):
    try:
        p = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SetupError(f"{args[0]}: {e}")
    if p.returncode != 0:
        raise SetupError(f"{' '.join(args)} exited {p.returncode}: {p.stderr.strip()[:2000]}")
    return p.stdout.splitlines()


def prepare_desk(tmp, calendars):
    """A data dir whose stored defaults carry the custom calendars (the only way to give
    escala a calendar with another zone)."""
    data_dir = os.path.join(tmp, "desk")
    run([ESCALA_BIN, "migrate", "--data-dir", data_dir], "")
    db = sqlite3.connect(os.path.join(data_dir, "escala.db"))
    try:
        (value,) = db.execute("SELECT value FROM settings WHERE key = 'defaults'").fetchone()
        defaults = json.loads(value)
        names = {c.name for c in calendars}
        defaults["calendars"] = [c for c in defaults.get("calendars", [])
                                 if c.get("name") not in names]
        defaults["calendars"] += [c.escala_json() for c in calendars]
        db.execute("UPDATE settings SET value = ? WHERE key = 'defaults'",
                   (json.dumps(defaults),))
        db.commit()
    finally:
        db.close()
    return data_dir


def parse_escala(text):
    """Unix seconds of an escala answer, or None for "never", an error or a fractional one."""
    try:
        t = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None or t.microsecond:
        return None
    return int(t.timestamp())


def escala_due(cal, lines, data_dir):
    args = [ESCALA_BIN, "calendar", "due", "--calendar", cal.name, "--batch"]
    if not cal.builtin:
        args += ["--data-dir", data_dir]
    out = run(args, "".join(line + "\n" for line in lines))
    if len(out) != len(lines):
        raise SetupError(f"escala answered {len(out)} lines for {len(lines)} on {cal.name}")
    return out


def perl_env(cal):
    env = dict(os.environ)
    env["TZ"] = cal.zone_name
    return env


def business_hours(pool, cal, hours_file, queries):
    """Answers of the Perl helper, the queries split over the workers (interleaved, so that
    the long ones spread evenly)."""
    if not queries:
        return []
    k = min(WORKERS, len(queries))
    chunks = [queries[i::k] for i in range(k)]
    futures = [pool.submit(run, [PERL, HELPER, hours_file],
                           "".join(q + "\n" for q in chunk), perl_env(cal))
               for chunk in chunks]
    answers = [None] * len(queries)
    for i, f in enumerate(futures):
        out = f.result()
        if len(out) != len(chunks[i]):
            raise SetupError(f"business_hours.pl answered {len(out)} lines for "
                             f"{len(chunks[i])} on {cal.name}")
        answers[i::k] = [int(x) for x in out]
    return answers


def check_reference_zone(cal, hours_file):
    """glibc falls back to UTC, silently, for a TZ it cannot read: make sure Perl's local time
    is the calendar's zone, DST included."""
    probes = [RANGE_START, RANGE_END] + dst_changes(cal)
    probes += [p - 1 for p in probes]
    got = run([PERL, HELPER, hours_file], "".join(f"local {p}\n" for p in probes), perl_env(cal))
    want = [dt.datetime.fromtimestamp(p, cal.zone).strftime("%Y-%m-%dT%H:%M:%S%z")
            for p in probes]
    if got != want:
        raise SetupError(f"Perl's local time with TZ={cal.zone_name} is not the zone's: "
                         f"got {got[:4]}, want {want[:4]}")


# ---------------------------------------------------------------------------------------------


def utc_text(epoch):
    if epoch is None or epoch < 0:
        return str(epoch)
    return dt.datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compare(pool, tmp, data_dir, cal):
    rng = random.Random(f"{SEED}/{cal.name}")
    cases = make_cases(cal, rng)
    hours_file = os.path.join(tmp, cal.name + ".json")
    with open(hours_file, "w") as f:
        json.dump(cal.business_hours(), f)
    check_reference_zone(cal, hours_file)

    escala_future = pool.submit(escala_due, cal, [f"{c[3]} {c[2]}" for c in cases], data_dir)
    reference = business_hours(pool, cal, hours_file, [f"add {c[1]} {c[2]}" for c in cases])
    escala_raw = escala_future.result()
    escala = [parse_escala(x) for x in escala_raw]

    # Candidates for the closing-time normalisation, confirmed by the reference itself.
    candidates = [i for i, c in enumerate(cases)
                  if escala[i] is not None and escala[i] != reference[i] and c[2] > 0
                  and reference[i] >= 0 and escala[i] < reference[i]]
    queries = []
    for i in candidates:
        queries += [f"first {escala[i] - 1}", f"first {escala[i]}"]
    firsts = business_hours(pool, cal, hours_file, queries)
    closing = {i for k, i in enumerate(candidates)
               if firsts[2 * k] == escala[i] - 1 and firsts[2 * k + 1] == reference[i]}

    verdicts = []
    for i in range(len(cases)):
        if escala[i] is not None and escala[i] == reference[i]:
            verdicts.append("same")
        elif i in closing:
            verdicts.append("closing")
        else:
            verdicts.append("DIFFERENT")

    kinds = {}
    for c in cases:
        kinds[c[0]] = kinds.get(c[0], 0) + 1
    crossing = sum(1 for i, c in enumerate(cases) if escala[i] is not None and
                   dt.datetime.fromtimestamp(c[1], cal.zone).utcoffset() !=
                   dt.datetime.fromtimestamp(escala[i], cal.zone).utcoffset())
    same = verdicts.count("same")
    print(f"{cal.name} ({cal.zone_name}): {len(cases)} cases "
          f"({', '.join(f'{v} {k}' for k, v in sorted(kinds.items()))}; "
          f"{sum(1 for c in cases if c[2] == 0)} with 0 seconds, "
          f"{sum(1 for c in cases if c[2] in SLA_TARGETS)} on an SLA target exactly, "
          f"{crossing} crossing a DST change): {same} identical, "
          f"{len(closing)} on a closing instant that Business::Hours gives as the next "
          f"opening, {verdicts.count('DIFFERENT')} different")

    rows = []
    for i, c in enumerate(cases):
        rows.append((cal.name, c[3], c[2], escala_raw[i], utc_text(reference[i]), verdicts[i]))
    bad = [i for i, v in enumerate(verdicts) if v == "DIFFERENT"]
    for i in bad[:SHOW]:
        kind, epoch, n, text = cases[i]
        print(f"  DIFFERENT {cal.name} from {text} ({kind}; local {cal.local_text(epoch)}) "
              f"+ {n} s:\n"
              f"    escala          {escala_raw[i]}"
              + (f"  (local {cal.local_text(escala[i])})" if escala[i] is not None else "") +
              f"\n    Business::Hours {utc_text(reference[i])}"
              + (f"  (local {cal.local_text(reference[i])})" if reference[i] >= 0 else "") +
              f"\n    reproduce: escala calendar due --calendar {cal.name} --from {text} "
              f"--seconds {n}" + ("" if cal.builtin else " --data-dir DIR"))
    if len(bad) > SHOW:
        print(f"  ... and {len(bad) - SHOW} more")
    return len(cases), len(bad), rows


def main():
    started = time.monotonic()
    if not os.access(ESCALA_BIN, os.X_OK):
        print(f"escala binary not found at {ESCALA_BIN} (set ESCALA_BIN)", file=sys.stderr)
        return 2
    probe = subprocess.run([PERL, "-MBusiness::Hours", "-MJSON::PP", "-e",
                            "print $Business::Hours::VERSION"], capture_output=True, text=True)
    if probe.returncode != 0:
        print("Perl's Business::Hours is missing: install the Debian package "
              "libbusiness-hours-perl (scripts/install-deps.sh test)\n" + probe.stderr,
              file=sys.stderr)
        return 2
    print(f"escala {ESCALA_BIN} against Business::Hours {probe.stdout} "
          f"(seed {SEED}, {WORKERS} Perl workers)")

    total = failures = 0
    dump = []
    try:
        with tempfile.TemporaryDirectory(prefix="escala-differential-") as tmp, \
                concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS + 1) as pool:
            data_dir = prepare_desk(tmp, [c for c in CALENDARS if not c.builtin])
            for cal in CALENDARS:
                n, bad, rows = compare(pool, tmp, data_dir, cal)
                total += n
                failures += bad
                dump += rows
    except SetupError as e:
        print(f"set-up failed: {e}", file=sys.stderr)
        return 2

    if os.environ.get("DIFF_DUMP"):
        with open(os.environ["DIFF_DUMP"], "w") as f:
            f.write("calendar\tfrom\tseconds\tescala\tbusiness_hours\tverdict\n")
            for row in dump:
                f.write("\t".join(str(x) for x in row) + "\n")
    elapsed = time.monotonic() - started
    print(f"{total} cases in {elapsed:.1f} s: "
          + ("all agree" if failures == 0 else f"{failures} disagreements"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
