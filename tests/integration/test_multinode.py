"""Several `escala serve` nodes on one PostgreSQL, and kill -9 of one of them in the middle
of the load (issue 6): the multi-node crash test.

Three nodes share one database of a throw-away PostgreSQL 15 (pg_peer.py), each with its
own data directory, an SMTP listener, and the same SMTP sink as relay (aiosmtpd,
mail_peers.py); each node greets the relay with its own name ([smtp] hostname), so the
sink knows which node delivered what. Clients create cases over HTTP and send mail over
SMTP through all three nodes at once; SLA targets of a few seconds (an account contract
on the 24x7 calendar) make every case's warnings and breaches fall due during the test, on
the real clock (no --test-clock: it is an offset kept per process, and the nodes must agree
on the time because outbox leases are instants in the shared database).

In the middle of the load the sink holds the DATA of the third node's deliveries (no 250),
so that node certainly holds claimed outbox messages, and the test kills it with SIGKILL.
Then it checks:

- case numbers are unique, every case acknowledged over HTTP (201) and every message
  acknowledged over SMTP (250) is stored exactly once, and what was stored beyond that was
  in flight at the kill;
- every outbox message (acknowledgements, SLA notifications) reached the sink, and exactly
  once: a duplicate is possible only for a message the killed node had handed to the relay
  and not yet marked sent (at most one per relay connection of that node) — counted and
  printed; with the sink holding that node's DATA at the kill, none is expected;
- every case's SLA clocks fired exactly once per target: one sla_warning and one
  sla_breached for the response and for the resolution target, although all nodes run the
  scheduler;
- failover: the messages whose DATA the killed node had in flight are delivered by another
  node within 10 s of the kill (the outbox lease, [relay] lease_seconds, default 6 s).

Needs root (PostgreSQL runs as its own user) and /usr/bin/python3 (aiosmtpd).
"""

import sys

sys.dont_write_bytecode = True

import asyncio
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import threading
import time
import unittest
from collections import Counter, defaultdict

from escala_harness import ADMIN_EMAIL, ADMIN_PASSWORD, API, PASSWORD, EscalaServer, run_cli
from mail_peers import Controller, Delivered, LOOPBACK, Relay, SmtpAnswer, compose, poll, smtp_send
from pg_peer import PG_BIN, Postgres

NUMBER = re.compile(r"CMW-\d{6}")
REQUESTS = "suporte@callmyway.com"
NODES = 3
KILLED = 2  # the node that gets kill -9
RESPONSE_S, RESOLUTION_S = 4, 8  # SLA targets of the test account (warnings at 75 %)
LEASE_S = 6  # the default [relay] lease_seconds
RELAY_CONNECTIONS = 4  # the default [relay] connections
# ESCALA_MULTINODE_HOLD=0: kill the node while its deliveries flow freely (no DATA held):
# then the kill may fall between a relay's 250 and the mark, and duplicates are counted.
HOLD = os.environ.get("ESCALA_MULTINODE_HOLD", "1") != "0"


class NodeRelay(Relay):
    """The shared SMTP sink. Notes which node (EHLO name) delivered each message, and can
    hold the DATA of one node's deliveries (no answer) until released."""

    def __init__(self):
        super().__init__()
        self.held_name = None        # EHLO name whose DATA is held
        self.held = []               # Message-IDs whose DATA was held (never answered 250)
        self._release = None         # asyncio.Event set to release held sessions
        self._loop = None

    def start(self) -> "NodeRelay":
        relay = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                raw = envelope.original_content or envelope.content
                if isinstance(raw, str):
                    raw = raw.encode("utf-8", "surrogateescape")
                d = Delivered(envelope.mail_from, envelope.rcpt_tos, raw)
                d.node = session.host_name or ""
                if relay.held_name and d.node == relay.held_name:
                    with relay._cv:
                        relay.held.append(d.message_id)
                        relay._cv.notify_all()
                    await relay._release.wait()
                    # Never stored: the sender was killed before any 250 reached it.
                    return "451 4.3.0 held by the test"
                relay._store(d)
                return "250 2.0.0 Message accepted for delivery"

        self._controller = Controller(Handler(), hostname=LOOPBACK, port=self.port,
                                      decode_data=False, data_size_limit=50 * 1024 * 1024)
        self._controller.start()
        self._loop = self._controller.loop
        self._release = asyncio.Event()
        return self

    def hold(self, node_name: str):
        self.held_name = node_name

    def release(self):
        self.held_name = None
        self._loop.call_soon_threadsafe(self._release.set)


