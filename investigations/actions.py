"""Every change to an investigation goes through these actions (issue #6): atomic, audited in the same
transaction (field names only, never values), optimistic locking on edits, alerts dispatched in the caller's
transaction. Evidence files carry the SHA-256 taken on upload; every use re-checks it."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from functools import partial

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.rules import dispatch
from audit import log as audit
from audit.models import AuditEvent
from cases.choices import CaseStatus, PersonRole, TeamRole
from cases.models import Case, CaseMember, CasePerson
from intake.filetypes import sniff
from investigations.choices import (
    EVENTS,
    HEARING_REMINDER_DAYS,
    INACTIVE_DAYS,
    ORDER_ALERT_DAYS,
    ChargeOutcome,
    CustodyStatus,
)
from investigations.models import (
    Arrest,
    Bail,
    CaseActivity,
    Charge,
    CourtCase,
    CourtFile,
    CourtOrder,
    CustodyTransfer,
    Evidence,
    Hearing,
    LogAttachment,
    LogEntry,
    MLARequest,
    SuspectStatus,
    Task,
    VictimParticipation,
    investigation_cases,
)
from utilities.locking import check_version
from utilities.storage import read_encrypted, store_encrypted

EVIDENCE_STORE = "evidence"
LOG_STORE = "investigation-attachments"
COURT_FILE_STORE = "court-files"


class EvidenceChainBroken(Exception):
    """The stored file of an exhibit no longer matches the SHA-256 taken when it was seized."""

    def __init__(self, evidence: Evidence):
        super().__init__(f"evidence {evidence.pk}: stored file does not match its SHA-256")
        self.evidence = evidence


def can_record(case: Case, user) -> bool:
    return investigation_cases(user, "change").filter(pk=case.pk).exists()


def _require(case: Case, actor) -> None:
    if not can_record(case, actor):
        raise PermissionDenied


def _link(case: Case, link: CasePerson, role: str) -> None:
    if link.case_id != case.pk or link.role != role:
        raise ValidationError(_("That person is not a %(role)s in this case.") % {"role": role})


def _create(model, audited: Case, /, *, actor, action: str, m2m: dict | None = None, **fields):
    obj = model(created_by=actor, **fields)
    obj.full_clean()
    obj.save()
    for name, values in (m2m or {}).items():
        getattr(obj, name).set(values)
    audit.record(
        f"investigations.{action}",
        actor=actor,
        obj=audited,
        changed_fields=sorted(k for k, v in {**fields, **(m2m or {})}.items() if v not in (None, "", [])),
        details={"record": f"{model._meta.model_name}:{obj.pk}"},
    )
    return obj


def case_of(obj) -> Case:
    for path in ("case", "suspect", "victim", "court_case", "evidence", "entry"):
        if hasattr(obj, f"{path}_id") or hasattr(obj, path):
            parent = getattr(obj, path, None)
            if parent is not None:
                return parent if isinstance(parent, Case) else case_of(parent)
    raise TypeError(obj)


@transaction.atomic
def update_record(obj, *, actor, version: int, m2m: dict | None = None, **fields):
    """Change an investigation record (optimistic locking: a stale version changes nothing)."""
    case = case_of(obj)
    _require(case, actor)
    check_version(type(obj), obj.pk, version)
    before = audit.snapshot(obj, fields.keys())
    for name, value in fields.items():
        setattr(obj, name, value)
    obj.full_clean()
    obj.version += 1
    obj.save()
    changed = audit.changed(obj, before, fields.keys())
    for name, values in (m2m or {}).items():
        getattr(obj, name).set(values)
        changed.append(name)
    audit.record(
        f"investigations.{obj._meta.model_name}_updated",
        actor=actor,
        obj=case,
        changed_fields=changed,
        details={"record": f"{obj._meta.model_name}:{obj.pk}"},
    )
    return obj


# --- the investigation log and tasks --------------------------------------------------------------------


@transaction.atomic
def log_action(case: Case, *, actor, officers=(), **fields) -> LogEntry:
    _require(case, actor)
    interviewee = fields.get("interviewee")
    if interviewee is not None and interviewee.case_id != case.pk:
        raise ValidationError(_("That person is not in this case."))
    return _create(
        LogEntry, case, actor=actor, action="action_logged", m2m={"officers": list(officers)}, case=case, **fields
    )


@transaction.atomic
def add_log_attachment(entry: LogEntry, *, actor, upload) -> LogAttachment:
    _require(entry.case, actor)
    data = upload.read()
    if len(data) > settings.CASE_ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("The file is too large."))
    attachment = LogAttachment(
        entry=entry,
        stored_name=uuid.uuid4().hex,
        original_name=getattr(upload, "name", "file")[:200],
        content_type=sniff(data[:64]) or "application/octet-stream",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor,
    )
    store_encrypted(LOG_STORE, attachment.stored_name, data)
    attachment.save()
    audit.record(
        "investigations.attachment_added",
        actor=actor,
        obj=entry.case,
        details={"attachment_id": attachment.pk, "sha256": attachment.sha256},
    )
    return attachment


@transaction.atomic
def add_task(case: Case, *, actor, **fields) -> Task:
    _require(case, actor)
    return _create(Task, case, actor=actor, action="task_added", case=case, **fields)


# --- suspects -------------------------------------------------------------------------------------------


@transaction.atomic
def record_arrest(suspect: CasePerson, *, actor, **fields) -> Arrest:
    case = suspect.case
    _require(case, actor)
    _link(case, suspect, PersonRole.SUSPECT)
    arrest = _create(Arrest, case, actor=actor, action="suspect_arrested", suspect=suspect, **fields)
    status, _created = SuspectStatus.objects.get_or_create(suspect=suspect, defaults={"created_by": actor})
    status.custody_status = CustodyStatus.IN_CUSTODY
    status.version += 1
    status.save()
    dispatch(
        EVENTS["arrested"],
        message=_("A suspect in case %(ref)s was arrested on %(date)s.")
        % {"ref": case.reference, "date": arrest.arrested_on.isoformat()},
        link=_url("suspects", case),
        assignee=case.owner,
        actor=actor,
    )
    return arrest


@transaction.atomic
def record_bail(suspect: CasePerson, *, actor, **fields) -> Bail:
    case = suspect.case
    _require(case, actor)
    _link(case, suspect, PersonRole.SUSPECT)
    bail = _create(Bail, case, actor=actor, action="bail_recorded", suspect=suspect, **fields)
    status, _created = SuspectStatus.objects.get_or_create(suspect=suspect, defaults={"created_by": actor})
    status.custody_status = CustodyStatus.ON_BAIL
    status.version += 1
    status.save()
    return bail


@transaction.atomic
def set_custody_status(suspect: CasePerson, *, actor, version: int | None, custody_status: str) -> SuspectStatus:
    _require(suspect.case, actor)
    _link(suspect.case, suspect, PersonRole.SUSPECT)
    status = SuspectStatus.objects.filter(suspect=suspect).first()
    if status is None:
        return _create(
            SuspectStatus,
            suspect.case,
            actor=actor,
            action="custody_status_set",
            suspect=suspect,
            custody_status=custody_status,
        )
    return update_record(status, actor=actor, version=version or 0, custody_status=custody_status)


# --- evidence and the chain of custody ------------------------------------------------------------------


@transaction.atomic
def register_evidence(case: Case, *, actor, upload=None, **fields) -> Evidence:
    """Register an exhibit; a digital file is hashed (SHA-256) on upload and stored encrypted."""
    _require(case, actor)
    count = Evidence.objects.filter(case=case).count()
    evidence = Evidence(
        case=case, created_by=actor, holder=fields.get("seized_by") or actor, reference=f"E-{count + 1:03d}", **fields
    )
    if upload is not None:
        data = upload.read()
        if len(data) > settings.CASE_ATTACHMENT_MAX_BYTES:
            raise ValidationError(_("The file is too large."))
        evidence.stored_name = uuid.uuid4().hex
        evidence.original_name = getattr(upload, "name", "file")[:200]
        evidence.content_type = sniff(data[:64]) or "application/octet-stream"
        evidence.size = len(data)
        evidence.sha256 = hashlib.sha256(data).hexdigest()
        store_encrypted(EVIDENCE_STORE, evidence.stored_name, data)
    evidence.full_clean()
    evidence.save()
    audit.record(
        "investigations.evidence_registered",
        actor=actor,
        obj=case,
        changed_fields=sorted(k for k, v in fields.items() if v not in (None, "")),
        details={"evidence_id": evidence.pk, "sha256": evidence.sha256},
    )
    return evidence


@transaction.atomic
def hand_over_evidence(evidence: Evidence, *, actor, to_user, reason: str, handed_at=None) -> CustodyTransfer:
    """The current custodian hands an exhibit over; it stays theirs until the receiver acknowledges."""
    _require(evidence.case, actor)
    if evidence.holder_id != actor.pk and not actor.has_perm("cases.view_all"):
        raise PermissionDenied
    if to_user.pk == evidence.holder_id:
        raise ValidationError(_("The exhibit is already held by that officer."))
    if evidence.transfers.filter(acknowledged_at__isnull=True).exists():
        raise ValidationError(_("A hand-over of this exhibit is waiting for its receipt to be acknowledged."))
    if not reason.strip():
        raise ValidationError(_("Say why the exhibit is handed over."))
    transfer = CustodyTransfer.objects.create(
        evidence=evidence,
        from_user_id=evidence.holder_id,
        to_user=to_user,
        handed_at=handed_at or timezone.now(),
        reason=reason.strip(),
    )
    audit.record(
        "investigations.evidence_handed_over",
        actor=actor,
        obj=evidence.case,
        details={"evidence_id": evidence.pk, "transfer_id": transfer.pk, "to_user_id": to_user.pk},
    )
    return transfer


@transaction.atomic
def acknowledge_receipt(transfer: CustodyTransfer, *, actor) -> CustodyTransfer:
    """Only the receiving officer confirms the receipt; the exhibit becomes theirs at that moment."""
    if transfer.to_user_id != actor.pk:
        raise PermissionDenied
    locked = CustodyTransfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.acknowledged_at is not None:
        raise ValidationError(_("This receipt was already acknowledged."))
    locked.acknowledged_at = timezone.now()
    locked.save(update_fields=["acknowledged_at"])
    evidence = locked.evidence
    evidence.holder_id = actor.pk
    evidence.version += 1
    evidence.save(update_fields=["holder", "version", "updated_at"])
    audit.record(
        "investigations.evidence_received",
        actor=actor,
        obj=evidence.case,
        details={"evidence_id": evidence.pk, "transfer_id": locked.pk},
    )
    return locked


def _flag_broken(evidence: Evidence, *, actor, used_for: str) -> None:
    """Audit every detection; flag the exhibit and alert leadership the first time (urgent)."""
    with transaction.atomic():
        now = timezone.now()
        first = bool(Evidence.objects.filter(pk=evidence.pk, broken_at__isnull=True).update(broken_at=now))
        audit.record(
            "investigations.evidence_chain_broken",
            actor=actor,
            obj=evidence.case,
            details={"evidence_id": evidence.pk, "used_for": used_for, "expected_sha256": evidence.sha256},
        )
        if first:
            evidence.broken_at = now
            dispatch(
                EVENTS["broken"],
                message=_("Evidence chain broken: exhibit %(exhibit)s of case %(ref)s no longer matches its SHA-256.")
                % {"exhibit": evidence.reference, "ref": evidence.case.reference},
                link=_url("evidence", evidence.case),
                assignee=evidence.case.owner,
            )


def verified_file(evidence: Evidence, *, actor, used_for: str) -> bytes:
    """The exhibit's file, after checking it against the SHA-256 taken on upload. A mismatch (or a file that
    no longer decrypts) is flagged, audited and alerted, and raises EvidenceChainBroken."""
    try:
        data = read_encrypted(EVIDENCE_STORE, evidence.stored_name)
    except (InvalidToken, OSError):
        data = None
    if data is None or hashlib.sha256(data).hexdigest() != evidence.sha256:
        _flag_broken(evidence, actor=actor, used_for=used_for)
        raise EvidenceChainBroken(evidence)
    return data


# --- requests abroad, charges, court ----------------------------------------------------------------------


@transaction.atomic
def add_mla_request(case: Case, *, actor, **fields) -> MLARequest:
    _require(case, actor)
    return _create(MLARequest, case, actor=actor, action="mla_request_added", case=case, **fields)


@transaction.atomic
def open_court_case(case: Case, *, actor, **fields) -> CourtCase:
    _require(case, actor)
    return _create(CourtCase, case, actor=actor, action="court_case_opened", case=case, **fields)


@transaction.atomic
def lay_charge(suspect: CasePerson, *, actor, **fields) -> Charge:
    case = suspect.case
    _require(case, actor)
    _link(case, suspect, PersonRole.SUSPECT)
    court_case = fields.get("court_case")
    if court_case is not None and court_case.case_id != case.pk:
        raise ValidationError(_("That court case belongs to another case."))
    charge = _create(Charge, case, actor=actor, action="charge_laid", case=case, suspect=suspect, **fields)
    dispatch(
        EVENTS["charged"],
        message=_("A charge was laid in case %(ref)s on %(date)s.")
        % {"ref": case.reference, "date": charge.laid_on.isoformat()},
        link=_url("court", case),
        assignee=case.owner,
        actor=actor,
    )
    return charge


@transaction.atomic
def record_outcome(charge: Charge, *, actor, version: int, **fields) -> Charge:
    """Conviction, acquittal, sentence, compensation, appeal of one charge."""
    if fields.get("outcome") in {ChargeOutcome.CONVICTION, ChargeOutcome.ACQUITTAL} and not fields.get("outcome_on"):
        raise ValidationError({"outcome_on": _("Give the date of the outcome.")})
    return update_record(charge, actor=actor, version=version, **fields)


@transaction.atomic
def schedule_hearing(court_case: CourtCase, *, actor, **fields) -> Hearing:
    _require(court_case.case, actor)
    fields.setdefault("court", court_case.court)
    fields["court"] = fields["court"] or court_case.court
    return _create(Hearing, court_case.case, actor=actor, action="hearing_scheduled", court_case=court_case, **fields)


@transaction.atomic
def record_court_order(case: Case, *, actor, **fields) -> CourtOrder:
    _require(case, actor)
    return _create(CourtOrder, case, actor=actor, action="court_order_recorded", case=case, **fields)


@transaction.atomic
def record_participation(victim: CasePerson, *, actor, version: int | None = None, **fields) -> VictimParticipation:
    case = victim.case
    _require(case, actor)
    _link(case, victim, PersonRole.VICTIM)
    existing = VictimParticipation.objects.filter(victim=victim).first()
    if existing is not None:
        return update_record(existing, actor=actor, version=version or 0, **fields)
    return _create(VictimParticipation, case, actor=actor, action="participation_recorded", victim=victim, **fields)


# --- the court case file --------------------------------------------------------------------------------


@transaction.atomic
def request_court_file(case: Case, *, actor, reveal_identity: bool = False, reason: str = "") -> CourtFile:
    """Queue the compilation of the court case file. Revealing victims' identities needs a reason, which is
    recorded (encrypted) and audited; by default victims appear by pseudonym only."""
    from investigations.tasks import compile_court_file

    _require(case, actor)
    if reveal_identity and not reason.strip():
        raise ValidationError({"reason": _("Give the reason for revealing the victims' identity.")})
    if reveal_identity:
        # Four eyes (issue #10): revealing identities also needs another approver's yes, spent here.
        from approvals.actions import consume
        from approvals.choices import Kind

        consume(Kind.COURT_FILE_REVEAL, actor=actor, target=case)
    court_file = CourtFile.objects.create(
        case=case, requested_by=actor, reveal_identity=reveal_identity, reveal_reason=reason.strip() if reveal_identity else "",
        options={"reveal_identity": reveal_identity},
    )  # fmt: skip
    audit.record(
        "investigations.court_file_requested",
        actor=actor,
        obj=case,
        changed_fields=["reveal_reason"] if reveal_identity else [],
        details={"court_file_id": court_file.pk, "reveal_identity": reveal_identity},
    )
    transaction.on_commit(partial(compile_court_file.enqueue, court_file.pk), robust=True)
    return court_file


@transaction.atomic
def request_reveal_approval(case: Case, *, actor, reason: str):
    """Ask another approver to allow a court file of this case with victims' identities revealed (issue #10)."""
    from approvals.actions import request_approval
    from approvals.choices import Kind

    _require(case, actor)
    return request_approval(Kind.COURT_FILE_REVEAL, actor=actor, reason=reason, target=case)


