"""SLA clocks, warnings and breaches (D2, D6) on a real server whose clock the test moves
forward (`escala serve --test-clock`). S1 cases count on the 24x7 calendar, so the
instants do not depend on the hour the test runs at."""

import sys

sys.dont_write_bytecode = True

import datetime
import os
import unittest

from escala_harness import (ADMIN_EMAIL, ADMIN_PASSWORD, API, PASSWORD, EscalaServer,
                            ServerTestCase, incident)

S1 = {"affected": "all", "disruption": "outage"}  # 1 h response, 3 h resolution, 24x7


class MovableClock:
    """Mixin for ServerTestCase classes whose server runs with --test-clock."""

    moved_since_login = 0

    def advance(self, seconds):
        """Moves the desk's clock; the server fires what fell due before it answers.

        Tokens expire on the desk's clock too (12 h), so everyone signs in again after
        the class has moved time by several hours. Answers the desk's new time."""
        r = self.api("POST", "/test/clock", {"advance_seconds": seconds})
        self.assertEqual(r.status, 200, str(r))
        cls = type(self)
        cls.moved_since_login += seconds
        if cls.moved_since_login > 6 * 3600:
            cls.tokens["admin"] = cls.admin = cls.http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
            for key, user in cls.users.items():
                cls.tokens[key] = cls.http.login(user["email"], PASSWORD)
            cls.moved_since_login = 0
        return r.json["now"]


def instant(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))


class Timers(MovableClock, ServerTestCase):
    SERVE_ARGS = ("--test-clock",)
    ACCOUNTS = [{"code": "SLA", "name": "Reloj"}]
    USERS = [("cliente", "customer", None, "SLA"), ("agente", "agent", 1, None),
             ("jefa", "supervisor", None, None), ("callado", "supervisor", None, None),
             ("guardia", "agent", 2, None)]

    @classmethod
    def seed(cls):
        r = cls.http.patch(API + "/me", {"quiet": True}, token=cls.tokens["callado"])
        if r.status != 200 or r.json["quiet"] is not True:
            raise RuntimeError(f"cannot set quiet: {r}")

    def notifications(self, who, number):
        r = self.api("GET", "/notifications?limit=1000", as_=who)
        self.assertEqual(r.status, 200, str(r))
        return [n["kind"] for n in r.json["items"] if n["case"] == number]


    def sla_events(self, number):
        return [(e["type"], e["data"]["target"]) for e in self.events(number)
                if e["type"] in ("sla_warning", "sla_breached")]

    def test_warning_and_breach_fire_once_at_their_instants(self):
        case = self.create_case(incident("SLA", impact=S1))
        self.assertEqual(case["severity"], "S1")
        self.assertEqual(case["sla"]["calendar"], "24x7")
        n = case["number"]
        self.advance(44 * 60)  # 73 % of the response target: nothing yet
        self.assertEqual(self.sla_events(n), [])
        self.advance(90)  # past 75 %
        self.assertEqual(self.sla_events(n), [("sla_warning", "response")])
        self.advance(16 * 60)  # past the 1 h response target
        self.assertEqual(self.sla_events(n), [("sla_warning", "response"),
                                              ("sla_breached", "response")])
        sla = self.case(n)["sla"]
        self.assertTrue(sla["response"]["breached"])
        self.assertFalse(sla["resolution"]["breached"])
        self.assertGreater(sla["response"]["percent"], 100)

    def test_waiting_on_the_customer_pauses_the_timers(self):
        case = self.create_case(incident("SLA", impact=S1))
        n = case["number"]
        r = self.api("POST", f"/cases/{n}/replies", {"body": "¿Desde cuándo?", "pending": True})
        self.assertEqual(r.status, 201, str(r))
        self.assertTrue(r.json["sla"]["paused"])
        self.advance(5 * 3600)  # paused: no resolution warning however long it waits
        self.assertEqual([t for t in self.sla_events(n) if t[1] == "resolution"], [])
        r = self.api("POST", f"/cases/{n}/replies", {"body": "Desde ayer"}, as_="cliente")
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "open")
        self.assertFalse(r.json["sla"]["paused"])
        consumed = r.json["sla"]["resolution"]["consumed_seconds"]
        self.assertLess(consumed, 60)  # the five paused hours did not count
        self.advance(int(3 * 3600 * 0.75) + 30)
        self.assertIn(("sla_warning", "resolution"), self.sla_events(n))
        # The response was met by the question: no response warning or breach ever.
        self.assertEqual([t for t in self.sla_events(n) if t[1] == "response"], [])


    def test_warnings_reach_the_assignee_and_supervisors_but_not_the_quiet(self):
        case = self.create_case(incident("SLA", impact=S1))
        n = case["number"]
        # A new S1 alerts the L2 agents at once (default escalation rule).
        self.assertEqual(self.notifications("guardia", n), ["created"])
        r = self.api("PATCH", f"/cases/{n}", {"assignee": self.users["agente"]["id"]})
        self.assertEqual(r.status, 200, str(r))
        self.advance(46 * 60)
        self.assertEqual(self.notifications("agente", n), ["sla_warning"])
        self.assertEqual(self.notifications("jefa", n), ["sla_warning"])
        self.assertEqual(self.notifications("callado", n), [])
        r = self.api("GET", "/notifications", as_="jefa")
        mine = [x for x in r.json["items"] if x["case"] == n]
        self.assertIn(f"[{n}]", mine[0]["subject"])

    def test_resolution_breach_at_level_one_escalates_by_rule(self):
        case = self.create_case(incident("SLA", impact=S1))
        n = case["number"]
        self.assertEqual(case["level"], 1)
        self.advance(3 * 3600 + 60)  # past the 3 h S1 resolution target
        after = self.case(n)
        self.assertEqual(after["level"], 2)
        escalations = [e for e in self.events(n) if e["type"] == "escalated"]
        self.assertEqual(len(escalations), 1)
        self.assertEqual(escalations[0]["actor"]["role"], "system")
        self.assertIn("rule", escalations[0]["data"])
        self.assertIn("sla_breached", self.notifications("jefa", n))


    def test_compliance_report_for_supervisors(self):
        met = self.create_case(incident("SLA", impact=S1, subject="reporte a tiempo"))
        r = self.api("POST", f"/cases/{met['number']}/replies", {"body": "Revisando"})
        self.assertEqual(r.status, 201, str(r))
        r = self.api("POST", f"/cases/{met['number']}/resolve", {"resolution": "Listo"})
        self.assertEqual(r.status, 200, str(r))
        late = self.create_case(incident("SLA", impact=S1, subject="reporte tarde"))
        self.advance(2 * 3600)  # the second one breaches its response target
        r = self.api("GET", "/reports/sla?account=SLA", as_="jefa")
        self.assertEqual(r.status, 200, str(r))
        rep = r.json
        self.assertGreaterEqual(rep["total"]["cases"], 2)
        self.assertGreaterEqual(rep["by_severity"]["S1"]["response"]["met"], 1)
        self.assertGreaterEqual(rep["by_severity"]["S1"]["response"]["breached"], 1)
        self.assertGreaterEqual(rep["first_level_resolution"]["resolved_at_level_1"], 1)
        self.assertIsNotNone(rep["business_seconds_to_respond"]["p95"])
        self.assertEqual(self.api("GET", "/reports/sla", as_="agente").status, 403)
        self.assertEqual(self.api("GET", "/reports/sla?from=yesterday", as_="jefa").status, 400)