def node_name(i: int) -> str:
    return f"node{i}.escala.test"


@unittest.skipUnless(os.geteuid() == 0, "needs root to run PostgreSQL as its user")
@unittest.skipIf(Controller is None, "needs aiosmtpd: run with /usr/bin/python3")
class MultiNodeCrash(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Postgres().start()
        cls.nodes, cls.dirs = [], []
        cls.relay = None
        try:
            cls.url = cls.pg.new_database()
            cls.dbname = cls.url.rsplit("/", 1)[1]
            cls.relay = NodeRelay().start()
            cls.dirs = [tempfile.mkdtemp(prefix=f"escala-mn{i}-") for i in range(NODES)]
            r = run_cli("migrate", "--data-dir", cls.dirs[0], "--db", cls.url)
            if r.returncode != 0:
                raise RuntimeError("migrate failed: " + r.stderr)
            r = run_cli("user", "add", "--data-dir", cls.dirs[0], "--db", cls.url, "--email",
                        ADMIN_EMAIL, "--name", "Admin", "--role", "admin", "--password",
                        ADMIN_PASSWORD)
            if r.returncode != 0:
                raise RuntimeError("user add failed: " + r.stderr)
            for i, d in enumerate(cls.dirs):
                conf = os.path.join(d, "escala.toml")
                with open(conf, "w") as f:
                    f.write(f'[smtp]\nhostname = "{node_name(i)}"\n')
                node = EscalaServer(data_dir=d, extra_args=(
                    "--db", cls.url, "--smtp", "127.0.0.1:0", "--smtp-relay",
                    cls.relay.address, "--config", conf)).start()
                cls.nodes.append(node)
            cls.ports = []
            for d in cls.dirs:
                with open(os.path.join(d, "ports.json")) as f:
                    import json
                    p = json.load(f)
                cls.ports.append((int(p["http"]), int(p["smtp"])))
            cls.clients = [n.client() for n in cls.nodes]
            cls.token = cls.clients[0].login(ADMIN_EMAIL, ADMIN_PASSWORD)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for n in getattr(cls, "nodes", []):
            n.stop()
        if os.environ.get("ESCALA_KEEP_DATA"):
            print(f"kept data dirs {cls.dirs}", file=sys.stderr)
        else:
            for d in getattr(cls, "dirs", []):
                shutil.rmtree(d, ignore_errors=True)
        if getattr(cls, "relay", None):
            cls.relay.release()
            cls.relay.stop()
        cls.pg.stop()

    # ---- helpers ------------------------------------------------------------------------
    def api(self, node, method, path, body=None, timeout=30):
        return self.clients[node].request(method, API + path, body, token=self.token,
                                          timeout=timeout)

    def sql(self, query: str) -> list:
        """Rows of a query on the desk's database (psql, tab-separated)."""
        r = subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/psql", "-h",
                            self.pg.dir, "-p", str(self.pg.port), "-U", "postgres", "-d",
                            self.dbname, "-AtX", "-F", "\t", "-c", query],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def all_cases(self, node):
        cases, cursor = [], None
        while True:
            r = self.api(node, "GET", "/cases?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(r.status, 200, str(r))
            cases += r.json["items"]
            cursor = r.json["next"]
            if not cursor:
                return cases

    # ---- the test -------------------------------------------------------------------------
    def test_three_nodes_kill_9_in_the_middle(self):
        sla = {s: {"response_seconds": RESPONSE_S, "resolution_seconds": RESOLUTION_S,
                   "calendar": "24x7"} for s in ("S1", "S2", "S3", "S4")}
        r = self.api(0, "POST", "/accounts", {"code": "MULTI", "name": "Multi Nodo SA",
                                             "contract": {"name": "Rápido", "sla": sla}})
        self.assertEqual(r.status, 201, str(r))
        # A supervisor hears of every warning and breach by email: outbox traffic from the
        # schedulers of all nodes.
        r = self.api(0, "POST", "/users", {"email": "jefa@callmyway.com", "name": "Jefa",
                                          "role": "supervisor", "password": PASSWORD})
        self.assertEqual(r.status, 201, str(r))

        lock = threading.Lock()
        http_acked, http_unknown = [], []   # (word, number); words without an answer
        smtp_acked, smtp_unknown = [], []
        stop = threading.Event()
        killed = threading.Event()
        run = f"{int(time.time()) % 100000:05d}"

        def live_nodes(k):
            order = [(k + j) % NODES for j in range(NODES)]
            return [n for n in order if not (killed.is_set() and n == KILLED)]

        def http_client(i):
            k = 0
            while not stop.is_set():
                node = live_nodes(i + k)[0]
                word = f"h{run}c{i}n{k}"
                k += 1
                body = {"type": "incident", "account": "MULTI", "channel": "phone",
                        "subject": f"Sin audio {word}", "description": "desde la mañana",
                        "fields": {"extension": "204", "direction": "inbound",
                                   "counterpart_number": "+13056445535",
                                   "occurred_at": "2026-11-26T10:30:00-06:00"}}
                try:
                    r = self.api(node, "POST", "/cases", body, timeout=15)
                except OSError:
                    with lock:
                        http_unknown.append(word)
                    continue
                with lock:
                    if r.status == 201:
                        http_acked.append((word, r.json["number"]))
                    else:
                        http_unknown.append(word)
                stop.wait(0.1)  # paced: every case brings four SLA emails a few seconds later

        def smtp_client(i):
            k = 0
            while not stop.is_set():
                node = live_nodes(i + k)[0]
                word = f"s{run}c{i}n{k}"
                k += 1
                sender = f"cliente{i}n{k}@carga.example"  # one each: no daily cap
                raw = compose(sender, REQUESTS, f"Consulta {word}", f"Mensaje {word}.\n")
                try:
                    answer = smtp_send(self.ports[node][1], sender, REQUESTS, raw, timeout=15)
                except (OSError, smtplib.SMTPException, SmtpAnswer):
                    with lock:
                        smtp_unknown.append(word)
                    continue
                with lock:
                    smtp_acked.append((word, NUMBER.search(answer).group(0)))
                stop.wait(0.05)

        threads = [threading.Thread(target=http_client, args=(i,)) for i in range(4)]
        threads += [threading.Thread(target=smtp_client, args=(i,)) for i in range(4)]
        started = time.monotonic()
        for t in threads:
            t.start()
        try:
            # Mail flows from every node, then the sink holds the killed node's DATA: it
            # certainly holds claims when it dies.
            poll(lambda: {d.node for d in self.relay.messages()} >= {node_name(i) for i in range(NODES)},
                 timeout=30, what="deliveries from every node")
            poll(lambda: len(http_acked) >= 80 and len(smtp_acked) >= 60, timeout=60,
                 what="load on every node")
            if HOLD:
                self.relay.hold(node_name(KILLED))
                poll(lambda: self.relay.held, timeout=20, what="a delivery of the doomed node held")
                time.sleep(0.3)  # let its other connections reach DATA too
            killed.set()
            self.nodes[KILLED].kill()
            kill_at = time.monotonic()
            sending_at_kill = {row[0]: int(row[1]) for row in self.sql(
                "SELECT id, attempts FROM outbox WHERE status = 'sending'")}
            held = list(self.relay.held)
            self.relay.release()
            print(f"kill -9 of node {KILLED} after {kill_at - started:.1f} s: "
                  f"{len(http_acked)} HTTP and {len(smtp_acked)} SMTP acknowledged, "
                  f"{len(held)} deliveries in DATA, {len(sending_at_kill)} outbox claims "
                  f"in flight", file=sys.stderr)
            time.sleep(3)  # the load goes on through the surviving nodes
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        load_end = time.monotonic()

        # ---- failover: the killed node's messages in DATA, sent by another node ----
        def redelivered():
            got = {}
            for d in self.relay.messages():
                if d.message_id in held and d.node != node_name(KILLED):
                    got.setdefault(d.message_id, d.at)
            return got if len(got) == len(held) else None
        if held:
            resent = poll(redelivered, timeout=20, what="the killed node's messages redelivered")
            failover = max(at - kill_at for at in resent.values())
            print(f"failover: the killed node's {len(held)} in-flight messages delivered by "
                  f"another node {min(at - kill_at for at in resent.values()):.2f}–"
                  f"{failover:.2f} s after the kill", file=sys.stderr)
            self.assertLessEqual(failover, 10.0)
            self.assertGreaterEqual(failover, LEASE_S * 2 / 3 - 0.5,
                                    "retried before the lease could have run out")

        # ---- cases: unique numbers, every acknowledgement exactly once ----
        cases = self.all_cases(0)
        numbers = [c["number"] for c in cases]
        self.assertEqual(len(numbers), len(set(numbers)), "case numbers are unique")
        by_word = defaultdict(list)
        for c in cases:
            by_word[c["subject"].split()[-1]].append(c["number"])
        for word, number in http_acked + smtp_acked:
            self.assertEqual(by_word.get(word), [number], word)
        acked_words = {w for w, _ in http_acked + smtp_acked}
        extra = set(by_word) - acked_words
        self.assertTrue(extra <= set(http_unknown) | set(smtp_unknown), sorted(extra)[:10])
        self.assertEqual([w for w, ns in by_word.items() if len(ns) > 1], [])

        # ---- SLA: every target fired exactly once per case, whatever node fired it ----
        multi = [c["number"] for c in cases if c.get("account") == "MULTI"]
        self.assertGreaterEqual(len(multi), len(http_acked))

        def sla_events(number):
            r = self.api(0, "GET", f"/cases/{number}/events?limit=1000")
            self.assertEqual(r.status, 200, str(r))
            return Counter((e["type"], e["data"].get("target")) for e in r.json["items"]
                           if e["type"] in ("sla_warning", "sla_breached"))

        want = Counter({("sla_warning", "response"): 1, ("sla_breached", "response"): 1,
                        ("sla_warning", "resolution"): 1, ("sla_breached", "resolution"): 1})
        # The last cases' resolution breaches fall due RESOLUTION_S after the load ended.
        time.sleep(max(0.0, load_end + RESOLUTION_S + 1 - time.monotonic()))
        pending = set(multi)
        deadline = time.monotonic() + 20
        while pending and time.monotonic() < deadline:
            for n in sorted(pending):
                got = sla_events(n)
                self.assertTrue(all(v <= 1 for v in got.values()), f"{n} fired twice: {got}")
                if got == want:
                    pending.discard(n)
            if pending:
                time.sleep(0.5)
        self.assertEqual(sorted(pending)[:10], [], "cases whose SLA timers did not all fire")

        # ---- outbox: every message delivered, exactly once ----
        poll(lambda: not self.sql("SELECT 1 FROM outbox WHERE status <> 'sent' LIMIT 1"),
             timeout=30, what="the outbox to drain")
        time.sleep(0.5)
        rows = self.sql("SELECT id, attempts, mail::json->>'message_id' FROM outbox")
        outbox = {row[2].strip("<>"): (int(row[0]), int(row[1])) for row in rows}
        self.assertEqual(len(outbox), len(rows), "Message-IDs are unique in the outbox")
        delivered = Counter(d.message_id.strip("<>") for d in self.relay.messages())
        self.assertEqual(set(delivered) - set(outbox), set(), "the sink got unknown mail")
        self.assertEqual(set(outbox) - set(delivered), set(), "outbox messages never delivered")
        duplicates = {mid: n for mid, n in delivered.items() if n > 1}
        first_by = {}
        for d in self.relay.messages():
            first_by.setdefault(d.message_id.strip("<>"), d.node)
        retried = [mid for mid, (oid, attempts) in outbox.items()
                   if str(oid) in sending_at_kill and attempts > sending_at_kill[str(oid)]]
        kinds = Counter(row[0] for row in self.sql("SELECT kind FROM outbox"))
        print(f"{len(cases)} cases ({len(http_acked)} HTTP, {len(smtp_acked)} SMTP "
              f"acknowledged; {len(extra)} stored while in flight at the kill), "
              f"{len(multi)} with SLA clocks, 4 SLA events each; {len(outbox)} outbox "
              f"messages {dict(kinds)}, {sum(delivered.values())} deliveries, "
              f"{len(duplicates)} duplicates; {len(retried)} claims of the killed node "
              f"retried by others", file=sys.stderr)
        # A duplicate needs the killed node to have had the relay's 250 and not yet its mark:
        # at most one per relay connection, and here its DATA was held, so none.
        for mid in duplicates:
            self.assertEqual(first_by[mid], node_name(KILLED), mid)
            self.assertGreaterEqual(outbox[mid][1], 2, mid)
        self.assertLessEqual(len(duplicates), RELAY_CONNECTIONS)
        self.assertGreaterEqual(len(retried), len(held))
        if retried:  # failover of every claim the killed node held, whatever its stage
            ats = [min(d.at for d in self.relay.messages()
                       if d.message_id.strip("<>") == mid and d.node != node_name(KILLED))
                   for mid in retried]
            print(f"failover of the killed node's {len(retried)} claims: delivered by another "
                  f"node {min(ats) - kill_at:.2f}–{max(ats) - kill_at:.2f} s after the kill",
                  file=sys.stderr)
            self.assertLessEqual(max(ats) - kill_at, 10.0)

        # The survivors are healthy.
        for i in range(NODES):
            if i != KILLED:
                self.assertTrue(self.nodes[i].alive(), self.nodes[i].read_log())


if __name__ == "__main__":
    unittest.main()
