"""The same desk on PostgreSQL (issue 6, first steps): `escala migrate|user add|serve --db
postgresql://…` against a throw-away PostgreSQL 15 on loopback, two `escala serve` nodes on
one database, case numbers unique across them, each node seeing the other's cases, and the
accent-insensitive search. Standard library only; needs root (PostgreSQL runs as its own
user)."""

import sys

sys.dont_write_bytecode = True

import concurrent.futures
import os
import re
import shutil
import tempfile
import unittest
import urllib.parse

from escala_harness import ADMIN_EMAIL, ADMIN_PASSWORD, API, EscalaServer, run_cli
from pg_peer import Postgres


@unittest.skipUnless(os.geteuid() == 0, "needs root to run PostgreSQL as its user")
class PostgresDesk(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()  # its own cluster: this suite makes several nodes
        cls.nodes = []
        try:
            dirs = [tempfile.mkdtemp(prefix="escala-pg-node-") for _ in range(2)]
            r = run_cli("migrate", "--data-dir", dirs[0], "--db", cls.pg.url)
            if r.returncode != 0:
                raise RuntimeError("migrate failed: " + r.stderr)
            r = run_cli("user", "add", "--data-dir", dirs[0], "--db", cls.pg.url, "--email",
                        ADMIN_EMAIL, "--name", "Admin", "--role", "admin", "--password",
                        ADMIN_PASSWORD)
            if r.returncode != 0:
                raise RuntimeError("user add failed: " + r.stderr)
            for d in dirs:
                node = EscalaServer(data_dir=d, extra_args=("--db", cls.pg.url)).start()
                cls.nodes.append(node)
            cls.clients = [n.client() for n in cls.nodes]
            cls.tokens = [c.login(ADMIN_EMAIL, ADMIN_PASSWORD) for c in cls.clients]
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in getattr(cls, "nodes", []):
            n.stop()
            shutil.rmtree(n.data_dir, ignore_errors=True)
        cls.pg.stop()

    def api(self, node, method, path, body=None):
        return self.clients[node].request(method, API + path, body, token=self.tokens[node])

    def test_nodes_starting_together_on_a_new_desk_share_its_mail_secrets(self):
        """The first start of a desk makes its mail secrets (loop token, link key, mailgate
        token). Nodes started at the same moment on a new database must all use the ones
        stored, or links and loop tokens signed by one are refused by the others."""
        for round_ in range(3):
            url = self.pg.new_database()
            dirs = [tempfile.mkdtemp(prefix="escala-pg-secrets-") for _ in range(3)]
            self.assertEqual(run_cli("migrate", "--data-dir", dirs[0], "--db", url).returncode, 0)
            nodes = [EscalaServer(data_dir=d, extra_args=("--db", url)) for d in dirs]
            try:
                with concurrent.futures.ThreadPoolExecutor(len(nodes)) as pool:
                    list(pool.map(lambda n: n.start(), nodes))
                tokens = set()
                for d in dirs:
                    with open(os.path.join(d, "mailgate.token")) as f:
                        tokens.add(f.read().strip())
                self.assertEqual(len(tokens), 1, f"round {round_}: the nodes use different secrets")
                r = run_cli("migrate", "--data-dir", dirs[0], "--db", url)  # still one desk
                self.assertEqual(r.returncode, 0, r.stderr)
            finally:
                for n in nodes:
                    n.stop()
                for d in dirs:
                    shutil.rmtree(d, ignore_errors=True)

    def test_migrate_reports_the_schema_version_on_postgresql(self):
        r = run_cli("migrate", "--data-dir", self.nodes[0].data_dir, "--db", self.pg.url)
        self.assertEqual(r.returncode, 0, r.stderr)
        version = re.search(r"schema version (\d+)", r.stdout)
        self.assertIsNotNone(version, r.stdout)
        self.assertGreaterEqual(int(version.group(1)), 9)  # 9: Spanish and English search

    def test_two_nodes_share_one_desk_with_unique_numbers(self):
        r = self.api(0, "POST", "/accounts", {"code": "PGCO", "name": "Pg Co"})
        self.assertIn(r.status, (201, 409), str(r))
        body = {"type": "request", "account": "PGCO", "subject": "Consulta de facturación",
                "description": "Extensión 204: ¿cuánto cuesta un DID?", "channel": "phone"}

        def create(i):
            r = self.api(i % 2, "POST", "/cases", body)
            self.assertEqual(r.status, 201, str(r))
            return r.json["number"]

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            numbers = list(pool.map(create, range(40)))
        self.assertEqual(len(set(numbers)), 40, "case numbers are unique across the nodes")
        # Each node sees the other's cases.
        for n in numbers[:6]:
            for node in (0, 1):
                r = self.api(node, "GET", f"/cases/{n}")
                self.assertEqual(r.status, 200, str(r))
        # Accent-insensitive search through PostgreSQL's text search with unaccent.
        r = self.api(1, "GET", "/cases?q=extension%20facturacion&limit=100")
        self.assertEqual(r.status, 200, str(r))
        self.assertGreaterEqual(r.json["total"], 40)

    def test_search_stems_spanish_and_english_without_accents(self):
        """Migration 9: Spanish and English configurations with unaccent; any query text
        is read as plain words (never a syntax error)."""
        r = self.api(0, "POST", "/accounts", {"code": "STEM", "name": "Stem Co"})
        self.assertIn(r.status, (201, 409), str(r))
        subjects = {"es": "La extensión 318 no recibe llamadas entrantes",
                    "en": "Outbound calls to carrier 318 are dropped",
                    "buzon": "Buzón de voz 318 sin notificación"}
        numbers = {}
        for key, subject in subjects.items():
            r = self.api(1, "POST", "/cases", {"type": "request", "account": "STEM",
                                               "subject": subject, "channel": "phone"})
            self.assertEqual(r.status, 201, str(r))
            numbers[key] = r.json["number"]

        def found(q):
            r = self.api(0, "GET", "/cases?account=STEM&limit=100&q=" + urllib.parse.quote(q))
            self.assertEqual(r.status, 200, f"{q}: {r}")
            return {c["number"] for c in r.json["items"]}

        for q, want in [("extension", {"es"}), ("EXTENSIÓN", {"es"}), ("llamada", {"es"}),
                        ("llamadas 318", {"es"}), ("call", {"en"}), ("calling drop", {"en"}),
                        ("buzon notificacion", {"buzon"}), ("318", {"es", "en", "buzon"}),
                        ("llamada call", set()),
                        ("llamadas & | ! ' \" <-> :*", {"es"}), ("!!! ((", set())]:
            with self.subTest(q=q):
                self.assertEqual(found(q), {numbers[k] for k in want})

    def test_a_change_on_one_node_is_read_on_the_other(self):
        r = self.api(0, "POST", "/cases", {"type": "incident", "subject": "Sin tono",
                                           "description": "x", "channel": "phone",
                                           "fields": {"extension": "204"}})
        self.assertEqual(r.status, 201, str(r))
        n = r.json["number"]
        self.assertEqual(r.json["status"], "awaiting_info")
        r = self.api(1, "PATCH", f"/cases/{n}", {"fields": {
            "direction": "inbound", "counterpart_number": "+13056445535",
            "occurred_at": "2026-11-26T10:30:00-06:00"}})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "open")
        r = self.api(0, "GET", f"/cases/{n}/events")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual([e["type"] for e in r.json["items"]][:2], ["created", "fields_updated"])


if __name__ == "__main__":
    unittest.main()
