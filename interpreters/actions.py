"""Every change to the interpreter roster and its bookings (issue #13): atomic, audited in the same
transaction; a booking is refused unless the interpreter is vetted, unexpired and under a confidentiality
agreement."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit import log as audit
from interpreters.models import Booking, Interpreter
from utilities.locking import check_version

INTERPRETER_FIELDS = (
    "name", "contact", "languages", "dialects", "vetting_status", "vetting_expires", "agreement_on_file",
    "agreement_signed_on", "availability", "work_mode", "areas", "conflicts",
)  # fmt: skip

# The regional share (issue #13): no name, contact or conflicts of interest.
REGIONAL_HEADER = ["id", "languages", "dialects", "vetting_status", "vetting_expires", "work_mode", "areas"]


def _require(actor, code: str) -> None:
    if actor is not None and not actor.has_perm(code):
        raise PermissionDenied


@transaction.atomic
def create_interpreter(*, actor, **fields) -> Interpreter:
    _require(actor, "interpreters.manage")
    interpreter = Interpreter(**fields)
    interpreter.full_clean()
    interpreter.save()
    audit.record("interpreters.created", actor=actor, obj=interpreter, changed_fields=fields.keys())
    return interpreter


@transaction.atomic
def update_interpreter(interpreter: Interpreter, *, actor, version: int, **fields) -> Interpreter:
    _require(actor, "interpreters.manage")
    check_version(Interpreter, interpreter.pk, version)
    before = audit.snapshot(interpreter, INTERPRETER_FIELDS)
    for name, value in fields.items():
        setattr(interpreter, name, value)
    interpreter.full_clean()
    interpreter.version += 1
    interpreter.save()
    audit.record(
        "interpreters.updated",
        actor=actor,
        obj=interpreter,
        changed_fields=audit.changed(interpreter, before, INTERPRETER_FIELDS),
    )
    return interpreter


@transaction.atomic
def book_interpreter(
    interpreter: Interpreter, *, actor, kind: str, purpose: str, date: datetime.date, case_reference: str = ""
) -> Booking:
    """Record that ``interpreter`` is used for an interview or a court date."""
    _require(actor, "interpreters.book")
    interpreter = Interpreter.objects.select_for_update().get(pk=interpreter.pk)
    refusal = interpreter.booking_refusal(date)
    if refusal:
        raise ValidationError(refusal, code="not_bookable")
    booking = Booking(
        interpreter=interpreter, kind=kind, purpose=purpose, date=date, case_reference=case_reference.strip(),
        booked_by=actor if getattr(actor, "is_authenticated", False) else None,
    )  # fmt: skip
    booking.full_clean()
    booking.save()
    audit.record(
        "interpreters.booked",
        actor=actor,
        obj=booking,
        changed_fields=["interpreter", "kind", "purpose", "date", "case_reference"],
        details={"interpreter_id": interpreter.pk, "kind": kind},
    )
    return booking


@transaction.atomic
def regional_rows(*, actor) -> list[list[str]]:
    """The roster as shared with the region: audited when asked for, personal details left out."""
    _require(actor, "interpreters.manage")
    interpreters = list(Interpreter.objects.order_by("pk"))
    audit.record(
        "interpreters.regional_export", actor=actor, object_type="interpreters.interpreter",
        details={"rows": len(interpreters)},
    )  # fmt: skip
    return [REGIONAL_HEADER] + [
        [
            i.anonymous_id, " ".join(i.languages or []), i.dialects, i.vetting_status,
            i.vetting_expires.isoformat() if i.vetting_expires else "", i.work_mode, i.areas,
        ]
        for i in interpreters
    ]  # fmt: skip
