"""The desk polling a hosted mailbox over IMAP: a real Dovecot on loopback, a real
`escala serve` with an [[imap]] table in its --config. Messages become cases, are marked
\\Seen on the server only after they are stored, and a restart neither loses nor repeats
anything. Standard library only; needs root (Dovecot drops to its own users)."""

import sys

sys.dont_write_bytecode = True

import json
import os
import pwd
import grp
import shutil
import subprocess
import tempfile
import time
import unittest

from escala_harness import ServerTestCase, EscalaServer
from mail_peers import compose, free_port, make_msgid, poll

DOVECOT = "/usr/sbin/dovecot"
MAILBOX = "sosporte24@callmyway.com"


class Dovecot:
    """A throw-away Dovecot: one user `desk` with a Maildir, IMAP on a loopback port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="escala-dovecot-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.proc = None
        user = pwd.getpwnam("dovecot")
        self.uid, self.gid = user.pw_uid, user.pw_gid
        self.home = os.path.join(self.dir, "home", "desk")
        self.maildir = os.path.join(self.home, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        for root, dirs, _ in os.walk(os.path.join(self.dir, "home")):
            os.chown(root, self.uid, self.gid)
            for d in dirs:
                os.chown(os.path.join(root, d), self.uid, self.gid)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("desk:{PLAIN}s3cret\n")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {self.dir}/run
state_dir = {self.dir}/state
log_path = {self.dir}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {self.uid}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.dir}/passwd
}}
userdb {{
  driver = static
  args = uid={self.uid} gid={self.gid} home={self.dir}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")

    def start(self):
        self.proc = subprocess.Popen([DOVECOT, "-F", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        import socket

        def up():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                return None
        poll(up, 10, "dovecot listening")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def deliver(self, raw: bytes, name: str) -> None:
        """Puts a message in the INBOX as a mail server would (tmp/ then new/)."""
        tmp = os.path.join(self.maildir, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(raw)
        os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, os.path.join(self.maildir, "new", name))

    def seen(self, name: str) -> bool:
        """Whether the message carries \\Seen (Maildir flag S in cur/)."""
        for f in os.listdir(os.path.join(self.maildir, "cur")):
            if f.startswith(name) and ":2," in f and "S" in f.split(":2,", 1)[1]:
                return True
        return False


@unittest.skipUnless(os.geteuid() == 0 and os.path.exists(DOVECOT), "needs root and Dovecot")
class ImapPollingTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot().start()
        cls.conf_dir = tempfile.mkdtemp(prefix="escala-imap-conf-")
        conf = os.path.join(cls.conf_dir, "escala.toml")
        with open(conf, "w") as f:
            f.write(f"""[[imap]]
url = "imap://127.0.0.1:{cls.dovecot.port}/INBOX"
username = "desk"
password = "s3cret"
mailbox = "{MAILBOX}"
interval_seconds = 1
""")
        cls.SERVE_ARGS = ("--config", conf)
        try:
            super().setUpClass()
        except BaseException:
            cls.dovecot.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dovecot.stop()
            shutil.rmtree(cls.conf_dir, ignore_errors=True)

    def cases_with(self, token):
        r = self.api("GET", f"/cases?q={token}")
        self.assertEqual(r.status, 200, str(r))
        return r.json["items"]

    def test_a_polled_message_becomes_a_case_and_is_marked_seen_only_after(self):
        token = "imapuno"
        raw = compose("Lucía <lucia@acme.example>", MAILBOX, f"Sin audio {token}",
                      "Extensión: 204\nTráfico: entrante\nNúmero contraparte: +52 55 1234 5678\n"
                      "Fecha y hora: 26/11 10:30\n", message_id=make_msgid())
        self.dovecot.deliver(raw, "m1")
        items = poll(lambda: self.cases_with(token) or None, 20, "the polled message's case")
        self.assertEqual(len(items), 1)
        case = items[0]
        self.assertEqual(case["channel"], "email")
        self.assertEqual(case["mailbox"], MAILBOX)
        self.assertEqual(case["type"], "incident")
        self.assertEqual(case["status"], "open")
        poll(lambda: self.dovecot.seen("m1") or None, 10, "\\Seen on the server")

    def test_a_message_seen_again_after_a_restart_is_not_a_second_case(self):
        token = "imapdos"
        mid = make_msgid()
        raw = compose("Lucía <lucia@acme.example>", MAILBOX, f"Cortes {token}", "hola",
                      message_id=mid)
        self.dovecot.deliver(raw, "m2")
        poll(lambda: self.cases_with(token) or None, 20, "the first copy's case")
        poll(lambda: self.dovecot.seen("m2") or None, 10, "\\Seen on the server")
        # The same message arrives again unseen (a crash between store and mark looks like
        # this to the desk, as does a user marking it unread): restart and poll.
        self.server.stop()
        self.dovecot.deliver(raw, "m2-again")
        self.server.start()
        type(self).http = self.server.client()  # a restart listens on a new port
        poll(lambda: self.dovecot.seen("m2-again") or None, 20, "the copy marked \\Seen")
        self.assertEqual(len(self.cases_with(token)), 1, "one case for one Message-ID")


if __name__ == "__main__":
    unittest.main()
