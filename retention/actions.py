"""Writes of the retention domain (issue #10): the retention job, its rules, legal holds, the access digest.

Anonymising blanks every identity field and every narrative a closed case gathered, whichever app holds it:
the report and its screenings and decision, case notes, places, the victims' care (needs, risks, plans and
their goals and actions, services, immigration, guardians, notifications, age assessments, consents), the
investigation (log, tasks, arrests, bail, evidence, custody hand-overs, MLA requests, court cases, charges'
prosecutors and sentences, hearings, orders, participation), referrals and their threads, Primero
submissions, approval requests, shares, break-glass and hold reasons, cross-border requests and interpreter
bookings. It removes what makes a person findable (aliases, identifiers, blind-index search tokens) and every
stored file (photos, documents, evidence, log attachments, compiled court files). It keeps sex, year of birth,
estimated age, nationalities, profiles' codes, kinds, statuses, dates, amounts, offences and statutes, and
every link, so every statistic counts the same before and after. Each record handled is one transaction
with its own audit row (ids and counts only). The audit log itself is never touched: it is append-only and
holds no personal data."""

from __future__ import annotations

import logging
from functools import partial

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import log as audit
from retention import policy
from retention.choices import ALLOWED_ACTIONS, RecordType, RetentionAction
from retention.models import LegalHold, RetainedMark, RetentionRule, RetentionRun
from utilities.locking import check_version

logger = logging.getLogger(__name__)

CASE_ATTACHMENT_STORE = "case-attachments"
REPORT_ATTACHMENT_STORE = "attachments"


def _remove_file(store: str, name: str) -> None:
    """Delete an encrypted file once the transaction that dropped its row has committed."""
    from utilities.storage import delete_encrypted

    if not name:
        return
    try:
        delete_encrypted(store, name)
    except (OSError, ValueError):
        logger.warning("retention: could not remove a stored file in %s", store)


def _remove_files_on_commit(store: str, names) -> None:
    for name in names:
        transaction.on_commit(partial(_remove_file, store, name), robust=True)


def _mark(kind: str, object_id: int, run: RetentionRun) -> None:
    RetainedMark.objects.create(record_type=kind, object_id=object_id, run=run)


# --- what anonymising one record means -------------------------------------------------------------------


def _blank_report(report_id: int) -> dict:
    from intake.models import Report, ReportAddition, ReportAttachment
    from screening.models import Decision, Screening

    Report.objects.filter(pk=report_id).update(
        reporter_name="", reporter_phone="", reporter_phone_index="", reporter_email="", named_persons="",
        named_person_index=[], location_text="", narrative="", closed_reason="", public_code_hash="",
        version=F("version") + 1,
    )  # fmt: skip
    additions = ReportAddition.objects.filter(report_id=report_id).update(text="")
    files = ReportAttachment.objects.filter(report_id=report_id)
    _remove_files_on_commit(REPORT_ATTACHMENT_STORE, list(files.values_list("stored_name", flat=True)))
    attachments, _ignored = files.delete()
    Screening.objects.filter(report_id=report_id).update(evidence="")
    Decision.objects.filter(report_id=report_id).update(rationale="")
    return {"additions": additions, "attachments": attachments}


def _blank_referrals(referrals) -> int:
    from referrals.models import ReferralEvent, ReferralMessage, ReferralService

    ids = list(referrals.values_list("pk", flat=True))
    referrals.update(
        shared_name="", safety_notes="", safe_contact="", snapshot_data="", override_reason="", decline_reason="",
        outcome="", withdrawal_reason="", version=F("version") + 1,
    )  # fmt: skip
    ReferralEvent.objects.filter(referral_id__in=ids).update(note="")
    ReferralService.objects.filter(referral_id__in=ids).update(details="", outcome="")
    _blank_thread(ReferralMessage.objects.filter(referral_id__in=ids))
    return len(ids)


def _blank_thread(messages) -> int:
    from referrals.choices import ATTACHMENT_STORE

    _remove_files_on_commit(ATTACHMENT_STORE, [n for n in messages.values_list("stored_name", flat=True) if n])
    return messages.update(text="", original_name="", stored_name="", content_type="", size=0, sha256="")


# Placeholder for texts whose presence statistics count (a sentence recorded): the words go, the fact stays.
REDACTED = "—"