class Restarts(unittest.TestCase):
    """Timers live in the database: what fell due while the server was down fires once on
    start, and a crash right after never repeats a firing."""

    def test_missed_timers_fire_once_after_a_crash(self):
        server = EscalaServer(extra_args=("--test-clock",))
        try:
            self.assertEqual(server.add_user("admin@sla.test", "A", "admin", "password-123").returncode, 0)
            server.start()
            http = server.client()
            token = http.login("admin@sla.test", "password-123")
            r = http.post(API + "/cases", incident(None, impact=S1), token=token)
            self.assertEqual(r.status, 201, str(r))
            number = r.json["number"]
            server.kill()
            # Four hours pass while the desk is down.
            offset_file = os.path.join(server.data_dir, "test-clock-offset")
            offset = 0
            if os.path.exists(offset_file):
                offset = int(open(offset_file).read().strip() or 0)
            with open(offset_file, "w") as f:
                f.write(str(offset + 4 * 3600 * 1000))
            expected = sorted([("sla_warning", "response"), ("sla_breached", "response"),
                               ("sla_warning", "resolution"), ("sla_breached", "resolution")])
            for attempt in range(2):  # the second start must not fire anything again
                server.start()
                http = server.client()
                token = http.login("admin@sla.test", "password-123")
                # Advancing by nothing makes the server fire whatever is due before answering
                # (its scheduler may also have done it already on start: either way, once).
                r = http.post(API + "/test/clock", {"advance_seconds": 0}, token=token)
                self.assertEqual(r.status, 200, str(r))
                items = http.get(f"{API}/cases/{number}/events?limit=1000", token=token).json["items"]
                fired = sorted((e["type"], e["data"]["target"]) for e in items
                               if e["type"] in ("sla_warning", "sla_breached"))
                self.assertEqual(fired, expected, f"start {attempt + 1}")
                server.kill()
        finally:
            server.cleanup()




