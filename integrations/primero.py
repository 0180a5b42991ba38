"""Sending a Beacon referral to a Primero instance (CPIMS+ / GBVIMS+) through its documented API v2 (issue #9).

The calls, as documented in primeroIMS/primero ``doc/api``:

1. ``POST /api/v2/tokens`` with ``{"user": {"user_name": ..., "password": ...}}``: the JWT comes back in the
   ``Authorization: Bearer ...`` response header (a ``token`` in the body is accepted too).
2. Find the case: ``GET /api/v2/cases?query=<Beacon's opaque id>``. Beacon stores that id in the case's
   ``other_agency_id`` field and keeps an exact match only. The id is a keyed hash of the connection and the
   survivor's record: it reveals nothing and is the same each time, so a second referral of the same survivor
   finds the case created by the first instead of making a duplicate.
3. Otherwise create it: ``POST /api/v2/cases`` with ``{"data": {...}}``, carrying a client-generated ``id``
   (the documented answer is then ``204 No Content``; a ``200`` with the record is accepted too).
4. Refer it: ``POST /api/v2/cases/:id/referrals`` with ``{"data": {"transitioned_to": ..., "notes": ...}}``.

Only the referral's snapshot is sent: exactly the fields the officer chose to share with the partner when the
referral was sent, never the case or anything else about the survivor. Errors name the step and the HTTP
status only, never a response body (which could echo personal data). Every request goes through
``integrations.net`` (allow-list, no private addresses unless listed, no redirects).
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import urlencode

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from integrations import net

CASE_ID_FIELD = "other_agency_id"


class PrimeroError(Exception):
    """A step failed. The message names the step and the status, nothing about a person."""


def external_id(connection, case_person_id: int) -> str:
    digest = salted_hmac("integrations.primero.case", f"{connection.pk}:{case_person_id}", algorithm="sha256")
    return f"BEACON-{digest.hexdigest()[:20].upper()}"


def case_data(snapshot: dict, *, module_id: str, external: str) -> dict:
    """The Primero case fields for a referral's snapshot: only what it holds."""
    data: dict = {"module_id": module_id, CASE_ID_FIELD: external}
    if snapshot.get("full_name"):
        data["name"] = snapshot["full_name"]
        if snapshot.get("name"):
            data["name_nickname"] = snapshot["name"]
    elif snapshot.get("name"):
        data["name"] = snapshot["name"]
    if snapshot.get("age") is not None:
        data["age"] = snapshot["age"]
    if snapshot.get("sex") in {"female", "male"}:
        data["sex"] = snapshot["sex"]
    if snapshot.get("birth_date"):
        data["date_of_birth"] = str(snapshot["birth_date"])
    if snapshot.get("nationality"):
        data["nationality"] = list(snapshot["nationality"])
    if snapshot.get("languages"):
        data["language"] = list(snapshot["languages"])
    return data


def referral_notes(referral, snapshot: dict, *, consent_overridden: bool) -> str:
    """The referral's note in Primero: the Beacon reference, needs and urgency, and the shared safety notes
    and safe contact (only when the officer chose to share them)."""
    lines = [_("Referral %(ref)s from Beacon.") % {"ref": referral.reference}]
    if snapshot.get("needs"):
        lines.append(_("Needs: %(needs)s") % {"needs": ", ".join(snapshot["needs"])})
    if snapshot.get("urgency"):
        lines.append(_("Urgency: %(urgency)s") % {"urgency": snapshot["urgency"]})
    if snapshot.get("interpreter"):
        lines.append(_("An interpreter is needed."))
    if snapshot.get("safety_notes"):
        lines.append(_("Safety notes: %(notes)s") % {"notes": snapshot["safety_notes"]})
    if snapshot.get("safe_contact"):
        lines.append(_("Safe contact: %(phone)s") % {"phone": snapshot["safe_contact"]})
    if consent_overridden:
        lines.append(_("Sent without recorded consent, by an authorised override."))
    return "\n".join(lines)


