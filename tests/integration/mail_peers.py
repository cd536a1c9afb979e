"""Real mail peers for the email integration tests.

- Relay: an aiosmtpd server (Debian's python3-aiosmtpd, importable by /usr/bin/python3)
  on a loopback port that Escala uses as `--smtp-relay`. It keeps every delivered
  message (envelope and raw bytes) and answers 451 or 550 on demand, per recipient.
- Clients: smtplib (raw SMTP dialogue, so the tests see the 250 text that names the
  case), swaks, s-nail and mutt composing real messages.
- Messages: `compose()` builds a customer's message with the standard library.

Standard library plus aiosmtpd only; loopback only; every process started here is
stopped by its PID.
"""

import sys

sys.dont_write_bytecode = True

import email
import email.policy
import email.utils
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import threading
import time
from email.message import EmailMessage
from typing import Callable, Optional

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pyenv's python3 has no aiosmtpd: the suite says how to run it
    Controller = None

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback port free right now (aiosmtpd's Controller wants a fixed one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def poll(predicate: Callable[[], object], timeout: float = 10, what: str = "condition",
         interval: float = 0.02):
    """Calls predicate until it answers something true, up to a deadline; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# ---- the relay -------------------------------------------------------------------------------

class Delivered:
    """One message the relay accepted."""

    def __init__(self, mail_from: str, rcpt_tos: list, raw: bytes):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.raw = raw
        self.msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.at = time.monotonic()

    def header(self, name: str) -> str:
        v = self.msg.get(name)
        return "" if v is None else str(v)

    @property
    def subject(self) -> str:
        return self.header("Subject")

    @property
    def message_id(self) -> str:
        return self.header("Message-ID").strip()

    @property
    def text(self) -> str:
        part = self.msg.get_body(preferencelist=("plain",))
        return part.get_content().replace("\r\n", "\n") if part is not None else ""

    def __repr__(self):
        return f"<Delivered to={self.rcpt_tos} subject={self.subject!r}>"


class _RelayHandler:
    def __init__(self, relay: "Relay"):
        self.relay = relay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = self.relay._answer_for(address)
        self.relay._note_attempt(address, answer)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        self.relay._store(Delivered(envelope.mail_from, envelope.rcpt_tos, raw))
        return "250 2.0.0 Message accepted for delivery"


class Relay:
    """The outbound relay Escala delivers to. Rules: `reject(address, code)` makes RCPT
    to that address (or to everyone, with "*") answer 451 (temporary) or 550 (permanent)
    until `accept(address)` lifts it."""

    ANSWERS = {451: "451 4.3.0 Mailbox busy, try again later",
               550: "550 5.1.1 No such user here"}

    def __init__(self, port: int = None):
        if Controller is None:
            raise RuntimeError("aiosmtpd is missing: run the suite with /usr/bin/python3 "
                               "(Debian's python3-aiosmtpd)")
        self.port = port or free_port()
        self._cv = threading.Condition()
        self._messages: list = []
        self._rules: dict = {}
        self.attempts: list = []  # (address, answer or "250") in order
        self._controller = None
        self._started_once = False

    # ---- life ----
    def start(self) -> "Relay":
        """Listens on self.port (the same port again after stop()). A first start on a port
        that another process took since free_port() picked it moves to a fresh port."""
        for attempt in range(5):
            controller = Controller(_RelayHandler(self), hostname=LOOPBACK, port=self.port,
                                    decode_data=False, data_size_limit=50 * 1024 * 1024)
            try:
                controller.start()
            except (OSError, RuntimeError):
                if self._started_once or attempt == 4:
                    raise
                self.port = free_port()
                continue
            self._controller = controller
            self._started_once = True
            return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    # ---- rules ----
    def reject(self, address: str, code: int) -> None:
        with self._cv:
            self._rules[address.lower()] = code

    def accept(self, address: str) -> None:
        with self._cv:
            self._rules.pop(address.lower(), None)

    def _answer_for(self, address: str) -> Optional[str]:
        with self._cv:
            code = self._rules.get(address.lower(), self._rules.get("*"))
        return self.ANSWERS[code] if code else None

    def _note_attempt(self, address: str, answer: Optional[str]) -> None:
        with self._cv:
            self.attempts.append((address.lower(), answer[:3] if answer else "250"))
            self._cv.notify_all()

    def attempts_for(self, address: str) -> list:
        with self._cv:
            return [a for x, a in self.attempts if x == address.lower()]

    # ---- what arrived ----
    def _store(self, d: Delivered) -> None:
        with self._cv:
            self._messages.append(d)
            self._cv.notify_all()

    def messages(self, to: str = None, subject_has: str = None) -> list:
        with self._cv:
            out = list(self._messages)
        if to is not None:
            out = [m for m in out if to.lower() in [r.lower() for r in m.rcpt_tos]]
        if subject_has is not None:
            out = [m for m in out if subject_has in m.subject]
        return out

    def wait_for(self, to: str = None, subject_has: str = None, count: int = 1,
                 timeout: float = 10) -> list:
        """Waits until at least `count` matching messages arrived; answers all of them."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                got = self.messages(to, subject_has)
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"relay: {len(got)} of {count} messages to {to} with {subject_has!r} "
                        f"after {timeout} s; all: {self._messages!r}")
                self._cv.wait(min(left, 0.2))


# ---- composing customer messages ----------------------------------------------------------

