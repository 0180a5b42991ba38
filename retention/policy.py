"""What retention may touch (issue #10): the records each rule finds past its period, minus legal holds.

Read-only: ``actions.apply_retention`` does the writing. A case is *held* while it has an active legal hold, a
charge whose outcome is pending or an appeal lodged: nothing on it is anonymised, whatever its age. A person
is anonymised only when every case they appear on is closed, past the period and not held, because a person
record is shared by all their cases (issue #4)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from cases.choices import CaseStatus, PersonRole
from retention.choices import RecordType
from retention.models import LegalHold, RetainedMark, RetentionRule

CLOSED_STATUSES = (CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED)
FINISHED_REFERRALS = ("completed", "declined", "withdrawn")
VICTIM_SIDE_ROLES = (PersonRole.VICTIM, PersonRole.GUARDIAN, PersonRole.FAMILY, PersonRole.WITNESS, PersonRole.REPORTER)

# Mark kinds (RetainedMark.record_type): which record retention has already dealt with.
MARK_CASE = "cases.case"
MARK_PERSON = "cases.person"
MARK_REPORT = "intake.report"
MARK_REFERRAL = "referrals.referral"


def months_before(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def held_case_ids() -> set[int]:
    """Cases retention must not touch: an active legal hold, a charge still pending or an appeal lodged."""
    from investigations.models import Charge

    held = set(LegalHold.objects.active().values_list("case_id", flat=True))
    held |= set(Charge.objects.filter(Q(outcome="pending") | Q(appeal="lodged")).values_list("case_id", flat=True))
    return held


def _marked(kind: str) -> set[int]:
    return set(RetainedMark.objects.filter(record_type=kind).values_list("object_id", flat=True))


@dataclass
class Selection:
    """What one rule would act on now. Ids only."""

    rule: RetentionRule
    cutoff: datetime
    cases: list[int] = field(default_factory=list)  # case-level narratives (victims rule)
    case_reports_ok: set[int] = field(default_factory=set)  # of those cases, the ones whose report may be blanked
    persons: list[int] = field(default_factory=list)
    reports: list[int] = field(default_factory=list)
    referrals: list[int] = field(default_factory=list)
    held: int = 0  # cases past the period but held
    skipped: int = 0  # people past the period on a case but still on another open, recent or held case

    @property
    def total(self) -> int:
        return len(self.cases) + len(self.persons) + len(self.reports) + len(self.referrals)


def _persons_for(case_ids: set[int], roles, ok_cases: set[int]) -> tuple[list[int], int]:
    from cases.models import CasePerson

    candidates = set(
        CasePerson.objects.filter(case_id__in=case_ids, role__in=roles).values_list("person_id", flat=True)
    )
    if not candidates:
        return [], 0
    elsewhere = set(
        CasePerson.objects.filter(person_id__in=candidates)
        .exclude(case_id__in=ok_cases)
        .values_list("person_id", flat=True)
    )
    done = _marked(MARK_PERSON)
    chosen = sorted(candidates - elsewhere - done)
    return chosen, len((candidates & elsewhere) - done)


def select(rule: RetentionRule, now: datetime | None = None) -> Selection:
    from cases.models import Case
    from intake.models import Report
    from referrals.models import Referral

    now = now or timezone.now()
    sel = Selection(rule=rule, cutoff=months_before(now, rule.period_months))
    if rule.record_type in (RecordType.CASE_VICTIMS, RecordType.CASE_SUSPECTS):
        past = set(
            Case.objects.filter(
                status__in=CLOSED_STATUSES, closed_at__isnull=False, closed_at__lte=sel.cutoff
            ).values_list("pk", flat=True)
        )
        held = held_case_ids()
        ok = past - held
        if rule.record_type == RecordType.CASE_VICTIMS:
            roles = VICTIM_SIDE_ROLES
            sel.cases = sorted(ok - _marked(MARK_CASE))
            # A report that opened several cases keeps its narrative while any of them is still kept.
            reports = dict(Case.objects.filter(pk__in=sel.cases).values_list("pk", "report_id"))
            kept = set(
                Case.objects.filter(report_id__in=set(reports.values()))
                .exclude(pk__in=ok)
                .values_list("report_id", flat=True)
            )
            sel.case_reports_ok = {pk for pk, report_id in reports.items() if report_id not in kept}
        else:
            roles = (PersonRole.SUSPECT,)
        sel.persons, sel.skipped = _persons_for(ok, roles, ok)
        sel.held = len(past & held)
    elif rule.record_type == RecordType.REPORTS_NO_CASE:
        reports = Report.objects.filter(status="closed", cases__isnull=True, updated_at__lte=sel.cutoff)
        ids = set(reports.values_list("pk", flat=True))
        if rule.action == "anonymise":
            ids -= _marked(MARK_REPORT)
        sel.reports = sorted(ids)
    elif rule.record_type == RecordType.REFERRAL_THREADS:
        referrals = (
            Referral.objects.filter(status__in=FINISHED_REFERRALS)
            .annotate(
                last=Coalesce(Max("messages__created_at"), "completed_at", "declined_at", "withdrawn_at", "created_at")
            )
            .filter(last__lte=sel.cutoff)
        )
        past = {pk: case_id for pk, case_id in referrals.values_list("pk", "case_person__case_id")}
        held = held_case_ids()
        sel.held = len({pk for pk, case_id in past.items() if case_id in held})
        ids = {pk for pk, case_id in past.items() if case_id not in held}
        if rule.action == "anonymise":
            ids -= _marked(MARK_REFERRAL)
        else:
            # Deleting a thread twice finds nothing the second time; threads already empty are not recounted.
            ids = set(Referral.objects.filter(pk__in=ids, messages__isnull=False).values_list("pk", flat=True))
        sel.referrals = sorted(ids)
    return sel
