"""Every change in the integrations domain goes through these actions (issue #9): atomic, audited in the
same transaction (ids and field names, never values, never a secret), optimistic locking on edits.

Webhooks and Primero connections are the system administrator's (``integrations.manage_webhooks``); sending a
referral to Primero needs ``integrations.send_primero`` and follows the consent rules of any referral,
including the four-eyes approval of a send without consent (issue #10)."""

from __future__ import annotations

import secrets
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.actions import consume, pending, request_approval, usable
from approvals.choices import Kind
from audit import log as audit
from integrations import net, primero
from integrations.choices import (
    OPEN_REFERRAL_STATUSES,
    PRIMERO_ATTEMPT_LEASE,
    PRIMERO_MAX_ATTEMPTS,
    PRIMERO_RETRY_DELAYS,
    TEST_EVENT,
    AttemptOutcome,
    SubmissionStatus,
    WebhookEvent,
)
from integrations.delivery import claim_due
from integrations.events import create_delivery, enqueue_deliveries
from integrations.models import PrimeroAttempt, PrimeroConnection, PrimeroSubmission, Webhook, WebhookDelivery
from utilities.locking import check_version


def _require_manager(actor) -> None:
    if actor is None or not actor.is_active or not actor.has_perm("integrations.manage_webhooks"):
        raise PermissionDenied


def _check_url(url: str, field: str) -> None:
    try:
        net.check_destination(url)
    except net.DestinationRefused as exc:
        raise ValidationError({field: str(exc)})


def _clean_events(events) -> list[str]:
    events = [e for e in WebhookEvent.values if e in set(events or [])]
    if not events or len(events) != len(set(events or [])):
        raise ValidationError({"events": _("Choose at least one event from the list.")})
    return events


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


# --- webhooks ---------------------------------------------------------------------------------------------


@transaction.atomic
def create_webhook(*, actor, name: str, url: str, events) -> tuple[Webhook, str]:
    """Returns the webhook and its secret, to be shown once."""
    _require_manager(actor)
    if not (name or "").strip():
        raise ValidationError({"name": _("Give the webhook a name.")})
    events = _clean_events(events)
    _check_url(url, "url")
    secret = new_secret()
    hook = Webhook.objects.create(name=name.strip()[:100], url=url, events=events, secret=secret, created_by=actor)
    audit.record(
        "integrations.webhook_created", actor=actor, obj=hook, changed_fields=["name", "url", "events", "secret"],
        details={"events": events},
    )  # fmt: skip
    return hook, secret


@transaction.atomic
def update_webhook(hook: Webhook, *, actor, version: int, name: str, url: str, events, is_active: bool) -> Webhook:
    _require_manager(actor)
    check_version(Webhook, hook.pk, version)
    hook.refresh_from_db()
    if not (name or "").strip():
        raise ValidationError({"name": _("Give the webhook a name.")})
    events = _clean_events(events)
    if is_active:
        _check_url(url, "url")
    before = audit.snapshot(hook, ["name", "url", "events", "is_active"])
    hook.name, hook.url, hook.events, hook.is_active = name.strip()[:100], url, events, bool(is_active)
    changed = audit.changed(hook, before, ["name", "url", "events", "is_active"])
    hook.version += 1
    hook.save()
    audit.record(
        "integrations.webhook_updated",
        actor=actor,
        obj=hook,
        changed_fields=changed,
        details={"events": events, "active": hook.is_active},
    )
    return hook


@transaction.atomic
def deactivate_webhook(hook: Webhook, *, actor, version: int) -> Webhook:
    """No event is sent any more; pending deliveries end as failed at their next attempt. The log stays."""
    _require_manager(actor)
    check_version(Webhook, hook.pk, version)
    hook.refresh_from_db()
    hook.is_active = False
    hook.version += 1
    hook.save()
    audit.record("integrations.webhook_deactivated", actor=actor, obj=hook, changed_fields=["is_active"])
    return hook


@transaction.atomic
def regenerate_webhook_secret(hook: Webhook, *, actor, version: int) -> str:
    """A new signing secret, returned to be shown once; the old one stops working at once."""
    _require_manager(actor)
    check_version(Webhook, hook.pk, version)
    hook.refresh_from_db()
    secret = new_secret()
    hook.secret = secret
    hook.version += 1
    hook.save()
    audit.record("integrations.webhook_secret_regenerated", actor=actor, obj=hook, changed_fields=["secret"])
    return secret


