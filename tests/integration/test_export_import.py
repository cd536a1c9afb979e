"""`escala export` / `escala import` (issue 6): a desk moves from SQLite to PostgreSQL and
back without loss. A real desk is filled over HTTP and SMTP (cases with their history and
search text, users with their passwords, an account, an email with an attachment, the mail
ledger and outbox, a calendar edit in the desk's history); it is exported, imported into a
throw-away PostgreSQL, exported again, imported into a new SQLite desk and exported a third
time: the three dumps hold the same rows. A server on the imported desk then signs the same
people in, finds the cases, serves the attachment and numbers new cases after the old
ones. Standard library only; needs root (PostgreSQL runs as its own user)."""

import sys

sys.dont_write_bytecode = True

import email.message
import json
import os
import shutil
import tempfile
import unittest

from escala_harness import (ADMIN_EMAIL, ADMIN_PASSWORD, API, EscalaServer, incident, run_cli)
from mail_peers import smtp_send
from pg_peer import Postgres

INCIDENTS = "sosporte24@callmyway.com"


def rows_of(path):
    """The table and row lines of a dump (not its header, which names the source)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    header = json.loads(lines[0])
    assert header["format"] == "escala-desk-dump", header
    return lines[1:]


def manifest_of(path):
    return json.loads(rows_of(path)[-1])["manifest"]


@unittest.skipUnless(os.geteuid() == 0, "needs root to run PostgreSQL as its user")
class ExportImport(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="escala-dump-")
        cls.pg = Postgres().start()
        cls.source = EscalaServer(extra_args=("--smtp", "127.0.0.1:0"))
        try:
            r = cls.source.add_user(ADMIN_EMAIL, "Admin", "admin", ADMIN_PASSWORD)
            assert r.returncode == 0, r.stderr
            cls.source.start()
            cls.fill(cls.source)
            cls.source.stop()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for s in getattr(cls, "servers", []):
            s.stop()
        cls.source.stop()
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    servers = []

    @classmethod
    def fill(cls, server):
        http = server.client()
        token = http.login(ADMIN_EMAIL, ADMIN_PASSWORD)

        def ok(r, status=(200, 201)):
            assert r.status in ((status,) if isinstance(status, int) else status), str(r)
            return r.json

        ok(http.post(API + "/accounts", {"code": "ACME", "name": "Acmé Telecom", "timezone":
                                          "America/Mexico_City"}, token=token))
        ok(http.post(API + "/users", {"email": "cliente@acme.mx", "name": "Ana Cliente",
                                      "role": "customer", "account": "ACME",
                                      "password": "cliente-pass-1"}, token=token))
        cls.numbers = []
        for i in range(3):
            c = ok(http.post(API + "/cases", incident("ACME", subject=f"Extensión {200 + i} sin tono"),
                             token=token))
            cls.numbers.append(c["number"])
        n = cls.numbers[0]
        ok(http.post(f"{API}/cases/{n}/replies", {"body": "Revisamos la troncal", "internal": True},
                     token=token))
        ok(http.post(f"{API}/cases/{n}/replies", {"body": "¿Puede probar de nuevo?"}, token=token))
        ok(http.post(f"{API}/cases/{cls.numbers[1]}/resolve", {"resolution": "Troncal reiniciada"},
                     token=token))
        hours = {d: [["08:00", "18:00"]] for d in ("monday", "tuesday", "wednesday", "thursday",
                                                   "friday")}
        ok(http.request("PUT", API + "/calendars/oficina", {"time_zone": "UTC", "week": hours},
                        token=token))
        # An email with an attachment: a case, its original message and attachment (blobs),
        # the received-message ledger, threads and an acknowledgement in the outbox.
        with open(os.path.join(server.data_dir, "ports.json")) as f:
            smtp_port = int(json.load(f)["smtp"])
        m = email.message.EmailMessage()
        m["From"] = "Ana Cliente <cliente@acme.mx>"
        m["To"] = INCIDENTS
        m["Subject"] = "Llamadas entrantes fallan"
        m["Message-ID"] = "<dump-test-1@acme.mx>"
        m.set_content("Extensión: 204\nDirección: entrante\nNúmero: +13056445535\n"
                      "Hora: 2026-11-26 10:30\n")
        cls.attachment = bytes(range(256)) * 40  # every byte value
        m.add_attachment(cls.attachment, maintype="application", subtype="octet-stream",
                         filename="captura.pcap")
        answer = smtp_send(smtp_port, "cliente@acme.mx", INCIDENTS, m.as_bytes())
        cls.mail_case = next(w.strip("[]<>.,") for w in answer.split() if w.startswith(("CMW-", "[CMW-")))
        c = ok(http.get(f"{API}/cases/{cls.mail_case}", token=token))
        cls.attachment_sha = c["attachments"][0]["sha256"]
        cls.case_count = len(cls.numbers) + 1

    def export(self, args, name):
        path = os.path.join(self.tmp, name)
        r = run_cli("export", *args, "--out", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        return path

    def test_a_desk_moves_to_postgresql_and_back_without_loss(self):
        first = self.export(("--data-dir", self.source.data_dir), "sqlite.jsonl")
        m = manifest_of(first)
        self.assertEqual(m["cases"]["rows"], self.case_count)
        for table in ("events", "case_text", "users", "accounts", "settings", "desk_events",
                      "blobs", "inbound_mail", "mail_threads", "outbox"):
            self.assertGreater(m[table]["rows"], 0, table)

        # Into PostgreSQL: verified by the tool itself (counts and checksums read back).
        pg_url = self.pg.new_database()
        pg_dir = tempfile.mkdtemp(prefix="escala-dump-pg-", dir=self.tmp)
        r = run_cli("import", "--data-dir", pg_dir, "--db", pg_url, "--in", first)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("verified by counts and checksums", r.stderr)
        second = self.export(("--data-dir", pg_dir, "--db", pg_url), "pg.jsonl")
        self.assertEqual(rows_of(second), rows_of(first))

        # And back into a new SQLite desk.
        back_dir = tempfile.mkdtemp(prefix="escala-dump-back-", dir=self.tmp)
        r = run_cli("import", "--data-dir", back_dir, "--in", second)
        self.assertEqual(r.returncode, 0, r.stderr)
        third = self.export(("--data-dir", back_dir), "back.jsonl")
        self.assertEqual(rows_of(third), rows_of(first))

        # The moved desk works: same people, cases, search, attachment; numbering goes on.
        node = EscalaServer(data_dir=pg_dir, extra_args=("--db", pg_url)).start()
        type(self).servers.append(node)
        http = node.client()
        token = http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        customer = http.login("cliente@acme.mx", "cliente-pass-1")
        mine = http.get(API + "/cases?limit=50", token=customer)
        self.assertEqual(mine.status, 200, str(mine))
        self.assertEqual(mine.json["total"], self.case_count)
        found = http.get(API + "/cases?q=extension+201", token=token)
        self.assertEqual([c["number"] for c in found.json["items"]], [self.numbers[1]])
        history = http.get(f"{API}/cases/{self.numbers[0]}/events?limit=100", token=customer)
        bodies = [e["data"].get("body") for e in history.json["items"] if e["type"] == "reply"]
        self.assertEqual(bodies, ["¿Puede probar de nuevo?"])  # the internal note stays internal
        got = http.request("GET", f"{API}/cases/{self.mail_case}/attachments/{self.attachment_sha}",
                           token=token)
        self.assertEqual(got.status, 200)
        self.assertEqual(got.raw, self.attachment)
        new = http.post(API + "/cases", incident("ACME"), token=token)
        self.assertEqual(new.status, 201, str(new))
        last = max(int(n.split("-")[1]) for n in self.numbers + [self.mail_case])
        self.assertEqual(int(new.json["number"].split("-")[1]), last + 1)

    def test_import_refuses_a_desk_in_use_and_a_damaged_file(self):
        dump = self.export(("--data-dir", self.source.data_dir), "refuse.jsonl")
        # A desk that already holds people or cases is not overwritten.
        r = run_cli("import", "--data-dir", self.source.data_dir, "--in", dump)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already holds", r.stderr)
        # A row changed after export: the file's own manifest catches it; nothing is kept.
        with open(dump, encoding="utf-8") as f:
            lines = f.read().splitlines()
        i = next(k for k, line in enumerate(lines) if "Revisamos la troncal" in line)
        lines[i] = lines[i].replace("Revisamos", "Falsificamos")
        damaged = os.path.join(self.tmp, "damaged.jsonl")
        with open(damaged, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        target = tempfile.mkdtemp(prefix="escala-dump-damaged-", dir=self.tmp)
        r = run_cli("import", "--data-dir", target, "--in", damaged)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("damaged file", r.stderr)
        after = self.export(("--data-dir", target), "after-damaged.jsonl")
        self.assertEqual(manifest_of(after)["cases"]["rows"], 0)
        # A truncated file (no manifest) is refused too.
        truncated = os.path.join(self.tmp, "truncated.jsonl")
        with open(truncated, "w", encoding="utf-8") as f:
            f.write("\n".join(lines[: len(lines) // 2]) + "\n")
        r = run_cli("import", "--data-dir", tempfile.mkdtemp(dir=self.tmp), "--in", truncated)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("truncated", r.stderr)


if __name__ == "__main__":
    unittest.main()
