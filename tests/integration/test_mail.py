"""The email channel end to end (R1.1, R2.3, R3, D1, D4, D5): a real `escala serve` with its
SMTP listener (`--smtp 127.0.0.1:0`) and a real relay (`--smtp-relay`, aiosmtpd from
mail_peers.py) that keeps every message Escala sends. Customers write with smtplib, swaks,
s-nail and mutt; the tests assert what the customer receives at the relay and what the case
shows through the API. Outbox retries cross their backoff with `--test-clock`.

Run with Debian's python3 (aiosmtpd): `ESCALA_BIN=../../build/escala /usr/bin/python3 -B -m
unittest -v test_mail`."""

import sys

sys.dont_write_bytecode = True

import base64
import datetime
import email.utils
import hashlib
import json
import os
import re
import shutil
import smtplib
import subprocess
import tempfile
import threading
import unittest
import urllib.parse
import uuid

from escala_harness import API, ESCALA_BIN, EscalaServer, ServerTestCase
from mail_peers import (Relay, SmtpAnswer, compose, make_msgid, mutt, poll, quoted, s_nail,
                        smtp_send, swaks)

INCIDENTS = "sosporte24@callmyway.com"  # incident registration, 24/7
REQUESTS = "suporte@callmyway.com"      # general requests
NUMBER = re.compile(r"CMW-\d{6}")
FULL_INCIDENT = ("Extensión: 204\nTráfico: saliente\nNúmero contraparte: +52 55 1234 5678\n"
                 "Fecha y hora: 26/11 10:30\n")
INCIDENT_LABELS_ES = {"extension": "Número de extensión o usuario afectado",
                      "direction": "Tráfico saliente o entrante",
                      "counterpart_number": "Número de la contraparte",
                      "occurred_at": "Fecha y hora aproximada del evento"}
INCIDENT_LABELS_EN = {"extension": "Affected extension or user",
                      "direction": "Outbound or inbound traffic",
                      "counterpart_number": "Counterpart number",
                      "occurred_at": "Approximate date and time of the event"}


def token(prefix="t"):
    """A word the full-text search finds exactly (letters and digits only)."""
    return prefix + uuid.uuid4().hex[:12]


def address_of(frm):
    return email.utils.parseaddr(frm)[1]


def instant(iso):
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))


def pdf_bytes():
    body = bytes(range(256)) * 40 + os.urandom(4096)  # binary: the clients use base64
    return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


class Sent:
    """What the listener answered to one customer message."""

    def __init__(self, answer, raw, message_id):
        self.answer = answer
        self.raw = raw
        self.message_id = message_id
        m = NUMBER.search(answer)
        self.number = m.group(0) if m else None

    def __repr__(self):
        return f"<Sent {self.answer!r}>"


