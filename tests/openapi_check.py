#!/usr/bin/env python3
"""Checks api/openapi.json against the routes of src/adapters/http_api/api.cpp (and of
src/adapters/http_api/mail_routes.cpp, which api.cpp hands the email routes to).

Python 3 standard library only. Run from anywhere:

    python3 tests/openapi_check.py [path/to/openapi.json]

Checks: the file is JSON (no duplicate keys) with 2-space indentation; it is an OpenAPI
3.0.3 document with the expected info, servers and bearer and cookie security (and the mailgate
scheme of the mail gateway); every $ref resolves;
every operation has a unique operationId, a summary, a description and responses; path
parameters are declared; every route the API serves (ROUTES below, kept by hand from
api.cpp and mail_routes.cpp) has its operation, and no operation is documented that the API does not serve;
the document can be embedded by src/app/server/openapi.cpp.in (CMake configure_file @ONLY
into a raw string literal). As a guard against drift, every literal route segment compared
in api.cpp or mail_routes.cpp must appear in ROUTES. Exits 1 on any failure.
"""

import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC_PATH = os.path.join(ROOT, "api", "openapi.json")
# OPENAPI_CHECK_API_CPP and OPENAPI_CHECK_MAIL_ROUTES_CPP point the drift check at other
# copies of api.cpp and mail_routes.cpp (for testing).
API_CPP = os.environ.get("OPENAPI_CHECK_API_CPP") or os.path.join(
    ROOT, "src", "adapters", "http_api", "api.cpp")
MAIL_ROUTES_CPP = os.environ.get("OPENAPI_CHECK_MAIL_ROUTES_CPP") or os.path.join(
    ROOT, "src", "adapters", "http_api", "mail_routes.cpp")
# The route sources the drift check scans.
ROUTE_SOURCES = [API_CPP, MAIL_ROUTES_CPP]

# (method, path) for every route Api::route handles. Keep in step with api.cpp and
# mail_routes.cpp (MailRoutes::public_route and MailRoutes::user_route).
ROUTES = [
    ("get", "/healthz"),
    ("head", "/healthz"),
    ("get", "/api/v1/openapi.json"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/auth/session"),
    ("post", "/api/v1/auth/session"),  # a browser signs in: HttpOnly cookie + CSRF token
    ("post", "/api/v1/auth/password"),
    ("get", "/api/v1/me"),
    ("patch", "/api/v1/me"),
    ("get", "/api/v1/me/views"),
    ("put", "/api/v1/me/views"),
    ("get", "/api/v1/notifications"),
    ("get", "/api/v1/stream"),  # live updates (Server-Sent Events)
    ("get", "/api/v1/reports/sla"),
    ("get", "/api/v1/reports/dashboard"),  # supervisor dashboard: backlog, created, breaches
    ("get", "/api/v1/calendars"),
    ("put", "/api/v1/calendars/{name}"),
    ("get", "/api/v1/history"),
    ("get", "/api/v1/config"),
    ("get", "/api/v1/canned-replies"),
    ("put", "/api/v1/canned-replies"),
    ("get", "/api/v1/fields/{type}"),
    ("get", "/api/v1/severity-suggestion"),
    ("post", "/api/v1/accounts"),
    ("get", "/api/v1/accounts"),
    ("get", "/api/v1/accounts/{code}"),
    ("patch", "/api/v1/accounts/{code}"),
    ("post", "/api/v1/accounts/{code}/contacts"),
    ("get", "/api/v1/accounts/{code}/contacts"),
    ("get", "/api/v1/accounts/{code}/billable-items"),
    ("post", "/api/v1/users"),
    ("get", "/api/v1/users"),
    ("post", "/api/v1/cases"),
    ("get", "/api/v1/cases"),
    ("get", "/api/v1/cases/{number}"),
    ("patch", "/api/v1/cases/{number}"),
    ("get", "/api/v1/cases/{number}/events"),
    ("post", "/api/v1/cases/{number}/replies"),
    ("post", "/api/v1/cases/{number}/escalate"),
    ("post", "/api/v1/cases/{number}/resolve"),
    ("post", "/api/v1/cases/{number}/confirm"),
    ("post", "/api/v1/cases/{number}/reopen"),
    ("get", "/api/v1/cases/{number}/attachments/{sha256}"),
    ("get", "/api/v1/cases/{number}/messages/{sha256}"),  # mail_routes.cpp
    ("get", "/api/v1/cases/{number}/mail"),
    ("post", "/api/v1/mail/inbound"),  # the mail gateway
    ("get", "/api/v1/mail/templates"),
    ("put", "/api/v1/mail/templates"),
    ("get", "/api/v1/mail/outbox"),
    ("get", "/confirm/{number}"),  # HTML page of the "resolved" email's signed link
    ("post", "/confirm/{number}"),
    ("post", "/api/v1/test/clock"),  # only with `escala serve --test-clock`
]
# Routes that work without a bearer token.
PUBLIC = {("get", "/healthz"), ("head", "/healthz"), ("get", "/api/v1/openapi.json"),
          ("post", "/api/v1/auth/login"), ("post", "/api/v1/auth/session"),
          ("post", "/api/v1/mail/inbound"),
          ("get", "/confirm/{number}"), ("post", "/confirm/{number}")}
# Public routes that authenticate by another scheme than the bearer token: their `security`
# (the other public routes have `security: []`).
OTHER_SECURITY = {("post", "/api/v1/mail/inbound"): [{"mailgateAuth": []}]}
# Query parameters of GET /api/v1/cases.
CASE_QUERY = {"status", "level", "severity", "type", "account", "assignee", "q", "limit",
              "cursor", "channel", "active", "sort"}
ERROR_STATUSES = {"400", "401", "403", "404", "409", "413", "429", "503"}
REQUIRED_SCHEMAS = {"Case", "CaseSla", "Event", "Account", "Contract", "Contact", "User",
                    "BillableItem", "Error", "Impact", "ActivationFields", "IncidentFields",
                    "CaseList", "EventList", "InboundResult", "OutboxMessage",
                    "OutboxMessageList", "MailTemplates"}
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}

