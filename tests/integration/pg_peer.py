"""A throw-away PostgreSQL 15 for the integration tests: initdb + pg_ctl as the postgres
user in a temporary folder, on a free loopback port; one database per desk. Standard
library only; needs root (PostgreSQL runs as its own user)."""

import sys

sys.dont_write_bytecode = True

import atexit
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading

PG_BIN = os.environ.get("ESCALA_PG_BINDIR", "/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self):
        if not os.path.exists(f"{PG_BIN}/initdb"):
            raise RuntimeError(f"PostgreSQL 15 is not installed ({PG_BIN}); make test installs it")
        self.dir = tempfile.mkdtemp(prefix="escala-pg-it-")
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.url = self.url_of("postgres")
        self._names = itertools.count(1)
        self._lock = threading.Lock()

    def url_of(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def _as_postgres(self, *args):
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True,
                              text=True, timeout=120)

    def start(self) -> "Postgres":
        r = self._as_postgres(f"{PG_BIN}/initdb", "-D", self.data, "-U", "postgres", "-A",
                              "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr)
        # fsync stays on: the kill -9 tests check what a commit promises.
        r = self._as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-l",
                              os.path.join(self.dir, "log"), "-w", "-o",
                              f"-p {self.port} -c listen_addresses=127.0.0.1 "
                              f"-c unix_socket_directories={self.dir} -c max_connections=300",
                              "start")
        if r.returncode != 0:
            raise RuntimeError("pg_ctl start failed: " + r.stderr + r.stdout)
        return self

    def new_database(self) -> str:
        """A fresh empty database; answers its URL."""
        with self._lock:
            name = f"desk{next(self._names)}"
        r = self._as_postgres(f"{PG_BIN}/psql", "-h", self.dir, "-p", str(self.port), "-U",
                              "postgres", "-d", "postgres", "-qc", f"CREATE DATABASE {name}")
        if r.returncode != 0:
            raise RuntimeError("CREATE DATABASE failed: " + r.stderr)
        return self.url_of(name)

    def stop(self):
        self._as_postgres(f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


_shared = None


def shared() -> Postgres:
    """One cluster per test process, started on first use and stopped at exit."""
    global _shared
    if _shared is None:
        _shared = Postgres().start()
        atexit.register(_shared.stop)
    return _shared