@transaction.atomic
def send_test_event(hook: Webhook, *, actor) -> WebhookDelivery:
    """A ``webhook.test`` delivery, sent by the worker like any other (it shows in the delivery log)."""
    _require_manager(actor)
    if not hook.is_active:
        raise ValidationError(_("This webhook is inactive."))
    delivery = create_delivery(hook, TEST_EVENT, hook)
    audit.record("integrations.webhook_test_sent", actor=actor, obj=hook, details={"delivery": str(delivery.event_id)})
    transaction.on_commit(partial(enqueue_deliveries, [delivery.pk]), robust=True)
    return delivery


# --- Primero connections ----------------------------------------------------------------------------------

CONNECTION_FIELDS = ("name", "agency", "base_url", "username", "module_id", "recipient", "is_active")


def _clean_connection(fields: dict) -> None:
    errors = {}
    for name in ("name", "base_url", "username", "recipient"):
        if not str(fields.get(name) or "").strip():
            errors[name] = _("This field is required.")
    if errors:
        raise ValidationError(errors)
    if fields.get("is_active", True):
        _check_url(fields["base_url"], "base_url")


@transaction.atomic
def create_primero_connection(*, actor, password: str, **fields) -> PrimeroConnection:
    _require_manager(actor)
    unknown = set(fields) - set(CONNECTION_FIELDS)
    if unknown:
        raise TypeError(f"not connection fields: {sorted(unknown)}")
    _clean_connection(fields)
    if not password:
        raise ValidationError({"password": _("This field is required.")})
    connection = PrimeroConnection.objects.create(password=password, created_by=actor, **fields)
    audit.record(
        "integrations.primero_connection_created", actor=actor, obj=connection,
        changed_fields=[*fields.keys(), "password"], details={"agency_id": connection.agency_id},
    )  # fmt: skip
    return connection


@transaction.atomic
def update_primero_connection(
    connection: PrimeroConnection, *, actor, version: int, password: str = "", **fields
) -> PrimeroConnection:
    """A blank ``password`` keeps the stored one."""
    _require_manager(actor)
    unknown = set(fields) - set(CONNECTION_FIELDS)
    if unknown:
        raise TypeError(f"not connection fields: {sorted(unknown)}")
    check_version(PrimeroConnection, connection.pk, version)
    connection.refresh_from_db()
    _clean_connection({name: getattr(connection, name) for name in CONNECTION_FIELDS} | fields)
    before = audit.snapshot(connection, fields.keys())
    for name, value in fields.items():
        setattr(connection, name, value)
    changed = audit.changed(connection, before, fields.keys())
    if password:
        connection.password = password
        changed.append("password")
    connection.version += 1
    connection.save()
    audit.record("integrations.primero_connection_updated", actor=actor, obj=connection, changed_fields=changed)
    return connection


# --- sending a referral to Primero -----------------------------------------------------------------------


def connections_for(referral) -> list[PrimeroConnection]:
    return list(PrimeroConnection.objects.filter(agency_id=referral.provider_id, is_active=True).order_by("name", "pk"))


