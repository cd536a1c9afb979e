"""Shared helpers for the Escala integration tests.

Starts a real `escala serve` on port 0 in a fresh temporary data directory, waits for
DIR/ports.json, and offers a small JSON client. Standard library only.

The binary comes from the environment variable ESCALA_BIN (default
/work/main/build/escala). Set ESCALA_KEEP_DATA=1 to keep the temporary data directories
(their path is printed) for a post-mortem.
"""

import sys

sys.dont_write_bytecode = True  # never leave __pycache__ in the source tree

import atexit
import collections
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from dataclasses import dataclass
from typing import Any, Optional

ESCALA_BIN = os.environ.get("ESCALA_BIN", "/work/main/build/escala")
# ESCALA_TEST_DB=postgres runs every desk of a suite on its own database of a throw-away
# PostgreSQL (pg_peer.py) instead of SQLite in its data directory.
TEST_DB = os.environ.get("ESCALA_TEST_DB", "sqlite")
ADMIN_EMAIL = "admin@escala.test"
ADMIN_PASSWORD = "admin-password-1"
PASSWORD = "password-123"  # every user the tests create through the API
API = "/api/v1"




def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Runs `escala ARGS...` and returns the completed process (text mode)."""
    return subprocess.run([ESCALA_BIN, *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@dataclass
class Response:
    status: int
    headers: dict
    raw: bytes
    json: Any = None

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def error(self) -> dict:
        """The {"code","message","field"?} object of an error answer."""
        if not isinstance(self.json, dict) or not isinstance(self.json.get("error"), dict):
            raise AssertionError(f"not an error body ({self.status}): {self.raw[:500]!r}")
        return self.json["error"]

    def __str__(self) -> str:  # shows up in assertion messages
        return f"HTTP {self.status} {self.raw[:600].decode('utf-8', 'replace')}"


class Client:
    """A tiny HTTP/JSON client; one connection per request, so it is thread-safe."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.host = host
        self.port = port

    def request(self, method: str, path: str, body: Any = None, *, token: str = None,
                raw: bytes = None, headers: dict = None, source: str = None,
                timeout: float = 30) -> Response:
        hdrs = {"Accept": "application/json"}
        data = None
        if raw is not None:
            data = raw
            hdrs["Content-Type"] = "application/json"
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        if headers:
            hdrs.update(headers)
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout,
            source_address=(source, 0) if source else None)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            resp = conn.getresponse()
            payload = resp.read()
            result = Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, payload)
        finally:
            conn.close()
        if payload:
            try:
                result.json = json.loads(payload.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                result.json = None
        return result

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body if body is not None else {}, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body if body is not None else {}, **kw)

    def login(self, email: str, password: str, **kw) -> str:
        r = self.post(API + "/auth/login", {"email": email, "password": password}, **kw)
        if r.status != 200:
            raise AssertionError(f"login of {email} failed: {r}")
        return r.json["token"]


_LIVE = set()  # servers started and not yet stopped: killed at exit, whatever happened


@atexit.register
def _kill_leftovers():
    for server in list(_LIVE):
        server.kill()


