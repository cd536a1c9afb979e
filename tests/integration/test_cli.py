"""The offline commands: `escala user add` and `escala calendar due`."""

import sys

sys.dont_write_bytecode = True

import shutil
import tempfile
import unittest

from escala_harness import API, EscalaServer, run_cli


class UserAdd(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="escala-cli-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def add(self, *extra, email="ana@cli.test", role="agent"):
        return run_cli("user", "add", "--data-dir", self.dir, "--email", email, "--name", "Ana",
                       "--role", role, "--password", "password-123", *extra)

    def test_creates_a_user_on_a_fresh_data_dir(self):
        r = self.add("--level", "2", "--specialty", "sip", "--specialty", "teams")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("ana@cli.test", r.stdout)

    def test_duplicate_email_exits_non_zero_with_a_message(self):
        self.assertEqual(self.add("--level", "1").returncode, 0)
        r = self.add("--level", "1")
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(r.stderr.strip(), "a message must explain the failure")
        self.assertIn("email", (r.stderr + r.stdout).lower())
        r = self.add("--level", "1", email="ANA@cli.test")
        self.assertNotEqual(r.returncode, 0, "emails are case-insensitive")

    def test_invalid_users_exit_non_zero(self):
        for extra, role in [((), "agent"),                  # agent without a level
                            (("--level", "4"), "agent"),
                            ((), "customer"),               # customer without an account
                            (("--account", "NOPE"), "customer"),
                            ((), "emperor")]:
            with self.subTest(extra=extra, role=role):
                r = self.add(*extra, role=role, email=f"{role}{len(extra)}@cli.test")
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertTrue(r.stderr.strip())

    def test_missing_required_option_exits_non_zero(self):
        r = run_cli("user", "add", "--data-dir", self.dir, "--email", "x@cli.test")
        self.assertNotEqual(r.returncode, 0)

    def test_works_while_the_server_runs(self):
        server = EscalaServer()
        try:
            self.assertEqual(server.add_user("admin@cli.test", "Admin", "admin",
                                             "password-123").returncode, 0)
            server.start()
            r = server.add_user("late@cli.test", "Late", "supervisor", "password-123")
            self.assertEqual(r.returncode, 0, r.stderr)
            http = server.client()
            token = http.login("late@cli.test", "password-123")
            me = http.get(API + "/me", token=token).json
            self.assertEqual(me["role"], "supervisor")
        finally:
            server.cleanup()


class CalendarDue(unittest.TestCase):
    def due(self, calendar, start, seconds):
        r = run_cli("calendar", "due", "--calendar", calendar, "--from", start,
                    "--seconds", str(seconds))
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def test_support_calendar_carries_over_the_night(self):
        # Friday 20:30 UTC-6: 30 min until 21:00, then Saturday opens at 07:00 (13:00Z).
        self.assertEqual(self.due("support", "2026-11-27T20:30:00-06:00", 3600),
                         "2026-11-28T13:30:00Z")

    def test_24x7_counts_every_second(self):
        self.assertEqual(self.due("24x7", "2026-11-27T10:00:00Z", 60), "2026-11-27T10:01:00Z")
        self.assertEqual(self.due("24x7", "2026-11-27T23:59:30Z", 60), "2026-11-28T00:00:30Z")

    def test_support_calendar_within_a_weekday(self):
        # Wednesday 10:00 UTC-6 (16:00Z) + 2 h of business time.
        self.assertEqual(self.due("support", "2026-11-25T10:00:00-06:00", 7200),
                         "2026-11-25T18:00:00Z")

    def test_zero_seconds(self):
        # Open: --from itself. Closed (Friday 22:00 UTC-6): the next opening, Sat 07:00.
        self.assertEqual(self.due("support", "2026-11-25T16:00:00Z", 0), "2026-11-25T16:00:00Z")
        self.assertEqual(self.due("support", "2026-11-27T22:00:00-06:00", 0),
                         "2026-11-28T13:00:00Z")

    def test_weekend_hours(self):
        # Saturday 16:30 UTC-6: 30 min to 17:00, then Sunday 07:00 + 30 min.
        self.assertEqual(self.due("support", "2026-11-28T16:30:00-06:00", 3600),
                         "2026-11-29T13:30:00Z")

    def test_bad_arguments_exit_non_zero(self):
        for args in [("--calendar", "mars", "--from", "2026-11-27T10:00:00Z", "--seconds", "60"),
                     ("--calendar", "24x7", "--from", "yesterday", "--seconds", "60"),
                     ("--calendar", "24x7", "--from", "2026-11-27T10:00:00Z", "--seconds", "-5"),
                     ("--calendar", "24x7", "--from", "2026-11-27T10:00:00Z")]:
            with self.subTest(args=args):
                r = run_cli("calendar", "due", *args)
                self.assertNotEqual(r.returncode, 0, r.stdout)


if __name__ == "__main__":
    unittest.main()