def _blank_care(link_ids: list[int]) -> int:
    """Victim care on these case links (issue #4): every narrative, number, name and contact. Kinds, statuses,
    levels, dates and estimated ages stay; rows are never deleted (care history is counted)."""
    from care import models as care

    blanked = 0
    for model, fields in (
        (care.Need, ("notes",)),
        (care.RiskAssessment, ("factors",)),
        (care.CarePlan, ("objectives", "action_plan")),
        (care.ServiceDelivery, ("provider_other", "details", "outcome")),
        (care.ImmigrationStatus, ("notes",)),
        (care.ImmigrationDocument, ("number", "issued_by", "notes")),
        (care.Guardian, ("name", "contact", "notes")),
        (care.AuthorityNotification, ("reference", "notes")),
        (care.AgeAssessment, ("assessor", "notes")),
        (care.Consent, ("scope", "withdrawal_notes")),
    ):
        blanked += model.objects.filter(case_person_id__in=link_ids).update(**dict.fromkeys(fields, ""))
    care.PlanGoal.objects.filter(plan__case_person_id__in=link_ids).update(description="")
    care.PlanAction.objects.filter(goal__plan__case_person_id__in=link_ids).update(description="")
    return blanked


def _blank_investigation(case_id: int, link_ids: list[int]) -> dict:
    """The investigation and prosecution (issue #6): log, tasks, arrests, bail, evidence (its file removed),
    custody hand-overs, MLA requests, court cases, charges, hearings, orders, participation; compiled court
    files are deleted with their PDFs. Kinds, outcomes, dates, compensation, offences and statutes stay."""
    from investigations import models as inv
    from investigations.actions import COURT_FILE_STORE, EVIDENCE_STORE, LOG_STORE

    inv.LogEntry.objects.filter(case_id=case_id).update(title="", outcome="", version=F("version") + 1)
    log_files = inv.LogAttachment.objects.filter(entry__case_id=case_id)
    _remove_files_on_commit(LOG_STORE, list(log_files.values_list("stored_name", flat=True)))
    log_attachments, _ignored = log_files.delete()
    inv.Task.objects.filter(case_id=case_id).update(title="", version=F("version") + 1)
    inv.Arrest.objects.filter(suspect_id__in=link_ids).update(place="", arrested_by="", version=F("version") + 1)
    inv.Bail.objects.filter(suspect_id__in=link_ids).update(terms="", version=F("version") + 1)
    evidence = inv.Evidence.objects.filter(case_id=case_id)
    _remove_files_on_commit(EVIDENCE_STORE, [n for n in evidence.values_list("stored_name", flat=True) if n])
    evidence.update(
        item="", description="", found_at="", storage_location="", stored_name="", original_name="",
        content_type="", size=None, sha256="", version=F("version") + 1,
    )  # fmt: skip
    inv.CustodyTransfer.objects.filter(evidence__case_id=case_id).update(reason="")
    inv.MLARequest.objects.filter(case_id=case_id).update(request="", version=F("version") + 1)
    inv.CourtCase.objects.filter(case_id=case_id).update(number="", prosecutor="", version=F("version") + 1)
    charges = inv.Charge.objects.filter(case_id=case_id)
    charges.update(prosecutor="", version=F("version") + 1)
    # "Sentences recorded" counts charges with a sentence (stats.standard.tip_summary): keep that a sentence
    # was recorded, not its words.
    charges.exclude(sentence="").update(sentence=REDACTED)
    inv.Hearing.objects.filter(court_case__case_id=case_id).update(purpose="", outcome="", version=F("version") + 1)
    inv.CourtOrder.objects.filter(case_id=case_id).update(terms="", version=F("version") + 1)
    inv.VictimParticipation.objects.filter(victim_id__in=link_ids).update(support="", version=F("version") + 1)
    court_files = inv.CourtFile.objects.filter(case_id=case_id)
    _remove_files_on_commit(COURT_FILE_STORE, [n for n in court_files.values_list("stored_name", flat=True) if n])
    court_files_deleted, _ignored = court_files.delete()
    return {"log_attachments": log_attachments, "court_files": court_files_deleted}


def _blank_approvals(target_type: str, ids) -> int:
    """Reasons and notes of approval requests about these objects (a merge names its second person in
    ``parameters``)."""
    from django.db.models import Q

    from approvals.models import ApprovalRequest

    about = Q(target_type=target_type, target_id__in=[str(i) for i in ids])
    if target_type == "cases.person":
        about |= Q(kind="merge_persons", parameters__other_person_id__in=list(ids))
    return ApprovalRequest.objects.filter(about).update(reason="", decision_note="")


