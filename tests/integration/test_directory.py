"""Accounts, contacts and users: what an admin may create, and what others may not."""

import sys

sys.dont_write_bytecode = True

import unittest

from escala_harness import API, PASSWORD, ServerTestCase


class Accounts(ServerTestCase):
    ACCOUNTS = [{"code": "BASE", "name": "Base S.A."}]
    USERS = [("agent", "agent", 1, None), ("supervisor", "supervisor", None, None),
             ("customer", "customer", None, "BASE")]

    def test_admin_creates_account_with_all_attributes(self):
        body = {"code": "ACME-1", "name": "Acme Telefonía", "timezone": "America/Bogota",
                "language": "en",
                "contract": {"name": "Plan Pro",
                             "activation_charge": {"amount_cents": 2500, "currency": "USD"}}}
        r = self.api("POST", "/accounts", body)
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["code"], "ACME-1")
        self.assertEqual(r.json["name"], "Acme Telefonía")
        self.assertEqual(r.json["timezone"], "America/Bogota")
        self.assertEqual(r.json["language"], "en")
        self.assertEqual(r.json["contract"]["name"], "Plan Pro")
        self.assertEqual(r.json["contract"]["activation_charge"],
                         {"amount_cents": 2500, "currency": "USD"})
        got = self.api("GET", "/accounts/ACME-1")
        self.assertEqual(got.status, 200, str(got))
        self.assertEqual(got.json["timezone"], "America/Bogota")
        self.assertEqual(got.json["contract"]["activation_charge"]["amount_cents"], 2500)

    def test_account_defaults(self):
        r = self.api("POST", "/accounts", {"code": "DEFAULTS", "name": "Defaults"})
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["language"], "es")  # D5: Spanish by default
        self.assertTrue(r.json["timezone"])
        self.assertIsNone(r.json["contract"])

    def test_duplicate_code_is_409(self):
        r = self.api("POST", "/accounts", {"code": "DUP", "name": "First"})
        self.assertEqual(r.status, 201, str(r))
        r = self.api("POST", "/accounts", {"code": "DUP", "name": "Second"})
        self.assertError(r, 409, code="already_exists")
        self.assertEqual(self.api("GET", "/accounts/DUP").json["name"], "First")

    def test_invalid_timezone_is_400_on_timezone(self):
        r = self.api("POST", "/accounts", {"code": "TZBAD", "name": "X", "timezone": "Mars/Olympus"})
        self.assertError(r, 400, field="timezone")
        self.assertEqual(self.api("GET", "/accounts/TZBAD").status, 404)

    def test_invalid_code_language_and_missing_name(self):
        self.assertError(self.api("POST", "/accounts", {"code": "has space", "name": "X"}), 400,
                         field="code")
        self.assertError(self.api("POST", "/accounts", {"code": "", "name": "X"}), 400,
                         field="code")
        self.assertError(self.api("POST", "/accounts", {"code": "LANG", "name": "X",
                                                        "language": "fr"}), 400, field="language")
        self.assertError(self.api("POST", "/accounts", {"code": "NONAME"}), 400, field="name")
        self.assertError(self.api("POST", "/accounts", {"code": "NEG", "name": "X", "contract": {
            "activation_charge": {"amount_cents": -1}}}), 400,
            field="contract.activation_charge.amount_cents")

    def test_agents_supervisors_and_customers_cannot_create_accounts(self):
        for who in ("agent", "supervisor", "customer"):
            with self.subTest(who=who):
                r = self.api("POST", "/accounts", {"code": "NOPE-" + who, "name": "X"}, as_=who)
                self.assertError(r, 403, code="forbidden")
                self.assertEqual(self.api("GET", "/accounts/NOPE-" + who).status, 404)

    def test_customer_sees_only_own_account(self):
        self.assertEqual(self.api("GET", "/accounts/BASE", as_="customer").status, 200)
        self.api("POST", "/accounts", {"code": "OTHERCO", "name": "Other"})
        self.assertError(self.api("GET", "/accounts/OTHERCO", as_="customer"), 404)
        codes = [a["code"] for a in self.api("GET", "/accounts", as_="customer").json["items"]]
        self.assertEqual(codes, ["BASE"])

    def test_account_list_pagination_covers_all_once(self):
        for i in range(5):
            self.api("POST", "/accounts", {"code": f"PAGE{i}", "name": f"Page {i}"})
        every = [a["code"] for a in self.api("GET", "/accounts?limit=1000").json["items"]]
        self.assertTrue({f"PAGE{i}" for i in range(5)} <= set(every))
        seen, cursor = [], None
        for _ in range(100):
            r = self.api("GET", "/accounts?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(r.status, 200, str(r))
            seen += [a["code"] for a in r.json["items"]]
            cursor = r.json["next"]
            if not cursor:
                break
        self.assertEqual(seen, every)

    # Regression (fixed): the account list's "total" is the size of the page, not the number of accounts
    # (contract: lists answer {"items","total":N,"next"}, and /cases does count all matches).
    # With 3+ accounts, GET /api/v1/accounts?limit=1 -> {"items":[...1...],"total":1,
    # "next":"..."}; expected total = all accounts. GET /api/v1/users?limit=1 does the same.
    def test_account_list_total_counts_all_accounts(self):
        for i in range(3):
            self.api("POST", "/accounts", {"code": f"TOTAL{i}", "name": f"Total {i}"})
        everything = self.api("GET", "/accounts?limit=1000").json
        r = self.api("GET", "/accounts?limit=1")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(len(r.json["items"]), 1)
        self.assertEqual(r.json["total"], len(everything["items"]))

    def test_unknown_account_is_404(self):
        self.assertError(self.api("GET", "/accounts/NO-SUCH"), 404)

    def test_patch_account(self):
        self.api("POST", "/accounts", {"code": "PATCHME", "name": "Old"})
        r = self.api("PATCH", "/accounts/PATCHME", {"name": "New", "timezone": "America/Lima"})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["name"], "New")
        self.assertEqual(r.json["timezone"], "America/Lima")
        self.assertError(self.api("PATCH", "/accounts/PATCHME", {"timezone": "Nowhere/Here"}), 400,
                         field="timezone")
        self.assertError(self.api("PATCH", "/accounts/PATCHME", {"name": "X"}, as_="agent"), 403)
        self.assertEqual(self.api("GET", "/accounts/PATCHME").json["timezone"], "America/Lima")

    def test_contacts(self):
        self.api("POST", "/accounts", {"code": "CONTACTS", "name": "With contacts"})
        r = self.api("POST", "/accounts/CONTACTS/contacts",
                     {"name": "Luis Gómez", "email": "Luis@Contacts.Example", "phone": "+52 55 1111 2222",
                      "language": "en"})
        self.assertEqual(r.status, 201, str(r))
        self.assertIsInstance(r.json["id"], int)
        self.assertEqual(r.json["account"], "CONTACTS")
        self.assertEqual(r.json["email"], "luis@contacts.example")
        self.assertEqual(r.json["language"], "en")
        r2 = self.api("POST", "/accounts/CONTACTS/contacts", {"name": "Solo Teléfono",
                                                              "phone": "+506 4000 4000"})
        self.assertEqual(r2.status, 201, str(r2))
        self.assertEqual(r2.json["language"], "es")
        listed = self.api("GET", "/accounts/CONTACTS/contacts")
        self.assertEqual(listed.status, 200, str(listed))
        self.assertEqual(sorted(c["id"] for c in listed.json["items"]),
                         sorted([r.json["id"], r2.json["id"]]))
        self.assertEqual(listed.json["total"], 2)
        # A contact needs a way to be reached; a bad email is refused.
        self.assertError(self.api("POST", "/accounts/CONTACTS/contacts", {"name": "Nadie"}), 400)
        self.assertError(self.api("POST", "/accounts/CONTACTS/contacts",
                                  {"name": "Bad", "email": "not-an-email"}), 400, field="email")
        self.assertError(self.api("POST", "/accounts/NO-SUCH/contacts",
                                  {"name": "X", "email": "x@y.example"}), 404)
        self.assertError(self.api("POST", "/accounts/BASE/contacts",
                                  {"name": "X", "email": "x@y.example"}, as_="customer"), 403)

    def test_case_for_contact_takes_its_account(self):
        self.api("POST", "/accounts", {"code": "CONTACT2", "name": "C2"})
        contact = self.api("POST", "/accounts/CONTACT2/contacts",
                           {"name": "Eva", "email": "eva@c2.example"}).json
        r = self.api("POST", "/cases", {"type": "request", "subject": "Pregunta", "channel": "phone",
                                        "contact": contact["id"]})
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["account"], "CONTACT2")
        self.assertEqual(r.json["contact"], contact["id"])
        # A contact of another account is refused.
        r = self.api("POST", "/cases", {"type": "request", "subject": "X", "account": "BASE",
                                        "contact": contact["id"]})
        self.assertError(r, 400, field="contact")