class MailDeskCase(ServerTestCase):
    """A desk with the SMTP listener, a relay and a movable clock."""

    RELAY = True
    CONFIG = None  # TOML text for --config

    @classmethod
    def setUpClass(cls):
        cls.relay = Relay().start() if cls.RELAY else None
        cls.config_dir = tempfile.mkdtemp(prefix="escala-mail-conf-")
        args = ["--smtp", "127.0.0.1:0", "--test-clock"]
        if cls.relay:
            args += ["--smtp-relay", cls.relay.address]
        if cls.CONFIG:
            path = os.path.join(cls.config_dir, "escala.toml")
            with open(path, "w") as f:
                f.write(cls.CONFIG)
            args += ["--config", path]
        cls.SERVE_ARGS = tuple(args)
        try:
            super().setUpClass()
        except BaseException:
            cls._stop_peers()
            raise
        try:
            cls.read_ports()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def read_ports(cls):
        with open(os.path.join(cls.server.data_dir, "ports.json")) as f:
            cls.smtp_port = int(json.load(f)["smtp"])
        cls.http = cls.server.client()  # a restart listens on new ports

    @classmethod
    def _stop_peers(cls):
        if cls.relay:
            cls.relay.stop()
        shutil.rmtree(cls.config_dir, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls._stop_peers()

    # ---- customers write ---------------------------------------------------------------------
    def send(self, frm, subject, body="", to=INCIDENTS, **kw) -> Sent:
        """A customer's message through the SMTP listener (smtplib); the 250 names the case."""
        mid = kw.pop("message_id", "auto")
        if mid == "auto":
            mid = make_msgid()
        raw = compose(frm, to, subject, body, message_id=mid, **kw)
        return Sent(smtp_send(self.smtp_port, address_of(frm), to, raw), raw, mid)

    def send_raw(self, mail_from, raw, to=INCIDENTS) -> Sent:
        return Sent(smtp_send(self.smtp_port, mail_from, to, raw), raw, None)

    # ---- what Escala sent --------------------------------------------------------------------
    def delivered(self, to, number, count=1, timeout=10):
        """The messages about case `number` that reached `to` at the relay (waits for them)."""
        got = self.relay.wait_for(to=to, subject_has=f"[{number}]", count=count,
                                  timeout=timeout)
        ids = [m.message_id for m in self.relay.messages()]
        self.assertEqual(len(ids), len(set(ids)), "a message reached the relay twice")
        return got

    def outbox(self, number):
        r = self.api("GET", f"/cases/{number}/mail")
        self.assertEqual(r.status, 200, str(r))
        return r.json["items"]

    def all_sent(self, number):
        """Waits until nothing of the case's outbox is pending; answers the outbox."""
        def drained():
            items = self.outbox(number)
            return [items] if all(m["status"] in ("sent", "failed") for m in items) else None
        return poll(drained, what=f"the outbox of {number} to drain")[0]

    def search(self, word):
        r = self.api("GET", f"/cases?q={word}&limit=100")
        self.assertEqual(r.status, 200, str(r))
        return r.json["items"]

    def total_cases(self):
        r = self.api("GET", "/cases?limit=1")
        self.assertEqual(r.status, 200, str(r))
        return r.json["total"]

    def events_of(self, number, type_):
        return [e for e in self.events(number) if e["type"] == type_]

    def advance(self, seconds):
        r = self.api("POST", "/test/clock", {"advance_seconds": seconds})
        self.assertEqual(r.status, 200, str(r))
        return r.json

    def assertAcknowledges(self, msg, sent, to):
        """Threading and loop-safety headers of an automatic answer to `sent`."""
        self.assertEqual(msg.header("In-Reply-To").strip(), sent.message_id)
        self.assertIn(sent.message_id, msg.header("References"))
        self.assertEqual(msg.header("Auto-Submitted").strip().lower(), "auto-replied")
        self.assertEqual([address_of(a) for a in msg.header("To").split(",")], [to])
        self.assertEqual(msg.rcpt_tos, [to])
        self.assertTrue(msg.message_id)


class EmailDesk(MailDeskCase):
    """One desk for the behaviours of the channel; every test writes from its own address."""

    ACCOUNTS = [{"code": "ACME", "name": "Acme Telecom", "timezone": "America/Mexico_City"},
                {"code": "GLOBEX", "name": "Globex", "timezone": "America/Mexico_City"},
                {"code": "INIT", "name": "Initech", "language": "en"}]
    USERS = [("acme_cliente", "customer", None, "ACME"),
             ("globex_cliente", "customer", None, "GLOBEX"),
             ("agente", "agent", 1, None)]

    @classmethod
    def seed(cls):
        for code, contact in (("ACME", {"name": "Ana López", "email": "ana@acme.example"}),
                              ("GLOBEX", {"name": "Bob Smith", "email": "bob@globex.example"}),
                              ("INIT", {"name": "Peter Gibbons", "email": "peter@initech.example",
                                        "language": "en"})):
            r = cls.http.post(f"{API}/accounts/{code}/contacts", contact, token=cls.admin)
            if r.status != 201:
                raise RuntimeError(f"cannot create contact {contact}: {r}")

    # ---- the original is kept ------------------------------------------------------------
    def test_the_original_message_is_kept_byte_for_byte_and_shown_to_staff_only(self):
        sent = self.send("Ana López <ana@acme.example>", "Original íntegro",
                         "> no es cita\n.línea con punto\n" + FULL_INCIDENT)
        [created] = self.events_of(sent.number, "created")
        sha = created["data"]["raw_sha256"]
        r = self.api("GET", f"/cases/{sent.number}/messages/{sha}")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.header("Content-Type"), "message/rfc822")
        self.assertEqual(r.raw, sent.raw)
        r = self.api("GET", f"/cases/{sent.number}/messages/{sha}", as_="acme_cliente")
        self.assertEqual(r.status, 404, str(r))
        r = self.api("GET", f"/cases/{sent.number}/messages/{'0' * 64}")
        self.assertEqual(r.status, 404, str(r))

    def test_messages_have_an_html_alternative_where_text_stays_text(self):
        sent = self.send("Ana López <ana@acme.example>", "Alternativa HTML", FULL_INCIDENT)
        [ack] = self.delivered("ana@acme.example", sent.number)
        self.assertEqual(ack.msg.get_content_type(), "multipart/alternative")
        body = "Pruebe <Ctrl>+<Alt> & marque *99 <script>alert(1)</script>"
        r = self.api("POST", f"/cases/{sent.number}/replies", {"body": body})
        self.assertEqual(r.status, 201, str(r))
        reply = self.delivered("ana@acme.example", sent.number, count=2)[1]
        html = reply.msg.get_body(preferencelist=("html",)).get_content()
        self.assertNotIn("<script", html)
        self.assertIn("Pruebe &lt;Ctrl&gt;+&lt;Alt&gt; &amp; marque *99 "
                      "&lt;script&gt;alert(1)&lt;/script&gt;", html)
        self.assertIn(body, reply.text)  # the plain part says exactly what the agent wrote

    # ---- unidentified senders --------------------------------------------------------------
    def test_unknown_sender_on_a_public_provider_is_unidentified_until_staff_name_the_account(self):
        sent = self.send("Carla <carla.ventas@gmail.com>", "No entran llamadas", FULL_INCIDENT)
        case = self.case(sent.number)
        self.assertIsNone(case["account"])
        self.assertEqual(case["requester"]["email"], "carla.ventas@gmail.com")
        # Nobody of an account sees it.
        r = self.api("GET", f"/cases/{sent.number}", as_="acme_cliente")
        self.assertEqual(r.status, 404, str(r))
        # Bad names are refused, nothing changes.
        r = self.api("PATCH", f"/cases/{sent.number}", {"account": "NOPE"}, as_="agente")
        self.assertError(r, 400, field="account")
        r = self.api("PATCH", f"/cases/{sent.number}", {"account": "ACME"}, as_="acme_cliente")
        self.assertIn(r.status, (403, 404), str(r))
        # An L1 agent names the account: the case moves to it, with its history.
        r = self.api("PATCH", f"/cases/{sent.number}", {"account": "ACME"}, as_="agente")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["account"], "ACME")
        [ev] = self.events_of(sent.number, "customer_identified")
        self.assertEqual(ev["data"]["account"], "ACME")
        self.assertIsNone(ev["data"]["from"])
        self.assertEqual(self.api("GET", f"/cases/{sent.number}", as_="acme_cliente").status, 200)
        # Moving it again to another account is for supervisors and administrators.
        r = self.api("PATCH", f"/cases/{sent.number}", {"account": "GLOBEX"}, as_="agente")
        self.assertEqual(r.status, 403, str(r))

    # ---- 1. a complete incident --------------------------------------------------------------
    def test_incident_with_all_data_opens_the_case_and_acknowledges_with_its_number(self):
        sent = self.send("Ana López <ana@acme.example>", "Llamadas salientes fallan",
                         "Hola, desde la mañana las llamadas no salen.\n\n" + FULL_INCIDENT)
        self.assertTrue(sent.number, sent.answer)  # the 250 names the case
        case = self.case(sent.number)
        self.assertEqual(case["status"], "open")
        self.assertEqual(case["type"], "incident")
        self.assertEqual(case["channel"], "email")
        self.assertEqual(case["account"], "ACME")
        self.assertEqual(case["mailbox"], INCIDENTS)
        self.assertEqual(case["requester"]["email"], "ana@acme.example")
        self.assertEqual(case["missing_fields"], [])
        f = case["fields"]
        self.assertEqual(f["extension"], "204")
        self.assertEqual(f["direction"], "outbound")
        self.assertEqual(f["counterpart_number"], "+525512345678")
        # 10:30 in the account's zone (UTC-6).
        self.assertRegex(f["occurred_at"], r"^\d{4}-11-26T16:30:00Z$")
        self.assertIsNotNone(case["sla"]["response_due"])  # the SLA clock started
        self.assertTrue(case["sla"]["response"]["running"])
        self.assertFalse(case["sla"]["paused"])
        created = self.events_of(sent.number, "created")[0]
        self.assertEqual(created["data"]["from"], "ana@acme.example")
        self.assertEqual(created["data"]["mailbox"], INCIDENTS)

        [ack] = self.delivered("ana@acme.example", sent.number)
        self.assertIn(f"[{sent.number}]", ack.subject)
        self.assertAcknowledges(ack, sent, "ana@acme.example")
        self.assertEqual(address_of(ack.header("From")), INCIDENTS)
        self.assertIn(f"abrimos el caso {sent.number}", ack.text)
        self.assertEqual([m["kind"] for m in self.all_sent(sent.number)], ["acknowledgement"])

    def test_edited_acknowledgement_template_is_what_the_next_customer_gets(self):
        custom = {"acknowledgement": {"es": {
            "subject": "[{{number}}] Recibido: {{subject}}",
            "text": "Estimado/a {{name}}: su caso es el {{number}}.\n{{desk_name}}\n"}}}
        r = self.http.request("PUT", API + "/mail/templates", custom, token=self.tokens["agente"])
        self.assertEqual(r.status, 403, str(r))
        r = self.http.request("PUT", API + "/mail/templates", custom, token=self.admin)
        self.assertEqual(r.status, 200, str(r))
        self.addCleanup(self.http.request, "PUT", API + "/mail/templates", {},
                        token=self.admin)
        r = self.api("GET", "/mail/templates")
        self.assertEqual(r.json["overrides"], custom)
        self.assertIn("en", r.json["templates"]["acknowledgement"])  # English kept as shipped
        bad = {"acknowledgement": {"es": {"subject": "{{#number}}", "text": "x"}}}
        r = self.http.request("PUT", API + "/mail/templates", bad, token=self.admin)
        self.assertEqual(r.status, 400, str(r))
        who = "rita@acme.example"
        sent = self.send(f"Rita <{who}>", "Desvío no funciona", FULL_INCIDENT)
        [ack] = self.delivered(who, sent.number)
        self.assertEqual(ack.subject, f"[{sent.number}] Recibido: Desvío no funciona")
        self.assertEqual(ack.text.strip(), f"Estimado/a Rita: su caso es el {sent.number}.\n"
                         "CallMyWay Soporte")

    # ---- 2. required data (R2.3) -------------------------------------------------------------
    def test_missing_data_is_asked_for_and_the_review_starts_when_it_arrives(self):
        who = "carla@acme.example"
        sent = self.send(f"Carla Ruiz <{who}>", "No puedo llamar",
                         "Buenos días,\nno puedo llamar desde mi teléfono.\n\nExtensión: 301\n")
        n = sent.number
        case = self.case(n)
        self.assertEqual(case["status"], "awaiting_info")
        self.assertEqual(case["fields"], {"extension": "301"})
        self.assertEqual(case["missing_fields"],
                         ["direction", "counterpart_number", "occurred_at"])
        self.assertIsNone(case["sla"]["response_due"])  # the review has not started

        [ask] = self.delivered(who, n)
        self.assertAcknowledges(ask, sent, who)
        asked = re.findall(r"^\d+\. (.+)$", ask.text, re.M)
        self.assertEqual(asked, [INCIDENT_LABELS_ES[k] for k in
                                 ("direction", "counterpart_number", "occurred_at")])
        self.assertIn("La revisión del caso comienza cuando los recibamos", ask.text)

        # A reply with one of the three, quoting the request (whose list must not count).
        partial = self.send(f"Carla Ruiz <{who}>", "RE: " + ask.subject,
                            "Tráfico: entrante\n\nEl sábado, Soporte escribió:\n"
                            + quoted(ask.text) + "\n",
                            in_reply_to=ask.message_id, references=ask.message_id)
        self.assertEqual(partial.number, n, partial.answer)
        case = self.case(n)
        self.assertEqual(case["status"], "awaiting_info")
        self.assertEqual(case["fields"]["direction"], "inbound")
        self.assertEqual(case["missing_fields"], ["counterpart_number", "occurred_at"])
        [still] = self.relay.wait_for(to=who, subject_has="Aún faltan datos")
        self.assertIn(f"[{n}]", still.subject)
        self.assertEqual(re.findall(r"^\d+\. (.+)$", still.text, re.M),
                         [INCIDENT_LABELS_ES["counterpart_number"],
                          INCIDENT_LABELS_ES["occurred_at"]])
        self.assertEqual(still.header("In-Reply-To").strip(), partial.message_id)

        # The rest arrives: the case opens, the SLA clock starts, the customer is told.
        done = self.send(f"Carla Ruiz <{who}>", "RE: " + still.subject,
                         "Número contraparte: +52 55 8765 4321\nFecha y hora: 27/11 09:15\n\n"
                         "Carla\n\n" + quoted(still.text) + "\n",
                         in_reply_to=still.message_id,
                         references=f"{ask.message_id} {still.message_id}")
        self.assertEqual(done.number, n, done.answer)
        case = self.case(n)
        self.assertEqual(case["status"], "open")
        self.assertEqual(case["missing_fields"], [])
        self.assertEqual(case["fields"]["counterpart_number"], "+525587654321")
        self.assertEqual(case["fields"]["extension"], "301")  # earlier data kept
        self.assertIsNotNone(case["sla"]["response_due"])
        [complete] = self.relay.wait_for(to=who, subject_has="Datos completos")
        self.assertIn(f"[{n}]", complete.subject)
        self.assertIn("comenzamos su revisión", complete.text)
        kinds = [m["kind"] for m in self.all_sent(n)]
        self.assertEqual(kinds, ["missing_data", "still_missing", "data_complete"])
        self.assertEqual(len(self.events_of(n, "customer_message")), 2)

    # ---- 3. language and activations ---------------------------------------------------------
    def test_english_contact_gets_english_texts(self):
        who = "peter@initech.example"
        sent = self.send(f"Peter Gibbons <{who}>", "Calls drop",
                         "Hi, our calls drop after a minute.\n\nExtensión: 410\n")
        case = self.case(sent.number)
        self.assertEqual(case["requester"]["language"], "en")
        self.assertEqual(case["status"], "awaiting_info")
        [ask] = self.delivered(who, sent.number)
        self.assertIn("We need some details", ask.subject)
        self.assertTrue(ask.text.startswith("Hello Peter Gibbons,"), ask.text)
        self.assertEqual(re.findall(r"^\d+\. (.+)$", ask.text, re.M),
                         [INCIDENT_LABELS_EN[k] for k in
                          ("direction", "counterpart_number", "occurred_at")])
        self.assertIn("The review of the case starts when we receive them", ask.text)
        self.assertNotIn("Hola", ask.text)

    def test_activation_request_takes_the_account_id_from_the_senders_account(self):
        who = "peter@initech.example"
        sent = self.send(f"Peter Gibbons <{who}>", "Nueva extensión", "Please create:\n\n"
                         "Nombre: Laura Gómez\nExtensión: 250\nDID: sí\nTipo: SIP\n"
                         "Grupos: ninguno\n", to=REQUESTS)
        case = self.case(sent.number)
        self.assertEqual(case["type"], "activation")
        self.assertEqual(case["mailbox"], REQUESTS)
        self.assertEqual(case["fields"]["account_id"], "INIT")
        self.assertEqual(case["fields"]["user_full_name"], "Laura Gómez")
        self.assertEqual(case["fields"]["extension"], "250")
        self.assertIs(case["fields"]["direct_number"], True)
        self.assertEqual(case["fields"]["extension_type"], "sip")
        self.assertEqual(case["fields"]["ring_groups"], [])
        self.assertEqual(case["status"], "open")
        [ack] = self.delivered(who, sent.number)
        self.assertEqual(address_of(ack.header("From")), REQUESTS)
        self.assertIn(f"We received your message and opened case {sent.number}", ack.text)

    # ---- 4. threading ------------------------------------------------------------------------
    def test_threading_joins_by_number_in_an_encoded_subject_or_by_headers_never_by_text(self):
        who = "dora@acme.example"
        first = self.send(f"Dora <{who}>", "Llamadas sin audio en recepción",
                          "No se escucha nada.\n\n" + FULL_INCIDENT)
        n = first.number
        [ack] = self.delivered(who, n)

        # RE: RV: [CMW-…] in an RFC 2047 subject, no threading headers: joins.
        subject = f"RE: RV: [{n}] Llamadas sin audio en recepción"
        encoded = "=?UTF-8?B?" + base64.b64encode(subject.encode()).decode() + "?="
        raw = compose(f"Dora <{who}>", INCIDENTS, "PLACEHOLDER", "Sigue igual esta mañana.\n")
        raw = raw.replace(b"Subject: PLACEHOLDER", b"Subject: " + encoded.encode())
        joined = self.send_raw(who, raw)
        self.assertEqual(joined.number, n, joined.answer)
        msgs = self.events_of(n, "customer_message")
        self.assertEqual(len(msgs), 1)
        self.assertIn("Sigue igual esta mañana", msgs[0]["data"]["body"])
        self.assertEqual(msgs[0]["data"]["from"], who)

        # Another account's number: a new case, nothing disclosed or added.
        other = self.send("Bob Smith <bob@globex.example>", f"RE: [{n}] Llamadas",
                          "¿Y mi caso?\n")
        self.assertNotEqual(other.number, n, other.answer)
        self.assertEqual(self.case(other.number)["account"], "GLOBEX")
        # A number that does not exist: a new case.
        ghost = self.send(f"Dora <{who}>", "RE: [CMW-099999] Problema anterior",
                          "Les escribo por lo de antes.\n")
        self.assertNotIn(ghost.number, (n, None, other.number), ghost.answer)

        # In-Reply-To only, the subject changed: joins.
        by_header = self.send(f"Dora <{who}>", "Otra pregunta",
                              "¿Tienen novedades?\n", in_reply_to=ack.message_id)
        self.assertEqual(by_header.number, n, by_header.answer)
        # References only: joins too.
        by_refs = self.send(f"Dora <{who}>", "Más datos", "Pasa en todas las extensiones.\n",
                            references=f"{first.message_id} {ack.message_id}")
        self.assertEqual(by_refs.number, n, by_refs.answer)

        # The case's subject text alone, without the number or headers: a new case.
        by_text = self.send(f"Dora <{who}>", "RE: Llamadas sin audio en recepción",
                            "Otra sede con el mismo problema.\n")
        self.assertNotIn(by_text.number, (n, None), by_text.answer)
        self.assertEqual(len(self.events_of(n, "customer_message")), 3)

    # ---- 5. agent replies, resolution and confirmation ---------------------------------------
    def test_agent_reply_reaches_the_customer_threaded_and_internal_notes_do_not(self):
        who = "eva@acme.example"
        first = self.send(f"Eva <{who}>", "Troncal caída", FULL_INCIDENT)
        n = first.number
        [ack] = self.delivered(who, n)
        r = self.api("POST", f"/cases/{n}/replies", {"body": "NOTA-INTERNA: revisar el SBC",
                                                     "internal": True})
        self.assertEqual(r.status, 201, str(r))
        r = self.api("POST", f"/cases/{n}/replies",
                     {"body": "Estamos revisando la troncal SIP."}, as_="agente")
        self.assertEqual(r.status, 201, str(r))
        [_, reply] = self.delivered(who, n, count=2)
        self.assertIn("Estamos revisando la troncal SIP.", reply.text)
        self.assertIn(f"[{n}]", reply.subject)
        self.assertEqual(reply.header("In-Reply-To").strip(), ack.message_id)
        refs = reply.header("References")
        self.assertIn(first.message_id, refs)
        self.assertIn(ack.message_id, refs)
        self.assertEqual(reply.header("Auto-Submitted").strip().lower() or "no", "no")
        kinds = [m["kind"] for m in self.all_sent(n)]
        self.assertEqual(kinds, ["acknowledgement", "reply"])  # the note sent nothing
        self.assertFalse([m for m in self.relay.messages(to=who) if "NOTA-INTERNA" in m.text])
        self.assertEqual(self.api("GET", f"/cases/{n}/mail", as_="acme_cliente").status, 404)

    def resolved_case(self, who, subject, escalate=False):
        """A case by email, resolved by staff; answers (number, the 'resolved' message)."""
        first = self.send(f"Cliente <{who}>", subject, FULL_INCIDENT)
        n = first.number
        self.delivered(who, n)
        if escalate:
            r = self.api("POST", f"/cases/{n}/escalate", {"reason": "requiere L2"})
            self.assertEqual(r.status, 200, str(r))
        r = self.api("POST", f"/cases/{n}/resolve", {"resolution": "Reiniciamos la troncal."})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "resolved")
        [resolved] = self.relay.wait_for(to=who, subject_has="Resuelto")
        self.assertIn(f"[{n}]", resolved.subject)
        return n, resolved

    def confirm_link(self, msg):
        url = re.search(r"https?://\S+/confirm/\S+", msg.text).group(0)
        u = urllib.parse.urlsplit(url)
        return u.path + "?" + u.query, urllib.parse.parse_qs(u.query)["t"][0]

    def test_resolution_is_confirmed_by_a_reply_and_closes_the_case(self):
        who = "fabio@acme.example"
        n, resolved = self.resolved_case(who, "Sin tono en recepción")
        self.assertIn("Reiniciamos la troncal.", resolved.text)
        self.assertIn(f"/confirm/{n}?t=", resolved.text)
        answer = self.send(f"Cliente <{who}>", "RE: " + resolved.subject,
                           "Confirmo, ya funciona.\n\nGracias\n\n" + quoted(resolved.text),
                           in_reply_to=resolved.message_id)
        self.assertEqual(answer.number, n, answer.answer)
        case = self.case(n)
        self.assertEqual(case["status"], "closed")
        [closed] = self.relay.wait_for(to=who, subject_has="Caso cerrado")
        self.assertIn(f"[{n}]", closed.subject)
        self.assertEqual(closed.header("In-Reply-To").strip(), answer.message_id)

    def test_not_solved_reply_reopens_at_the_resolving_level(self):
        who = "gael@acme.example"
        n, resolved = self.resolved_case(who, "Llamadas entrantes cortadas", escalate=True)
        self.assertEqual(self.case(n)["level"], 2)
        answer = self.send(f"Cliente <{who}>", "RE: " + resolved.subject,
                           "No, sigue sin funcionar desde la sucursal.\n\n" + quoted(resolved.text),
                           in_reply_to=resolved.message_id)
        self.assertEqual(answer.number, n, answer.answer)
        case = self.case(n)
        self.assertEqual(case["status"], "open")
        self.assertEqual(case["level"], 2)
        self.assertTrue(self.events_of(n, "reopened"))
        [reopened] = self.relay.wait_for(to=who, subject_has="Caso reabierto")
        self.assertIn(f"[{n}]", reopened.subject)

    def test_confirm_link_shows_a_button_closes_only_on_post_and_expires_with_the_resolution(self):
        who = "hilda@acme.example"
        n, resolved = self.resolved_case(who, "Buzón de voz no responde")
        path, good = self.confirm_link(resolved)
        page = self.http.get(path)
        self.assertEqual(page.status, 200, str(page))
        self.assertIn("text/html", page.header("content-type"))
        self.assertIn(b'<form method="post"', page.raw)
        self.assertIn(b"<button", page.raw)
        # A GET (a link preview, a mail scanner) closes nothing.
        self.assertEqual(self.case(n)["status"], "resolved")
        wrong = self.http.get(f"/confirm/{n}?t=" + "0" * 32)
        self.assertEqual(wrong.status, 404)
        self.assertIn(b"no es v", wrong.raw)

        # Reopened and resolved again: the first link no longer works, the new one does.
        r = self.api("POST", f"/cases/{n}/reopen", {"reason": "el cliente llamó"})
        self.assertEqual(r.status, 200, str(r))
        self.advance(2)  # a later resolution instant
        r = self.api("POST", f"/cases/{n}/resolve", {"resolution": "Cambiamos el buzón."})
        self.assertEqual(r.status, 200, str(r))
        [_, again] = self.relay.wait_for(to=who, subject_has="Resuelto", count=2)
        path2, fresh = self.confirm_link(again)
        self.assertNotEqual(fresh, good)
        self.assertEqual(self.http.get(path).status, 404)
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        old = self.http.request("POST", f"/confirm/{n}", raw=f"t={good}".encode(), headers=form)
        self.assertEqual(old.status, 404)
        self.assertEqual(self.case(n)["status"], "resolved")
        self.assertEqual(self.http.get(path2).status, 200)
        done = self.http.request("POST", f"/confirm/{n}", raw=f"t={fresh}".encode(), headers=form)
        self.assertEqual(done.status, 200, str(done))
        self.assertEqual(self.case(n)["status"], "closed")
        self.relay.wait_for(to=who, subject_has="Caso cerrado")

    # ---- 6. loops and noise ------------------------------------------------------------------
    def test_auto_replies_and_out_of_office_are_recorded_never_answered(self):
        who = "ivan@acme.example"
        first = self.send(f"Ivan <{who}>", "Extensión bloqueada", FULL_INCIDENT)
        n = first.number
        [ack] = self.delivered(who, n)
        self.all_sent(n)
        total = self.total_cases()
        auto = self.send(f"Ivan <{who}>", "Re: " + ack.subject, "Estoy fuera hasta el lunes.\n",
                         in_reply_to=ack.message_id, headers={"Auto-Submitted": "auto-replied"})
        self.assertEqual(auto.number, n, auto.answer)
        self.assertIn("ignored", auto.answer)
        ooo = self.send(f"Ivan <{who}>", "Respuesta automática: " + ack.subject,
                        "Gracias por su mensaje. Estoy de vacaciones.\n",
                        in_reply_to=ack.message_id)
        self.assertIn("ignored", ooo.answer)
        self.assertEqual(self.total_cases(), total)  # no new case
        ignored = self.events_of(n, "mail_ignored")
        self.assertEqual(len(ignored), 2)
        self.assertTrue(all(e["internal"] for e in ignored))
        self.assertEqual(self.events_of(n, "customer_message"), [])
        self.assertEqual(len(self.outbox(n)), 1)  # nothing answered
        self.assertEqual(len(self.relay.messages(to=who)), 1)

    def test_delivery_status_bounce_is_recorded_on_the_case(self):
        who = "julia@acme.example"
        first = self.send(f"Julia <{who}>", "Fax no envía", FULL_INCIDENT)
        n = first.number
        [ack] = self.delivered(who, n)
        total = self.total_cases()
        dsn = (
            "From: Mail Delivery System <MAILER-DAEMON@mx.acme.example>\r\n"
            f"To: {INCIDENTS}\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            f"Message-ID: {make_msgid('dsn')}\r\n"
            f"Date: {email.utils.formatdate()}\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n"
            "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.acme.example\r\n\r\n"
            f"Final-Recipient: rfc822; {who}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
            "\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            f"From: {INCIDENTS}\r\nTo: {who}\r\nSubject: {ack.subject}\r\n"
            f"Message-ID: {ack.message_id}\r\n"
            "\r\n--B--\r\n").encode()
        bounce = self.send_raw("", dsn)
        self.assertEqual(bounce.number, n, bounce.answer)
        self.assertEqual(self.total_cases(), total)
        [ev] = self.events_of(n, "mail_bounced")
        self.assertTrue(ev["internal"])
        self.assertIn(who, ev["data"]["recipients"])
        self.assertEqual(ev["data"]["status"], "5.1.1")
        self.assertEqual(self.events_of(n, "customer_message"), [])
        self.assertEqual(len(self.outbox(n)), 1)

    def test_own_message_fed_back_is_ignored_without_an_answer(self):
        who = "karla@acme.example"
        first = self.send(f"Karla <{who}>", "Conferencia no conecta", FULL_INCIDENT)
        n = first.number
        [ack] = self.delivered(who, n)
        total = self.total_cases()
        echo = self.send_raw(INCIDENTS, ack.raw)  # a forwarding loop brings it back
        self.assertIn("ignored", echo.answer)
        self.assertEqual(self.total_cases(), total)
        self.assertEqual(len(self.outbox(n)), 1)
        self.assertEqual(self.events_of(n, "customer_message"), [])
        self.assertEqual(len(self.relay.messages(to=who)), 1)
        self.assertEqual(self.relay.messages(to=INCIDENTS), [])

    def test_automatic_answers_to_one_address_are_capped_per_day(self):
        who = "flood@ruido.example"
        numbers = [self.send(f"Flood <{who}>", f"Consulta {i}", f"Pregunta número {i}.\n",
                             to=REQUESTS).number for i in range(22)]
        self.assertEqual(len(set(numbers)), 22)
        queued = sum(len(self.all_sent(n)) for n in numbers)
        self.assertEqual(queued, 20)
        self.relay.wait_for(to=who, count=20)
        held = [n for n in numbers if self.events_of(n, "auto_reply_held")]
        self.assertEqual(held, numbers[20:])
        self.assertEqual(len(self.relay.messages(to=who)), 20)

    # ---- 7. exactly once ---------------------------------------------------------------------
    def test_same_message_id_by_smtp_then_mailgate_makes_one_case(self):
        word = token("dup")
        sent = self.send("Lalo <lalo@acme.example>", f"Caída {word}", FULL_INCIDENT)
        self.assertIn("new_case", sent.answer)
        gate = subprocess.run([ESCALA_BIN, "mailgate", "--data-dir", self.server.data_dir,
                               "--recipient", INCIDENTS], input=sent.raw, capture_output=True,
                              timeout=30)
        self.assertEqual(gate.returncode, 0, gate.stderr)
        self.assertEqual(gate.stdout.decode().split(), ["duplicate", sent.number])
        self.assertEqual([c["number"] for c in self.search(word)], [sent.number])
        self.assertEqual(len(self.all_sent(sent.number)), 1)

    def test_message_without_message_id_is_deduplicated_by_content(self):
        word = token("nomid")
        raw = compose("Mara <mara@acme.example>", INCIDENTS, f"Sin identificador {word}",
                      FULL_INCIDENT, message_id=None)
        self.assertNotIn(b"Message-ID", raw)
        first = self.send_raw("mara@acme.example", raw)
        again = self.send_raw("mara@acme.example", raw)
        self.assertIn("new_case", first.answer)
        self.assertIn("duplicate", again.answer)
        self.assertEqual(again.number, first.number)
        self.assertEqual([c["number"] for c in self.search(word)], [first.number])

    # ---- 8. the outbox -----------------------------------------------------------------------
    def outbox_item(self, number, pred, what):
        return poll(lambda: next((m for m in self.outbox(number) if pred(m)), None), what=what)

    def test_temporary_relay_refusal_is_retried_after_the_backoff(self):
        who = "nora@acme.example"
        self.relay.reject(who, 451)
        sent = self.send(f"Nora <{who}>", "Cola de espera muda", FULL_INCIDENT)
        n = sent.number
        item = self.outbox_item(n, lambda m: m["attempts"] == 1 and m["status"] == "pending",
                                "a first failed attempt")
        self.assertIn("451", item["last_error"])
        self.assertIsNone(item["sent_at"])
        self.advance(31)  # the first retry falls due; the relay still refuses
        item = self.outbox_item(n, lambda m: m["attempts"] == 2 and m["status"] == "pending",
                                "a second failed attempt")
        self.assertIn("451", item["last_error"])
        self.relay.accept(who)
        self.advance(61)  # the second retry waits a minute
        [ack] = self.delivered(who, n)
        self.assertAcknowledges(ack, sent, who)
        item = self.outbox_item(n, lambda m: m["status"] == "sent", "the message sent")
        self.assertEqual(item["attempts"], 3)
        self.assertEqual(self.relay.attempts_for(who), ["451", "451", "250"])
        self.assertEqual(self.events_of(n, "mail_failed"), [])

    def test_permanent_relay_refusal_fails_the_message_and_tells_the_case(self):
        who = "olga@acme.example"
        self.relay.reject(who, 550)
        try:
            sent = self.send(f"Olga <{who}>", "Grabaciones vacías", FULL_INCIDENT)
            n = sent.number
            item = self.outbox_item(n, lambda m: m["status"] == "failed", "the message failed")
        finally:
            self.relay.accept(who)
        self.assertIn("550", item["last_error"])
        self.assertEqual(item["attempts"], 1)
        [ev] = self.events_of(n, "mail_failed")
        self.assertTrue(ev["internal"])
        self.assertIn("550", ev["data"]["reason"])
        self.assertEqual(ev["data"]["to"], [who])
        self.assertEqual(self.relay.attempts_for(who), ["550"])
        self.assertEqual(self.relay.messages(to=who), [])
        r = self.api("GET", "/mail/outbox")
        self.assertEqual(r.status, 200, str(r))
        self.assertGreaterEqual(r.json["counts"]["failed"], 1)

    # Regression: SOCI's row typed SQLite INTEGER columns as int and truncated epoch
    # milliseconds (outbox created_at/sent_at read as 1970-01-07); now read via the C API.
    def test_case_mail_listing_shows_when_each_message_was_queued_and_sent(self):
        who = "pia@acme.example"
        sent = self.send(f"Pia <{who}>", "Marcación abreviada", FULL_INCIDENT)
        self.delivered(who, sent.number)
        [item] = self.all_sent(sent.number)
        created = instant(self.case(sent.number)["created_at"])
        self.assertLess(abs((instant(item["created_at"]) - created).total_seconds()), 60)
        self.assertLess(abs((instant(item["sent_at"]) - created).total_seconds()), 60)

    # ---- 9. attachments and HTML -------------------------------------------------------------
    def check_attachment(self, word, data, name):
        [found] = poll(lambda: self.search(word), what=f"the case with {word}")
        case = self.case(found["number"])
        self.assertEqual(case["account"], "ACME")
        [att] = case["attachments"]
        self.assertEqual(att["name"], name)
        self.assertEqual(att["size"], len(data))
        self.assertEqual(att["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(att["content_type"], "application/pdf")
        url = att["url"]
        self.assertTrue(url.startswith(f"{API}/cases/{case['number']}/attachments/"), url)
        got = self.http.get(url, token=self.admin)
        self.assertEqual(got.status, 200, str(got))
        self.assertEqual(got.raw, data)
        disposition = got.header("content-disposition")
        self.assertIn("attachment", disposition)
        self.assertIn("filename*=UTF-8''" + urllib.parse.quote(name, safe=""), disposition)
        mine = self.http.get(url, token=self.tokens["acme_cliente"])
        self.assertEqual(mine.status, 200, str(mine))
        self.assertEqual(mine.raw, data)
        theirs = self.http.get(url, token=self.tokens["globex_cliente"])
        self.assertEqual(theirs.status, 404, str(theirs))
        return case

    def attachment_file(self, data, name):
        d = tempfile.mkdtemp(prefix="escala-adj-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_attachment_with_a_utf8_name_sent_by_s_nail_is_kept_on_the_case(self):
        word, data, name = token("snail"), pdf_bytes(), "Captura de llamada ñ.pdf"
        p = s_nail(self.smtp_port, "gina@acme.example", INCIDENTS,
                   subject=f"Llamada cortada {word}", body="Adjunto la captura.\n" + FULL_INCIDENT,
                   attach=[self.attachment_file(data, name)])
        self.assertEqual(p.returncode, 0, p.stderr)
        case = self.check_attachment(word, data, name)
        created = self.events_of(case["number"], "created")[0]
        self.assertEqual(created["data"]["attachments"][0]["sha256"],
                         hashlib.sha256(data).hexdigest())

    def test_attachment_with_a_long_utf8_name_sent_by_mutt_is_kept_on_the_case(self):
        # mutt splits this name into RFC 2231 continuations, cutting "ó" between two of them.
        word, data = token("mutt"), pdf_bytes()
        name = "Captura de llamada ñ — extensión 204 del 26 de noviembre (sucursal Polanco).pdf"
        p = mutt(self.smtp_port, "hugo@acme.example", INCIDENTS,
                 subject=f"Llamada cortada {word}", body="Adjunto la captura.\n" + FULL_INCIDENT,
                 attach=[self.attachment_file(data, name)])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check_attachment(word, data, name)

    def test_attachment_on_a_follow_up_is_listed_with_the_message(self):
        who = "ines@acme.example"
        first = self.send(f"Ines <{who}>", "Eco en llamadas", FULL_INCIDENT)
        [ack] = self.delivered(who, first.number)
        data = pdf_bytes()
        more = self.send(f"Ines <{who}>", "RE: " + ack.subject, "Va la captura.\n",
                         in_reply_to=ack.message_id,
                         attachments=[("captura eco.pdf", "application/pdf", data)])
        self.assertEqual(more.number, first.number, more.answer)
        [msg] = self.events_of(first.number, "customer_message")
        self.assertEqual(msg["data"]["attachments"][0]["sha256"],
                         hashlib.sha256(data).hexdigest())
        case = self.case(first.number)
        [att] = case["attachments"]
        self.assertEqual(self.http.get(att["url"], token=self.admin).raw, data)

    def test_html_only_mail_becomes_text_without_markup(self):
        word = token("html")
        html = (f"<html><body><p>Hola, <b>la extensi&oacute;n 204</b> no marca ({word}).</p>"
                "<script>alert('xss')</script><img src=x onerror=\"alert(2)\">"
                "<p>Saludos</p></body></html>")
        sent = self.send("Lola <lola@acme.example>", f"Sin tono {word}", html=html)
        desc = self.case(sent.number)["description"]
        self.assertIn("la extensión 204", desc)
        self.assertIn("Saludos", desc)
        for bad in ("<", ">", "script", "onerror", "alert"):
            self.assertNotIn(bad, desc)

    def test_swaks_message_with_8bit_body_and_no_mime_headers_is_read_as_utf8(self):
        word = token("swaks")
        p = swaks(self.smtp_port, "memo@acme.example", INCIDENTS, subject=f"Ruido {word}",
                  body="Se escucha ruido.\n" + FULL_INCIDENT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        m = re.search(r"<-  250 2\.0\.0 Ok: (CMW-\d{6}) new_case", p.stdout)
        self.assertTrue(m, p.stdout)
        case = self.case(m.group(1))
        self.assertIn(word, case["subject"])
        self.assertIn("Se escucha ruido.", case["description"])
        self.assertEqual(case["fields"]["extension"], "204")
        self.assertEqual(case["status"], "open")

    # ---- 10. the mail gateway ----------------------------------------------------------------
    def mailgate(self, data_dir, message: bytes, *extra):
        return subprocess.run([ESCALA_BIN, "mailgate", "--data-dir", data_dir, *extra],
                              input=message, capture_output=True, timeout=30)

    def test_mailgate_stores_and_answers_sysexits(self):
        word = token("gate")
        raw = compose("Nico <nico@acme.example>", INCIDENTS, f"Por pasarela {word}",
                      FULL_INCIDENT)
        p = self.mailgate(self.server.data_dir, raw, "--recipient", INCIDENTS)
        self.assertEqual(p.returncode, 0, p.stderr)
        disposition, number = p.stdout.decode().split()
        self.assertEqual(disposition, "new_case")
        case = self.case(number)
        self.assertEqual(case["mailbox"], INCIDENTS)
        self.assertIn(word, case["subject"])
        self.delivered("nico@acme.example", number)

        # Empty stdin: refused (65), nothing stored.
        total = self.total_cases()
        p = self.mailgate(self.server.data_dir, b"", "--recipient", INCIDENTS)
        self.assertEqual(p.returncode, 65, p.stderr)
        # A wrong secret: 77.
        bad = tempfile.mkdtemp(prefix="escala-gate-")
        self.addCleanup(shutil.rmtree, bad, True)
        shutil.copy(os.path.join(self.server.data_dir, "ports.json"), bad)
        with open(os.path.join(bad, "mailgate.token"), "w") as f:
            f.write("not-the-secret\n")
        p = self.mailgate(bad, compose("x@acme.example", INCIDENTS, "x", "x"))
        self.assertEqual(p.returncode, 77, p.stderr)
        # The gateway's door takes only the desk's secret, not a user's token.
        r = self.http.request("POST", API + "/mail/inbound", raw=raw, token=self.admin,
                              headers={"Content-Type": "message/rfc822"})
        self.assertEqual(r.status, 401, str(r))
        self.assertEqual(self.total_cases(), total)

    def test_mailgate_asks_the_mta_to_retry_while_the_desk_is_stopped(self):
        stopped = EscalaServer()
        self.addCleanup(stopped.cleanup)
        stopped.start()
        stopped.stop()
        p = self.mailgate(stopped.data_dir, compose("x@acme.example", INCIDENTS, "x", "x"),
                          "--recipient", INCIDENTS)
        self.assertEqual(p.returncode, 75, p.stderr)

    # ---- 11. SMTP at the desk ----------------------------------------------------------------
    def test_rcpt_to_an_address_that_is_not_a_mailbox_is_refused(self):
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as s:
            s.ehlo("cliente.example")
            self.assertEqual(s.mail("x@acme.example")[0], 250)
            self.assertEqual(s.rcpt("nadie@callmyway.com")[0], 550)
            self.assertEqual(s.rcpt("alguien@otro.example")[0], 550)  # no open relay
            self.assertEqual(s.rcpt(INCIDENTS.upper())[0], 250)  # case-insensitive


class SmallMessages(MailDeskCase):
    """[smtp] max_message_bytes from the configuration file."""

    RELAY = False
    CONFIG = "[smtp]\nmax_message_bytes = 65536\n"

    def test_message_over_the_size_limit_gets_552_and_nothing_is_stored(self):
        word = token("big")
        raw = compose("x@acme.example", INCIDENTS, f"Grande {word}",
                      FULL_INCIDENT + "relleno " * 12800)  # about 100 KB
        self.assertGreater(len(raw), 100_000)
        with self.assertRaises(SmtpAnswer) as declared:  # SIZE= announced: refused at MAIL
            smtp_send(self.smtp_port, "x@acme.example", INCIDENTS, raw)
        self.assertEqual((declared.exception.stage, declared.exception.code), ("MAIL", 552))
        with self.assertRaises(SmtpAnswer) as sent:  # not announced: refused after DATA
            smtp_send(self.smtp_port, "x@acme.example", INCIDENTS, raw, size_option=False)
        self.assertEqual((sent.exception.stage, sent.exception.code), ("DATA", 552))
        self.assertEqual(self.total_cases(), 0)
        self.assertEqual(self.search(word), [])
        small = smtp_send(self.smtp_port, "x@acme.example", INCIDENTS,
                          compose("x@acme.example", INCIDENTS, "Pequeño", FULL_INCIDENT))
        self.assertIn("new_case", small)


class OutboxAcrossRestart(MailDeskCase):
    """The relay is down when the acknowledgement is due, and the desk crashes."""

    def test_message_queued_while_the_relay_is_down_is_delivered_after_a_restart(self):
        who = "pablo@acme.example"
        self.relay.stop()
        sent = self.send(f"Pablo <{who}>", "Sin registro SIP", FULL_INCIDENT)
        n = sent.number
        item = poll(lambda: next((m for m in self.outbox(n) if m["attempts"] >= 1
                                  and m["status"] == "pending"), None),
                    what="a failed attempt while the relay is down")
        self.assertTrue(item["last_error"])
        self.server.kill()
        self.relay.start()  # the same port
        self.server.start()
        self.read_ports()
        self.advance(31)
        [ack] = self.delivered(who, n)
        self.assertAcknowledges(ack, sent, who)
        item = poll(lambda: next((m for m in self.outbox(n) if m["status"] == "sent"), None),
                    what="the message marked sent")
        self.assertEqual(len(self.relay.messages(to=who)), 1)


class SmtpKill9(MailDeskCase):
    """SIGKILL while eight clients deliver: what got a 250 exists exactly once."""

    RELAY = False
    CLIENTS, PER_CLIENT = 8, 50

    def test_every_message_answered_250_survives_kill_9_exactly_once(self):
        run = token("k")
        lock = threading.Lock()
        acked, unknown = [], []

        def client(i):
            for j in range(self.PER_CLIENT):
                word = f"{run}c{i}m{j}"
                raw = compose(f"carga{i}@carga.example", REQUESTS, f"Carga {word}",
                              f"Mensaje {word}.\n")
                try:
                    answer = smtp_send(self.smtp_port, f"carga{i}@carga.example", REQUESTS,
                                       raw, timeout=10)
                except (OSError, smtplib.SMTPException, SmtpAnswer):
                    with lock:
                        unknown.append(word)
                    return  # the desk is gone
                with lock:
                    acked.append((word, NUMBER.search(answer).group(0)))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(self.CLIENTS)]
        for t in threads:
            t.start()
        poll(lambda: len(acked) >= 120, timeout=60, what="120 messages accepted")
        self.server.kill()
        for t in threads:
            t.join(30)
        self.assertLess(len(acked), self.CLIENTS * self.PER_CLIENT, "killed too late")
        print(f"kill -9 after {len(acked)} accepted, {len(unknown)} in flight", file=sys.stderr)
        self.server.start()
        self.read_ports()

        cases, cursor = [], None
        while True:
            r = self.api("GET", "/cases?limit=1000" + (f"&cursor={cursor}" if cursor else ""))
            self.assertEqual(r.status, 200, str(r))
            cases += r.json["items"]
            cursor = r.json["next"]
            if not cursor:
                break
        seen = {}
        for c in cases:
            word = c["subject"].split()[-1]
            seen.setdefault(word, []).append(c["number"])
        duplicated = {w: ns for w, ns in seen.items() if len(ns) > 1}
        self.assertEqual(duplicated, {})
        for word, number in acked:
            self.assertEqual(seen.get(word), [number], word)
        for word, number in acked[::10]:  # and the search finds them by their word
            self.assertEqual([c["number"] for c in self.search(word)], [number])
        # Anything else stored was in flight at the kill (at most one per client).
        self.assertLessEqual(len(cases) - len(acked), self.CLIENTS)
        self.assertTrue(set(seen) - {w for w, _ in acked} <= set(unknown))



class SlaNotificationMail(MailDeskCase):
    """D6 by email: warnings and breaches reach the assignee and the supervisors at their
    addresses, not the quiet ones; they are notifications (Auto-Submitted: auto-generated),
    never part of the customer's conversation."""

    ACCOUNTS = [{"code": "ACME", "name": "Acme Telecom", "timezone": "America/Mexico_City"}]
    USERS = [("agente", "agent", 1, None), ("jefa", "supervisor", None, None),
             ("callado", "supervisor", None, None), ("guardia", "agent", 2, None)]

    def test_sla_warning_is_emailed_to_the_assignee_and_supervisors_but_not_the_quiet(self):
        r = self.api("PATCH", "/me", {"quiet": True}, as_="callado")
        self.assertEqual(r.status, 200, str(r))
        case = self.create_case({"type": "incident", "account": "ACME", "subject": "Caída total",
                                 "description": "Nadie puede llamar", "channel": "phone",
                                 "fields": {"extension": "204", "direction": "outbound",
                                            "counterpart_number": "+525512345678",
                                            "occurred_at": "2026-11-26T10:30:00-06:00"},
                                 "impact": {"affected": "all", "disruption": "outage"}})
        n = case["number"]
        self.assertEqual(case["severity"], "S1")
        r = self.api("PATCH", f"/cases/{n}", {"assignee": self.users["agente"]["id"]})
        self.assertEqual(r.status, 200, str(r))
        # A new S1 alerts the L2 agents at once (default rule), by email too.
        guardia = self.users["guardia"]["email"]
        [alert] = self.relay.wait_for(to=guardia, subject_has=f"[{n}]")
        self.assertEqual(alert.header("Auto-Submitted").strip().lower(), "auto-generated")
        self.advance(46 * 60)  # past 75 % of the 1 h response target
        agente, jefa = self.users["agente"]["email"], self.users["jefa"]["email"]
        [to_agent] = self.relay.wait_for(to=agente, subject_has=f"[{n}]")
        [to_boss] = self.relay.wait_for(to=jefa, subject_has=f"[{n}]")
        for m in (to_agent, to_boss):
            self.assertEqual(m.header("Auto-Submitted").strip().lower(), "auto-generated")
            self.assertIn(f"/cases/{n}", m.text)
        self.assertEqual(self.relay.messages(to=self.users["callado"]["email"]), [])
        # Not threaded into the customer's conversation.
        self.assertEqual(to_agent.header("In-Reply-To"), "")

if __name__ == "__main__":
    unittest.main()
