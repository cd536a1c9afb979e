"""SLA clocks, warnings and breaches (D2, D6) on a real server whose clock the test moves
forward (`escala serve --test-clock`). S1 cases count on the 24x7 calendar, so the
instants do not depend on the hour the test runs at."""

import sys

sys.dont_write_bytecode = True

import os
import unittest

from escala_harness import API, EscalaServer, ServerTestCase, incident

S1 = {"affected": "all", "disruption": "outage"}  # 1 h response, 3 h resolution, 24x7


class Timers(ServerTestCase):
    SERVE_ARGS = ("--test-clock",)
    ACCOUNTS = [{"code": "SLA", "name": "Reloj"}]
    USERS = [("cliente", "customer", None, "SLA"), ("agente", "agent", 1, None)]

    def advance(self, seconds):
        """Moves the desk's clock; the server fires what fell due before it answers."""
        r = self.api("POST", "/test/clock", {"advance_seconds": seconds})
        self.assertEqual(r.status, 200, str(r))

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


if __name__ == "__main__":
    unittest.main()