failures = []


def fail(msg):
    failures.append(msg)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        fail(f"duplicate keys in one object: {sorted(dup)}")
    return dict(pairs)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        return None, "only local references are used here"
    node = doc
    for raw in ref[2:].split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None, f"no '{part}'"
    return node, None


def walk(node, where, visit):
    visit(node, where)
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, f"{where}/{k}", visit)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{where}/{i}", visit)


def check_refs(doc):
    count = 0

    def visit(node, where):
        nonlocal count
        if isinstance(node, dict) and "$ref" in node:
            count += 1
            target, err = resolve(doc, node["$ref"])
            if err:
                fail(f"{where}: $ref {node['$ref']} does not resolve ({err})")
            if len(node) > 1:
                fail(f"{where}: siblings of $ref are ignored in OpenAPI 3.0: {sorted(node)}")

    walk(doc, "#", visit)
    return count


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node, _ = resolve(doc, node["$ref"])
    return node


def check_schemas(doc):
    """Light structural checks on every schema object: required members exist."""
    def visit(node, where):
        if not isinstance(node, dict):
            return
        if isinstance(node.get("required"), list) and isinstance(node.get("properties"), dict):
            for name in node["required"]:
                if name not in node["properties"]:
                    fail(f"{where}: required '{name}' is not among its properties")
        if "nullable" in node and not isinstance(node["nullable"], bool):
            fail(f"{where}: nullable must be a boolean")

    walk(doc.get("components", {}).get("schemas", {}), "#/components/schemas", visit)


