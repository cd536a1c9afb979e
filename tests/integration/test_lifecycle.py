"""Escalation levels (R4) and the case lifecycle of D4a, with its append-only history (D7)."""

import sys

sys.dont_write_bytecode = True

import unittest

from escala_harness import ServerTestCase, incident


class Levels(ServerTestCase):
    ACCOUNTS = [{"code": "LVL", "name": "Levels Co"}]
    USERS = [("l1", "agent", 1, None), ("l2", "agent", 2, None), ("l3", "agent", 3, None),
             ("supervisor", "supervisor", None, None), ("customer", "customer", None, "LVL")]

    def escalate(self, number, as_, reason="needs more expertise"):
        return self.api("POST", f"/cases/{number}/escalate", {"reason": reason}, as_=as_)

    def test_escalate_l1_l2_l3_then_409(self):
        n = self.create_case(incident("LVL"))["number"]
        r = self.escalate(n, "l1")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["level"], 2)
        r = self.escalate(n, "l2")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["level"], 3)
        r = self.escalate(n, "l3")
        self.assertError(r, 409, code="invalid_transition")
        self.assertEqual(self.case(n)["level"], 3)
        r = self.escalate(n, "admin")
        self.assertError(r, 409)
        escalations = [e["data"] for e in self.events(n) if e["type"] == "escalated"]
        self.assertEqual([(e["from"], e["to"]) for e in escalations], [(1, 2), (2, 3)])
        self.assertEqual(escalations[0]["reason"], "needs more expertise")

    def test_l1_agent_cannot_escalate_an_l2_case(self):
        n = self.create_case(incident("LVL"))["number"]
        self.assertEqual(self.escalate(n, "l1").status, 200)
        r = self.escalate(n, "l1")
        self.assertError(r, 403, code="forbidden")
        self.assertEqual(self.case(n)["level"], 2)
        # Nor act on it otherwise.
        self.assertError(self.api("POST", f"/cases/{n}/resolve", {"resolution": "x"}, as_="l1"), 403)
        self.assertError(self.api("PATCH", f"/cases/{n}", {"severity": "S1", "reason": "x"},
                                  as_="l1"), 403)
        # An agent at a higher level may.
        self.assertEqual(self.escalate(n, "l3").json["level"], 3)

    def test_lower_level_agent_cannot_reply_publicly_on_a_higher_case(self):
        n = self.create_case(incident("LVL"))["number"]
        self.escalate(n, "l1")
        r = self.api("POST", f"/cases/{n}/replies", {"body": "¿Reinició?", "pending": True},
                     as_="l1")
        self.assertError(r, 403)
        self.assertEqual(self.case(n)["status"], "open")
        r = self.api("POST", f"/cases/{n}/replies", {"body": "¿Reinició?", "pending": True},
                     as_="l2")
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "pending_customer")

    # Regression (fixed): the level check on severity can be bypassed through the impact. An L1 agent gets
    # 403 for PATCH {"severity":"S1","reason":"x"} on an L2 case, but
    # PATCH /api/v1/cases/{n} {"impact":{"affected":"all","disruption":"outage"}} as the same
    # L1 agent -> 200 with "severity":"S1" and a severity_changed event. D4a: only agents at
    # the case's level or above act on it (core::update_impact has no acts_at_level check).
    def test_lower_level_agent_cannot_change_severity_through_impact(self):
        n = self.create_case(incident("LVL", impact={"affected": "one",
                                                     "disruption": "degraded"}))["number"]
        self.escalate(n, "l1")
        self.assertError(self.api("PATCH", f"/cases/{n}", {"severity": "S1", "reason": "x"},
                                  as_="l1"), 403)
        r = self.api("PATCH", f"/cases/{n}", {"impact": {"affected": "all",
                                                          "disruption": "outage"}}, as_="l1")
        self.assertError(r, 403)
        self.assertEqual(self.case(n)["severity"], "S3")

    # Regression (fixed): D4a gives "customer says not solved / reopen" to C and A (agent at the case's
    # level or above), but an L1 agent reopens a case resolved at L2:
    # POST /api/v1/cases/{n}/reopen {"reason":"x"} as L1 -> 200 "status":"open","level":2
    # (expected 403; core::reopen has no acts_at_level check for agents).
    def test_lower_level_agent_cannot_reopen_a_higher_case(self):
        n = self.create_case(incident("LVL"))["number"]
        self.escalate(n, "l1")
        self.assertEqual(self.api("POST", f"/cases/{n}/resolve", {"resolution": "ok"},
                                  as_="l2").status, 200)
        r = self.api("POST", f"/cases/{n}/reopen", {"reason": "x"}, as_="l1")
        self.assertError(r, 403)
        self.assertEqual(self.case(n)["status"], "resolved")

    # Regression (fixed): D4a lets "A or S" record a confirmation given by phone, A being an agent at the
    # case's level or above, but an L1 agent closes a case resolved at L2:
    # POST /api/v1/cases/{n}/confirm as L1 -> 200 "status":"closed" (expected 403).
    def test_lower_level_agent_cannot_confirm_a_higher_case(self):
        n = self.create_case(incident("LVL"))["number"]
        self.escalate(n, "l1")
        self.api("POST", f"/cases/{n}/resolve", {"resolution": "ok"}, as_="l2")
        r = self.api("POST", f"/cases/{n}/confirm", as_="l1")
        self.assertError(r, 403)
        self.assertEqual(self.case(n)["status"], "resolved")

    def test_supervisor_escalates(self):
        n = self.create_case(incident("LVL"))["number"]
        r = self.escalate(n, "supervisor")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["level"], 2)

    def test_customer_cannot_escalate(self):
        n = self.create_case(incident(), as_="customer")["number"]
        r = self.escalate(n, "customer")
        self.assertError(r, 403)
        self.assertEqual(self.case(n)["level"], 1)
        self.assertNotIn("escalated", self.event_types(n))

    def test_escalate_needs_a_reason(self):
        n = self.create_case(incident("LVL"))["number"]
        self.assertError(self.api("POST", f"/cases/{n}/escalate", {}, as_="l1"), 400, field="reason")
        self.assertError(self.escalate(n, "l1", reason="  "), 400, field="reason")
        self.assertEqual(self.case(n)["level"], 1)

    def test_escalate_while_awaiting_info_is_allowed(self):
        n = self.create_case(incident("LVL", fields={}))["number"]
        r = self.escalate(n, "l1")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual((r.json["level"], r.json["status"]), (2, "awaiting_info"))

    def test_escalate_pending_customer_reopens(self):
        n = self.create_case(incident("LVL"))["number"]
        r = self.api("POST", f"/cases/{n}/replies", {"body": "¿Nos confirma la hora?",
                                                      "pending": True}, as_="l1")
        self.assertEqual(r.json["status"], "pending_customer")
        r = self.escalate(n, "l1")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual((r.json["level"], r.json["status"]), (2, "open"))

    def test_resolved_and_closed_cases_cannot_be_escalated(self):
        n = self.create_case(incident("LVL"))["number"]
        self.api("POST", f"/cases/{n}/resolve", {"resolution": "done"}, as_="l1")
        self.assertError(self.escalate(n, "l1"), 409)
        self.api("POST", f"/cases/{n}/confirm", as_="customer")
        self.assertEqual(self.case(n)["status"], "closed")
        self.assertError(self.escalate(n, "l1"), 409)