def _prepare(referral, *, actor, connection: PrimeroConnection, override_reason: str) -> PrimeroSubmission:
    from alerts.actions import notify
    from alerts.rules import users_with_roles
    from care.consent import has_consent
    from referrals.models import Referral

    if actor is None or not actor.is_active or not actor.has_perm("integrations.send_primero"):
        raise PermissionDenied
    if not Referral.objects.visible_to(actor, "change").filter(pk=referral.pk).exists():
        raise PermissionDenied
    referral.refresh_from_db()
    connection.refresh_from_db()
    if not connection.is_active:
        raise ValidationError({"connection": _("This Primero connection is inactive.")})
    if connection.agency_id != referral.provider_id:
        raise ValidationError(
            {"connection": _("This referral is addressed to %(provider)s; this Primero instance belongs to %(agency)s.")
             % {"provider": referral.provider.name, "agency": connection.agency.name}}
        )  # fmt: skip
    if referral.status not in OPEN_REFERRAL_STATUSES or not referral.snapshot_data:
        raise ValidationError(
            _("Only a referral that has been sent and is still open can be sent to Primero."), code="not_open"
        )
    overridden = False
    override_reason = (override_reason or "").strip()
    # The consent rule of any referral (issue #5), asked again now: consent may have been withdrawn since.
    if not has_consent(referral.case_person_id, "sharing", agency=connection.agency_id):
        if not override_reason:
            raise ValidationError(
                _("No consent to share information with %(agency)s is recorded for this survivor. Record the consent "
                  "on the care page first.") % {"agency": connection.agency.name},
                code="no_consent",
            )  # fmt: skip
        if not actor.has_perm("referrals.override_consent"):
            raise PermissionDenied
        overridden = True
    try:
        net.check_destination(connection.base_url)
    except net.DestinationRefused as exc:
        raise ValidationError({"connection": str(exc)})
    if overridden:
        # Four eyes (issue #10), as for any referral sent without consent: another approver's yes for this
        # referral and this Primero instance, spent in this transaction (so only if the send is started).
        consume(
            Kind.PRIMERO_CONSENT_OVERRIDE, actor=actor, target=referral, parameters={"connection_id": connection.pk}
        )
    submission = PrimeroSubmission.objects.create(
        referral=referral, connection=connection, sent_by=actor, consent_overridden=overridden,
        override_reason=override_reason if overridden else "",
    )  # fmt: skip
    audit.record(
        "integrations.primero_send_started", actor=actor, obj=referral,
        details={"submission_id": submission.pk, "connection_id": connection.pk, "consent_overridden": overridden},
    )  # fmt: skip
    if overridden:
        audit.record(
            "integrations.primero_consent_overridden", actor=actor, obj=referral, changed_fields=["override_reason"],
            details={"submission_id": submission.pk, "agency_id": connection.agency_id},
        )  # fmt: skip
        notify(
            users_with_roles(["director"]), event="referral.consent_overridden", urgent=True, link=referral.get_absolute_url(),
            message=_("Referral %(ref)s was sent to Primero without recorded consent (override by %(user)s).")
            % {"ref": referral.reference, "user": actor.get_username()},
        )  # fmt: skip
    return submission


def _missing_consent(referral, connection: PrimeroConnection) -> bool:
    from care.consent import has_consent

    return not has_consent(referral.case_person_id, "sharing", agency=connection.agency_id)


@transaction.atomic
def request_primero_override(referral, *, actor, connection: PrimeroConnection, reason: str):
    """Ask another approver to allow sending this referral to this Primero instance without recorded consent
    (issue #10). Nothing is sent; once approved, the requester sends it (with a reason) and the approval is
    spent. The same person asking again gets their open request back."""
    from referrals.models import Referral

    if actor is None or not actor.is_active or not actor.has_perm("integrations.send_primero"):
        raise PermissionDenied
    if not actor.has_perm("referrals.override_consent"):
        raise PermissionDenied
    if not Referral.objects.visible_to(actor, "change").filter(pk=referral.pk).exists():
        raise PermissionDenied
    referral.refresh_from_db()
    if connection.agency_id != referral.provider_id or not _missing_consent(referral, connection):
        raise ValidationError(_("This referral needs no override."), code="invalid_transition")
    return request_approval(
        Kind.PRIMERO_CONSENT_OVERRIDE, actor=actor, reason=reason, target=referral,
        parameters={"connection_id": connection.pk},
    )  # fmt: skip


def override_approval(referral, *, actor, connection: PrimeroConnection):
    """The actor's approved (else pending) request to send this referral to this instance without consent."""
    target = {"target": referral, "parameters": {"connection_id": connection.pk}}
    return usable(Kind.PRIMERO_CONSENT_OVERRIDE, actor=actor, **target) or pending(
        Kind.PRIMERO_CONSENT_OVERRIDE, actor=actor, **target
    )


def send_referral_to_primero(
    referral, *, actor, connection: PrimeroConnection, override_reason: str = ""
) -> PrimeroSubmission:
    """Send ``referral`` (its snapshot only) to the Primero instance of the partner it is addressed to, and
    record the result. Refused without the survivor's consent to share with that partner, unless a user
    holding ``referrals.override_consent`` gives a reason and holds another approver's approval for this
    referral and instance (``request_primero_override``; spent with the send, even if Primero then fails):
    audited, the Director alerted. Without the approval, ``approvals.actions.ApprovalRequired``.

    The first attempt runs at once, in three steps so that no database transaction stays open while Primero
    answers: the checks, the pending submission and its first attempt (atomic, audited); the calls; the result
    (atomic, audited). A failure that may pass (no answer, HTTP 5xx or 429) is retried by the worker
    (``attempt_primero_send``); any other is final. Returns the submission, whose status says where it stands;
    a failure is recorded, not raised."""
    with transaction.atomic():
        submission = _prepare(referral, actor=actor, connection=connection, override_reason=override_reason)
        attempt = _start_attempt(submission, actor=actor, now=timezone.now())
    return _run_attempt(submission, attempt, actor=actor)