class PrimeroClient:
    def __init__(self, connection):
        self.connection = connection
        self.base = connection.base_url.rstrip("/")
        self.token = ""

    def _call(self, step: str, method: str, path: str, payload: dict | None = None) -> net.Response:
        headers = {"Accept": "application/json"}
        body = None
        if payload is not None:
            body = json.dumps(payload).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = net.request(self.base + path, method=method, body=body, headers=headers)
        except net.DestinationRefused:
            raise
        except Exception as exc:  # noqa: BLE001 - any network failure ends the step with a data-free message
            raise PrimeroError(_("%(step)s: %(error)s") % {"step": step, "error": net.describe_error(exc)})
        if 300 <= response.status < 400:
            raise PrimeroError(
                _("%(step)s: redirect not followed (HTTP %(code)s).") % {"step": step, "code": response.status}
            )
        if not 200 <= response.status < 300:
            raise PrimeroError(_("%(step)s: Primero answered HTTP %(code)s.") % {"step": step, "code": response.status})
        return response

    @staticmethod
    def _json(step: str, response: net.Response) -> dict:
        if not response.body:
            return {}
        try:
            data = json.loads(response.body)
        except ValueError:
            raise PrimeroError(_("%(step)s: the answer is not JSON.") % {"step": step})
        return data if isinstance(data, dict) else {}

    def authenticate(self) -> str:
        step = _("Signing in")
        payload = {"user": {"user_name": self.connection.username, "password": self.connection.password}}
        response = self._call(step, "POST", "/api/v2/tokens", payload)
        value = response.headers.get("Authorization", "")
        token = value[7:].strip() if value.lower().startswith("bearer ") else ""
        token = token or str(self._json(step, response).get("token") or "")
        if not token:
            raise PrimeroError(_("%(step)s: no token in the answer.") % {"step": step})
        self.token = token
        return token

    def find_case(self, external: str) -> str | None:
        step = _("Finding the case")
        response = self._call(step, "GET", "/api/v2/cases?" + urlencode({"query": external}))
        for item in self._json(step, response).get("data") or []:
            if isinstance(item, dict) and item.get(CASE_ID_FIELD) == external and item.get("id"):
                return str(item["id"])
        return None

    def create_case(self, data: dict) -> str:
        step = _("Creating the case")
        case_id = str(uuid.uuid4())
        response = self._call(step, "POST", "/api/v2/cases", {"data": {"id": case_id, **data}})
        if response.status == 204:
            return case_id
        created = self._json(step, response).get("data") or {}
        return str(created.get("id") or case_id)

    def create_referral(self, case_id: str, data: dict) -> str:
        step = _("Creating the referral")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", case_id):
            raise PrimeroError(_("%(step)s: the case id given by Primero is not valid.") % {"step": step})
        response = self._call(step, "POST", f"/api/v2/cases/{case_id}/referrals", {"data": data})
        referral = self._json(step, response).get("data") or {}
        if isinstance(referral, list):
            referral = referral[0] if referral else {}
        if not referral.get("id"):
            raise PrimeroError(_("%(step)s: no referral id in the answer.") % {"step": step})
        return str(referral["id"])


def submit(connection, referral, *, known_case_id: str = "", consent_overridden: bool = False) -> dict:
    """Run the calls; returns {"case_id", "referral_id", "case_created"}. Raises PrimeroError or
    net.DestinationRefused."""
    snapshot = referral.snapshot
    client = PrimeroClient(connection)
    client.authenticate()
    external = external_id(connection, referral.case_person_id)
    case_id = known_case_id or client.find_case(external)
    created = False
    if not case_id:
        case_id = client.create_case(case_data(snapshot, module_id=connection.module_id, external=external))
        created = True
    notes = referral_notes(referral, snapshot, consent_overridden=consent_overridden)
    referral_id = client.create_referral(case_id, {"transitioned_to": connection.recipient, "notes": notes})
    return {"case_id": case_id, "referral_id": referral_id, "case_created": created}