def make_msgid(tag: str = "cliente") -> str:
    return email.utils.make_msgid(idstring=tag, domain="cliente.example")


def compose(frm: str, to: str, subject: str, body: str = "", *, message_id: str = "auto",
            in_reply_to: str = None, references: str = None, headers: dict = None,
            html: str = None, attachments: list = None, date: bool = True) -> bytes:
    """A customer's message as bytes (CRLF). message_id=None leaves it out; attachments
    are (filename, content_type, bytes)."""
    m = EmailMessage(policy=email.policy.SMTP)
    m["From"] = frm
    m["To"] = to
    m["Subject"] = subject
    if date:
        m["Date"] = email.utils.formatdate(localtime=False)
    if message_id == "auto":
        message_id = make_msgid()
    if message_id:
        m["Message-ID"] = message_id
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    for k, v in (headers or {}).items():
        m[k] = v
    if html is not None and not body:
        m.set_content(html, subtype="html")
    else:
        m.set_content(body)
        if html is not None:
            m.add_alternative(html, subtype="html")
    for name, ctype, data in attachments or []:
        maintype, subtype = ctype.split("/", 1)
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m.as_bytes()


def quoted(text: str) -> str:
    """A reply's quotation of an earlier message, as mail clients write it."""
    return "\n".join("> " + line if line else ">" for line in text.splitlines())


# ---- SMTP clients -----------------------------------------------------------------------------

class SmtpAnswer(Exception):
    def __init__(self, code: int, text: str, stage: str):
        super().__init__(f"{stage}: {code} {text}")
        self.code, self.text, self.stage = code, text, stage


def smtp_send(port: int, mail_from: str, rcpt_to, raw: bytes, timeout: float = 20,
              size_option: bool = True) -> str:
    """One SMTP transaction with smtplib; answers the text of the final 250 (which names
    the case) or raises SmtpAnswer with the refusing stage and code."""
    rcpts = [rcpt_to] if isinstance(rcpt_to, str) else list(rcpt_to)
    with smtplib.SMTP(LOOPBACK, port, timeout=timeout, local_hostname="cliente.example") as s:
        s.ehlo()
        opts = [f"SIZE={len(raw)}"] if size_option and s.has_extn("size") else []
        code, text = s.mail(mail_from, opts)
        if code != 250:
            raise SmtpAnswer(code, text.decode(), "MAIL")
        for r in rcpts:
            code, text = s.rcpt(r)
            if code not in (250, 251):
                raise SmtpAnswer(code, text.decode(), "RCPT")
        code, text = s.data(raw)
        if code != 250:
            raise SmtpAnswer(code, text.decode(), "DATA")
        return text.decode()


def swaks(port: int, frm: str, to: str, *, subject: str, body: str, headers: list = (),
          timeout: float = 30) -> subprocess.CompletedProcess:
    """Sends with swaks; its transcript (stdout) shows every server answer."""
    args = ["swaks", "--server", LOOPBACK, "--port", str(port), "--from", frm, "--to", to,
            "--helo", "cliente.example", "--header", f"Subject: {subject}", "--body", body,
            "--timeout", "20"]
    for h in headers:
        args += ["--add-header", h]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def s_nail(port: int, frm: str, to: str, *, subject: str, body: str, attach: list = (),
           timeout: float = 30) -> subprocess.CompletedProcess:
    """Sends with s-nail (v14.9) over SMTP, non-interactively, with attachments."""
    home = tempfile.mkdtemp(prefix="escala-snail-")
    try:
        args = ["s-nail", "-#", "-:/",
                "-S", "v15-compat", "-S", f"mta=smtp://{LOOPBACK}:{port}",
                "-S", "smtp-auth=none", "-S", "sendcharsets=utf-8", "-S", "ttycharset=utf-8",
                "-S", "hostname=cliente.example", "-S", "expandaddr",
                "-r", frm, "-s", subject]
        for f in attach:
            args += ["-a", f]
        args += [to]
        env = dict(os.environ, HOME=home, LC_ALL="C.UTF-8", MAILRC="/dev/null")
        return subprocess.run(args, input=body.encode("utf-8"), capture_output=True,
                              timeout=timeout, env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def mutt(port: int, frm: str, to: str, *, subject: str, body: str, attach: list = (),
         timeout: float = 30) -> subprocess.CompletedProcess:
    """Sends with mutt over SMTP (smtp_url), batch mode, with attachments."""
    home = tempfile.mkdtemp(prefix="escala-mutt-")
    try:
        args = ["mutt", "-n", "-F", "/dev/null",
                "-e", f"set smtp_url=smtp://{LOOPBACK}:{port}",
                "-e", f"set from='{frm}'", "-e", "set use_from=yes", "-e", "set realname=''",
                "-e", "set record=", "-e", "set copy=no", "-e", "set send_charset=utf-8",
                "-e", "set hostname=cliente.example",
                "-e", "set ssl_starttls=no", "-e", "set ssl_force_tls=no",
                "-s", subject]
        for f in attach:
            args += ["-a", f]
        args += ["--", to]
        env = dict(os.environ, HOME=home, LC_ALL="C.UTF-8", TMPDIR=home)
        return subprocess.run(args, input=body.encode("utf-8"), capture_output=True,
                              timeout=timeout, env=env)
    finally:
        shutil.rmtree(home, ignore_errors=True)