# --- periodic checks ------------------------------------------------------------------------------------


def _url(page: str, case: Case) -> str:
    from django.urls import reverse

    return reverse(f"investigations:{page}", args=[case.pk])


def _open(queryset, path: str = "case"):
    field = "status__in" if path == "pk" else f"{path}__status__in"
    return queryset.exclude(**{field: [CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED]})


def flag_upcoming_hearings(now=None) -> int:
    """Remind the case's investigators and care officers (and whoever the rule names: the Director and Head
    of Investigations) once per hearing, 7 days ahead: a survivor who testifies needs support and transport
    arranged. Idempotent: each hearing is claimed before its alert."""
    from alerts.actions import notify

    now = now or timezone.now()
    due = _open(
        Hearing.objects.filter(
            reminded_at__isnull=True, starts_at__gte=now, starts_at__lte=now + timedelta(days=HEARING_REMINDER_DAYS)
        ),
        "court_case__case",
    )
    count = 0
    for hearing in due.select_related("court_case__case__owner"):
        with transaction.atomic():
            if not Hearing.objects.filter(pk=hearing.pk, reminded_at__isnull=True).update(reminded_at=now):
                continue
            case = hearing.court_case.case
            message = _(
                "Hearing in case %(ref)s on %(date)s: arrange support and transport for any survivor who testifies."
            ) % {
                "ref": case.reference,
                "date": timezone.localtime(hearing.starts_at).strftime("%Y-%m-%d %H:%M"),
            }
            team = [case.owner] + [
                m.user
                for m in CaseMember.objects.filter(
                    case=case, role__in=[TeamRole.OWNER, TeamRole.INVESTIGATOR, TeamRole.CARE]
                )
                .select_related("user")
                .order_by("pk")
            ]
            notify(team, event=EVENTS["hearing"], message=message, link=_url("court_dates", case))
            dispatch(EVENTS["hearing"], message=message, link=_url("court", case))
            audit.record("investigations.hearing_reminded", obj=hearing, details={"case_id": case.pk})
            count += 1
    return count