class EscalaServer:
    """One `escala serve` process over its own data directory."""

    def __init__(self, data_dir: str = None, extra_args: tuple = ()):
        self.extra_args = list(extra_args)  # e.g. ["--test-clock"]
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="escala-it-")
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.log_path = os.path.join(self.data_dir, "server.log")
        self._log = None
        # The desk's database: a PostgreSQL database of its own when the suite runs there
        # (kept across restarts of this server, like the SQLite file in data_dir).
        self.db_args = []
        if TEST_DB == "postgres" and "--db" not in self.extra_args:
            import pg_peer
            self.db_args = ["--db", pg_peer.shared().new_database()]

    # ---- offline administration -------------------------------------------------------
    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return run_cli(*args)

    def add_user(self, email: str, name: str, role: str, password: str, *, level: int = None,
                 account: str = None) -> subprocess.CompletedProcess:
        args = ["user", "add", "--data-dir", self.data_dir, *self.db_args, "--email", email,
                "--name", name, "--role", role, "--password", password]
        if level is not None:
            args += ["--level", str(level)]
        if account is not None:
            args += ["--account", account]
        return run_cli(*args)

    # ---- process ----------------------------------------------------------------------
    def start(self, timeout: float = 20) -> "EscalaServer":
        ports = os.path.join(self.data_dir, "ports.json")
        if os.path.exists(ports):
            os.remove(ports)  # a restart must not read the previous run's port
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [ESCALA_BIN, "serve", "--data-dir", self.data_dir, "--http", "127.0.0.1:0",
             *self.db_args, *self.extra_args],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
        _LIVE.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"escala serve exited with {self.proc.returncode}:\n"
                                   + self.read_log())
            try:
                with open(ports) as f:
                    self.port = int(json.load(f)["http"])
                break
            except (OSError, ValueError, KeyError):
                time.sleep(0.02)
        else:
            self.kill()
            raise RuntimeError("escala serve did not write ports.json in time:\n" + self.read_log())
        # ports.json is written once listening; make sure requests are answered.
        client = self.client()
        while time.monotonic() < deadline:
            try:
                if client.get("/healthz", timeout=2).status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("escala serve does not answer /healthz:\n" + self.read_log())

    def client(self) -> Client:
        return Client(self.port)

    def stop(self, timeout: float = 10) -> Optional[int]:
        """SIGTERM by PID, then SIGKILL if it does not stop in time. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        self.proc = None
        _LIVE.discard(self)
        self._close_log()
        return code

    def kill(self) -> None:
        """SIGKILL by PID (a crash) and reap it."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
        _LIVE.discard(self)
        self._close_log()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def read_log(self) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-4000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def _close_log(self):
        if self._log:
            self._log.close()
            self._log = None

    def cleanup(self) -> None:
        self.stop()
        if self.own_dir:
            if os.environ.get("ESCALA_KEEP_DATA"):
                print(f"kept data dir {self.data_dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.data_dir, ignore_errors=True)


class CreationLoad:
    """Clients creating cases without pause while a test breaks the database under them.

    `create(subject)` sends one creation and returns the Response (an OSError counts as an
    answer "error ..."). Every answer's status is counted, the slowest answer kept, and
    every 201 recorded as (subject, number): what the desk acknowledged. A client waits
    50 ms after an answer other than 201. Use as a context manager: the clients run inside.
    """

    def __init__(self, create, prefix: str, clients: int = 4):
        self._create = create
        self._prefix = prefix
        self._clients = clients
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = []
        self.acked = []  # (subject, number) of every 201
        self.statuses = collections.Counter()
        self.slowest = 0.0

    def _run(self, client: int) -> None:
        i = 0
        while not self._stop.is_set():
            subject = f"{self._prefix} {client}-{i}"
            i += 1
            t0 = time.monotonic()
            try:
                r = self._create(subject)
                status = r.status
            except OSError as e:  # the node must answer: a dropped connection fails
                status = f"error {e}"
            with self._lock:
                self.statuses[status] += 1
                self.slowest = max(self.slowest, time.monotonic() - t0)
                if status == 201:
                    self.acked.append((subject, r.json["number"]))
            if status != 201:
                time.sleep(0.05)

    def __enter__(self):
        self._threads = [threading.Thread(target=self._run, args=(c,)) for c in range(self._clients)]
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join()
        return False

    def acknowledged(self) -> int:
        with self._lock:
            return len(self.acked)

    def wait_for_more_than(self, count: int, within: float) -> Optional[float]:
        """Seconds until more than `count` creations were acknowledged, None if not within."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < within:
            if self.acknowledged() > count:
                return time.monotonic() - t0
            time.sleep(0.01)
        return None


def raw_http(port: int, data: bytes, *, timeout: float = 10, source: str = None) -> bytes:
    """Sends raw bytes on a fresh connection and returns everything the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                  source_address=(source, 0) if source else None) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    break
                chunks.append(b)
                if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                    break
        except (ConnectionResetError, socket.timeout):
            pass
        return b"".join(chunks)


def _complete(buf: bytes) -> bool:
    head, _, body = buf.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return len(body) >= int(v.strip())
    return False


