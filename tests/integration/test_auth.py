"""Health, the OpenAPI document, sign-in, sign-out, the sign-in rate limit, browser sessions
(HttpOnly cookie + CSRF token) and the password change."""

import sys

sys.dont_write_bytecode = True

import http.client
import json
import os
import tempfile
import threading
import time
import unittest

from escala_harness import (ADMIN_EMAIL, ADMIN_PASSWORD, API, PASSWORD, ServerTestCase,
                            incident)


class HealthAndDocs(ServerTestCase):
    def test_healthz_is_200_without_a_token(self):
        r = self.http.get("/healthz")
        self.assertEqual(r.status, 200, str(r))

    def test_healthz_rejects_post_with_405(self):
        r = self.http.post("/healthz", {})
        self.assertEqual(r.status, 405, str(r))
        self.assertIn("GET", r.header("Allow") or "")

    def test_openapi_document_is_json_with_openapi_key(self):
        r = self.http.get(API + "/openapi.json")
        self.assertEqual(r.status, 200, str(r))
        doc = json.loads(r.raw.decode("utf-8"))
        self.assertIsInstance(doc, dict)
        self.assertIn("openapi", doc)
        self.assertTrue(str(doc["openapi"]).startswith("3."), doc["openapi"])
        self.assertIn("application/json", r.header("Content-Type") or "")


    def test_openapi_document_describes_the_contract_routes(self):
        doc = self.http.get(API + "/openapi.json").json
        paths = doc.get("paths", {})
        for path, method in [("/api/v1/auth/login", "post"), ("/api/v1/accounts", "post"),
                             ("/api/v1/accounts/{code}/contacts", "post"),
                             ("/api/v1/cases", "post"), ("/api/v1/cases", "get"),
                             ("/api/v1/cases/{number}", "get"), ("/api/v1/cases/{number}", "patch"),
                             ("/api/v1/cases/{number}/events", "get"),
                             ("/api/v1/cases/{number}/replies", "post"),
                             ("/api/v1/cases/{number}/escalate", "post"),
                             ("/api/v1/cases/{number}/resolve", "post"),
                             ("/api/v1/cases/{number}/confirm", "post"),
                             ("/api/v1/cases/{number}/reopen", "post")]:
            with self.subTest(path=path, method=method):
                self.assertIn(path, paths)
                self.assertIn(method, paths[path])

    def test_keep_alive_connection_serves_several_requests(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            for path, status in [("/healthz", 200), (API + "/openapi.json", 200),
                                 (API + "/cases", 401), ("/nope", 404), ("/healthz", 200)]:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                self.assertEqual(resp.status, status, body)
                if status != 200:
                    self.assertIn("error", json.loads(body))
        finally:
            conn.close()


class Auth(ServerTestCase):
    ACCOUNTS = [{"code": "AUTHCO", "name": "Auth Co"}]
    USERS = [("agent", "agent", 1, None), ("customer", "customer", None, "AUTHCO"),
             ("ratelimited", "agent", 1, None)]

    def test_login_returns_a_token_and_the_user(self):
        r = self.http.post(API + "/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        self.assertEqual(r.status, 200, str(r))
        self.assertIsInstance(r.json["token"], str)
        self.assertGreaterEqual(len(r.json["token"]), 32)
        self.assertEqual(r.json["user"]["email"], ADMIN_EMAIL)
        self.assertEqual(r.json["user"]["role"], "admin")
        self.assertNotIn("password", json.dumps(r.json["user"]))
        # The token works.
        me = self.http.get(API + "/me", token=r.json["token"])
        self.assertEqual(me.status, 200, str(me))
        self.assertEqual(me.json["email"], ADMIN_EMAIL)

    def test_each_login_gets_a_distinct_token(self):
        a = self.http.login("agent@auth.test", PASSWORD)
        self.assertNotEqual(a, self.tokens["agent"])
        self.assertEqual(self.http.get(API + "/me", token=a).json["role"], "agent")
        self.assertEqual(self.http.get(API + "/me", token=self.tokens["agent"]).status, 200)

    def test_wrong_password_is_401_with_error_body(self):
        r = self.http.post(API + "/auth/login", {"email": "agent@auth.test", "password": "nope-nope"},
                           source="127.0.0.5")
        self.assertError(r, 401, code="unauthenticated")
        self.assertNotIn("token", r.json)

    def test_unknown_email_is_401_with_the_same_message(self):
        a = self.http.post(API + "/auth/login", {"email": "ghost@auth.test", "password": "x" * 10},
                           source="127.0.0.6")
        b = self.http.post(API + "/auth/login", {"email": "customer@auth.test", "password": "x" * 10},
                           source="127.0.0.6")
        self.assertError(a, 401)
        self.assertError(b, 401)
        self.assertEqual(a.error()["message"], b.error()["message"])  # no user enumeration

    def test_login_without_password_is_400(self):
        r = self.http.post(API + "/auth/login", {"email": ADMIN_EMAIL})
        self.assertError(r, 400, field="password")

    def test_requests_without_token_are_401(self):
        for method, path in [("GET", "/cases"), ("POST", "/cases"), ("GET", "/me"),
                             ("GET", "/accounts"), ("POST", "/users"),
                             ("GET", "/cases/CMW-000001"), ("POST", "/auth/logout")]:
            with self.subTest(method=method, path=path):
                r = self.http.request(method, API + path, {} if method == "POST" else None)
                self.assertError(r, 401, code="unauthenticated")
                self.assertEqual(r.header("WWW-Authenticate"), "Bearer")

    def test_unauthenticated_create_creates_nothing(self):
        before = self.api("GET", "/cases").json["total"]
        r = self.http.post(API + "/cases", incident())
        self.assertError(r, 401)
        self.assertEqual(self.api("GET", "/cases").json["total"], before)

    def test_garbage_and_malformed_tokens_are_401(self):
        for auth in ["Bearer nope", "Bearer " + "a" * 64, "Basic YWRtaW46YWRtaW4=",
                     "Bearer " + "x" * 5000, "Token " + self.tokens["agent"]]:
            with self.subTest(auth=auth[:20]):
                r = self.http.get(API + "/cases", headers={"Authorization": auth})
                self.assertError(r, 401)

    def test_logout_invalidates_the_token(self):
        token = self.http.login("customer@auth.test", PASSWORD)
        self.assertEqual(self.http.get(API + "/me", token=token).status, 200)
        r = self.http.post(API + "/auth/logout", {}, token=token)
        self.assertIn(r.status, (200, 204), str(r))
        after = self.http.get(API + "/me", token=token)
        self.assertError(after, 401)
        self.assertError(self.http.get(API + "/cases", token=token), 401)
        # Only that session ends: the customer's other token still works.
        self.assertEqual(self.http.get(API + "/me", token=self.tokens["customer"]).status, 200)

    # Regression (fixed): a logout does not end the session when requests with the same token are in flight.
    # AuthService::logout() erases the token from the session cache *before* the session row
    # is deleted in the store; a concurrent request that misses the cache reads the
    # not-yet-deleted row and puts the session back in the cache, where it stays valid for
    # session_cache_ttl (5 s). Reproduction: while 4 threads loop on GET /api/v1/me with
    # token T, POST /api/v1/auth/logout with T -> 204; after the threads stop,
    # GET /api/v1/me with T -> 200 (expected 401) for about 5 more seconds. Reproduced on
    # every attempt here.
    def test_logout_holds_while_the_token_is_in_use(self):
        for attempt in range(3):
            token = self.http.login("customer@auth.test", PASSWORD)
            stop = threading.Event()

            def hammer():
                while not stop.is_set():
                    try:
                        self.http.get(API + "/me", token=token, timeout=5)
                    except OSError:
                        pass

            threads = [threading.Thread(target=hammer) for _ in range(4)]
            for t in threads:
                t.start()
            time.sleep(0.05)
            r = self.http.post(API + "/auth/logout", {}, token=token)
            stop.set()
            for t in threads:
                t.join(10)
            self.assertIn(r.status, (200, 204), str(r))
            after = self.http.get(API + "/me", token=token)
            self.assertEqual(after.status, 401, f"attempt {attempt}: token alive after logout")

    def test_login_email_is_case_insensitive(self):
        r = self.http.post(API + "/auth/login", {"email": "AGENT@Auth.Test", "password": PASSWORD})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["user"]["email"], "agent@auth.test")

    def test_rate_limit_429_after_5_failures_for_the_same_email(self):
        email = "ratelimited@auth.test"
        # The failures come from one client address; the checks from others, so that the
        # limit seen is the one on the email (there is a separate one per client).
        for i in range(5):
            r = self.http.post(API + "/auth/login", {"email": email, "password": f"wrong-{i}"},
                               source="127.0.0.2")
            self.assertError(r, 401)
        r = self.http.post(API + "/auth/login", {"email": email, "password": "wrong-again"},
                           source="127.0.0.3")
        self.assertError(r, 429, code="rate_limited")
        self.assertTrue(r.header("Retry-After"), "429 should say when to retry")
        # Even the right password is refused while the email is locked...
        r = self.http.post(API + "/auth/login", {"email": email, "password": PASSWORD},
                           source="127.0.0.3")
        self.assertError(r, 429)
        # ...the existing session of that user is not affected...
        self.assertEqual(self.http.get(API + "/me", token=self.tokens["ratelimited"]).status, 200)
        # ...and other users still sign in from another client.
        r = self.http.post(API + "/auth/login", {"email": "agent@auth.test", "password": PASSWORD},
                           source="127.0.0.3")
        self.assertEqual(r.status, 200, str(r))

    def test_rate_limit_per_client_address(self):
        # 5 failures from one address on different emails lock that address out.
        for i in range(5):
            r = self.http.post(API + "/auth/login",
                               {"email": f"nobody{i}@auth.test", "password": "wrong-pass"},
                               source="127.0.0.4")
            self.assertError(r, 401)
        r = self.http.post(API + "/auth/login", {"email": "agent@auth.test", "password": PASSWORD},
                           source="127.0.0.4")
        self.assertError(r, 429)
        r = self.http.post(API + "/auth/login", {"email": "agent@auth.test", "password": PASSWORD},
                           source="127.0.0.7")
        self.assertEqual(r.status, 200, str(r))


# ---- browser sessions -------------------------------------------------------------------------

def cookie_attributes(set_cookie: str) -> tuple:
    """("name", "value", {attribute (lower case): value or True}) of a Set-Cookie value."""
    first, *attrs = [p.strip() for p in set_cookie.split(";")]
    name, _, value = first.partition("=")
    out = {}
    for a in attrs:
        k, eq, v = a.partition("=")
        out[k.lower()] = v if eq else True
    return name, value, out


class Browser:
    """What a browser does with the desk's session cookie, over the harness's client: keeps
    the cookie, sends it back, adds the CSRF header on writes when it knows the token, and
    sends Origin / Sec-Fetch-Site as Chromium does for a same-origin fetch."""

    def __init__(self, http, cookie_name="escala_session"):
        self.http = http
        self.cookie_name = cookie_name
        self.cookie = None  # the token, as the browser holds it
        self.csrf = None
        self.origin = f"http://127.0.0.1:{http.port}"
        self.site = "same-origin"

    def request(self, method, path, body=None, *, csrf=True, headers=None):
        h = {"Origin": self.origin, "Sec-Fetch-Site": self.site}
        if self.cookie is not None:
            h["Cookie"] = f"{self.cookie_name}={self.cookie}"
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        h.update(headers or {})
        if method in ("POST", "PATCH", "PUT") and body is None:
            body = {}
        r = self.http.request(method, API + path, body, headers=h)
        sc = r.header("Set-Cookie")
        if sc:
            name, value, attrs = cookie_attributes(sc)
            if name == self.cookie_name:
                self.cookie = None if attrs.get("max-age") == "0" else value
        return r

    def sign_in(self, email, password, expect=200):
        r = self.request("POST", "/auth/session", {"email": email, "password": password})
        if r.status != expect:
            raise AssertionError(f"browser sign-in of {email}: {r}")
        if r.status == 200:
            self.csrf = r.json["csrf_token"]
        return r


class BrowserSessions(ServerTestCase):
    USERS = [("agent", "agent", 1, None), ("pw", "agent", 1, None), ("pw2", "agent", 2, None)]

    def email(self, key):
        return f"{key}@browsersessions.test"

    def test_sign_in_sets_an_httponly_strict_cookie_and_no_token_in_the_body(self):
        b = Browser(self.http)
        r = b.sign_in(self.email("agent"), PASSWORD)
        name, value, attrs = cookie_attributes(r.header("Set-Cookie"))
        self.assertEqual(name, "escala_session")
        self.assertGreaterEqual(len(value), 32)
        self.assertIs(attrs.get("httponly"), True)
        self.assertEqual(attrs.get("samesite"), "Strict")
        self.assertEqual(attrs.get("path"), "/")
        self.assertEqual(attrs.get("max-age"), str(12 * 3600))  # the token lifetime
        self.assertNotIn("secure", attrs)  # plain HTTP on loopback, not configured behind TLS
        self.assertNotIn("domain", attrs)
        self.assertNotIn("token", r.json)
        self.assertNotIn(value, r.raw.decode())  # the token is never in the body
        self.assertEqual(r.json["user"]["email"], self.email("agent"))
        self.assertEqual(r.json["via"], "cookie")
        self.assertTrue(r.json["csrf_token"])
        self.assertNotEqual(r.json["csrf_token"], value)
        self.assertEqual(r.header("Cache-Control"), "no-store")
        # The cookie alone authenticates reads, and the session says who and the CSRF token.
        s = b.request("GET", "/auth/session")
        self.assertEqual(s.status, 200, str(s))
        self.assertEqual(s.json["user"]["email"], self.email("agent"))
        self.assertEqual(s.json["csrf_token"], r.json["csrf_token"])
        self.assertEqual(s.json["via"], "cookie")
        self.assertEqual(b.request("GET", "/me").json["email"], self.email("agent"))
        self.assertEqual(b.request("GET", "/cases").status, 200)

    def test_wrong_password_sets_no_cookie(self):
        b = Browser(self.http)
        r = self.http.request("POST", API + "/auth/session",
                              {"email": self.email("agent"), "password": "wrong-password"},
                              headers={"Origin": b.origin}, source="127.0.0.8")
        self.assertError(r, 401, code="unauthenticated")
        self.assertIsNone(r.header("Set-Cookie"))

    def test_cookie_writes_need_the_csrf_token(self):
        b = Browser(self.http)
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        # Without the header: 403 with a clear error, nothing stored.
        r = b.request("POST", "/accounts", {"code": "CSRF1", "name": "No token"}, csrf=False)
        self.assertError(r, 403, code="csrf_failed")
        self.assertIn("X-CSRF-Token", r.error()["message"])
        self.assertEqual(self.api("GET", "/accounts/CSRF1").status, 404)
        # A wrong one, or another session's.
        other = Browser(self.http)
        other.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        for bad in ["0" * 64, other.csrf, b.csrf + "x", b.csrf[:-1]]:
            with self.subTest(bad=bad[:8]):
                r = b.request("POST", "/accounts", {"code": "CSRF1", "name": "Bad"}, csrf=False,
                              headers={"X-CSRF-Token": bad})
                self.assertError(r, 403, code="csrf_failed")
        for method, path, body in [("PATCH", "/me", {"quiet": True}),
                                   ("POST", "/cases", incident()),
                                   ("PUT", "/mail/templates", {}),
                                   ("POST", "/auth/logout", {}),
                                   ("POST", "/auth/password", {"current_password": ADMIN_PASSWORD,
                                                               "new_password": "whatever-long"})]:
            with self.subTest(method=method, path=path):
                self.assertError(b.request(method, path, body, csrf=False), 403, code="csrf_failed")
        self.assertEqual(self.api("GET", "/cases").json["total"], 0)
        # With it: accepted.
        r = b.request("POST", "/accounts", {"code": "CSRF1", "name": "With token"})
        self.assertEqual(r.status, 201, str(r))
        r = b.request("PATCH", "/me", {"quiet": False})
        self.assertEqual(r.status, 200, str(r))

    def test_cookie_writes_from_another_site_are_refused_even_with_the_token(self):
        b = Browser(self.http)
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        for origin, site in [("https://evil.example", "cross-site"), ("https://evil.example", None),
                             (None, "cross-site"), (None, "same-site"), ("null", None)]:
            with self.subTest(origin=origin, site=site):
                h = {"Origin": origin, "Sec-Fetch-Site": site}
                r = b.request("POST", "/accounts", {"code": "EVIL1", "name": "Evil"},
                              headers={k: v for k, v in h.items() if v is not None})
                self.assertError(r, 403, code="csrf_failed")
        self.assertEqual(self.api("GET", "/accounts/EVIL1").status, 404)
        # A client that sends neither header (not a browser) with the token is fine.
        r = self.http.request("POST", API + "/accounts", {"code": "PLAIN1", "name": "Plain"},
                              headers={"Cookie": f"escala_session={b.cookie}", "X-CSRF-Token": b.csrf})
        self.assertEqual(r.status, 201, str(r))

    def test_sign_in_from_another_site_is_refused(self):
        r = self.http.request("POST", API + "/auth/session",
                              {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
                              headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        self.assertError(r, 403, code="csrf_failed")
        self.assertIsNone(r.header("Set-Cookie"))

    def test_bearer_tokens_need_no_csrf_token(self):
        token = self.http.login(self.email("agent"), PASSWORD)
        r = self.http.request("PATCH", API + "/me", {"quiet": True}, token=token,
                              headers={"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(r.status, 200, str(r))
        s = self.http.get(API + "/auth/session", token=token)
        self.assertEqual(s.status, 200, str(s))
        self.assertEqual(s.json["via"], "bearer")
        self.assertNotIn("csrf_token", s.json)
        # With an Authorization header the cookie is not consulted: a good bearer token and a
        # stale cookie work; a bad bearer token and a good cookie do not.
        b = Browser(self.http)
        b.sign_in(self.email("agent"), PASSWORD)
        r = self.http.request("PATCH", API + "/me", {"quiet": False}, token=token,
                              headers={"Cookie": "escala_session=stale"})
        self.assertEqual(r.status, 200, str(r))
        r = self.http.request("GET", API + "/me", headers={"Authorization": "Bearer nope",
                                                           "Cookie": f"escala_session={b.cookie}"})
        self.assertError(r, 401)

    def test_logout_ends_the_session_and_clears_the_cookie(self):
        b = Browser(self.http)
        b.sign_in(self.email("agent"), PASSWORD)
        token = b.cookie
        r = b.request("POST", "/auth/logout")
        self.assertEqual(r.status, 204, str(r))
        name, value, attrs = cookie_attributes(r.header("Set-Cookie"))
        self.assertEqual((name, value, attrs.get("max-age")), ("escala_session", "", "0"))
        self.assertIs(attrs.get("httponly"), True)
        self.assertIsNone(b.cookie)
        # The old cookie, replayed, is dead server-side (and told to go away).
        r = self.http.request("GET", API + "/auth/session", headers={"Cookie": f"escala_session={token}"})
        self.assertError(r, 401)
        self.assertIn("Max-Age=0", r.header("Set-Cookie") or "")
        self.assertError(self.http.get(API + "/cases", headers={"Cookie": f"escala_session={token}"}), 401)

    def test_signing_in_again_ends_the_browsers_previous_session(self):
        b = Browser(self.http)
        b.sign_in(self.email("agent"), PASSWORD)
        first = b.cookie
        b.sign_in(self.email("agent"), PASSWORD)
        self.assertNotEqual(b.cookie, first)
        self.assertError(self.http.get(API + "/me", headers={"Cookie": f"escala_session={first}"}), 401)
        self.assertEqual(b.request("GET", "/me").status, 200)

    def test_password_change_keeps_this_session_and_ends_the_others(self):
        email = self.email("pw")
        b = Browser(self.http)
        b.sign_in(email, PASSWORD)
        other_browser = Browser(self.http)
        other_browser.sign_in(email, PASSWORD)
        script = self.http.login(email, PASSWORD)
        someone_else = self.tokens["pw2"]
        for t in (script, someone_else):
            self.assertEqual(self.http.get(API + "/me", token=t).status, 200)
        self.assertEqual(other_browser.request("GET", "/me").status, 200)

        # A wrong current password: a clear 403 naming the field; nothing changes.
        r = b.request("POST", "/auth/password", {"current_password": "not-my-password",
                                                 "new_password": "a brand new password"})
        self.assertError(r, 403, code="forbidden", field="current_password")
        # The rules of `escala user add`: at least 8 characters.
        r = b.request("POST", "/auth/password", {"current_password": PASSWORD, "new_password": "short"})
        self.assertError(r, 400, field="new_password")
        r = b.request("POST", "/auth/password", {"current_password": PASSWORD, "new_password": PASSWORD})
        self.assertError(r, 400, field="new_password")
        r = b.request("POST", "/auth/password", {"current_password": PASSWORD})
        self.assertError(r, 400, field="new_password")
        r = b.request("POST", "/auth/password", {"current_password": PASSWORD, "new_password": "x" * 10,
                                                 "extra": 1})
        self.assertError(r, 400, code="unknown_field")
        self.assertEqual(self.http.get(API + "/me", token=script).status, 200)

        r = b.request("POST", "/auth/password", {"current_password": PASSWORD,
                                                 "new_password": "a brand new password"})
        self.assertEqual(r.status, 200, str(r))
        # The other browser, the script, and the sign-in of the suite's set-up.
        self.assertEqual(r.json["sessions_ended"], 3)
        # This session goes on; the others are signed out; another user is not touched.
        self.assertEqual(b.request("GET", "/me").status, 200)
        self.assertEqual(b.request("PATCH", "/me", {"quiet": False}).status, 200)
        self.assertError(other_browser.request("GET", "/me"), 401)
        self.assertError(self.http.get(API + "/me", token=script), 401)
        self.assertError(self.http.get(API + "/me", token=self.tokens["pw"]), 401)
        self.assertEqual(self.http.get(API + "/me", token=someone_else).status, 200)
        # The old password no longer signs in; the new one does (bearer and browser).
        r = self.http.post(API + "/auth/login", {"email": email, "password": PASSWORD},
                           source="127.0.0.9")
        self.assertError(r, 401)
        fresh = self.http.login(email, "a brand new password")
        self.assertEqual(self.http.get(API + "/me", token=fresh).status, 200)
        Browser(self.http).sign_in(email, "a brand new password")
        # A bearer client changes its password without any CSRF token.
        r = self.http.post(API + "/auth/password", {"current_password": "a brand new password",
                                                    "new_password": "the third password"},
                           token=fresh)
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["sessions_ended"], 2)  # the browser b and the last sign-in
        self.assertError(b.request("GET", "/me"), 401)
        self.assertEqual(self.http.get(API + "/me", token=fresh).status, 200)

    def test_wrong_current_passwords_are_rate_limited(self):
        token = self.http.login(self.email("pw2"), PASSWORD)
        for i in range(5):
            r = self.http.post(API + "/auth/password", {"current_password": f"guess-{i}-x",
                                                        "new_password": "a brand new password"},
                               token=token)
            self.assertError(r, 403, field="current_password")
        r = self.http.post(API + "/auth/password", {"current_password": PASSWORD,
                                                    "new_password": "a brand new password"},
                           token=token)
        self.assertError(r, 429, code="rate_limited")
        self.assertEqual(self.http.get(API + "/me", token=token).status, 200)

    def test_session_routes_refuse_other_methods(self):
        r = self.http.request("DELETE", API + "/auth/session", token=self.tokens["agent"])
        self.assertError(r, 405)
        self.assertEqual(r.header("Allow"), "GET, POST")
        r = self.http.request("GET", API + "/auth/password", token=self.tokens["agent"])
        self.assertError(r, 405)
        self.assertError(self.http.get(API + "/auth/session"), 401)


_BEHIND_TLS = tempfile.NamedTemporaryFile("w", prefix="escala-tls-", suffix=".toml", delete=False)
_BEHIND_TLS.write('[http]\nbehind_tls = true\n[mail]\npublic_url = "https://desk.example.com"\n')
_BEHIND_TLS.close()


class BrowserSessionsBehindTls(ServerTestCase):
    SERVE_ARGS = ("--config", _BEHIND_TLS.name)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        os.unlink(_BEHIND_TLS.name)

    def test_the_cookie_is_secure_with_the_host_prefix(self):
        b = Browser(self.http, cookie_name="__Host-escala_session")
        r = b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        name, value, attrs = cookie_attributes(r.header("Set-Cookie"))
        self.assertEqual(name, "__Host-escala_session")
        self.assertIs(attrs.get("secure"), True)
        self.assertIs(attrs.get("httponly"), True)
        self.assertEqual(attrs.get("path"), "/")
        self.assertNotIn("domain", attrs)
        self.assertEqual(b.request("GET", "/me").status, 200)
        # The unprefixed name is not read (a sibling host could have planted it).
        r = self.http.get(API + "/me", headers={"Cookie": f"escala_session={value}"})
        self.assertError(r, 401)
        # The public URL's origin is the desk's own, even when the proxy rewrites Host.
        b.origin = "https://desk.example.com"
        r = b.request("POST", "/accounts", {"code": "TLS1", "name": "Behind TLS"})
        self.assertEqual(r.status, 201, str(r))
        b.origin = "https://evil.example"
        self.assertError(b.request("POST", "/accounts", {"code": "TLS2", "name": "Evil"}), 403,
                         code="csrf_failed")


class SavedViews(ServerTestCase):
    """GET/PUT /me/views: each user's saved views of the queue, kept by the desk."""

    ACCOUNTS = [{"code": "VIEWCO", "name": "View Co"}]
    USERS = [("agent", "agent", 1, None), ("viewer", "agent", 1, None), ("other", "agent", 1, None),
             ("customer", "customer", None, "VIEWCO")]

    def test_views_are_kept_per_user_sorted_by_name(self):
        self.assertEqual(self.api("GET", "/me/views", as_="viewer").json, {"views": []})
        views = [{"name": "S1 de hoy", "query": "?queue=all&severity=S1"},
                 {"name": "Ábaco", "query": ""}, {"name": "Míos", "query": "?queue=mine"}]
        r = self.api("PUT", "/me/views", {"views": views}, as_="viewer")
        self.assertEqual(r.status, 200, str(r))
        names = [v["name"] for v in r.json["views"]]
        self.assertEqual(names, sorted(names, key=lambda n: n.encode("utf-8")))
        self.assertEqual(sorted(map(json.dumps, r.json["views"])), sorted(map(json.dumps, views)))
        self.assertEqual(self.api("GET", "/me/views", as_="viewer").json, r.json)
        # Another user sees only their own; customers have their own too.
        self.assertEqual(self.api("GET", "/me/views", as_="other").json, {"views": []})
        self.assertEqual(self.api("GET", "/me/views", as_="customer").json, {"views": []})
        # Replacing the list replaces it.
        r = self.api("PUT", "/me/views", {"views": []}, as_="viewer")
        self.assertEqual(r.json, {"views": []})
        self.assertEqual(self.api("GET", "/me/views", as_="viewer").json, {"views": []})

    def test_bad_views_are_refused_and_nothing_changes(self):
        kept = [{"name": "Mía", "query": "?queue=mine"}]
        self.assertEqual(self.api("PUT", "/me/views", {"views": kept}, as_="agent").status, 200)
        for body in [{}, {"views": {}}, {"views": "x"}, {"views": [{"name": "x"}]},
                     {"views": [{"name": "", "query": ""}]},
                     {"views": [{"name": "   ", "query": ""}]},
                     {"views": [{"name": "x" * 81, "query": ""}]},
                     {"views": [{"name": "a", "query": "queue=all"}]},
                     {"views": [{"name": "a", "query": "?" + "q" * 1000}]},
                     {"views": [{"name": "a", "query": ""}, {"name": "a", "query": "?x"}]},
                     {"views": [{"name": "a", "query": "", "extra": 1}]},
                     {"views": [{"name": 1, "query": ""}]},
                     {"views": [{"name": f"v{i}", "query": ""} for i in range(51)]},
                     {"views": [], "other": 1}]:
            with self.subTest(body=json.dumps(body)[:80]):
                r = self.api("PUT", "/me/views", body, as_="agent")
                self.assertEqual(r.status, 400, str(r))
                self.assertIn("error", r.json)
        self.assertEqual(self.api("GET", "/me/views", as_="agent").json["views"], kept)
        self.assertEqual(self.api("DELETE", "/me/views", as_="agent").status, 405)
        self.assertEqual(self.http.get(API + "/me/views").status, 401)


if __name__ == "__main__":
    unittest.main()
