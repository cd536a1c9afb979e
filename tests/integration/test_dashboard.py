"""The supervisor dashboard's figures (GET /api/v1/reports/dashboard): backlog by severity
and age, cases created per channel per local day of the caller's zone, and the SLA breaches
of the last seven days, on a real server with real cases and the test clock."""

import sys

sys.dont_write_bytecode = True

import collections
import datetime
import unittest
import zoneinfo

from escala_harness import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, ServerTestCase, incident

S1 = {"affected": "all", "disruption": "outage"}  # 1 h response, 3 h resolution, 24x7
DAY = 24 * 3600


def instant(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))


class Dashboard(ServerTestCase):
    SERVE_ARGS = ("--test-clock",)
    ACCOUNTS = [{"code": "TABLERO", "name": "Tablero"}]
    USERS = [("jefa", "supervisor", None, None), ("agente", "agent", 1, None),
             ("cliente", "customer", None, "TABLERO")]

    @classmethod
    def seed(cls):
        def mk(body):
            r = cls.http.post("/api/v1/cases", body, token=cls.admin)
            assert r.status == 201, str(r)
            return r.json

        def advance(seconds):
            r = cls.http.post("/api/v1/test/clock", {"advance_seconds": seconds}, token=cls.admin)
            assert r.status == 200, str(r)

        # Two days ago: an S1 by phone (breaches both targets), an S3 by email, and an S2 by
        # email that is resolved before it can breach.
        cls.s1 = mk(incident("TABLERO", subject="Caída total", impact=S1, channel="phone"))
        cls.s3_old = mk(incident("TABLERO", subject="Eco en llamadas", severity="S3",
                                 severity_reason="prueba"))
        cls.s2_done = mk(incident("TABLERO", subject="Resuelto pronto", severity="S2",
                                  severity_reason="prueba", channel="whatsapp"))
        r = cls.http.post(f"/api/v1/cases/{cls.s2_done['number']}/resolve",
                          {"resolution": "listo"}, token=cls.admin)
        assert r.status == 200, str(r)
        advance(2 * DAY + 3600)  # the S1 passes its 1 h response and 3 h resolution targets
        # Tokens expire on the desk's clock (12 h): everyone signs in again.
        cls.tokens["admin"] = cls.admin = cls.http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for key, user in cls.users.items():
            cls.tokens[key] = cls.http.login(user["email"], PASSWORD)
        # Now: an S4 by phone and an S2 by email, under a day old.
        cls.s4_new = mk(incident("TABLERO", subject="Consulta menor", severity="S4",
                                 severity_reason="prueba", channel="phone"))
        cls.s2_new = mk(incident("TABLERO", subject="Desvío no funciona", severity="S2",
                                 severity_reason="prueba"))
        cls.all = [cls.s1, cls.s3_old, cls.s2_done, cls.s4_new, cls.s2_new]

    def report(self, query="", as_="jefa", expect=200):
        r = self.api("GET", "/reports/dashboard" + query, as_=as_)
        self.assertEqual(r.status, expect, str(r))
        return r.json

    def test_backlog_counts_open_cases_by_severity_and_age(self):
        b = self.report("?days=7")["backlog"]
        self.assertEqual(b["buckets"], ["lt_1d", "1d_3d", "3d_7d", "gt_7d"])
        self.assertEqual(b["by_severity"]["S1"]["1d_3d"], 1)
        self.assertEqual(b["by_severity"]["S3"]["1d_3d"], 1)
        self.assertEqual(b["by_severity"]["S4"]["lt_1d"], 1)
        self.assertEqual(b["by_severity"]["S2"]["lt_1d"], 1)  # the resolved S2 is not waiting
        self.assertEqual(b["by_severity"]["S2"]["total"], 1)
        self.assertEqual(b["total"], 4)
        self.assertEqual(b["by_age"], {"lt_1d": 2, "1d_3d": 2, "3d_7d": 0, "gt_7d": 0})

    def expected_per_day(self, zone, days):
        """Counts per channel per local day, computed here from the cases' own instants."""
        tz = zoneinfo.ZoneInfo(zone)
        out = collections.defaultdict(lambda: [0] * len(days))
        for c in self.all:
            day = instant(c["created_at"]).astimezone(tz).date().isoformat()
            out[c["channel"]][days.index(day)] += 1
        return dict(out)

    def test_created_per_channel_per_day_in_the_callers_zone(self):
        for zone in ("UTC", "America/Mexico_City", "Asia/Tokyo"):
            with self.subTest(zone=zone):
                rep = self.report("?days=7&zone=" + zone)
                got = rep["created"]
                self.assertEqual(rep["period"]["zone"], zone)
                self.assertEqual(len(got["days"]), 7)
                # The period starts at local midnight six days before the desk's today.
                start = instant(rep["period"]["from"]).astimezone(zoneinfo.ZoneInfo(zone))
                self.assertEqual((start.hour, start.minute), (0, 0))
                self.assertEqual(start.date().isoformat(), got["days"][0])
                self.assertEqual(got["by_channel"], self.expected_per_day(zone, got["days"]))
                self.assertEqual(got["total"], 5)
                self.assertEqual(sum(got["per_day"]), 5)

    def test_created_honours_an_explicit_period(self):
        s1_at = instant(self.s1["created_at"])
        before = (s1_at + datetime.timedelta(days=1)).isoformat().replace("+00:00", "Z")
        got = self.report("?from=" + self.s1["created_at"] + "&before=" + before)["created"]
        self.assertEqual(got["total"], 3)  # the three cases of two days ago
        self.assertEqual(sum(got["by_channel"]["phone"]), 1)
        self.assertEqual(sum(got["by_channel"]["whatsapp"]), 1)

    def test_breaches_of_the_week_match_the_cases_histories(self):
        rep = self.report("?days=30&zone=Europe/Madrid")["breaches"]
        # What the histories say, read case by case through the API.
        expected = collections.Counter()
        for c in self.all:
            for e in self.events(c["number"]):
                if e["type"] == "sla_breached":
                    expected[(e["data"]["severity"], e["data"]["target"])] += 1
        self.assertGreaterEqual(expected[("S1", "response")], 1)
        self.assertEqual(expected[("S1", "resolution")], 1)
        got = {(sev, t): rep["by_severity"][sev][t] for sev in ("S1", "S2", "S3", "S4")
               for t in ("response", "resolution") if rep["by_severity"][sev][t]}
        self.assertEqual(got, dict(expected))
        self.assertEqual(rep["total"], sum(expected.values()))
        self.assertEqual(len(rep["days"]), 7)  # the week, whatever the period
        self.assertEqual(sum(sum(v) for v in rep["per_day"].values()), rep["total"])
        # The S1's breaches are listed with the instant the target was passed.
        mine = {x["target"]: x for x in rep["latest"] if x["case"] == self.s1["number"]}
        self.assertEqual(mine["response"]["subject"], "Caída total")
        created = instant(self.s1["created_at"])
        self.assertEqual(instant(mine["response"]["breached_at"]) - created,
                         datetime.timedelta(hours=1))
        self.assertEqual(instant(mine["resolution"]["breached_at"]) - created,
                         datetime.timedelta(hours=3))
        stamps = [x["breached_at"] for x in rep["latest"]]
        self.assertEqual(stamps, sorted(stamps, reverse=True))

    def test_only_supervisors_and_admins(self):
        self.report(as_="admin")
        for who in ("agente", "cliente"):
            r = self.api("GET", "/reports/dashboard", as_=who)
            self.assertError(r, 403)
        r = self.http.get("/api/v1/reports/dashboard")
        self.assertEqual(r.status, 401, str(r))

    def test_bad_parameters_are_refused_naming_them(self):
        cases = {
            "?zone=Mars/Olympus": "zone",
            "?from=yesterday": "from",
            "?before=2026-13-01": "before",
            "?days=0": "days",
            "?days=93": "days",
            "?days=7x": "days",
            "?days=7&from=2026-12-01T00:00:00Z": "days",
            "?from=2026-12-02T00:00:00Z&before=2026-12-01T00:00:00Z": "from",
            "?from=2026-01-01T00:00:00Z&before=2026-12-01T00:00:00Z": "from",  # > 92 days
        }
        for query, field in cases.items():
            with self.subTest(query=query):
                self.assertError(self.api("GET", "/reports/dashboard" + query, as_="jefa"), 400,
                                 field=field)
        r = self.api("POST", "/reports/dashboard", {}, as_="jefa")
        self.assertEqual(r.status, 405, str(r))


if __name__ == "__main__":
    unittest.main()