def _blank_around_case(case, link_ids: list[int], referral_ids: list[int]) -> None:
    """What other apps keep about the case: shares' and break-glass reasons, lifted holds' reasons, approval
    requests' reasons and notes, Primero submissions' override reasons and errors, cross-border requests'
    questions and messages, interpreter bookings' purposes."""
    from cases.models import BreakGlass, CaseShare
    from cooperation.models import CoopMessage, CoopRequest
    from integrations.models import PrimeroAttempt, PrimeroSubmission
    from interpreters.models import Booking

    CaseShare.objects.filter(case_id=case.pk).update(reason="")
    BreakGlass.objects.filter(case_id=case.pk).update(reason="")
    LegalHold.objects.filter(case_id=case.pk).update(reason="")
    _blank_approvals("cases.case", [case.pk])
    _blank_approvals("referrals.referral", referral_ids)
    PrimeroSubmission.objects.filter(referral_id__in=referral_ids).update(override_reason="", error="")
    PrimeroAttempt.objects.filter(submission__referral_id__in=referral_ids).update(error="")
    requests = CoopRequest.objects.filter(case_id=case.pk)
    # A message's body is JSON read back by the exchange pages: an empty object, not an empty string.
    CoopMessage.objects.filter(request__in=requests).update(body="{}", last_error="")
    requests.update(asked="", version=F("version") + 1)
    if case.reference:
        Booking.objects.filter(case_reference=case.reference).update(purpose="")


def anonymise_case(case_id: int, *, rule: RetentionRule, run: RetentionRun, blank_report: bool = True) -> None:
    """Every narrative of a closed case: closure notes, notes, places' descriptions, the case's own identifiers
    and attachments, profiles' details, care, investigation and court texts (stored files removed once the
    transaction commits), the report it came from, referral texts, and what other apps keep about the case
    (``_blank_around_case``). Identities are ``anonymise_person``'s. Dates, kinds and map pins stay."""
    from cases.models import (
        Case,
        CaseAttachment,
        CaseNote,
        CasePerson,
        Identifier,
        Place,
        SuspectProfile,
        VictimProfile,
    )
    from referrals.models import Referral

    with transaction.atomic():
        case = Case.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            return
        Case.objects.filter(pk=case_id).update(closure_reason="", follow_up="", version=F("version") + 1)
        notes = CaseNote.objects.filter(case_id=case_id).update(text="")
        places = Place.objects.filter(case_id=case_id).update(description="")
        identifiers, _ignored = Identifier.objects.filter(case_id=case_id).delete()
        files = CaseAttachment.objects.filter(case_id=case_id)
        _remove_files_on_commit(CASE_ATTACHMENT_STORE, list(files.values_list("stored_name", flat=True)))
        attachments, _ignored = files.delete()
        link_ids = list(CasePerson.objects.filter(case_id=case_id).values_list("pk", flat=True))
        VictimProfile.objects.filter(case_person_id__in=link_ids).update(vulnerability_details="")
        SuspectProfile.objects.filter(case_person_id__in=link_ids).update(role_details="")
        care = _blank_care(link_ids)
        investigation = _blank_investigation(case_id, link_ids)
        referral_qs = Referral.objects.filter(case_person__case_id=case_id)
        referral_ids = list(referral_qs.values_list("pk", flat=True))
        referrals = _blank_referrals(referral_qs)
        _blank_around_case(case, link_ids, referral_ids)
        # A report that opened several cases is blanked only once none of them is still kept (policy.select).
        report = _blank_report(case.report_id) if blank_report else {}
        _mark(policy.MARK_CASE, case_id, run)
        counts = {
            "notes": notes,
            "places": places,
            "identifiers": identifiers,
            "attachments": attachments,
            "referrals": referrals,
            "care_records": care,
            **investigation,
        }
        audit.record(
            "retention.case_anonymised",
            object_type="cases.case",
            object_id=case_id,
            changed_fields=[
                "closure_reason",
                "follow_up",
                "notes",
                "places",
                "report",
                "referrals",
                "care",
                "investigation",
            ],
            details={"rule_id": rule.pk, "run_id": run.pk, "counts": counts, "report_counts": report},
        )