def _start_attempt(submission: PrimeroSubmission, *, actor, now) -> PrimeroAttempt:
    """Record the next attempt and lease the submission to it (in the caller's transaction). The attempt
    number is unique per submission: a second worker claiming the same attempt fails here, before sending."""
    number = submission.attempts + 1
    attempt = PrimeroAttempt.objects.create(submission=submission, number=number, started_at=now, by=actor)
    submission.attempts = number
    submission.status = SubmissionStatus.PENDING
    submission.last_attempt_at = now
    submission.next_attempt_at = now + PRIMERO_ATTEMPT_LEASE
    submission.save(update_fields=["attempts", "status", "last_attempt_at", "next_attempt_at"])
    return attempt


def _not_sendable_any_more(submission: PrimeroSubmission) -> str:
    """Why a retry may no longer send (checked again before each retry: things change while it waits), or ""."""
    referral, connection = submission.referral, submission.connection
    if not connection.is_active or connection.agency_id != referral.provider_id:
        return _("The Primero connection is no longer active for this partner.")
    if referral.status not in OPEN_REFERRAL_STATUSES:
        return _("The referral is no longer open.")
    if not submission.consent_overridden and _missing_consent(referral, connection):
        return _("The survivor's consent to share with this partner is no longer recorded.")
    return ""


def attempt_primero_send(submission_id: int, *, now=None) -> PrimeroSubmission | None:
    """The worker's retry of a Primero send whose attempt failed for a passing reason, once it is due.

    Idempotent, as webhook deliveries (``integrations.delivery``): the attempt first claims the submission
    (due, waiting to retry, or left pending by an attempt whose lease ran out) and records its number, so two
    workers never make the same attempt; a submission already sent, failed or not yet due is left alone
    (returns None). Consent, the referral and the connection are checked again first: a send that may no
    longer go ends as failed without calling Primero."""
    now = now or timezone.now()
    with transaction.atomic():
        waiting = PrimeroSubmission.objects.filter(status__in=[SubmissionStatus.PENDING, SubmissionStatus.RETRYING])
        if not claim_due(waiting, submission_id, now, PRIMERO_ATTEMPT_LEASE):
            return None
        submission = PrimeroSubmission.objects.select_related("referral", "connection").get(pk=submission_id)
        attempt = _start_attempt(submission, actor=None, now=now)
        reason = _not_sendable_any_more(submission)
        if reason:
            _finish(submission, attempt, actor=None, error=reason, code=None, transient=False)
            return submission
    return _run_attempt(submission, attempt, actor=None)


def _run_attempt(submission: PrimeroSubmission, attempt: PrimeroAttempt, *, actor) -> PrimeroSubmission:
    referral, connection = submission.referral, submission.connection
    others = PrimeroSubmission.objects.filter(
        connection=connection, referral__case_person_id=referral.case_person_id, status=SubmissionStatus.SENT
    ).exclude(pk=submission.pk)
    known = others.exclude(remote_case_id="").values_list("remote_case_id", flat=True).first()

    def save(**fields) -> None:
        # Each step's result is written as soon as it is known (autocommit): a retry resumes from it.
        names = {"referral_posted": "referral_posted_at"}
        values = {names.get(k, k): (timezone.now() if k == "referral_posted" else v) for k, v in fields.items()}
        PrimeroSubmission.objects.filter(pk=submission.pk).update(**values)

    progress = primero.Progress(
        remote_case_id=submission.remote_case_id, case_created=submission.case_created,
        planned_case_id=str(submission.planned_case_id or ""), referral_baseline=submission.referral_baseline,
        referral_posted=submission.referral_posted_at is not None, known_case_id=known or "",
        claimed_referral_ids=others.exclude(remote_referral_id="").values_list("remote_referral_id", flat=True),
        save=save,
    )  # fmt: skip
    result, error, code, transient = {}, "", None, False
    try:
        result = primero.submit(
            connection, referral, consent_overridden=submission.consent_overridden, progress=progress
        )
    except primero.PrimeroError as exc:
        error, code, transient = str(exc)[:300], exc.status, exc.transient
    except net.DestinationRefused as exc:
        error = str(exc)[:300]
    with transaction.atomic():
        submission = (
            PrimeroSubmission.objects.select_for_update().select_related("referral", "connection").get(pk=submission.pk)
        )
        _finish(submission, attempt, actor=actor, error=error, code=code, transient=transient, result=result)
    return submission


