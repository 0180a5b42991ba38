"""Writes for prevention (issue #13): each one atomic, taking the acting user, writing its audit row.
Audit details carry ids and counts only, never a participant's name."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit import log as audit
from prevention.models import Course, OutreachEvent, Participant, TrainerCertification, TrainingSession

RECORD = "prevention.record"


def _require(actor, code: str = RECORD) -> None:
    if not actor.has_perm(code):
        raise PermissionDenied


def _create(model, action: str, *, actor, m2m: dict | None = None, **fields):
    _require(actor)
    with transaction.atomic():
        obj = model(**fields)
        obj.full_clean()
        obj.save()
        for name, values in (m2m or {}).items():
            getattr(obj, name).set(values)
        audit.record(action, actor=actor, obj=obj, changed_fields=list(fields) + list(m2m or {}))
    return obj


def record_outreach_event(*, actor, partners=(), **fields) -> OutreachEvent:
    fields.setdefault("created_by", actor)
    return _create(OutreachEvent, "prevention.event_recorded", actor=actor, m2m={"partners": partners}, **fields)


def create_course(*, actor, **fields) -> Course:
    return _create(Course, "prevention.course_created", actor=actor, **fields)


def record_session(*, actor, facilitators=(), **fields) -> TrainingSession:
    return _create(
        TrainingSession, "prevention.session_recorded", actor=actor, m2m={"facilitators": facilitators}, **fields
    )


def add_participant(*, actor, **fields) -> Participant:
    return _create(Participant, "prevention.participant_added", actor=actor, **fields)


def certify_trainer(*, actor, **fields) -> TrainerCertification:
    return _create(TrainerCertification, "prevention.trainer_certified", actor=actor, **fields)