def anonymise_person(person_id: int, *, rule: RetentionRule, run: RetentionRun) -> None:
    """Blank a person's identity and make them unfindable; keep what statistics count."""
    from cases.models import CaseAttachment, Identifier, Person, PersonAlias, SearchToken, SuspectProfile, VictimProfile

    with transaction.atomic():
        if not Person.objects.select_for_update().filter(pk=person_id).exists():
            return
        # Records merged into this person (kept so a merge can be undone) carry names too.
        ids = [person_id, *Person.objects.filter(merged_into_id=person_id).values_list("pk", flat=True)]
        Person.objects.filter(pk__in=ids).update(
            given_names="", family_names="", birth_date="", version=F("version") + 1
        )
        aliases, _ignored = PersonAlias.objects.filter(person_id__in=ids).delete()
        identifiers, _ignored = Identifier.objects.filter(person_id__in=ids).delete()
        tokens, _ignored = SearchToken.objects.filter(person_id__in=ids).delete()
        files = CaseAttachment.objects.filter(case_person__person_id=person_id)
        _remove_files_on_commit(CASE_ATTACHMENT_STORE, list(files.values_list("stored_name", flat=True)))
        attachments, _ignored = files.delete()
        VictimProfile.objects.filter(case_person__person_id=person_id).update(vulnerability_details="")
        SuspectProfile.objects.filter(case_person__person_id=person_id).update(role_details="")
        _blank_approvals("cases.person", ids)
        _mark(policy.MARK_PERSON, person_id, run)
        audit.record(
            "retention.person_anonymised",
            object_type="cases.person",
            object_id=person_id,
            changed_fields=["given_names", "family_names", "birth_date", "aliases", "identifiers", "search_tokens"],
            details={
                "rule_id": rule.pk,
                "run_id": run.pk,
                "counts": {
                    "aliases": aliases,
                    "identifiers": identifiers,
                    "search_tokens": tokens,
                    "attachments": attachments,
                },
            },
        )


def anonymise_report(report_id: int, *, rule: RetentionRule, run: RetentionRun) -> None:
    with transaction.atomic():
        counts = _blank_report(report_id)
        _mark(policy.MARK_REPORT, report_id, run)
        audit.record(
            "retention.report_anonymised",
            object_type="intake.report",
            object_id=report_id,
            changed_fields=["reporter", "named_persons", "location_text", "narrative"],
            details={"rule_id": rule.pk, "run_id": run.pk, "counts": counts},
        )


def delete_report(report_id: int, *, rule: RetentionRule, run: RetentionRun) -> None:
    """Delete a report closed without a case, with its screenings and decisions (none opened a case)."""
    from cases.models import Case
    from geo.models import AreaAssignment
    from intake.models import Report, ReportAttachment
    from screening.models import Decision, Screening

    with transaction.atomic():
        # No join in a locking query (PostgreSQL refuses FOR UPDATE on an outer join's nullable side).
        report = Report.objects.select_for_update().filter(pk=report_id).first()
        if report is None or Case.objects.filter(report_id=report_id).exists():
            return
        _remove_files_on_commit(
            REPORT_ATTACHMENT_STORE,
            list(ReportAttachment.objects.filter(report_id=report_id).values_list("stored_name", flat=True)),
        )
        decisions, _ignored = Decision.objects.filter(report_id=report_id).delete()
        screenings, _ignored = Screening.objects.filter(report_id=report_id).delete()
        AreaAssignment.objects.filter(object_type="intake.report", object_id=report_id).delete()
        report.delete()
        RetainedMark.objects.filter(record_type=policy.MARK_REPORT, object_id=report_id).delete()
        audit.record(
            "retention.report_deleted",
            object_type="intake.report",
            object_id=report_id,
            details={
                "rule_id": rule.pk,
                "run_id": run.pk,
                "counts": {"screenings": screenings, "decisions": decisions},
            },
        )


def anonymise_thread(referral_id: int, *, rule: RetentionRule, run: RetentionRun) -> None:
    from referrals.models import ReferralMessage

    with transaction.atomic():
        messages = _blank_thread(ReferralMessage.objects.filter(referral_id=referral_id))
        _mark(policy.MARK_REFERRAL, referral_id, run)
        audit.record(
            "retention.thread_anonymised",
            object_type="referrals.referral",
            object_id=referral_id,
            changed_fields=["messages"],
            details={"rule_id": rule.pk, "run_id": run.pk, "counts": {"messages": messages}},
        )


