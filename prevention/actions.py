"""Writes for prevention (issue #13): each one atomic, taking the acting user, writing its audit row.
Audit details carry ids and counts only, never a participant's name."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit import log as audit
from prevention.models import Course, OutreachEvent, Participant, TrainerCertification, TrainingSession
from utilities.locking import check_version

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


def _update(obj, action: str, *, actor, version: int, m2m: dict | None = None, **fields):
    """Save ``fields`` (and the many-to-many ``m2m``) over ``obj`` unless someone saved it since ``version``."""
    _require(actor)
    model = type(obj)
    with transaction.atomic():
        check_version(model, obj.pk, version)
        before = audit.snapshot(obj, fields)
        m2m_before = {name: set(getattr(obj, name).values_list("pk", flat=True)) for name in m2m or {}}
        for name, value in fields.items():
            setattr(obj, name, value)
        # Validate what is being written: a row whose creator was since deleted (created_by NULL) stays editable.
        obj.full_clean(exclude=[f.name for f in model._meta.concrete_fields if f.name not in fields])
        obj.version += 1
        obj.save()
        changed = audit.changed(obj, before, fields)
        for name, values in (m2m or {}).items():
            getattr(obj, name).set(values)
            if set(getattr(obj, name).values_list("pk", flat=True)) != m2m_before[name]:
                changed.append(name)
        audit.record(action, actor=actor, obj=obj, changed_fields=changed)
    return obj


def update_event(event: OutreachEvent, *, actor, version: int, partners=(), **fields) -> OutreachEvent:
    return _update(
        event, "prevention.event_updated", actor=actor, version=version, m2m={"partners": partners}, **fields
    )


def update_course(course: Course, *, actor, version: int, **fields) -> Course:
    return _update(course, "prevention.course_updated", actor=actor, version=version, **fields)


def update_session(session: TrainingSession, *, actor, version: int, facilitators=(), **fields) -> TrainingSession:
    return _update(
        session, "prevention.session_updated", actor=actor, version=version, m2m={"facilitators": facilitators},
        **fields,
    )  # fmt: skip


def update_participant(participant: Participant, *, actor, version: int, **fields) -> Participant:
    return _update(participant, "prevention.participant_updated", actor=actor, version=version, **fields)


def remove_participant(participant: Participant, *, actor, version: int) -> None:
    """Take a participant off a session; the audit row keeps the ids, never the name."""
    _require(actor)
    with transaction.atomic():
        check_version(Participant, participant.pk, version)
        session, pk = participant.session, participant.pk
        participant.delete()
        audit.record("prevention.participant_removed", actor=actor, obj=session, details={"participant_id": pk})