def _finish(submission: PrimeroSubmission, attempt: PrimeroAttempt, *, actor, error: str, code, transient: bool,
            result: dict | None = None) -> None:  # fmt: skip
    """Record an attempt's outcome (in the caller's transaction): sent; failed, to be retried after a delay
    that doubles each time; or failed for good (a permanent failure, or the last attempt), when the officer
    who sent it is alerted if they were not the one waiting for the answer."""
    from integrations.tasks import retry_primero_send

    now = timezone.now()
    referral, connection = submission.referral, submission.connection
    if submission.attempts != attempt.number:
        # The lease ran out and another worker took over meanwhile: its attempt decides, this one is only logged.
        outcome = AttemptOutcome.SENT if not error else AttemptOutcome.FAILED
        PrimeroAttempt.objects.filter(pk=attempt.pk).update(
            finished_at=now, outcome=outcome, response_code=code, error=error
        )
        return
    submission.last_response_code = code
    details = {"submission_id": submission.pk, "connection_id": connection.pk, "attempt": attempt.number}
    if not error:
        outcome = AttemptOutcome.SENT
        submission.status = SubmissionStatus.SENT
        submission.remote_case_id = result["case_id"][:64]
        submission.remote_referral_id = result["referral_id"][:64]
        submission.case_created = result["case_created"]
        submission.error = ""
        submission.next_attempt_at = None
        submission.finished_at = now
    elif transient and attempt.number < PRIMERO_MAX_ATTEMPTS:
        outcome = AttemptOutcome.RETRY
        submission.status = SubmissionStatus.RETRYING
        submission.error = error
        submission.next_attempt_at = now + PRIMERO_RETRY_DELAYS[attempt.number - 1]
        retry_at, pk = submission.next_attempt_at, submission.pk
        transaction.on_commit(lambda: retry_primero_send.using(run_after=retry_at).enqueue(pk), robust=True)
    else:
        outcome = AttemptOutcome.FAILED
        submission.status = SubmissionStatus.FAILED
        submission.error = error
        submission.next_attempt_at = None
        submission.finished_at = now
    # The progress fields were written step by step: save only what this decides.
    submission.save(
        update_fields=["status", "remote_case_id", "remote_referral_id", "case_created", "error", "next_attempt_at",
                       "finished_at", "last_response_code"]
    )  # fmt: skip
    PrimeroAttempt.objects.filter(pk=attempt.pk).update(
        finished_at=now, outcome=outcome, response_code=code, error=error
    )
    audit.record(
        "integrations.primero_attempt", actor=actor, obj=referral,
        details=details | {"outcome": outcome, "response_code": code,
                           "found_again": bool(result and result.get("found_again"))},
    )  # fmt: skip
    if outcome == AttemptOutcome.RETRY:
        return
    audit.record(
        "integrations.primero_sent" if outcome == AttemptOutcome.SENT else "integrations.primero_failed",
        actor=actor, obj=referral, changed_fields=["status"],
        details=details | {"case_created": submission.case_created, "attempts": attempt.number},
    )  # fmt: skip
    if outcome == AttemptOutcome.FAILED and actor is None:
        _alert_sender(submission)


def _alert_sender(submission: PrimeroSubmission) -> None:
    """The officer who sent it is told that it could not be sent after all (rule "integrations.primero_failed"),
    with a link to the send page; the email says only that there is something to see."""
    from django.urls import reverse

    from alerts.choices import Event
    from alerts.rules import dispatch

    referral = submission.referral
    dispatch(
        Event.PRIMERO_SEND_FAILED,
        message=_("Referral %(ref)s could not be sent to Primero (%(connection)s) after %(count)s attempts.")
        % {"ref": referral.reference, "connection": submission.connection.name, "count": submission.attempts},
        link=reverse("integrations:primero_send", args=[referral.pk]),
        assignee=submission.sent_by,
    )
