"""Roles and privacy: customers see only their account's cases, never internal notes."""

import sys

sys.dont_write_bytecode = True

import json
import unittest

from escala_harness import ServerTestCase, incident


class Privacy(ServerTestCase):
    ACCOUNTS = [{"code": "ALPHA", "name": "Alpha"}, {"code": "BETA", "name": "Beta"}]
    USERS = [("agent", "agent", 1, None), ("alice", "customer", None, "ALPHA"),
             ("alice2", "customer", None, "ALPHA"), ("bob", "customer", None, "BETA")]

    @classmethod
    def seed(cls):
        mk = lambda body, who: cls.http.post("/api/v1/cases", body, token=cls.tokens[who]).json
        cls.alpha = [mk(incident(subject=f"Alpha caso {i}"), "alice")["number"] for i in range(3)]
        cls.alpha.append(mk(incident("ALPHA", subject="Alpha por teléfono"), "agent")["number"])
        cls.beta = [mk(incident(subject=f"Beta caso {i}"), "bob")["number"] for i in range(2)]
        cls.unowned = mk(incident(subject="Sin cuenta"), "agent")["number"]

    def test_customer_lists_only_own_account(self):
        r = self.api("GET", "/cases?limit=1000", as_="alice")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(sorted(c["number"] for c in r.json["items"]), sorted(self.alpha))
        self.assertEqual(r.json["total"], len(self.alpha))
        r = self.api("GET", "/cases?limit=1000", as_="bob")
        self.assertEqual(sorted(c["number"] for c in r.json["items"]), sorted(self.beta))
        self.assertEqual(r.json["total"], len(self.beta))
        # A colleague of the same account sees the account's cases too.
        r = self.api("GET", "/cases?limit=1000", as_="alice2")
        self.assertEqual(sorted(c["number"] for c in r.json["items"]), sorted(self.alpha))

    def test_customer_account_filter_cannot_widen(self):
        r = self.api("GET", "/cases?account=BETA", as_="alice")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["items"], [])
        self.assertEqual(r.json["total"], 0)
        r = self.api("GET", "/cases?q=Beta", as_="alice")
        self.assertEqual(r.json["total"], 0)

    def test_staff_sees_every_account(self):
        r = self.api("GET", "/cases?limit=1000", as_="agent")
        numbers = {c["number"] for c in r.json["items"]}
        self.assertTrue(set(self.alpha + self.beta + [self.unowned]) <= numbers)

    def test_other_accounts_case_is_404_for_every_operation(self):
        n = self.beta[0]
        before = self.events(n)
        ops = [("GET", f"/cases/{n}", None),
               ("PATCH", f"/cases/{n}", {"fields": {"extension": "999"}}),
               ("GET", f"/cases/{n}/events", None),
               ("POST", f"/cases/{n}/replies", {"body": "hola"}),
               ("POST", f"/cases/{n}/escalate", {"reason": "x"}),
               ("POST", f"/cases/{n}/resolve", {"resolution": "x"}),
               ("POST", f"/cases/{n}/confirm", {}),
               ("POST", f"/cases/{n}/reopen", {"reason": "x"})]
        unknown = "CMW-999999"
        for method, path, body in ops:
            with self.subTest(method=method, path=path):
                r = self.api(method, path, body, as_="alice")
                self.assertError(r, 404, code="not_found")
                # Indistinguishable from a case that does not exist.
                r2 = self.api(method, path.replace(n, unknown), body, as_="alice")
                self.assertEqual(r2.status, 404, str(r2))
        self.assertEqual(self.events(n), before, "nothing may change")
        self.assertError(self.api("GET", f"/cases/{self.unowned}", as_="alice"), 404)

    def test_customer_cannot_open_for_another_account(self):
        r = self.api("POST", "/cases", incident("BETA"), as_="alice")
        self.assertError(r, 403)
        self.assertEqual(self.api("GET", "/cases?account=BETA&limit=1000").json["total"],
                         len(self.beta))

    def test_internal_notes_hidden_from_customers(self):
        n = self.alpha[0]
        secret = "el cliente debe 3 facturas"
        r = self.api("POST", f"/cases/{n}/replies", {"body": secret, "internal": True}, as_="agent")
        self.assertEqual(r.status, 201, str(r))
        self.api("POST", f"/cases/{n}/replies", {"body": "Estamos revisando su caso"}, as_="agent")
        staff = self.events(n, as_="agent")
        self.assertIn("note", [e["type"] for e in staff])
        self.assertIn(secret, json.dumps(staff, ensure_ascii=False))
        r = self.api("GET", f"/cases/{n}/events?limit=1000", as_="alice")
        self.assertEqual(r.status, 200, str(r))
        cust = r.json["items"]
        self.assertNotIn("note", [e["type"] for e in cust])
        self.assertNotIn(secret, json.dumps(cust, ensure_ascii=False))
        self.assertTrue(all(not e["internal"] for e in cust))
        self.assertIn("reply", [e["type"] for e in cust])
        self.assertEqual(r.json["total"], len(cust))
        # The note's text cannot be found by searching either.
        r = self.api("GET", "/cases?q=facturas", as_="alice")
        self.assertEqual(r.json["total"], 0)

    def test_assignment_is_internal(self):
        n = self.alpha[1]
        r = self.api("PATCH", f"/cases/{n}", {"assignee": self.users["agent"]["id"]},
                     as_="agent")
        self.assertEqual(r.status, 200, str(r))
        self.assertIn("assigned", self.event_types(n, as_="agent"))
        self.assertNotIn("assigned", self.event_types(n, as_="alice"))
        self.assertNotIn("assignee", self.case(n, as_="alice"))

    def test_customers_cannot_write_notes_or_set_pending(self):
        n = self.alpha[2]
        before = self.events(n)
        r = self.api("POST", f"/cases/{n}/replies", {"body": "nota", "internal": True},
                     as_="alice")
        self.assertError(r, 403, code="forbidden")
        r = self.api("POST", f"/cases/{n}/replies", {"body": "espero", "pending": True},
                     as_="alice")
        self.assertError(r, 403)
        self.assertEqual(self.events(n), before)
        self.assertEqual(self.case(n)["status"], "open")

    def test_customer_reply_is_a_customer_message(self):
        n = self.alpha[2]
        r = self.api("POST", f"/cases/{n}/replies", {"body": "Adjunto más datos"}, as_="alice2")
        self.assertEqual(r.status, 201, str(r))
        ev = self.events(n)[-1]
        self.assertEqual(ev["type"], "customer_message")
        self.assertEqual(ev["actor"]["role"], "customer")
        self.assertEqual(ev["data"]["body"], "Adjunto más datos")

    def test_customer_cannot_assign_or_read_billing_or_users(self):
        n = self.alpha[0]
        r = self.api("PATCH", f"/cases/{n}", {"assignee": self.users["agent"]["id"]}, as_="alice")
        self.assertError(r, 403)
        self.assertError(self.api("GET", "/users", as_="alice"), 403)
        self.assertError(self.api("GET", "/accounts/BETA/contacts", as_="alice"), 404)


if __name__ == "__main__":
    unittest.main()