class CalendarEdits(MovableClock, ServerTestCase):
    """Administrators edit calendars while clocks run: the edit is versioned in the desk's
    history, applies from its instant, and the running clocks count the rest of their time
    on the new hours; after a restart the desk rebuilds the same versions from its history."""

    SERVE_ARGS = ("--test-clock",)
    USERS = [("jefa", "supervisor", None, None)]

    def test_editing_a_calendar_recomputes_running_clocks(self):
        case = self.create_case(incident(None, impact=S1))
        n = case["number"]
        before = case["sla"]["response_due"]
        edit_at = self.advance(10 * 60)  # 10 of the 60 minutes run under the old hours
        # From now on the "24x7" calendar only opens two hours a day (UTC), starting at least
        # two hours after the edit: the remaining 50 minutes must move, whatever the time
        # of day the test runs at (a window that held the edit's instant would leave the due
        # instant where it was, as 00:00-06:00 did for a run at 23:51 UTC).
        start = (instant(edit_at).hour + 2) % 24
        if start > 21:
            start = 0
        window = [f"{start:02d}:00", f"{start + 2:02d}:00"]
        hours = {d: [window] for d in
                 ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
        r = self.api("PUT", "/calendars/24x7", {"time_zone": "UTC", "week": hours})
        self.assertEqual(r.status, 200, str(r))
        self.assertLessEqual(abs((instant(r.json["effective_from"]) - instant(edit_at)).total_seconds()), 2)
        after = self.case(n)["sla"]
        self.assertNotEqual(after["response_due"], before)
        self.assertEqual(after["calendar"], "24x7")
        self.assertAlmostEqual(after["response"]["consumed_seconds"], 600, delta=2)
        # The offline tool reads the same stored calendar and agrees on the remainder: the
        # 50 minutes left, laid out on the new hours from the moment of the edit.
        out = self.server.cli("calendar", "due", "--data-dir", self.server.data_dir, *self.server.db_args,
                              "--calendar", "24x7", "--from", edit_at, "--seconds", "3000")
        self.assertEqual(out.returncode, 0, out.stderr)
        gap = abs((instant(after["response_due"]) - instant(out.stdout.strip())).total_seconds())
        self.assertLessEqual(gap, 2, (after["response_due"], out.stdout))
        history = self.api("GET", "/history")
        self.assertEqual(history.status, 200, str(history))
        change = history.json["items"][0]
        self.assertEqual(change["type"], "calendar_changed")
        self.assertEqual(change["data"]["name"], "24x7")
        self.assertTrue(change["data"]["old"]["always_open"])
        self.assertEqual(change["data"]["new"]["week"]["monday"], [window])

    def test_calendar_edits_are_checked_and_for_administrators(self):
        bad = {"time_zone": "Mars/Olympus", "week": {"monday": [["09:00", "17:00"]]}}
        r = self.api("PUT", "/calendars/lab", bad)
        self.assertError(r, 400, field="time_zone")
        r = self.api("PUT", "/calendars/lab", {"time_zone": "UTC", "week": {"monday": [["17:00", "09:00"]]}})
        self.assertEqual(r.status, 400, str(r))
        r = self.api("PUT", "/calendars/lab", {"time_zone": "UTC", "week": {}}, as_="jefa")
        self.assertError(r, 403)
        names = [c["name"] for c in self.api("GET", "/calendars").json["items"]]
        self.assertIn("support", names)
        self.assertNotIn("lab", names)


class CalendarEditsAcrossRestarts(MovableClock, ServerTestCase):
    """A calendar's versions are rebuilt from the desk's history on start, so clocks and
    timers are the same before and after a restart."""

    SERVE_ARGS = ("--test-clock",)

    def test_an_edit_survives_a_restart_and_moves_when_timers_fire(self):
        case = self.create_case(incident(None, impact=S1))
        n = case["number"]
        self.advance(5 * 60)
        # S1 cases count on 24x7: from now on it opens 00:00-12:00 UTC only (this class has
        # its own desk, so no other test sees the edit).
        hours = {d: [["00:00", "12:00"]] for d in
                 ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}
        r = self.api("PUT", "/calendars/24x7", {"time_zone": "UTC", "week": hours})
        self.assertEqual(r.status, 200, str(r))
        before_restart = self.case(n)["sla"]
        # The desk rebuilds the calendar's versions from its history: same clocks after.
        type(self).server.kill()
        type(self).server.start()
        cls = type(self)
        cls.http = cls.server.client()
        cls.tokens["admin"] = cls.admin = cls.http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for key, user in cls.users.items():
            cls.tokens[key] = cls.http.login(user["email"], PASSWORD)
        after_restart = self.case(n)["sla"]
        self.assertEqual(after_restart["response_due"], before_restart["response_due"])
        self.assertEqual(after_restart["resolution_due"], before_restart["resolution_due"])
        # The warning fires at 75 % of the response target on the new hours: move the clock
        # to one second before its instant, then past it.
        due = instant(after_restart["response_due"])
        now = instant(self.advance(0))
        warn_left = after_restart["response"]["remaining_seconds"] - 15 * 60
        self.assertGreater(warn_left, 0)
        out = self.server.cli("calendar", "due", "--data-dir", self.server.data_dir, *self.server.db_args,
                              "--calendar", "24x7", "--from",
                              now.strftime("%Y-%m-%dT%H:%M:%SZ"), "--seconds", str(int(warn_left)))
        self.assertEqual(out.returncode, 0, out.stderr)
        warn_at = instant(out.stdout.strip())
        self.assertLess(warn_at, due)
        self.advance(int((warn_at - now).total_seconds()) - 2)
        events = [e["type"] for e in self.events(n) if e["type"].startswith("sla_")]
        self.assertEqual(events, [])
        self.advance(4)
        events = [(e["type"], e["data"]["target"]) for e in self.events(n)
                  if e["type"].startswith("sla_")]
        self.assertEqual(events, [("sla_warning", "response")])


if __name__ == "__main__":
    unittest.main()
