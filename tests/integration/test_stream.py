"""Live updates: GET /api/v1/stream (Server-Sent Events) on a real desk.

Sign-in required (bearer or the browser's session cookie); a customer hears only of their
account's cases and never of an internal-only change; heartbeats on a silent stream; limits
per user; the stream ends with the session; open streams block none of the server's
threads; and the latency from a committed change to its message.
"""

import sys

sys.dont_write_bytecode = True

import json
import os
import socket
import statistics
import tempfile
import threading
import time
import unittest

from escala_harness import PASSWORD, ServerTestCase, incident

_CONFIG = os.path.join(tempfile.mkdtemp(prefix="escala-stream-cfg-"), "escala.toml")
with open(_CONFIG, "w") as f:
    f.write("[http]\nstream_heartbeat_seconds = 1\nmax_streams_per_user = 3\n")


class Stream:
    """A raw SSE client: one socket, HTTP/1.1, chunked body decoded by hand."""

    def __init__(self, port, token=None, cookie=None, path="/api/v1/stream"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        headers = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
                   "Accept: text/event-stream"]
        if token:
            headers.append(f"Authorization: Bearer {token}")
        if cookie:
            headers.append(f"Cookie: escala_session={cookie}")
        self.sock.sendall(("\r\n".join(headers) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            got = self.sock.recv(4096)
            if not got:
                break
            self.buf += got
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
        self.text = ""  # decoded body not yet consumed
        self.ended = False

    def _fill(self, deadline):
        """Reads more of the chunked body; False at the deadline or the end."""
        while True:
            # A complete chunk in the buffer?
            if b"\r\n" in self.buf:
                size_line, _, rest = self.buf.partition(b"\r\n")
                size = int(size_line.split(b";")[0], 16)
                if size == 0:
                    self.ended = True
                    return False
                if len(rest) >= size + 2:
                    self.text += rest[:size].decode("utf-8")
                    self.buf = rest[size + 2:]
                    return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                got = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not got:
                self.ended = True
                return False
            self.buf += got

    def next_block(self, timeout=5.0):
        """The next SSE block (lines up to a blank line), or None at the timeout/end."""
        deadline = time.monotonic() + timeout
        while "\n\n" not in self.text:
            if not self._fill(deadline):
                return None
        block, _, self.text = self.text.partition("\n\n")
        return block

    def next_message(self, timeout=5.0):
        """The next `data:` message as JSON, skipping comments and named events."""
        deadline = time.monotonic() + timeout
        while True:
            block = self.next_block(max(0.0, deadline - time.monotonic()))
            if block is None:
                return None
            lines = block.split("\n")
            if any(l.startswith("event:") for l in lines):
                continue
            data = [l[5:].strip() for l in lines if l.startswith("data:")]
            if data:
                return json.loads("".join(data))

    def messages_for(self, seconds):
        out = []
        deadline = time.monotonic() + seconds
        while True:
            m = self.next_message(max(0.0, deadline - time.monotonic()))
            if m is None:
                return out
            out.append(m)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class LiveUpdates(ServerTestCase):
    SERVE_ARGS = ("--config", _CONFIG)
    ACCOUNTS = [{"code": "ALPHA", "name": "Alpha"}, {"code": "BETA", "name": "Beta"}]
    USERS = [("agent", "agent", 1, None), ("alice", "customer", None, "ALPHA"),
             ("bob", "customer", None, "BETA"), ("many", "agent", 1, None),
             ("w1", "agent", 2, None), ("w2", "supervisor", None, None),
             ("w3", "customer", None, "ALPHA")]

    def open(self, as_=None, **kw):
        s = Stream(self.server.port, token=self.tokens[as_] if as_ else None, **kw)
        self.addCleanup(s.close)
        return s

    def ready(self, s):
        block = s.next_block()
        self.assertIsNotNone(block, "no ready event")
        self.assertIn("event: ready", block)
        return block

    def test_sign_in_required(self):
        s = self.open()
        self.assertEqual(s.status, 401)
        s = Stream(self.server.port, token="not-a-token")
        self.addCleanup(s.close)
        self.assertEqual(s.status, 401)
        r = self.api("POST", "/stream", {})
        self.assertEqual(r.status, 405)

    def test_event_stream_headers_and_ready(self):
        s = self.open("agent")
        self.assertEqual(s.status, 200)
        self.assertTrue(s.headers["content-type"].startswith("text/event-stream"))
        self.assertEqual(s.headers.get("transfer-encoding"), "chunked")
        self.assertEqual(s.headers.get("cache-control"), "no-store")
        block = self.ready(s)
        self.assertIn("retry: ", block)

    def test_customer_hears_only_own_account_and_no_internal_change(self):
        alice = self.open("alice")
        bob = self.open("bob")
        staff = self.open("agent")
        for s in (alice, bob, staff):
            self.ready(s)
        a = self.create_case(incident("ALPHA", subject="Alpha en vivo"), as_="agent")["number"]
        b = self.create_case(incident("BETA", subject="Beta en vivo"), as_="agent")["number"]
        self.assertEqual(self.api("POST", f"/cases/{a}/replies",
                                  {"body": "Revisar troncal", "internal": True}, as_="agent").status, 201)
        self.assertEqual(self.api("POST", f"/cases/{b}/replies", {"body": "Hola Beta"},
                                  as_="agent").status, 201)
        self.assertEqual(self.api("POST", f"/cases/{a}/replies", {"body": "Hola Alpha"},
                                  as_="agent").status, 201)
        got_staff = [m for m in staff.messages_for(2.5) if m["case"] in (a, b)]
        got_alice = alice.messages_for(1.0)
        got_bob = bob.messages_for(0.5)
        self.assertEqual([(m["case"], m["kind"]) for m in got_staff],
                         [(a, "created"), (b, "created"), (a, "note"), (b, "reply"), (a, "reply")])
        self.assertEqual([(m["case"], m["kind"]) for m in got_alice], [(a, "created"), (a, "reply")])
        self.assertEqual([(m["case"], m["kind"]) for m in got_bob], [(b, "created"), (b, "reply")])
        self.assertEqual(got_alice[-1]["version"], self.case(a)["version"])

    def test_heartbeat_on_a_silent_stream(self):
        s = self.open("bob")
        self.ready(s)
        t0 = time.monotonic()
        block = s.next_block(timeout=4)
        self.assertIsNotNone(block, "no heartbeat within 4 s (configured: 1 s)")
        self.assertTrue(block.startswith(":"), block)
        self.assertLess(time.monotonic() - t0, 3)

    def test_limit_per_user(self):
        streams = [self.open("many") for _ in range(3)]
        for s in streams:
            self.assertEqual(s.status, 200)
        extra = self.open("many")
        self.assertEqual(extra.status, 429)
        streams[0].close()
        # The server notices the closed connection and frees its place.
        deadline = time.monotonic() + 5
        while True:
            again = Stream(self.server.port, token=self.tokens["many"])
            self.addCleanup(again.close)
            if again.status == 200 or time.monotonic() > deadline:
                break
            again.close()
            time.sleep(0.1)
        self.assertEqual(again.status, 200)

    def test_browser_session_cookie_and_logout_ends_stream(self):
        r = self.http.post("/api/v1/auth/session",
                           {"email": "bob@liveupdates.test", "password": PASSWORD},
                           headers={"Origin": f"http://127.0.0.1:{self.server.port}"})
        if r.status != 200:
            self.skipTest(f"browser sign-in answered {r.status}")
        cookie = r.header("set-cookie").split(";")[0].split("=", 1)[1]
        s = self.open(cookie=cookie)
        self.assertEqual(s.status, 200)
        self.ready(s)
        self.assertEqual(self.http.post("/api/v1/auth/logout", {}, token=cookie).status, 204)
        deadline = time.monotonic() + 5
        while not s.ended and time.monotonic() < deadline:
            s.next_block(timeout=0.5)
        self.assertTrue(s.ended, "the stream outlived its session")

    def test_streams_block_no_thread_and_latency(self):
        # Nine open streams (three users, three each): the server still answers at once.
        streams = []
        for who in ("w1", "w2", "w3"):
            for _ in range(3):
                s = self.open(who)
                self.assertEqual(s.status, 200)
                streams.append(s)
        t0 = time.monotonic()
        for _ in range(20):
            self.assertEqual(self.http.get("/healthz").status, 200)
            self.assertEqual(self.api("GET", "/cases?limit=5", as_="agent").status, 200)
        busy = time.monotonic() - t0
        self.assertLess(busy, 5, "open streams slowed the server down")
        watcher = streams[0]
        self.ready(watcher)
        lat = []
        number = self.create_case(incident("ALPHA", subject="Latencia"), as_="agent")["number"]
        while watcher.next_message(timeout=0.5) is not None:
            pass  # drain
        for i in range(10):
            t = time.monotonic()
            self.assertEqual(self.api("POST", f"/cases/{number}/replies",
                                      {"body": f"mensaje {i}", "internal": True},
                                      as_="agent").status, 201)
            while True:
                m = watcher.next_message(timeout=2)
                self.assertIsNotNone(m, "no message within 2 s")
                if m["case"] == number and m["kind"] == "note":
                    break
            lat.append((time.monotonic() - t) * 1000)
        print(f"\nlive update latency (POST reply -> SSE message, 10 changes): median "
              f"{statistics.median(lat):.1f} ms, max {max(lat):.1f} ms", file=sys.stderr)
        self.assertLess(max(lat), 1000)


if __name__ == "__main__":
    unittest.main()