class Lifecycle(ServerTestCase):
    ACCOUNTS = [{"code": "LIFE", "name": "Life Co"}]
    USERS = [("l1", "agent", 1, None), ("l2", "agent", 2, None),
             ("supervisor", "supervisor", None, None), ("customer", "customer", None, "LIFE")]

    def act(self, n, action, body=None, as_="l1"):
        return self.api("POST", f"/cases/{n}/{action}", body or {}, as_=as_)

    def test_full_lifecycle_and_history(self):
        # awaiting_info -> open (data) -> pending_customer -> open (customer) -> escalated ->
        # severity change -> note -> resolved (L2) -> closed -> reopened at L2.
        c = self.create_case(incident(fields={"extension": "101"},
                                      impact={"affected": "one", "disruption": "degraded"}),
                             as_="customer")
        n = c["number"]
        self.assertEqual(c["status"], "awaiting_info")
        self.assertError(self.act(n, "resolve", {"resolution": "x"}), 409)
        r = self.api("PATCH", f"/cases/{n}", {"fields": {
            "direction": "outbound", "counterpart_number": "+56 2 2760 9072",
            "occurred_at": "2026-11-26T08:00:00-06:00"}}, as_="l1")
        self.assertEqual(r.json["status"], "open")
        self.assertError(self.act(n, "confirm", as_="customer"), 409)

        r = self.act(n, "replies", {"body": "¿Desde qué red llama?", "pending": True})
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "pending_customer")
        self.assertTrue(r.json["sla"]["paused"])
        self.assertIsNotNone(r.json["sla"]["response_met_at"])  # first public reply by a person

        r = self.act(n, "replies", {"body": "Desde la oficina central"}, as_="customer")
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "open")
        self.assertFalse(r.json["sla"]["paused"])

        r = self.act(n, "escalate", {"reason": "carrier issue"})
        self.assertEqual(r.json["level"], 2)
        r = self.api("PATCH", f"/cases/{n}", {"severity": "S2", "reason": "several sites"},
                     as_="l2")
        self.assertEqual(r.json["severity"], "S2")
        r = self.act(n, "replies", {"body": "ticket con el carrier #123", "internal": True},
                     as_="l2")
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "open")

        r = self.act(n, "resolve", {"resolution": "ruta corregida"}, as_="l2")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "resolved")
        self.assertIsNotNone(r.json["sla"]["resolved_at"])
        self.assertTrue(r.json["sla"]["paused"])
        self.assertError(self.act(n, "resolve", {"resolution": "again"}, as_="l2"), 409)
        self.assertError(self.act(n, "replies", {"body": "x", "pending": True}, as_="l2"), 409)

        r = self.act(n, "confirm", as_="customer")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "closed")
        self.assertIsNotNone(r.json["closed_at"])
        self.assertError(self.act(n, "confirm", as_="customer"), 409)
        self.assertError(self.act(n, "replies", {"body": "gracias"}, as_="customer"), 409)
        self.assertError(self.act(n, "replies", {"body": "x"}, as_="l2"), 409)

        r = self.act(n, "reopen", {"reason": "falla otra vez"}, as_="customer")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "open")
        self.assertEqual(r.json["level"], 2)  # the level that resolved it
        self.assertIsNone(r.json["closed_at"])
        self.assertIsNone(r.json["sla"]["resolved_at"])

        events = self.events(n, as_="l2")
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
        self.assertEqual([e["type"] for e in events], [
            "created",
            "fields_updated", "status_changed",          # data completed -> open
            "reply", "status_changed",                   # pending -> pending_customer
            "customer_message", "status_changed",        # customer writes -> open
            "escalated",
            "severity_changed",
            "note",
            "resolved", "status_changed",
            "status_changed",                            # confirmed -> closed
            "reopened", "status_changed",
        ])
        statuses = [(e["data"]["from"], e["data"]["to"]) for e in events
                    if e["type"] == "status_changed"]
        self.assertEqual(statuses, [("awaiting_info", "open"), ("open", "pending_customer"),
                                    ("pending_customer", "open"), ("open", "resolved"),
                                    ("resolved", "closed"), ("closed", "open")])
        for e in events:
            self.assertTrue(e["at"].endswith("Z"))
            self.assertIn("role", e["actor"])
        self.assertEqual(events[0]["actor"]["role"], "customer")
        self.assertEqual(events[7]["actor"]["role"], "agent")
        self.assertEqual(events[10]["data"]["level"], 2)
        self.assertEqual(events[13]["data"]["level"], 2)
        ats = [e["at"] for e in events]
        self.assertEqual(ats, sorted(ats))
        # The history is append-only: what was read before is unchanged, and total agrees.
        r = self.api("GET", f"/cases/{n}/events", as_="l2")
        self.assertEqual(r.json["total"], len(events))
        self.assertEqual(r.json["items"], events)
        self.assertEqual(self.case(n)["version"], len(events))

    def test_reopen_a_resolved_case_when_customer_says_not_solved(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.act(n, "resolve", {"resolution": "reinicio"})
        r = self.act(n, "reopen", {"reason": "sigue igual"}, as_="customer")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual((r.json["status"], r.json["level"]), ("open", 1))

    def test_reopen_requires_resolved_or_closed_and_a_reason(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.assertError(self.act(n, "reopen", {"reason": "x"}), 409)
        self.act(n, "resolve", {"resolution": "done"})
        self.assertError(self.act(n, "reopen", {}, as_="customer"), 400, field="reason")
        self.assertEqual(self.case(n)["status"], "resolved")

    def test_customer_writing_on_a_resolved_case_keeps_it_resolved(self):
        # D4a: a message on a resolved case reopens it only when it says "not solved"
        # (that is the reopen action); a plain message is recorded and changes nothing else.
        n = self.create_case(incident("LIFE"))["number"]
        self.act(n, "resolve", {"resolution": "done"})
        r = self.act(n, "replies", {"body": "Gracias, lo probaré mañana"}, as_="customer")
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "resolved")
        self.assertEqual(self.event_types(n)[-1], "customer_message")

    def test_closed_case_data_is_frozen(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.act(n, "resolve", {"resolution": "done"})
        self.act(n, "confirm", as_="customer")
        r = self.api("PATCH", f"/cases/{n}", {"fields": {"extension": "999"}}, as_="customer")
        self.assertError(r, 409)
        r = self.api("PATCH", f"/cases/{n}", {"severity": "S1", "reason": "x"}, as_="l1")
        self.assertError(r, 409)
        self.assertEqual(self.case(n)["fields"]["extension"], "101")

    def test_agent_records_phone_confirmation(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.act(n, "resolve", {"resolution": "done"})
        r = self.act(n, "confirm", as_="supervisor")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "closed")
        last = self.events(n)[-1]
        self.assertEqual(last["data"]["reason"], "confirmation_recorded")

    def test_resolve_from_pending_customer(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.act(n, "replies", {"body": "¿Sigue fallando?", "pending": True})
        r = self.act(n, "resolve", {"resolution": "sin respuesta, se corrigió"})
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["status"], "resolved")

    def test_customer_cannot_resolve(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.assertError(self.act(n, "resolve", {"resolution": "solved it myself"}, as_="customer"),
                         403)
        self.assertEqual(self.case(n)["status"], "open")

    def test_resolve_needs_a_resolution(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.assertError(self.act(n, "resolve", {}), 400, field="resolution")
        self.assertError(self.act(n, "resolve", {"resolution": " \n"}), 400, field="resolution")
        self.assertEqual(self.case(n)["status"], "open")

    def test_pending_on_awaiting_info_stays(self):
        n = self.create_case(incident("LIFE", fields={}))["number"]
        r = self.act(n, "replies", {"body": "Necesitamos la extensión", "pending": True})
        self.assertEqual(r.status, 201, str(r))
        self.assertEqual(r.json["status"], "awaiting_info")
        self.assertIsNone(r.json["sla"]["response_met_at"])  # the clock has not started

    def test_customer_writing_on_open_case_keeps_it_open(self):
        n = self.create_case(incident("LIFE"))["number"]
        r = self.act(n, "replies", {"body": "¿Alguna novedad?"}, as_="customer")
        self.assertEqual(r.json["status"], "open")
        self.assertEqual(self.event_types(n)[-1], "customer_message")

    def test_internal_note_does_not_stop_the_response_clock(self):
        n = self.create_case(incident("LIFE"))["number"]
        r = self.act(n, "replies", {"body": "revisando CDRs", "internal": True})
        self.assertIsNone(r.json["sla"]["response_met_at"])
        r = self.act(n, "replies", {"body": "Estamos revisando"})
        self.assertIsNotNone(r.json["sla"]["response_met_at"])
        met = r.json["sla"]["response_met_at"]
        r = self.act(n, "replies", {"body": "Seguimos"})
        self.assertEqual(r.json["sla"]["response_met_at"], met)  # only the first counts

    def test_internal_and_pending_together_is_400(self):
        n = self.create_case(incident("LIFE"))["number"]
        r = self.act(n, "replies", {"body": "x", "internal": True, "pending": True})
        self.assertError(r, 400, field="pending")
        self.assertEqual(self.case(n)["status"], "open")

    def test_empty_reply_is_400(self):
        n = self.create_case(incident("LIFE"))["number"]
        self.assertError(self.act(n, "replies", {"body": ""}), 400, field="body")
        self.assertError(self.act(n, "replies", {}), 400, field="body")
        self.assertError(self.act(n, "replies", {"body": "x", "internal": "yes"}), 400,
                         field="internal")

    def test_events_pagination(self):
        n = self.create_case(incident("LIFE"))["number"]
        for i in range(7):
            self.act(n, "replies", {"body": f"nota {i}", "internal": True})
        all_events = self.events(n)
        seen, cursor = [], None
        while True:
            path = f"/cases/{n}/events?limit=3" + (f"&cursor={cursor}" if cursor else "")
            r = self.api("GET", path)
            self.assertEqual(r.status, 200, str(r))
            self.assertEqual(r.json["total"], len(all_events))
            seen += r.json["items"]
            cursor = r.json["next"]
            if not cursor:
                break
        self.assertEqual(seen, all_events)

    def test_assignment(self):
        n = self.create_case(incident("LIFE"))["number"]
        l1 = self.users["l1"]["id"]
        r = self.api("PATCH", f"/cases/{n}", {"assignee": l1}, as_="supervisor")
        self.assertEqual(r.status, 200, str(r))
        self.assertEqual(r.json["assignee"], l1)
        ev = self.events(n)[-1]
        self.assertEqual((ev["type"], ev["data"]["new"]), ("assigned", l1))
        # Agents may not assign others, nor assign to a customer.
        r = self.api("PATCH", f"/cases/{n}", {"assignee": self.users["l2"]["id"]}, as_="l1")
        self.assertError(r, 403)
        r = self.api("PATCH", f"/cases/{n}", {"assignee": self.users["customer"]["id"]},
                     as_="supervisor")
        self.assertError(r, 400, field="assignee")
        r = self.api("PATCH", f"/cases/{n}", {"assignee": 999999}, as_="supervisor")
        self.assertError(r, 400, field="assignee")
        # An agent releases their own case.
        r = self.api("PATCH", f"/cases/{n}", {"assignee": None}, as_="l1")
        self.assertEqual(r.status, 200, str(r))
        self.assertIsNone(r.json["assignee"])


if __name__ == "__main__":
    unittest.main()
