"""Listing cases: filters, accent-insensitive full-text search and keyset pagination."""

import sys

sys.dont_write_bytecode = True

import unittest
from urllib.parse import quote

from escala_harness import ServerTestCase, incident


class Listing(ServerTestCase):
    ACCOUNTS = [{"code": "FILT", "name": "Filters"}, {"code": "OTHER", "name": "Other"},
                {"code": "SEARCH", "name": "Search"}, {"code": "PAGE", "name": "Pages"}]
    USERS = [("supervisor", "supervisor", None, None), ("agent_a", "agent", 3, None),
             ("agent_b", "agent", 3, None), ("customer", "customer", None, "SEARCH")]
    PAGE_CASES = 23

    @classmethod
    def seed(cls):
        cls.a_id = cls.users["agent_a"]["id"]
        cls.b_id = cls.users["agent_b"]["id"]

        def post(path, body, who="admin"):
            r = cls.http.request("POST", "/api/v1" + path, body, token=cls.tokens[who])
            if r.status not in (200, 201):
                raise AssertionError(f"POST {path} {body}: {r}")
            return r.json

        def patch(n, body, who="supervisor"):
            r = cls.http.request("PATCH", f"/api/v1/cases/{n}", body, token=cls.tokens[who])
            if r.status != 200:
                raise AssertionError(f"PATCH {n} {body}: {r}")
            return r.json

        def new(body):
            return post("/cases", body)["number"]

        c = {}
        c["open_s3"] = new(incident("FILT", impact={"affected": "one", "disruption": "degraded"}))
        c["awaiting"] = new(incident("FILT", fields={"extension": "101"}))
        c["s1_l2"] = new(incident("FILT", impact={"affected": "all", "disruption": "outage"}))
        post(f"/cases/{c['s1_l2']}/escalate", {"reason": "core switch"})
        patch(c["s1_l2"], {"assignee": cls.a_id})
        c["pending_s2"] = new(incident("FILT", impact={"affected": "one", "disruption": "outage"}))
        post(f"/cases/{c['pending_s2']}/replies", {"body": "¿Puede reiniciar el equipo?",
                                                   "pending": True})
        patch(c["pending_s2"], {"assignee": cls.b_id})
        c["resolved_l3"] = new(incident("FILT", impact={"affected": "one", "disruption": "none"}))
        post(f"/cases/{c['resolved_l3']}/escalate", {"reason": "r"})
        post(f"/cases/{c['resolved_l3']}/escalate", {"reason": "r"})
        post(f"/cases/{c['resolved_l3']}/resolve", {"resolution": "ok"})
        c["closed"] = new(incident("FILT", impact={"affected": "several", "disruption": "degraded"}))
        post(f"/cases/{c['closed']}/resolve", {"resolution": "ok"})
        post(f"/cases/{c['closed']}/confirm", {})
        c["request"] = new({"type": "request", "subject": "Cambio de plan", "account": "FILT"})
        c["other"] = new(incident("OTHER", impact={"affected": "several", "disruption": "degraded"}))
        patch(c["other"], {"assignee": cls.a_id})
        c["accent"] = new(incident("SEARCH", subject="Extensión caída en recepción"))
        c["plain"] = new(incident("SEARCH", subject="Troncal sin audio",
                                  description="ruido en la línea de ventas"))
        c["replied"] = new(incident("SEARCH", subject="Consulta de facturación"))
        post(f"/cases/{c['replied']}/replies", {"body": "Revisamos la zanahoria del conmutador"})
        c["field"] = new(incident("SEARCH", subject="Sin tono",
                                  fields={"extension": "4455", "direction": "inbound",
                                          "counterpart_number": "5550001",
                                          "occurred_at": "2026-11-25T10:00:00Z"}))
        cls.c = c
        cls.page = [new(incident("PAGE", subject=f"Página {i}")) for i in range(cls.PAGE_CASES)]

    def numbers(self, query, as_="admin"):
        r = self.api("GET", "/cases?limit=1000&" + query, as_=as_)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["total"], len(r.json["items"]), query)
        self.assertIsNone(r.json["next"])
        return set(x["number"] for x in r.json["items"])

    def test_list_shape_and_newest_first(self):
        r = self.api("GET", "/cases")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(set(r.json), {"items", "total", "next"})
        numbers = [x["number"] for x in r.json["items"]]
        self.assertEqual(numbers, sorted(numbers, reverse=True))
        self.assertEqual(r.json["total"], len(self.c) + self.PAGE_CASES)

    def test_filter_status(self):
        c = self.c
        self.assertEqual(self.numbers("status=awaiting_info"), {c["awaiting"]})
        self.assertEqual(self.numbers("status=pending_customer"), {c["pending_s2"]})
        self.assertEqual(self.numbers("status=resolved"), {c["resolved_l3"]})
        self.assertEqual(self.numbers("status=closed"), {c["closed"]})
        self.assertEqual(self.numbers("status=open&account=FILT"),
                         {c["open_s3"], c["s1_l2"], c["request"]})
        self.assertError(self.api("GET", "/cases?status=bogus"), 400, field="status")

    def test_filter_level(self):
        self.assertEqual(self.numbers("level=2"), {self.c["s1_l2"]})
        self.assertEqual(self.numbers("level=3"), {self.c["resolved_l3"]})
        self.assertEqual(len(self.numbers("level=1")), len(self.c) + self.PAGE_CASES - 2)
        for bad in ("0", "4", "two"):
            self.assertError(self.api("GET", "/cases?level=" + bad), 400, field="level")

    def test_filter_severity(self):
        c = self.c
        self.assertEqual(self.numbers("severity=S1"), {c["s1_l2"]})
        self.assertEqual(self.numbers("severity=S2"), {c["pending_s2"]})
        self.assertEqual(self.numbers("severity=S4"), {c["resolved_l3"], c["request"]})
        self.assertEqual(self.numbers("severity=S3&account=FILT"),
                         {c["open_s3"], c["awaiting"], c["closed"]})
        self.assertError(self.api("GET", "/cases?severity=S7"), 400, field="severity")

    def test_filter_account(self):
        c = self.c
        self.assertEqual(self.numbers("account=FILT"),
                         {c[k] for k in ("open_s3", "awaiting", "s1_l2", "pending_s2",
                                         "resolved_l3", "closed", "request")})
        self.assertEqual(self.numbers("account=OTHER"), {c["other"]})
        self.assertEqual(self.numbers("account=NOBODY"), set())

    def test_filter_assignee(self):
        c = self.c
        self.assertEqual(self.numbers(f"assignee={self.a_id}"), {c["s1_l2"], c["other"]})
        self.assertEqual(self.numbers(f"assignee={self.b_id}"), {c["pending_s2"]})
        self.assertEqual(self.numbers("assignee=me", as_="agent_a"), {c["s1_l2"], c["other"]})
        self.assertEqual(self.numbers("assignee=none&account=FILT"),
                         {c[k] for k in ("open_s3", "awaiting", "resolved_l3", "closed",
                                         "request")})
        self.assertError(self.api("GET", "/cases?assignee=someone"), 400, field="assignee")

    def test_filters_combine(self):
        c = self.c
        self.assertEqual(self.numbers(f"account=FILT&level=2&severity=S1&status=open&assignee={self.a_id}"),
                         {c["s1_l2"]})
        self.assertEqual(self.numbers("account=OTHER&severity=S1"), set())
        self.assertEqual(self.numbers("type=request"), {c["request"]})

    def test_full_text_is_accent_and_case_insensitive(self):
        accent = {self.c["accent"]}
        for q in ("extension", "Extensión", "EXTENSIÓN", "EXTENSION", "extensión caída",
                  "caida", "CAÍDA recepcion"):
            with self.subTest(q=q):
                self.assertEqual(self.numbers("q=" + quote(q)), accent)

    def test_full_text_searches_description_fields_and_replies(self):
        c = self.c
        self.assertEqual(self.numbers("q=" + quote("línea")), {c["plain"]})
        self.assertEqual(self.numbers("q=linea"), {c["plain"]})
        self.assertEqual(self.numbers("q=zanahoria"), {c["replied"]})
        self.assertEqual(self.numbers("q=4455"), {c["field"]})
        self.assertEqual(self.numbers("q=ornitorrinco"), set())
        self.assertEqual(self.numbers("q=extension&account=FILT"), set())
        self.assertEqual(self.numbers("q=extension&account=SEARCH"), {c["accent"]})

    def test_full_text_for_customers(self):
        self.assertEqual(self.numbers("q=" + quote("EXTENSIÓN"), as_="customer"),
                         {self.c["accent"]})
        self.assertEqual(self.numbers("q=zanahoria", as_="customer"), {self.c["replied"]})

    def test_full_text_with_query_syntax_characters(self):
        for q in ('"', "*", "extension OR", "NEAR(", "-", "a:b", "'", "(((", "^x"):
            with self.subTest(q=q):
                r = self.api("GET", "/cases?q=" + quote(q))
                self.assertEqual(r.status, 200, str(r))
        self.assertHealthy()

    def paginate(self, query, limit):
        seen, cursor, pages = [], None, 0
        while True:
            path = f"/cases?limit={limit}&{query}" + (f"&cursor={cursor}" if cursor else "")
            r = self.api("GET", path)
            self.assertEqual(r.status, 200, str(r))
            self.assertLessEqual(len(r.json["items"]), limit)
            seen.append((r.json["total"], [x["number"] for x in r.json["items"]]))
            cursor = r.json["next"]
            pages += 1
            self.assertLess(pages, 100, "pagination does not end")
            if cursor is None:
                return seen

    def test_pagination_covers_everything_exactly_once(self):
        for limit in (1, 5, 7, 23, 1000):
            with self.subTest(limit=limit):
                pages = self.paginate("account=PAGE", limit)
                numbers = [n for _, items in pages for n in items]
                self.assertEqual(len(numbers), self.PAGE_CASES)
                self.assertEqual(set(numbers), set(self.page))
                self.assertEqual(numbers, sorted(self.page, reverse=True))
                self.assertTrue(all(total == self.PAGE_CASES for total, _ in pages))
                # No empty trailing page, and every page but the last is full.
                self.assertEqual(len(pages), -(-self.PAGE_CASES // limit))
                self.assertTrue(all(len(items) == limit for _, items in pages[:-1]))

    def test_pagination_of_all_cases_and_with_search(self):
        everything = [n for _, items in self.paginate("", 4) for n in items]
        self.assertEqual(len(everything), len(set(everything)))
        self.assertEqual(len(everything), len(self.c) + self.PAGE_CASES)
        pages = self.paginate("q=" + quote("Página"), 6)
        numbers = [n for _, items in pages for n in items]
        self.assertEqual(sorted(numbers), sorted(self.page))
        self.assertTrue(all(total == self.PAGE_CASES for total, _ in pages))

    def test_bad_limit_and_cursor(self):
        for q in ("limit=0", "limit=1001", "limit=abc", "limit=-1"):
            with self.subTest(q=q):
                self.assertError(self.api("GET", "/cases?" + q), 400, field="limit")
        self.assertError(self.api("GET", "/cases?cursor=garbage"), 400, field="cursor")
        r = self.api("GET", "/cases?limit=1000")
        self.assertEqual(r.status, 200, str(r))


if __name__ == "__main__":
    unittest.main()


class ReadYourWrites(ServerTestCase):
    """What a request wrote is visible to the next request, whatever was read in between."""

    ACCOUNTS = [{"code": "RYW", "name": "Read your writes",
                 "contract": {"name": "Plan", "activation_charge": {"amount_cents": 900}}}]

    # Regression (fixed): reads go stale after a GET of a case. SqliteStore's per-reader prepared statement
    # for "SELECT doc FROM cases WHERE id = :id" (commit 334f82e) is executed with
    # execute(true) and never reset, so SQLite keeps that reader connection's read
    # transaction open: every later list/search/billable read on the same connection sees
    # the database as it was at that GET. Reproduction (one request at a time):
    #   POST /api/v1/cases {...} -> 201 CMW-000001
    #   GET  /api/v1/cases/CMW-000001 -> 200
    #   POST /api/v1/cases {...} -> 201 CMW-000002
    #   GET  /api/v1/cases?limit=1000 -> {"items":[CMW-000001],"total":1}  (expected 2)
    # It also hides new billable items and new reply text from search; a restart "fixes" it.
    def test_list_sees_a_case_created_after_a_get(self):
        first = self.create_case(incident("RYW"))["number"]
        self.case(first)
        second = self.create_case(incident("RYW"))["number"]
        r = self.api("GET", "/cases?limit=1000&account=RYW")
        self.assertEqual(r.status, 200, str(r))
        self.assertIn(second, [c["number"] for c in r.json["items"]])
        self.assertEqual(r.json["total"], len(r.json["items"]))

    # Regression (fixed): same stale snapshot (see above): after GET of a case, an activation completed
    # later has no billable item in GET /api/v1/accounts/RYW/billable-items -> {"items":[]}.
    def test_billable_item_visible_right_after_completion(self):
        body = {"type": "activation", "subject": "Alta", "account": "RYW",
                "fields": {"account_id": "RYW", "user_full_name": "Ana", "extension": "300",
                           "direct_number": False, "extension_type": "sip"}}
        n = self.create_case(body)["number"]
        self.case(n)
        r = self.api("PATCH", f"/cases/{n}", {"fields": {"ring_groups": []}})
        self.assertEqual(r.json["status"], "open")
        items = self.api("GET", "/accounts/RYW/billable-items").json["items"]
        self.assertEqual([b["case"] for b in items], [n])

    # Regression (fixed): same stale snapshot (see above): a reply's text cannot be searched for right
    # after it is posted: GET /api/v1/cases?q=WORD -> {"items":[],"total":0}.
    def test_search_finds_a_reply_just_posted(self):
        n = self.create_case(incident("RYW"))["number"]
        self.case(n)
        r = self.api("POST", f"/cases/{n}/replies", {"body": "murciélago en la centralita"})
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(self.numbers("q=murcielago"), {n})

    def numbers(self, query):
        r = self.api("GET", "/cases?limit=1000&" + query)
        self.assertEqual(r.status, 200, str(r))
        return {c["number"] for c in r.json["items"]}
