from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from alerts.rules import dispatch
from audit import log as audit
from cases.choices import CaseStatus, PersonRole, TeamRole
from cases.models import Case, CaseMember, CasePerson
from intake import workflow
from screening.choices import HTCDS_STATUS


@transaction.atomic
def open_case(decision, *, actor) -> Case:
    """An identified or possible victim opens a case carrying the screening, the decision and the HTCDS
    trafficking status with the deciding organisation (issue #3)."""
    report = decision.report
    workflow.advance(report, "open_case")
    owner = report.assignee or actor
    case = Case.objects.create(
        report=report, decision=decision, status=CaseStatus.ACTIVE, trafficking_status=HTCDS_STATUS[decision.outcome],
        deciding_org=decision.deciding_org, owner=owner,
    )
    case.reference = f"C-{case.opened_at:%Y}-{case.pk:05d}"
    case.save(update_fields=["reference"])
    CaseMember.objects.create(case=case, user=owner, role=TeamRole.OWNER)
    screening = decision.screening
    CasePerson.objects.create(case=case, role=PersonRole.VICTIM, pseudonym=screening.person_label, age=screening.person_age)
    report.save()
    audit.record("cases.case_opened", actor=actor, obj=case, details={"report_id": report.pk, "decision_id": decision.pk, "trafficking_status": case.trafficking_status})
    dispatch("case.opened", message=_("Case %(ref)s opened from report %(report)s.") % {"ref": case.reference, "report": report.reference}, link=case.get_absolute_url(), assignee=report.assignee, actor=actor)
    return case