def delete_thread(referral_id: int, *, rule: RetentionRule, run: RetentionRun) -> None:
    from referrals.choices import ATTACHMENT_STORE
    from referrals.models import ReferralMessage

    with transaction.atomic():
        messages = ReferralMessage.objects.filter(referral_id=referral_id)
        _remove_files_on_commit(ATTACHMENT_STORE, [n for n in messages.values_list("stored_name", flat=True) if n])
        deleted, _ignored = messages.delete()
        audit.record(
            "retention.thread_deleted",
            object_type="referrals.referral",
            object_id=referral_id,
            details={"rule_id": rule.pk, "run_id": run.pk, "counts": {"messages": deleted}},
        )


# --- the job -----------------------------------------------------------------------------------------------


def _apply(sel: policy.Selection, run: RetentionRun) -> tuple[int, int]:
    """Act on one rule's selection; returns (anonymised, deleted). A record that fails is logged (by id)
    and left for the next run; the others go on."""
    rule = sel.rule
    delete = rule.action == RetentionAction.DELETE
    work: list[tuple] = []
    if rule.record_type == RecordType.CASE_VICTIMS:
        work += [(partial(anonymise_case, blank_report=pk in sel.case_reports_ok), pk, False) for pk in sel.cases]
    work += [(anonymise_person, pk, False) for pk in sel.persons]
    work += [((delete_report if delete else anonymise_report), pk, delete) for pk in sel.reports]
    work += [((delete_thread if delete else anonymise_thread), pk, delete) for pk in sel.referrals]
    anonymised = deleted = 0
    for function, pk, deleting in work:
        try:
            function(pk, rule=rule, run=run)
        except IntegrityError:
            # Another worker handled this record at the same moment (its mark exists): nothing to do.
            continue
        except Exception:
            logger.exception("retention: %s failed for record %s", getattr(function, "__name__", "anonymise_case"), pk)
            continue
        if deleting:
            deleted += 1
        else:
            anonymised += 1
    return anonymised, deleted


def apply_retention(*, actor=None, dry_run: bool = False, now=None, run: RetentionRun | None = None) -> RetentionRun:
    """Run every active rule (a dry run previews every rule, active or not, and changes nothing but its own
    report). Returns the run with its counts per rule."""
    if actor is not None and not actor.has_perm("retention.manage"):
        raise PermissionDenied
    now = now or timezone.now()
    run = run or RetentionRun.objects.create(dry_run=dry_run, triggered_by=actor)
    rules = RetentionRule.objects.all() if dry_run else RetentionRule.objects.filter(is_active=True)
    counts: dict[str, dict] = {}
    for rule in rules:
        sel = policy.select(rule, now)
        entry = {
            "record_type": rule.record_type,
            "action": rule.action,
            "period_months": rule.period_months,
            "active": rule.is_active,
            "eligible": sel.total,
            "held": sel.held,
            "skipped": sel.skipped,
            "anonymised": 0,
            "deleted": 0,
        }
        if not dry_run:
            entry["anonymised"], entry["deleted"] = _apply(sel, run)
        counts[str(rule.pk)] = entry
    with transaction.atomic():
        run.counts = counts
        run.finished_at = timezone.now()
        run.save(update_fields=["counts", "finished_at"])
        audit.record(
            "retention.run",
            actor=actor,
            obj=run,
            details={
                "dry_run": dry_run,
                "rules": len(counts),
                "anonymised": sum(c["anonymised"] for c in counts.values()),
                "deleted": sum(c["deleted"] for c in counts.values()),
                "held": sum(c["held"] for c in counts.values()),
            },
        )
    return run


def claim_daily_run(now=None) -> RetentionRun | None:
    """The scheduled run's claim: a new run row unless one started in the last 24 hours or no rule is active.
    Workers claim under a lock on the rules, so two of them never run the job together."""
    now = now or timezone.now()
    with transaction.atomic():
        active = list(RetentionRule.objects.select_for_update().filter(is_active=True))
        if not active:
            return None
        if RetentionRun.objects.filter(dry_run=False, started_at__gt=now - timezone.timedelta(hours=24)).exists():
            return None
        return RetentionRun.objects.create(dry_run=False)


