"""Queue views of GET /api/v1/cases: channel, active (not resolved or closed), the order by
SLA due (sort=sla_due) and their offset paging, as the console's queues use them."""

import sys

sys.dont_write_bytecode = True

import unittest

from escala_harness import ServerTestCase, incident


def due_of(case):
    """The due instant of the case's next SLA target, as the console reads it."""
    sla = case["sla"]
    clock = sla["resolution"] if (sla["response"]["met"] or sla["response_met_at"]) else sla["response"]
    return clock


class Queues(ServerTestCase):
    SERVE_ARGS = ("--test-clock",)
    ACCOUNTS = [{"code": "ALPHA", "name": "Alpha"}]
    USERS = [("agent", "agent", 1, None), ("alice", "customer", None, "ALPHA")]

    @classmethod
    def seed(cls):
        mk = lambda body: cls.http.post("/api/v1/cases", body, token=cls.admin).json["number"]
        # Severities give different targets: S1 is due first. One case lacks data (its clock
        # has not started), one came by phone, one is resolved.
        cls.s3 = mk(incident("ALPHA", subject="Normal", severity="S3", severity_reason="prueba"))
        cls.s1 = mk(incident("ALPHA", subject="Crítico", severity="S1", severity_reason="prueba"))
        cls.s4 = mk(incident("ALPHA", subject="Bajo", severity="S4", severity_reason="prueba",
                             channel="phone"))
        cls.s2 = mk(incident("ALPHA", subject="Alto", severity="S2", severity_reason="prueba"))
        cls.waiting = mk({"type": "incident", "account": "ALPHA", "subject": "Sin datos",
                          "channel": "email", "fields": {"extension": "101"}})
        cls.done = mk(incident("ALPHA", subject="Resuelto", severity="S1", severity_reason="prueba"))
        r = cls.http.post(f"/api/v1/cases/{cls.done}/resolve", {"resolution": "listo"},
                          token=cls.admin)
        assert r.status == 200, str(r)

    def numbers(self, query, as_="admin"):
        r = self.api("GET", "/cases" + query, as_=as_)
        self.assertEqual(r.status, 200, str(r))
        return [c["number"] for c in r.json["items"]], r.json

    def test_sort_by_sla_due(self):
        got, page = self.numbers("?sort=sla_due&active=true")
        # S1 and S2 have the shortest targets; the S3 and S4 targets (and calendars) may put
        # either first: the order is the due instants'. The case whose clock has not started
        # comes last.
        self.assertEqual(got[:2], [self.s1, self.s2])
        self.assertEqual(sorted(got[2:4]), sorted([self.s3, self.s4]))
        self.assertEqual(got[4], self.waiting)
        self.assertEqual(page["total"], 5)
        dues = [due_of(c)["due"] for c in page["items"][:4]]
        self.assertEqual(dues, sorted(dues))
        self.assertFalse(due_of(page["items"][4])["running"])

    def test_z_breached_first(self):  # last: it moves the clock
        # Eight hours later the short targets are breached: breached cases come first, the
        # most overdue first, then the running ones by due instant.
        r = self.api("POST", "/test/clock", {"advance_seconds": 8 * 3600})
        self.assertEqual(r.status, 200, str(r))
        got, page = self.numbers("?sort=sla_due&active=true")
        breached = [c["number"] for c in page["items"] if due_of(c)["breached"]]
        self.assertIn(self.s1, breached)
        self.assertEqual(got[:len(breached)], breached)
        dues = [due_of(c)["due"] for c in page["items"] if due_of(c)["breached"]]
        self.assertEqual(dues, sorted(dues))

    def test_channel_and_active(self):
        got, page = self.numbers("?channel=phone")
        self.assertEqual(got, [self.s4])
        got, _ = self.numbers("?active=true")
        self.assertNotIn(self.done, got)
        self.assertEqual(len(got), 5)
        got, _ = self.numbers("?active=false")
        self.assertIn(self.done, got)
        got, page = self.numbers("?active=true&status=resolved")
        self.assertEqual(got, [])
        got, _ = self.numbers("?active=true&severity=S1")
        self.assertEqual(got, [self.s1])

    def test_offset_paging(self):
        seen = []
        cursor = ""
        for _ in range(10):
            got, page = self.numbers("?sort=sla_due&active=true&limit=2" + cursor)
            seen += got
            if not page["next"]:
                break
            cursor = "&cursor=" + page["next"]
        whole, _ = self.numbers("?sort=sla_due&active=true")
        self.assertEqual(seen, whole)
        self.assertEqual(len(seen), 5)

    def test_customers_views_stay_in_their_account(self):
        got, _ = self.numbers("?sort=sla_due", as_="alice")
        self.assertEqual(len(got), 6)
        self.assertNotIn("assignee", self.api("GET", "/cases?sort=sla_due", as_="alice").json["items"][0])

    def test_bad_parameters(self):
        for q, field in (("?sort=due", "sort"), ("?channel=fax", "channel"), ("?active=yes", "active"),
                         ("?sort=sla_due&cursor=CMW-000001", "cursor")):
            r = self.api("GET", "/cases" + q)
            self.assertEqual(r.status, 400, q)
            self.assertEqual(r.error()["field"], field, q)


if __name__ == "__main__":
    unittest.main()