def flag_expiring_orders(now=None) -> int:
    """Alert once per court order, 14 days before it expires."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    due = _open(
        CourtOrder.objects.filter(
            expiry_alerted_at__isnull=True,
            expires_on__isnull=False,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=ORDER_ALERT_DAYS),
        )
    )
    count = 0
    for order in due.select_related("case__owner"):
        with transaction.atomic():
            if not CourtOrder.objects.filter(pk=order.pk, expiry_alerted_at__isnull=True).update(expiry_alerted_at=now):
                continue
            dispatch(
                EVENTS["order"],
                message=_("A court order (%(kind)s) in case %(ref)s expires on %(date)s.")
                % {"kind": order.get_kind_display(), "ref": order.case.reference, "date": order.expires_on.isoformat()},
                link=_url("court", order.case),
                assignee=order.case.owner,
            )
            audit.record("investigations.order_expiry_alerted", obj=order, details={"case_id": order.case_id})
            count += 1
    return count


def flag_inactive_cases(now=None) -> int:
    """Alert once per inactivity period when nothing was recorded about an open case (no audit event on it)
    for 30 days. The alert itself is audited against the marker row, not the case, so it does not count as
    activity; new activity starts a new period."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=INACTIVE_DAYS)
    latest = (
        AuditEvent.objects.filter(object_type="cases.case", object_id=models.OuterRef("pk_text"))
        .order_by("-at")
        .values("at")[:1]
    )
    cases = (
        _open(Case.objects.all(), "pk")
        .annotate(pk_text=Cast("pk", models.CharField(max_length=20)))
        .annotate(last_at=models.Subquery(latest))
    )
    count = 0
    for case in cases.filter(
        models.Q(last_at__lt=cutoff) | models.Q(last_at__isnull=True, opened_at__lt=cutoff)
    ).select_related("owner"):
        last = case.last_at or case.opened_at
        with transaction.atomic():
            marker, created = CaseActivity.objects.select_for_update().get_or_create(
                case=case, defaults={"alerted_for": last}
            )
            if not created:
                if marker.alerted_for >= last:
                    continue
                marker.alerted_for = last
                marker.save(update_fields=["alerted_for"])
            dispatch(
                EVENTS["inactive"],
                message=_("Nothing was recorded in case %(ref)s for %(days)s days.")
                % {"ref": case.reference, "days": INACTIVE_DAYS},
                link=case.get_absolute_url(),
                assignee=case.owner,
            )
            audit.record("investigations.case_inactive_alerted", obj=marker, details={"case_id": case.pk})
            count += 1
    return count


def run_periodic_checks(now=None) -> dict:
    return {
        "hearings": flag_upcoming_hearings(now),
        "orders_expiring": flag_expiring_orders(now),
        "inactive_cases": flag_inactive_cases(now),
    }
