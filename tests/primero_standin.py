"""A local stand-in for a Primero instance (issue #9): a real HTTP server on 127.0.0.1 (random port, a
thread) implementing the API v2 endpoints Beacon's connector uses, with the request and response shapes of
Primero's documentation (primeroIMS/primero, doc/api/tokens/post.md, cases/get.md, cases/post.md,
referrals/id/post.md):

- ``POST /api/v2/tokens`` ``{"user": {"user_name", "password"}}`` -> 200, JWT in ``Authorization: Bearer``,
  body ``{"user_name": ...}``; 401 ``{"error": "Invalid User name or password."}``.
- ``GET /api/v2/cases?query=...`` -> ``{"data": [...], "metadata": {"total", "per", "page"}}``.
- ``POST /api/v2/cases`` ``{"data": {...}}`` -> 204 when the client gives ``data.id`` (409 if it exists),
  otherwise 200 ``{"data": {...record...}}``.
- ``POST /api/v2/cases/:id/referrals`` ``{"data": {"transitioned_to", "notes"}}`` -> 200 ``{"data": {"id",
  "type": "Referral", "record_id", "record_type": "Child", "transitioned_to", "transitioned_by", "notes",
  "created_at"}}``; 404 for an unknown case, 403 when ``transitioned_to`` may not receive referrals.

Every other request, and any request without a valid bearer token, is refused like Primero does (401/404).
It records what it received (``requests``) so tests can check exactly what left Beacon.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

QUERY_FIELDS = ("name", "name_nickname", "case_id_display", "other_agency_id")


def _error(status: int, resource: str, message: str) -> dict:
    return {"errors": [{"code": status, "resource": resource, "message": message}]}


class PrimeroStandIn:
    def __init__(self, *, user_name: str = "beacon", password: str = "primero-pass-1234", recipients=("cp_manager",)):
        self.user_name, self.password = user_name, password
        self.recipients = set(recipients)
        self.tokens: set[str] = set()
        self.cases: dict[str, dict] = {}
        self.referrals: list[dict] = []
        self.requests: list[dict] = []
        # (method, path) -> status to answer instead, once (simulating an outage or a redirect).
        self.fail_next: dict[tuple[str, str], int] = {}
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if body is not None:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if data:
                    self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    payload = json.loads(raw) if raw else None
                except ValueError:
                    payload = None
                standin.requests.append(
                    {"method": method, "path": parts.path, "query": parse_qs(parts.query), "headers": dict(self.headers),
                     "json": payload, "raw": raw}
                )  # fmt: skip
                forced = standin.fail_next.pop((method, parts.path), None)
                if forced:
                    headers = {"Location": "http://169.254.169.254/latest/"} if 300 <= forced < 400 else {}
                    return self._reply(forced, _error(forced, parts.path, "Forced"), headers)
                status, body, headers = standin.route(method, parts.path, parse_qs(parts.query), payload, self.headers)
                self._reply(status, body, headers)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> PrimeroStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- the documented endpoints --------------------------------------------------------------------------

    def _authorised(self, headers) -> bool:
        value = headers.get("Authorization", "")
        return value.startswith("Bearer ") and value[7:] in self.tokens

    def route(self, method: str, path: str, query: dict, payload, headers):
        if method == "POST" and path == "/api/v2/tokens":
            user = (payload or {}).get("user") or {}
            if user.get("user_name") == self.user_name and user.get("password") == self.password:
                token = f"jwtheader.{secrets.token_urlsafe(12)}.jwtsecret"
                self.tokens.add(token)
                return 200, {"user_name": self.user_name}, {"Authorization": f"Bearer {token}"}
            return 401, {"error": "Invalid User name or password."}, {}
        if not self._authorised(headers):
            return 401, _error(401, path, "Unauthorized"), {}
        if path == "/api/v2/cases" and method == "GET":
            text = (query.get("query") or [""])[0].lower()
            found = [
                case for case in self.cases.values()
                if not text or any(text in str(case.get(f, "")).lower() for f in QUERY_FIELDS)
            ]  # fmt: skip
            return 200, {"data": found, "metadata": {"total": len(found), "per": 20, "page": 1}}, {}
        if path == "/api/v2/cases" and method == "POST":
            data = dict((payload or {}).get("data") or {})
            client_id = data.get("id")
            if client_id and client_id in self.cases:
                return 409, _error(409, path, "Conflict"), {}
            case_id = client_id or str(uuid.uuid4())
            record = data | {
                "id": case_id, "owned_by": self.user_name, "created_at": datetime.now(UTC).isoformat(),
                "case_id_display": case_id.replace("-", "")[-7:], "registration_date": datetime.now(UTC).date().isoformat(),
            }  # fmt: skip
            self.cases[case_id] = record
            if client_id:
                return 204, None, {}
            return 200, {"data": record}, {}
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 5 and parts[:3] == ["api", "v2", "cases"] and parts[4] == "referrals":
            case_id = parts[3]
            if case_id not in self.cases:
                return 404, _error(404, path, "Not Found"), {}
            data = (payload or {}).get("data") or {}
            if data.get("transitioned_to") not in self.recipients:
                return 403, _error(403, "/api/v2/cases/referrals", "Forbidden"), {}
            referral = {
                "id": str(uuid.uuid4()), "type": "Referral", "record_id": case_id, "record_type": "Child",
                "transitioned_to": data["transitioned_to"], "transitioned_by": self.user_name,
                "notes": data.get("notes", ""), "created_at": datetime.now(UTC).isoformat(),
            }  # fmt: skip
            self.referrals.append(referral)
            return 200, {"data": referral}, {}
        return 404, _error(404, path, "Not Found"), {}
