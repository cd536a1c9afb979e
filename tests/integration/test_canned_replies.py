"""Canned replies (GET/PUT /api/v1/canned-replies): who may read and change them, what is
refused with which field, the desk's history of changes, a restart; and the walk-in channel
of the console's new-case form."""

import sys

sys.dont_write_bytecode = True

import json
import unittest

from escala_harness import ServerTestCase

GREETING = {"id": "greeting", "title": "Saludo",
            "body_es": "Hola {{customer}}, recibimos su caso {{case}}.",
            "body_en": "Hello {{customer}}, we received your case {{case}}."}
CLOSING = {"id": "closing", "title": "Cierre", "body_es": "Saludos, {{ agent }}", "body_en": ""}


class CannedReplies(ServerTestCase):
    ACCOUNTS = [{"code": "ACME", "name": "Acme"}]
    USERS = [("agent", "agent", 1, None), ("supervisor", "supervisor", None, None),
             ("customer", "customer", None, "ACME")]

    def put(self, items, as_="supervisor"):
        return self.api("PUT", "/canned-replies", {"items": items}, as_=as_)

    def test_a_empty_at_first_for_staff(self):
        for who in ("agent", "supervisor", "admin"):
            r = self.api("GET", "/canned-replies", as_=who)
            self.assertEqual(r.status, 200, str(r))
            self.assertEqual(dict(r.json, version=None),
                             {"items": [], "total": 0, "next": None, "version": None})
            self.assertRegex(r.json["version"], "^[0-9a-f]{16}$")

    def test_customers_and_anonymous_read_nothing(self):
        self.assertError(self.api("GET", "/canned-replies", as_="customer"), 403,
                         code="forbidden")
        self.assertEqual(self.api("GET", "/canned-replies", as_=None).status, 401)

    def test_agents_and_customers_cannot_change_them(self):
        for who in ("agent", "customer"):
            self.assertError(self.put([GREETING], as_=who), 403, code="forbidden")
        self.assertEqual(self.api("PUT", "/canned-replies", {"items": []}, as_=None).status, 401)

    def test_supervisor_replaces_the_list_and_staff_read_it(self):
        r = self.put([GREETING, CLOSING])
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["total"], 2)
        got = self.api("GET", "/canned-replies", as_="agent")
        self.assertEqual(got.status, 200, str(got))
        self.assertEqual(got.json["items"], [GREETING, CLOSING])
        # A missing body is stored as empty text; the admin may change them too.
        only_es = {"id": "es-only", "title": "Solo español", "body_es": "Gracias."}
        r = self.put([only_es], as_="admin")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["items"], [dict(only_es, body_en="")])
        emptied = self.put([]).json
        self.assertEqual((emptied["items"], emptied["total"], emptied["next"]), ([], 0, None))

    def test_changes_are_in_the_desk_history(self):
        self.assertEqual(self.put([GREETING]).status, 200)
        changed = dict(GREETING, title="Saludo formal")
        r = self.put([changed, CLOSING])
        self.assertEqual(r.status, 200, str(r))
        h = self.api("GET", "/history", as_="supervisor")
        self.assertEqual(h.status, 200, str(h))
        mine = [e for e in h.json["items"] if e["type"] == "canned_replies_changed"]
        self.assertGreaterEqual(len(mine), 2)
        newest = mine[0]
        self.assertEqual(newest["data"]["added"], ["closing"])
        self.assertEqual(newest["data"]["changed"], ["greeting"])
        self.assertEqual(newest["data"]["removed"], [])
        self.assertEqual(newest["data"]["count"], 2)
        self.assertEqual(newest["actor"]["id"], self.users["supervisor"]["id"])
        r = self.put([CLOSING])
        h = self.api("GET", "/history?limit=1", as_="admin")
        self.assertEqual(h.json["items"][0]["data"]["removed"], ["greeting"])

    def test_stale_read_change_is_refused(self):
        """Two supervisors read the list; the second to save with the version she read is
        told it changed (409 conflict) and nothing of hers is stored."""
        self.assertEqual(self.put([GREETING]).status, 200)
        read = self.api("GET", "/canned-replies", as_="supervisor").json
        admin_read = self.api("GET", "/canned-replies", as_="admin").json
        self.assertEqual(read["version"], admin_read["version"])
        first = self.api("PUT", "/canned-replies",
                         {"items": read["items"] + [CLOSING], "version": read["version"]},
                         as_="supervisor")
        self.assertEqual(first.status, 200, str(first))
        self.assertNotEqual(first.json["version"], read["version"])
        history = self.api("GET", "/history").json["items"]
        late = dict(GREETING, title="Saludo del admin")
        second = self.api("PUT", "/canned-replies",
                          {"items": [late], "version": admin_read["version"]}, as_="admin")
        self.assertError(second, 409, code="conflict", field="version")
        now = self.api("GET", "/canned-replies", as_="agent").json
        self.assertEqual(now["items"], [GREETING, CLOSING])
        self.assertEqual(now["version"], first.json["version"])
        self.assertEqual(self.api("GET", "/history").json["items"], history,
                         "a refused change is not in the desk's history")
        # Read again, re-apply: accepted. Without a version, whatever is stored is replaced.
        again = self.api("PUT", "/canned-replies",
                         {"items": [late, CLOSING], "version": now["version"]}, as_="admin")
        self.assertEqual(again.status, 200, str(again))
        self.assertEqual(self.put([GREETING]).status, 200)
        self.assertError(self.api("PUT", "/canned-replies", {"items": [], "version": 7}), 400,
                         field="version")

    def test_refusals_name_the_field(self):
        cases = [
            ({"items": "greeting"}, "items"),
            ({}, "items"),
            ({"items": [], "extra": 1}, "extra"),
            ({"items": [GREETING] * 2}, "items[1].id"),
            ({"items": [dict(GREETING, id="Saludo Uno")]}, "items[0].id"),
            ({"items": [dict(GREETING, id="")]}, "items[0].id"),
            ({"items": [{k: v for k, v in GREETING.items() if k != "title"}]}, "items[0].title"),
            ({"items": [dict(GREETING, title="   ")]}, "items[0].title"),
            ({"items": [dict(GREETING, title="t" * 121)]}, "items[0].title"),
            ({"items": [CLOSING, dict(GREETING, body_en="x" * 4001)]}, "items[1].body_en"),
            ({"items": [dict(GREETING, body_es="Hola {{cliente}}")]}, "items[0].body_es"),
            ({"items": [dict(GREETING, body_en="Hello {{customer")]}, "items[0].body_en"),
            ({"items": [dict(GREETING, body_es=" ", body_en="")]}, "items[0].body_es"),
            ({"items": [dict(GREETING, body_es=5)]}, "items[0].body_es"),
            ({"items": [dict(GREETING, tags=["x"])]}, "items[0].tags"),
            ({"items": ["greeting"]}, "items[0]"),
            ({"items": [dict(GREETING, id=f"r{i}") for i in range(101)]}, "items"),
        ]
        for body, field in cases:
            with self.subTest(field=field):
                r = self.api("PUT", "/canned-replies", body, as_="supervisor")
                self.assertError(r, 400, field=field)
        self.assertError(self.api("PUT", "/canned-replies", raw=b"[1,2]", as_="supervisor"), 400)
        self.assertEqual(self.api("DELETE", "/canned-replies", as_="admin").status, 405)
        # The largest list allowed is taken.
        biggest = [dict(id=f"reply-{i:03d}" + "x" * 55, title="t" * 120, body_es="é" * 2000,
                        body_en="y" * 4000) for i in range(100)]
        raw = json.dumps({"items": biggest}, ensure_ascii=False).encode()
        self.assertLess(len(raw), 1 << 20)
        r = self.api("PUT", "/canned-replies", raw=raw, as_="admin")
        self.assertEqual(r.status, 200, str(r)[:300])
        self.assertEqual(r.json["total"], 100)

    def test_z_kept_across_a_restart(self):
        self.assertEqual(self.put([GREETING, CLOSING]).status, 200)
        self.server.stop()
        self.server.start()
        type(self).http = self.server.client()
        got = self.api("GET", "/canned-replies", as_="agent")
        self.assertEqual(got.status, 200, str(got))
        self.assertEqual([x["id"] for x in got.json["items"]], ["greeting", "closing"])


class WalkIn(ServerTestCase):
    ACCOUNTS = [{"code": "ACME", "name": "Acme"}]
    USERS = [("agent", "agent", 1, None)]

    def test_an_agent_opens_a_case_for_a_walk_in(self):
        c = self.create_case({"type": "incident", "account": "ACME", "subject": "En mostrador",
                              "channel": "walk_in", "fields": {"extension": "204"}},
                             as_="agent")
        self.assertEqual(c["channel"], "walk_in")
        listed = self.api("GET", "/cases?channel=walk_in", as_="agent")
        self.assertEqual([x["number"] for x in listed.json["items"]], [c["number"]])
        r = self.api("POST", "/cases", {"type": "incident", "subject": "x", "channel": "walkin"},
                     as_="agent")
        self.assertError(r, 400, field="channel")


if __name__ == "__main__":
    unittest.main()