def status_of(raw: bytes) -> int:
    """The status code of a raw HTTP answer (0 when there is none)."""
    try:
        return int(raw.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


def body_of(raw: bytes) -> Any:
    try:
        return json.loads(raw.partition(b"\r\n\r\n")[2].decode("utf-8"))
    except ValueError:
        return None


# ---- payloads ----------------------------------------------------------------------------

def incident_fields(**over) -> dict:
    f = {"extension": "101", "direction": "outbound", "counterpart_number": "+52 55 1234 5678",
         "occurred_at": "2026-11-26T10:30:00-06:00"}
    f.update(over)
    return f


def activation_fields(**over) -> dict:
    f = {"account_id": "ACME", "user_full_name": "Ana Pérez", "extension": "205",
         "direct_number": True, "extension_type": "sip", "ring_groups": []}
    f.update(over)
    return f


def incident(account: str = None, subject: str = "Llamadas salientes fallan", **over) -> dict:
    body = {"type": "incident", "subject": subject, "description": "desde la mañana",
            "channel": "email", "fields": incident_fields()}
    if account:
        body["account"] = account
    body.update(over)
    return body


def case_id(number: str) -> int:
    assert number.startswith("CMW-") and len(number) == 10, number
    return int(number[4:])


# ---- the base test case ---------------------------------------------------------------------

class ServerTestCase(unittest.TestCase):
    """A server per test class with an admin made by the CLI and signed in.

    Subclasses list extra users in USERS as (key, role, level, account) and accounts in
    ACCOUNTS as dicts (POSTed as they are); they are created through the API in
    setUpClass, each user signed in once: cls.tokens[key], cls.users[key] (the user JSON).
    Shared data goes in an overridden seed() classmethod, run last in setUpClass.
    """

    ACCOUNTS: list = []
    USERS: list = []
    SERVE_ARGS: tuple = ()  # extra `escala serve` arguments, e.g. ("--test-clock",)

    @classmethod
    def setUpClass(cls):
        cls.server = EscalaServer(extra_args=cls.SERVE_ARGS)
        try:
            r = cls.server.add_user(ADMIN_EMAIL, "Admin Istrador", "admin", ADMIN_PASSWORD)
            if r.returncode != 0:
                raise RuntimeError("escala user add failed: " + r.stderr)
            cls.server.start()
            cls.http = cls.server.client()
            cls.tokens = {"admin": cls.http.login(ADMIN_EMAIL, ADMIN_PASSWORD)}
            cls.users = {}
            cls.admin = cls.tokens["admin"]
            for acc in cls.ACCOUNTS:
                r = cls.http.post(API + "/accounts", acc, token=cls.admin)
                if r.status != 201:
                    raise RuntimeError(f"cannot create account {acc}: {r}")
            for key, role, level, account in cls.USERS:
                body = {"email": f"{key}@{cls.__name__.lower()}.test", "name": key.title(),
                        "role": role, "password": PASSWORD}
                if level is not None:
                    body["level"] = level
                if account is not None:
                    body["account"] = account
                r = cls.http.post(API + "/users", body, token=cls.admin)
                if r.status != 201:
                    raise RuntimeError(f"cannot create user {key}: {r}")
                cls.users[key] = r.json
                cls.tokens[key] = cls.http.login(body["email"], PASSWORD)
            cls.seed()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def seed(cls):
        """Creates the class's shared data; the server is stopped if it raises."""

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    # ---- shortcuts --------------------------------------------------------------------
    def api(self, method, path, body=None, as_="admin", **kw) -> Response:
        token = self.tokens[as_] if as_ else None
        if method in ("POST", "PATCH") and body is None and "raw" not in kw:
            body = {}
        return self.http.request(method, API + path, body, token=token, **kw)

    def create_case(self, body, as_="admin", expect=201) -> dict:
        r = self.api("POST", "/cases", body, as_=as_)
        self.assertEqual(r.status, expect, str(r))
        return r.json

    def case(self, number, as_="admin") -> dict:
        r = self.api("GET", f"/cases/{number}", as_=as_)
        self.assertEqual(r.status, 200, str(r))
        return r.json

    def events(self, number, as_="admin") -> list:
        r = self.api("GET", f"/cases/{number}/events?limit=1000", as_=as_)
        self.assertEqual(r.status, 200, str(r))
        return r.json["items"]

    def event_types(self, number, as_="admin") -> list:
        return [e["type"] for e in self.events(number, as_=as_)]

    def assertError(self, r: Response, status: int, field: str = None, code: str = None):
        self.assertEqual(r.status, status, str(r))
        err = r.error()
        self.assertIsInstance(err.get("code"), str, str(r))
        self.assertIsInstance(err.get("message"), str, str(r))
        self.assertTrue(err["message"], str(r))
        if field is not None:
            self.assertEqual(err.get("field"), field, str(r))
        if code is not None:
            self.assertEqual(err["code"], code, str(r))
        return err

    def assertHealthy(self):
        self.assertTrue(self.server.alive(), "the server died:\n" + self.server.read_log())
        self.assertEqual(self.http.get("/healthz").status, 200)