class Users(ServerTestCase):
    ACCOUNTS = [{"code": "USERCO", "name": "User Co"}]
    USERS = [("agent", "agent", 3, None), ("supervisor", "supervisor", None, None)]

    def new_user(self, **over):
        body = {"email": "u@users.test", "name": "Un Usuario", "role": "agent", "level": 1,
                "password": PASSWORD}
        body.update(over)
        return self.api("POST", "/users", body)

    def test_admin_creates_agents_of_each_level_who_can_sign_in(self):
        for level in (1, 2, 3):
            with self.subTest(level=level):
                r = self.new_user(email=f"l{level}@users.test", level=level,
                                  specialties=["sip", "teams"])
                self.assertEqual(r.status, 201, str(r))
                self.assertEqual(r.json["role"], "agent")
                self.assertEqual(r.json["level"], level)
                self.assertEqual(r.json["specialties"], ["sip", "teams"])
                self.assertNotIn("password", r.json)
                token = self.http.login(f"l{level}@users.test", PASSWORD)
                me = self.http.get(API + "/me", token=token).json
                self.assertEqual((me["role"], me["level"]), ("agent", level))

    def test_agent_needs_a_level_from_1_to_3(self):
        for level in (None, 0, 4):
            with self.subTest(level=level):
                body = {"email": f"nolevel{level}@users.test", "level": level}
                r = self.new_user(**body)
                self.assertError(r, 400, field="level")

    def test_customer_needs_an_existing_account(self):
        self.assertError(self.new_user(email="c1@users.test", role="customer", level=None), 400,
                         field="account")
        self.assertError(self.new_user(email="c2@users.test", role="customer", level=None,
                                       account="NO-SUCH"), 400, field="account")
        r = self.new_user(email="c3@users.test", role="customer", level=None, account="USERCO")
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["account"], "USERCO")
        self.assertEqual(r.json["role"], "customer")

    def test_staff_cannot_belong_to_an_account(self):
        self.assertError(self.new_user(email="staffacc@users.test", account="USERCO"), 400,
                         field="account")

    def test_duplicate_email_is_409_case_insensitively(self):
        self.assertEqual(self.new_user(email="dup@users.test").status, 201)
        r = self.new_user(email="DUP@users.test", name="Otro")
        self.assertError(r, 409)

    def test_invalid_users_are_refused(self):
        self.assertError(self.new_user(email="not-an-email"), 400, field="email")
        self.assertError(self.new_user(email="short@users.test", password="short"), 400,
                         field="password")
        self.assertError(self.new_user(email="role@users.test", role="god"), 400, field="role")
        self.assertError(self.new_user(email="sys@users.test", role="system"), 400, field="role")

    def test_only_admins_create_users(self):
        for who in ("agent", "supervisor"):
            with self.subTest(who=who):
                r = self.api("POST", "/users", {"email": f"by-{who}@users.test", "name": "X",
                                                "role": "admin", "password": PASSWORD}, as_=who)
                self.assertError(r, 403, code="forbidden")
                r = self.http.post(API + "/auth/login", {"email": f"by-{who}@users.test",
                                                         "password": PASSWORD}, source="127.0.0.9")
                self.assertEqual(r.status, 401, "the refused user must not exist")

    def test_user_list_for_admin_and_supervisor_not_agent(self):
        r = self.api("GET", "/users?limit=1000")
        self.assertEqual(r.status, 200, str(r))
        emails = {u["email"] for u in r.json["items"]}
        self.assertIn("agent@users.test", emails)
        self.assertEqual(self.api("GET", "/users", as_="supervisor").status, 200)
        self.assertError(self.api("GET", "/users", as_="agent"), 403)


if __name__ == "__main__":
    unittest.main()
