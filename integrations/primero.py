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
    """A step failed. The message names the step and the status, nothing about a person.

    ``transient``: the failure may pass by itself (no answer, a connection error, HTTP 5xx or 429), so the send
    is retried; anything else (another 4xx, a redirect, an answer Beacon cannot read) needs a person.
    ``status``: the HTTP status, when there was an answer."""

    def __init__(self, message: str, *, status: int | None = None, transient: bool = False):
        super().__init__(message)
        self.status = status
        self.transient = transient


def is_transient(status: int) -> bool:
    return status == 429 or status >= 500


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

    def _call(
        self, step: str, method: str, path: str, payload: dict | None = None, accept: tuple[int, ...] = ()
    ) -> net.Response:
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
            message = _("%(step)s: %(error)s") % {"step": step, "error": net.describe_error(exc)}
            raise PrimeroError(message, transient=True) from None
        code = response.status
        if code in accept:
            return response
        if 300 <= code < 400:
            raise PrimeroError(
                _("%(step)s: redirect not followed (HTTP %(code)s).") % {"step": step, "code": code}, status=code
            )
        if not 200 <= code < 300:
            raise PrimeroError(
                _("%(step)s: Primero answered HTTP %(code)s.") % {"step": step, "code": code},
                status=code, transient=is_transient(code),
            )  # fmt: skip
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

    def create_case(self, data: dict, *, case_id: str = "", again: bool = False) -> str:
        """Create the case with the client-generated ``case_id``. ``again``: an earlier attempt sent this very
        id and its answer was lost, so "409 Conflict" (the id exists) means that attempt created it."""
        step = _("Creating the case")
        case_id = case_id or str(uuid.uuid4())
        accept = (409,) if again else ()
        response = self._call(step, "POST", "/api/v2/cases", {"data": {"id": case_id, **data}}, accept=accept)
        if response.status in (204, 409):
            return case_id
        created = self._json(step, response).get("data") or {}
        return str(created.get("id") or case_id)

    @staticmethod
    def _check_case_id(step: str, case_id: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", case_id):
            raise PrimeroError(_("%(step)s: the case id given by Primero is not valid.") % {"step": step})

    def list_referrals(self, case_id: str) -> list[dict]:
        """``GET /api/v2/cases/:id/referrals`` (doc/api/referrals/get.md): the case's referrals."""
        step = _("Listing the case's referrals")
        self._check_case_id(step, case_id)
        response = self._call(step, "GET", f"/api/v2/cases/{case_id}/referrals")
        return [item for item in self._json(step, response).get("data") or [] if isinstance(item, dict)]

    def create_referral(self, case_id: str, data: dict) -> str:
        step = _("Creating the referral")
        self._check_case_id(step, case_id)
        response = self._call(step, "POST", f"/api/v2/cases/{case_id}/referrals", {"data": data})
        referral = self._json(step, response).get("data") or {}
        if isinstance(referral, list):
            referral = referral[0] if referral else {}
        if not referral.get("id"):
            raise PrimeroError(_("%(step)s: no referral id in the answer.") % {"step": step})
        return str(referral["id"])


class Progress:
    """What a send has done so far, kept on its submission as each step succeeds (``save`` writes at once,
    outside any transaction): a retry resumes from there instead of doing a step twice."""

    def __init__(self, *, remote_case_id: str = "", case_created: bool = False, planned_case_id: str = "",
                 referral_baseline=None, referral_posted: bool = False, known_case_id: str = "",
                 claimed_referral_ids=(), save=None):  # fmt: skip
        self.remote_case_id = remote_case_id
        self.case_created = case_created
        self.planned_case_id = planned_case_id
        self.referral_baseline = list(referral_baseline or [])
        self.referral_posted = referral_posted
        self.known_case_id = known_case_id
        self.claimed_referral_ids = set(claimed_referral_ids)
        self._save = save or (lambda **fields: None)

    def save(self, **fields) -> None:
        for name, value in fields.items():
            setattr(self, name, value)
        self._save(**fields)


def _ours(item: dict, *, connection, progress: Progress) -> bool:
    """A referral on the case that an earlier attempt of this send made: not there before Beacon posted, made
    by Beacon's account, to the configured recipient, and not already another submission's."""
    ref_id = str(item.get("id") or "")
    return bool(
        ref_id
        and ref_id not in progress.referral_baseline
        and ref_id not in progress.claimed_referral_ids
        and item.get("transitioned_to") == connection.recipient
        and item.get("transitioned_by", connection.username) == connection.username
    )


def submit(connection, referral, *, known_case_id: str = "", consent_overridden: bool = False,
           progress: Progress | None = None) -> dict:  # fmt: skip
    """Run the calls; returns {"case_id", "referral_id", "case_created", "found_again"}. Raises PrimeroError or
    net.DestinationRefused.

    Safe to run again after a failure at any point (issue #9: retries never send twice): the case is created
    with an id chosen and saved beforehand (sent again, "409 Conflict" means it exists), and once a referral
    POST may have reached Primero, a retry first looks on the case for the referral it made
    (``found_again``) and posts only if there is none."""
    progress = progress or Progress(known_case_id=known_case_id)
    snapshot = referral.snapshot
    client = PrimeroClient(connection)
    client.authenticate()
    case_id = progress.remote_case_id
    if not case_id:
        external = external_id(connection, referral.case_person_id)
        # An earlier attempt chose an id and sent it: send it again (Primero's search may not show the case
        # yet), and "409 Conflict" means that attempt created it.
        again = bool(progress.planned_case_id)
        if not again:
            case_id = progress.known_case_id or client.find_case(external) or ""
        if case_id:
            progress.save(remote_case_id=case_id)
        else:
            if not again:
                progress.save(planned_case_id=str(uuid.uuid4()))
            data = case_data(snapshot, module_id=connection.module_id, external=external)
            case_id = client.create_case(data, case_id=progress.planned_case_id, again=again)
            progress.save(remote_case_id=case_id, case_created=True)
    result = {"case_id": case_id, "case_created": progress.case_created, "found_again": False}
    if progress.referral_posted:
        for item in client.list_referrals(case_id):
            if _ours(item, connection=connection, progress=progress):
                return result | {"referral_id": str(item["id"]), "found_again": True}
    else:
        # A case this send created has no referral yet; one found may have some, which are not ours.
        baseline = [] if progress.case_created else [str(i.get("id")) for i in client.list_referrals(case_id)]
        progress.save(referral_baseline=baseline, referral_posted=True)
    notes = referral_notes(referral, snapshot, consent_overridden=consent_overridden)
    referral_id = client.create_referral(case_id, {"transitioned_to": connection.recipient, "notes": notes})
    return result | {"referral_id": referral_id}