# --- rules and holds -------------------------------------------------------------------------------------


@transaction.atomic
def update_rule(
    rule: RetentionRule, *, actor, version: int, period_months: int, action: str, is_active: bool
) -> RetentionRule:
    if not actor.has_perm("retention.manage"):
        raise PermissionDenied
    check_version(RetentionRule, rule.pk, version)
    rule.refresh_from_db()
    errors = {}
    if action not in ALLOWED_ACTIONS.get(rule.record_type, ()):
        errors["action"] = _("These records can only be anonymised: statistics depend on them.")
    if not 1 <= int(period_months) <= 1200:
        errors["period_months"] = _("Give a period between 1 and 1200 months.")
    if errors:
        raise ValidationError(errors)
    before = {"period_months": rule.period_months, "action": rule.action, "is_active": rule.is_active}
    rule.period_months, rule.action, rule.is_active = int(period_months), action, bool(is_active)
    rule.version += 1
    rule.save()
    changed = [name for name, value in before.items() if getattr(rule, name) != value]
    audit.record(
        "retention.rule_updated",
        actor=actor,
        obj=rule,
        changed_fields=changed,
        details={
            "record_type": rule.record_type,
            "period_months": rule.period_months,
            "action": rule.action,
            "active": rule.is_active,
        },
    )
    return rule


@transaction.atomic
def place_hold(case, *, actor, reason: str) -> LegalHold:
    if not actor.has_perm("retention.hold"):
        raise PermissionDenied
    if not (reason or "").strip():
        raise ValidationError({"reason": _("Say why the case is held.")})
    hold = LegalHold.objects.create(case=case, reason=reason.strip(), placed_by=actor)
    audit.record(
        "retention.hold_placed", actor=actor, obj=hold, changed_fields=["reason"], details={"case_id": case.pk}
    )
    return hold


@transaction.atomic
def lift_hold(hold: LegalHold, *, actor) -> LegalHold:
    if not actor.has_perm("retention.hold"):
        raise PermissionDenied
    locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if locked.lifted_at is not None:
        raise ValidationError(_("This hold was already lifted."))
    locked.lifted_at, locked.lifted_by = timezone.now(), actor
    locked.save(update_fields=["lifted_at", "lifted_by"])
    audit.record("retention.hold_lifted", actor=actor, obj=locked, details={"case_id": locked.case_id})
    return locked


# --- the weekly access digest ------------------------------------------------------------------------------


def create_access_digest(*, now=None, notify_directors: bool = True, if_due: bool = False):
    """Compute the week's unusual access, keep it, and tell the Director(s) there is a digest to read. The
    notification (and its email) carries a link only; the findings stay behind the sign-in."""
    from django.urls import reverse

    from alerts.actions import notify
    from alerts.rules import users_with_roles
    from alerts.tasks import send_notification_email
    from retention.access import compute_digest
    from retention.models import AccessDigest

    now = now or timezone.now()
    findings = compute_digest(now)
    with transaction.atomic():
        if if_due and not claim_weekly_digest(now):
            return None  # another worker made this week's digest meanwhile
        digest = AccessDigest.objects.create(
            period_start=now - timezone.timedelta(days=7), period_end=now, findings=findings
        )
        counts = {key: len(findings[key]) for key in ("heavy_readers", "out_of_hours", "break_glass")}
        audit.record("retention.access_digest_created", obj=digest, details=counts)
        # Nothing unusual: the digest is kept (the list shows every week) but nobody is disturbed.
        if notify_directors and digest.finding_count:
            message = _("Weekly access digest: %(count)s finding(s) to review.") % {"count": digest.finding_count}
            items = notify(
                users_with_roles(["director"]),
                event="access.digest",
                message=message,
                link=reverse("access:digest", args=[digest.pk]),
            )
            for item in items:
                if item.recipient.email:
                    transaction.on_commit(partial(send_notification_email.enqueue, item.pk), robust=True)
    return digest


def claim_weekly_digest(now=None) -> bool:
    """True when no digest was made in the last seven days (checked under the rules' lock, as the daily run)."""
    from retention.models import AccessDigest

    now = now or timezone.now()
    with transaction.atomic():
        list(RetentionRule.objects.select_for_update())
        return not AccessDigest.objects.filter(created_at__gt=now - timezone.timedelta(days=7)).exists()