def check_operations(doc):
    ops = {}
    op_ids = {}
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/"):
            fail(f"path '{path}' does not start with /")
        templated = set(re.findall(r"{([^}]+)}", path))
        common = [deref(doc, p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in METHODS:
                continue
            where = f"{method.upper()} {path}"
            ops[(method, path)] = op
            oid = op.get("operationId")
            if not oid:
                fail(f"{where}: no operationId")
            elif oid in op_ids:
                fail(f"{where}: operationId '{oid}' also used by {op_ids[oid]}")
            else:
                op_ids[oid] = where
            for key in ("summary", "description"):
                if not op.get(key):
                    fail(f"{where}: no {key}")
            if not op.get("responses"):
                fail(f"{where}: no responses")
            elif not any(code.startswith("2") for code in op["responses"]):
                fail(f"{where}: no success response")
            params = common + [deref(doc, p) for p in op.get("parameters", [])]
            declared = {p.get("name") for p in params if p and p.get("in") == "path"}
            for name in templated - declared:
                fail(f"{where}: path parameter '{name}' is not declared")
            for name in declared - templated:
                fail(f"{where}: declares path parameter '{name}' not in the path")
            for p in params:
                if p and p.get("in") == "path" and p.get("required") is not True:
                    fail(f"{where}: path parameter '{p.get('name')}' must be required")
            expected_security = OTHER_SECURITY.get((method, path), [])
            if (method, path) in PUBLIC and op.get("security") != expected_security:
                fail(f"{where}: needs no bearer token: its security should be "
                     f"{json.dumps(expected_security)}")
            if (method, path) in OTHER_SECURITY and "401" not in op.get("responses", {}):
                fail(f"{where}: authenticates by {json.dumps(expected_security)} but "
                     f"documents no 401")
            if (method, path) not in PUBLIC and "security" in op:
                fail(f"{where}: should use the global bearerAuth security")
            if (method, path) not in PUBLIC and "401" not in op.get("responses", {}):
                fail(f"{where}: needs a token but documents no 401")
    return ops


def check_routes(ops):
    expected = set(ROUTES)
    for route in sorted(expected - set(ops)):
        fail(f"route {route[0].upper()} {route[1]} is served by api.cpp but not documented")
    for route in sorted(set(ops) - expected):
        fail(f"{route[0].upper()} {route[1]} is documented but api.cpp does not serve it "
             f"(not in ROUTES)")


def check_source_drift():
    """Every literal path segment api.cpp or mail_routes.cpp compares against must appear in
    ROUTES."""
    segments = {seg for _, path in ROUTES for seg in path.strip("/").split("/")}
    for source in ROUTE_SOURCES:
        name = os.path.basename(source)
        if not os.path.exists(source):
            print(f"note: {source} not found; drift check of {name} skipped")
            continue
        src = open(source, encoding="utf-8").read()
        literals = set(re.findall(r'\b(?:seg|s)\[\d\]\s*[!=]=\s*"([^"]+)"', src))
        literals |= set(re.findall(r'\baction\s*[!=]=\s*"([^"]+)"', src))
        for lit in sorted(literals - segments):
            fail(f"{name} routes on the segment '{lit}', which no documented route contains")


def check_embedding(text):
    if ")ESCALA_OPENAPI" in text:
        fail("contains ')ESCALA_OPENAPI', which would end the raw string in openapi.cpp.in")
    for m in re.finditer(r"@[A-Za-z0-9_./+-]+@", text):
        fail(f"contains '{m.group(0)}', which CMake configure_file @ONLY would substitute")


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else DOC_PATH
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        doc = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        print(f"FAIL: {path} is not valid JSON: {e}")
        return 1
    if text != json.dumps(doc, indent=2, ensure_ascii=False) + "\n":
        fail("not formatted as JSON with 2-space indentation (json.dumps(indent=2) + newline)")

    if doc.get("openapi") != "3.0.3":
        fail(f"openapi is {doc.get('openapi')!r}, expected '3.0.3'")
    info = doc.get("info", {})
    if info.get("title") != "Escala API" or info.get("version") != "0.1.0":
        fail("info.title must be 'Escala API' and info.version '0.1.0'")
    if "/api/v1/auth/login" not in info.get("description", ""):
        fail("info.description should say tokens come from /api/v1/auth/login")
    if doc.get("servers") != [{"url": "http://127.0.0.1:8080"}]:
        fail("servers must be [{'url': 'http://127.0.0.1:8080'}]")
    scheme = doc.get("components", {}).get("securitySchemes", {}).get("bearerAuth", {})
    if scheme.get("type") != "http" or scheme.get("scheme") != "bearer":
        fail("components.securitySchemes.bearerAuth must be http bearer")
    mailgate = doc.get("components", {}).get("securitySchemes", {}).get("mailgateAuth", {})
    if (mailgate.get("type") != "apiKey" or mailgate.get("in") != "header"
            or mailgate.get("name") != "Authorization"):
        fail("components.securitySchemes.mailgateAuth must be an apiKey in the header "
             "Authorization")
    # Every signed-in route takes a bearer token or the browser's session cookie.
    if doc.get("security") != [{"bearerAuth": []}, {"cookieAuth": []}]:
        fail("global security must be [{'bearerAuth': []}, {'cookieAuth': []}]")
    cookie = doc.get("components", {}).get("securitySchemes", {}).get("cookieAuth", {})
    if (cookie.get("type"), cookie.get("in"), cookie.get("name")) != ("apiKey", "cookie",
                                                                      "escala_session"):
        fail("components.securitySchemes.cookieAuth must be an apiKey in the cookie "
             "escala_session")
    missing = REQUIRED_SCHEMAS - set(doc.get("components", {}).get("schemas", {}))
    if missing:
        fail(f"components.schemas lacks {sorted(missing)}")
    statuses = set()
    for name, resp in doc.get("components", {}).get("responses", {}).items():
        statuses.add(name)
    used = set()
    for item in doc.get("paths", {}).values():
        for method, op in item.items():
            if method in METHODS:
                for code, resp in op.get("responses", {}).items():
                    if "$ref" in resp:
                        used.add(code)
    if ERROR_STATUSES - used:
        fail(f"no operation refers to a shared response for {sorted(ERROR_STATUSES - used)}")

    ref_count = check_refs(doc)
    check_schemas(doc)
    ops = check_operations(doc)
    check_routes(ops)
    check_source_drift()
    check_embedding(text)

    list_cases = ops.get(("get", "/api/v1/cases"), {})
    names = {deref(doc, p).get("name") for p in list_cases.get("parameters", [])}
    if names != CASE_QUERY:
        fail(f"GET /api/v1/cases parameters are {sorted(names)}, expected {sorted(CASE_QUERY)}")

    if failures:
        for msg in failures:
            print(f"FAIL: {msg}")
        print(f"{len(failures)} problem(s) in {path}")
        return 1
    print(f"OK: {path}: OpenAPI {doc['openapi']}, {len(doc['paths'])} paths, {len(ops)} "
          f"operations (all {len(ROUTES)} routes of api.cpp and mail_routes.cpp), "
          f"{len(doc['components']['schemas'])} schemas, {ref_count} $refs resolved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
