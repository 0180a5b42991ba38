"""Every change to reports goes through these actions (issue #3): atomic, audited in the same transaction,
alerts dispatched through the rules, optimistic locking on every edit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.rules import dispatch
from audit import log as audit
from geo.assign import refresh_area
from intake import workflow
from intake.choices import Status, Urgency
from intake.filetypes import sniff
from intake.models import Report, ReportAddition, ReportAttachment, ReportLink
from integrations.events import emit
from utilities.context import without_client_details
from utilities.crypto import name_token_indexes, phone_index
from utilities.locking import check_version
from utilities.storage import store_encrypted

# Fields an officer may set when recording or editing a report.
REPORT_FIELDS = (
    "channel", "received_at", "referring_agency", "referring_other", "reporter_anonymous", "reporter_name",
    "reporter_phone", "reporter_email", "reporter_relationship", "victim_count", "victim_sex", "victim_age_group",
    "victim_approx_age", "victim_nationality", "victim_language", "exploitation", "named_persons", "location_text",
    "latitude", "longitude", "incident_from", "incident_to", "urgency", "child_involved", "immediate_danger",
    "medical_need", "narrative",
)  # fmt: skip


def _refresh_indexes(report: Report) -> None:
    report.reporter_phone_index = phone_index(report.reporter_phone) if report.reporter_phone else ""
    report.named_person_index = name_token_indexes(report.named_persons) if report.named_persons else []
    if report.reporter_anonymous:
        report.reporter_name = ""
        report.reporter_email = ""


def _alert_new_report(report: Report, actor) -> None:
    ref = report.reference
    link = report.get_absolute_url()
    dispatch("report.created", message=_("New report %(ref)s received.") % {"ref": ref}, link=link, actor=actor)
    emit("report.created", report)
    if report.child_involved or report.victim_age_group in {"child", "mixed"}:
        dispatch("report.child", message=_("Report %(ref)s involves a child.") % {"ref": ref}, link=link, actor=actor)
    if report.immediate_danger:
        dispatch("report.immediate_danger", message=_("Report %(ref)s: someone is in immediate danger.") % {"ref": ref}, link=link, actor=actor)


def _save_new(report: Report) -> Report:
    report.full_clean(exclude=["reference"])
    report.save()
    report.reference = f"R-{report.received_at:%Y}-{report.pk:05d}"
    report.save(update_fields=["reference"])
    return report


@transaction.atomic
def create_report(*, actor, attachments=(), **fields) -> Report:
    if not actor.has_perm("intake.create_report"):
        raise PermissionDenied
    unknown = set(fields) - set(REPORT_FIELDS)
    if unknown:
        raise TypeError(f"not report fields: {sorted(unknown)}")
    report = Report(created_by=actor, **fields)
    if report.channel == "public_form":
        raise ValidationError(_("Public form reports arrive through the public form."))
    _refresh_indexes(report)
    _save_new(report)
    refresh_area(report)  # the map's stored area, in this transaction (issue #11)
    for upload in attachments:
        _attach(report, upload, from_public=False)
    audit.record("intake.report_created", actor=actor, obj=report, changed_fields=[f for f, v in fields.items() if v not in (None, "", [], False)], details={"channel": report.channel, "attachments": len(attachments)})
    _alert_new_report(report, actor)
    return report


def public_code_hash(code: str) -> str:
    key = hashlib.sha256(b"beacon-public-code:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, code.strip().upper().replace("-", "").encode(), hashlib.sha256).hexdigest()


def new_public_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over a phone
    raw = "".join(secrets.choice(alphabet) for _i in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


@transaction.atomic
@without_client_details()
def create_public_report(*, attachments=(), **fields) -> tuple[Report, str]:
    """The anonymous public form (issue #3). Returns the report and the reporter's code, shown once.
    Its audit rows carry no client address: the log must never point at an anonymous reporter."""
    allowed_fields = {"victim_count", "victim_sex", "victim_age_group", "victim_nationality", "victim_language", "exploitation",
                      "location_text", "incident_from", "incident_to", "child_involved", "immediate_danger", "medical_need",
                      "narrative", "reporter_name", "reporter_phone", "reporter_email", "reporter_anonymous", "named_persons",
                      "latitude", "longitude"}  # fmt: skip
    unknown = set(fields) - allowed_fields
    if unknown:
        raise TypeError(f"not public form fields: {sorted(unknown)}")
    code = new_public_code()
    report = Report(channel="public_form", received_at=timezone.now(), public_code_hash=public_code_hash(code), **fields)
    if report.immediate_danger or report.child_involved:
        report.urgency = Urgency.URGENT
    _refresh_indexes(report)
    _save_new(report)
    refresh_area(report)  # the map's stored area, in this transaction (issue #11)
    for upload in attachments:
        _attach(report, upload, from_public=True)
    audit.record("intake.public_report_received", actor=None, obj=report, details={"attachments": len(attachments)})
    _alert_new_report(report, None)
    return report, code


@transaction.atomic
@without_client_details()
def add_public_information(code: str, *, text: str, attachments=()) -> bool:
    """Adds to the report behind ``code``. Answers the same whether or not the code exists (issue #3)."""
    report = Report.objects.filter(public_code_hash=public_code_hash(code)).first() if code else None
    if report is None:
        audit.record("intake.public_addition_unmatched", actor=None)
        return False
    ReportAddition.objects.create(report=report, text=text, from_public=True)
    for upload in attachments:
        _attach(report, upload, from_public=True)
    audit.record("intake.public_addition", actor=None, obj=report, details={"attachments": len(attachments)})
    link = report.get_absolute_url()
    recipients = [report.assignee] if report.assignee else []
    if recipients:
        from alerts.actions import notify

        notify(recipients, event="report.public_addition", message=_("The reporter added information to %(ref)s.") % {"ref": report.reference}, link=link)
    return True


def _attach(report: Report, upload, *, from_public: bool) -> ReportAttachment:
    data = upload.read()
    # The type comes from the content, never from what the browser declared (issue #3, #10).
    content_type = sniff(data[:64])
    if from_public and content_type is None:
        raise ValidationError(_("Only images (JPEG, PNG, WebP, GIF) and PDF files can be sent."), code="file_type")
    attachment = ReportAttachment(
        report=report,
        original_name=getattr(upload, "name", "file")[:200],
        content_type=content_type or "application/octet-stream",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        from_public=from_public,
    )
    store_encrypted("attachments", attachment.stored_name, data)
    attachment.save()
    return attachment


@transaction.atomic
def update_report(report: Report, *, actor, version: int, **fields) -> Report:
    if not Report.objects.visible_to(actor, "change").filter(pk=report.pk).exists():
        raise PermissionDenied
    check_version(Report, report.pk, version)
    unknown = set(fields) - set(REPORT_FIELDS)
    if unknown:
        raise TypeError(f"not report fields: {sorted(unknown)}")
    before = audit.snapshot(report, fields.keys())
    for name, value in fields.items():
        setattr(report, name, value)
    _refresh_indexes(report)
    report.full_clean()
    report.version += 1
    report.save()
    refresh_area(report, fields)  # the map's stored area, when a coordinate changed (issue #11)
    audit.record("intake.report_updated", actor=actor, obj=report, changed_fields=audit.changed(report, before, fields.keys()))
    return report


def _transition(report: Report, action: str, *, actor, version: int, permission_action: str | None = None) -> None:
    if not Report.objects.visible_to(actor, permission_action or action).filter(pk=report.pk).exists():
        raise PermissionDenied
    check_version(Report, report.pk, version)
    workflow.advance(report, action)


@transaction.atomic
def triage_report(report: Report, *, actor, version: int, priority: int, screening_due_at=None, urgency: str | None = None) -> Report:
    _transition(report, "triage", actor=actor, version=version)
    report.priority = priority
    if urgency:
        report.urgency = urgency
    report.triaged_by = actor
    report.triaged_at = timezone.now()
    report.screening_due_at = screening_due_at or report.triaged_at + timedelta(days=settings.INTAKE_SCREENING_DAYS[report.urgency])
    report.version += 1
    report.save()
    audit.record("intake.report_triaged", actor=actor, obj=report, changed_fields=["priority", "urgency", "screening_due_at", "status"])
    return report


@transaction.atomic
def assign_report(report: Report, *, actor, version: int, investigator) -> Report:
    _transition(report, "assign", actor=actor, version=version)
    if not investigator.is_active or not investigator.has_perm("screening.screen") and not investigator.has_perm("screening.screen_any"):
        raise ValidationError(_("%(user)s cannot screen reports: choose an investigator.") % {"user": investigator.username})
    now = timezone.now()
    report.assignee = investigator
    report.status = Status.ASSIGNED
    report.assigned_at = now
    report.acknowledged_at = None
    report.ack_due_at = now + timedelta(hours=settings.INTAKE_ACK_HOURS[report.urgency])
    report.ack_overdue_alerted_at = None
    if report.screening_due_at is None:
        report.screening_due_at = now + timedelta(days=settings.INTAKE_SCREENING_DAYS[report.urgency])
    report.version += 1
    report.save()
    audit.record("intake.report_assigned", actor=actor, obj=report, changed_fields=["assignee", "status", "ack_due_at"], details={"assignee_id": investigator.pk})
    dispatch(
        "report.assigned",
        message=_("Report %(ref)s was assigned to you. Please acknowledge it.") % {"ref": report.reference},
        link=report.get_absolute_url(),
        assignee=investigator,
        actor=actor,
    )
    return report


@transaction.atomic
def acknowledge_report(report: Report, *, actor, version: int) -> Report:
    _transition(report, "acknowledge", actor=actor, version=version)
    report.acknowledged_at = timezone.now()
    report.version += 1
    report.save()
    audit.record("intake.report_acknowledged", actor=actor, obj=report, changed_fields=["acknowledged_at", "status"])
    return report


@transaction.atomic
def close_report(report: Report, *, actor, version: int, reason: str) -> Report:
    if not reason.strip():
        raise ValidationError(_("Give a reason for closing the report."))
    _transition(report, "close", actor=actor, version=version, permission_action="triage")
    report.closed_reason = reason.strip()[:300]
    report.version += 1
    report.save()
    audit.record("intake.report_closed", actor=actor, obj=report, changed_fields=["status", "closed_reason"])
    return report


@transaction.atomic
def link_reports(report: Report, other: Report, *, actor) -> ReportLink:
    if report.pk == other.pk:
        raise ValidationError(_("A report cannot be linked to itself."))
    visible = Report.objects.visible_to(actor, "triage")
    if not visible.filter(pk__in=[report.pk, other.pk]).count() == 2:
        raise PermissionDenied
    first, second = sorted([report, other], key=lambda r: r.pk)
    link, created = ReportLink.objects.get_or_create(report=first, other=second, defaults={"linked_by": actor})
    if created:
        audit.record("intake.reports_linked", actor=actor, obj=report, details={"other_id": other.pk})
    return link


@transaction.atomic
def add_note(report: Report, *, actor, text: str) -> ReportAddition:
    if not Report.objects.visible_to(actor, "view").filter(pk=report.pk).exists():
        raise PermissionDenied
    if not text.strip():
        raise ValidationError(_("The note is empty."))
    note = ReportAddition.objects.create(report=report, text=text.strip(), created_by=actor)
    audit.record("intake.note_added", actor=actor, obj=report)
    return note


def flag_overdue_reports(now=None) -> int:
    """Alert once per report when acknowledgement or screening is overdue (run by the periodic task)."""
    now = now or timezone.now()
    count = 0
    ack_late = Report.objects.filter(status=Status.ASSIGNED, acknowledged_at__isnull=True, ack_due_at__lt=now, ack_overdue_alerted_at__isnull=True)
    for report in ack_late.select_related("assignee"):
        with transaction.atomic():
            if Report.objects.filter(pk=report.pk, ack_overdue_alerted_at__isnull=True).update(ack_overdue_alerted_at=now):
                audit.record("intake.ack_overdue", actor=None, obj=report)
                dispatch("report.ack_overdue", message=_("Report %(ref)s has not been acknowledged in time.") % {"ref": report.reference}, link=report.get_absolute_url(), assignee=report.assignee)
                count += 1
    screen_late = Report.objects.filter(status__in=[Status.ASSIGNED, Status.UNDER_SCREENING], screening_due_at__lt=now, screening_overdue_alerted_at__isnull=True)
    for report in screen_late.select_related("assignee"):
        with transaction.atomic():
            if Report.objects.filter(pk=report.pk, screening_overdue_alerted_at__isnull=True).update(screening_overdue_alerted_at=now):
                audit.record("intake.screening_overdue", actor=None, obj=report)
                dispatch("report.screening_overdue", message=_("Screening of report %(ref)s is overdue.") % {"ref": report.reference}, link=report.get_absolute_url(), assignee=report.assignee)
                count += 1
    return count
