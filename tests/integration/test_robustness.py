"""Concurrent creation (consecutive numbers, D1) and durability across a crash (kill -9)."""

import sys

sys.dont_write_bytecode = True

import threading
import time
import unittest

from escala_harness import (TEST_DB, ADMIN_EMAIL, ADMIN_PASSWORD, API, EscalaServer, ServerTestCase,
                            case_id, incident)


class Concurrency(ServerTestCase):
    ACCOUNTS = [{"code": "CONC", "name": "Concurrent"}]
    THREADS = 16
    PER_THREAD = 20

    def test_concurrent_creations_get_distinct_consecutive_numbers(self):
        before = self.api("GET", "/cases?limit=1").json
        results, errors = [], []
        lock = threading.Lock()
        start = threading.Barrier(self.THREADS)

        def worker(t):
            mine = []
            try:
                start.wait(10)
                for i in range(self.PER_THREAD):
                    r = self.http.post(API + "/cases", incident("CONC", subject=f"t{t} n{i}"),
                                       token=self.admin)
                    if r.status != 201:
                        raise AssertionError(str(r))
                    mine.append((r.json["number"], r.json["subject"]))
            except Exception as e:  # reported below
                with lock:
                    errors.append(repr(e))
            with lock:
                results.extend(mine)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        total = self.THREADS * self.PER_THREAD
        self.assertEqual(len(results), total)
        ids = sorted(case_id(n) for n, _ in results)
        self.assertEqual(len(set(ids)), total, "duplicate numbers")
        self.assertEqual(ids, list(range(ids[0], ids[0] + total)), "numbers are not consecutive")
        highest_before = case_id(before["items"][0]["number"]) if before["items"] else 0
        self.assertEqual(ids[0], highest_before + 1)
        # Every acknowledged case is stored with its own data.
        listed = self.api("GET", "/cases?limit=1000&account=CONC").json
        self.assertEqual(listed["total"], total)
        stored = {c["number"]: c["subject"] for c in listed["items"]}
        self.assertEqual(stored, dict(results))
        # And each has its own, well-formed history.
        for n, _ in results[:: max(1, total // 10)]:
            events = self.events(n)
            self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
            self.assertEqual(events[0]["type"], "created")

    def test_concurrent_updates_of_one_case_keep_a_gapless_history(self):
        n = self.create_case(incident("CONC"))["number"]
        errors = []

        def worker(t):
            for i in range(10):
                r = self.http.post(API + f"/cases/{n}/replies",
                                   {"body": f"nota {t}-{i}", "internal": True}, token=self.admin)
                if r.status != 201:
                    errors.append(str(r))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        events = self.events(n)
        notes = [e["data"]["body"] for e in events if e["type"] == "note"]
        self.assertEqual(len(notes), 80)
        self.assertEqual(len(set(notes)), 80)
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))


class Durability(unittest.TestCase):
    """Acknowledged cases survive kill -9; numbers are never reused after a restart."""

    def setUp(self):
        self.server = EscalaServer()
        self.addCleanup(self.server.cleanup)  # runs even when setUp fails
        r = self.server.add_user(ADMIN_EMAIL, "Admin", "admin", ADMIN_PASSWORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.server.start()

    def test_acknowledged_cases_survive_kill_9(self):
        http = self.server.client()
        token = http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        acked, lock = [], threading.Lock()
        stop = threading.Event()

        def worker(t):
            i = 0
            while not stop.is_set():
                try:
                    r = http.post(API + "/cases", incident(subject=f"durable {t}-{i}"),
                                  token=token, timeout=5)
                except OSError:
                    return  # the server is gone
                if r.status == 201:
                    with lock:
                        acked.append((r.json["number"], r.json["subject"]))
                i += 1

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                if len(acked) >= 50:
                    break
            time.sleep(0.005)
        # Crash while requests are still in flight.
        self.server.kill()
        stop.set()
        for t in threads:
            t.join(30)
        with lock:
            acked = list(acked)
        self.assertGreaterEqual(len(acked), 50)

        self.server.start()
        http = self.server.client()
        token = http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        for number, subject in acked:
            r = http.get(f"{API}/cases/{number}", token=token)
            self.assertEqual(r.status, 200, f"acknowledged {number} lost after kill -9: {r}")
            self.assertEqual(r.json["subject"], subject)
        listed = http.get(API + "/cases?limit=1000", token=token).json
        stored = sorted(case_id(c["number"]) for c in listed["items"])
        self.assertEqual(listed["total"], len(stored))
        self.assertGreaterEqual(len(stored), len(acked))
        # What was committed is a gapless prefix: no hole, no duplicate. (PostgreSQL's
        # promise is weaker by design: unique numbers; a transaction cut by the kill may
        # leave a gap.)
        if TEST_DB == "postgres":
            self.assertEqual(len(set(stored)), len(stored))
        else:
            self.assertEqual(stored, list(range(1, len(stored) + 1)))
        highest = max(case_id(n) for n, _ in acked)
        self.assertGreaterEqual(stored[-1], highest)
        r = http.post(API + "/cases", incident(subject="after the crash"), token=token)
        self.assertEqual(r.status, 201, str(r))
        self.assertGreater(case_id(r.json["number"]), highest, "a number was reused")
        if TEST_DB != "postgres":
            self.assertEqual(case_id(r.json["number"]), stored[-1] + 1)
        # The history of a case created before the crash is intact.
        events = http.get(f"{API}/cases/{acked[0][0]}/events", token=token).json["items"]
        self.assertEqual(events[0]["type"], "created")

    def test_graceful_restart_keeps_everything(self):
        http = self.server.client()
        token = http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        self.assertEqual(http.post(API + "/accounts", {"code": "KEEP", "name": "Keep"},
                                   token=token).status, 201)
        n = http.post(API + "/cases", incident("KEEP"), token=token).json["number"]
        http.post(f"{API}/cases/{n}/replies", {"body": "hola", "pending": True}, token=token)
        code = self.server.stop()
        self.assertEqual(code, 0, "SIGTERM should stop the server cleanly:\n"
                         + self.server.read_log())
        self.server.start()
        http = self.server.client()
        token = http.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        c = http.get(f"{API}/cases/{n}", token=token).json
        self.assertEqual((c["status"], c["account"]), ("pending_customer", "KEEP"))
        self.assertEqual(http.get(f"{API}/accounts/KEEP", token=token).status, 200)
        r = http.post(API + "/cases", incident("KEEP"), token=token)
        self.assertEqual(case_id(r.json["number"]), case_id(n) + 1)


class OneServerPerDesk(unittest.TestCase):
    """The SQLite desk's writer owns the numbering: a second server on the same data
    directory must refuse to start rather than hand out numbers twice."""

    def test_second_server_on_the_same_data_dir_refuses_to_start(self):
        first = EscalaServer()
        try:
            first.start()
            second = EscalaServer(data_dir=first.data_dir)
            with self.assertRaises(RuntimeError) as failure:
                second.start(timeout=10)
            self.assertIn("another escala serve", str(failure.exception))
            self.assertTrue(first.alive())
            self.assertEqual(first.client().get("/healthz").status, 200)
        finally:
            first.cleanup()


if __name__ == "__main__":
    unittest.main()
