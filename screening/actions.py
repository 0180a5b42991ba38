from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from alerts.rules import dispatch
from audit import log as audit
from intake import workflow
from intake.models import Report
from screening.choices import HTCDS_STATUS, Outcome, Recommendation
from screening.logic import evaluate
from screening.models import Decision, Screening, ScreeningInstrument
from utilities.locking import check_version


def current_instrument() -> ScreeningInstrument:
    return ScreeningInstrument.objects.get(is_current=True)


@transaction.atomic
def publish_instrument(*, actor, name: str, definition: dict) -> ScreeningInstrument:
    """A changed checklist is a new version; past screenings keep theirs (issue #3)."""
    latest = ScreeningInstrument.objects.order_by("-version").first()
    ScreeningInstrument.objects.filter(is_current=True).update(is_current=False)
    instrument = ScreeningInstrument.objects.create(version=(latest.version + 1 if latest else 1), name=name, definition=definition, is_current=True)
    audit.record("screening.instrument_published", actor=actor, obj=instrument, details={"version": instrument.version})
    return instrument


@transaction.atomic
def record_screening(report: Report, *, actor, version: int, person_label: str, person_age: int | None, age_basis: str, answers: dict[str, bool], evidence: dict[str, str]) -> Screening:
    if not Report.objects.visible_to(actor, "screen").filter(pk=report.pk).exists():
        raise PermissionDenied
    check_version(Report, report.pk, version)
    workflow.advance(report, "screen")
    instrument = current_instrument()
    valid = {item["code"] for element in ("act", "means", "purpose") for item in instrument.definition.get(element, [])}
    answers = {code: True for code, ticked in answers.items() if ticked and code in valid}
    evidence = {code: text.strip() for code, text in evidence.items() if code in answers and text and text.strip()}
    missing_evidence = sorted(set(answers) - set(evidence))
    if missing_evidence:
        raise ValidationError(_("Give the evidence for each ticked indicator."), code="evidence", params={"codes": missing_evidence})
    result = evaluate(instrument.definition, answers, person_age)
    screening = Screening.objects.create(
        report=report, instrument=instrument, person_label=person_label.strip() or _("Person 1"), person_age=person_age,
        age_basis=age_basis, answers=answers, evidence=json.dumps(evidence, ensure_ascii=False), act_met=result.act,
        means_met=result.means, purpose_met=result.purpose, is_child=result.is_child, recommendation=result.recommendation,
        missing=result.missing, screened_by=actor,
    )
    report.version += 1
    report.save(update_fields=["version", "updated_at"])
    audit.record("screening.recorded", actor=actor, obj=screening, changed_fields=["answers", "evidence"], details={"report_id": report.pk, "instrument_version": instrument.version, "recommendation": result.recommendation})
    return screening


@transaction.atomic
def record_decision(screening: Screening, *, actor, version: int, outcome: str, rationale: str, deciding_org: str, referred_to=None) -> Decision:
    """Only an authorised officer decides; the recommendation never does, and disagreement is kept."""
    report = screening.report
    if not Report.objects.visible_to(actor, "decide").filter(pk=report.pk).exists():
        raise PermissionDenied
    check_version(Report, report.pk, version)
    if hasattr(screening, "decision"):
        raise ValidationError(_("This screening already has a decision."))
    if not rationale.strip():
        raise ValidationError(_("Write the rationale for the decision."))
    if outcome == Outcome.REFERRED and referred_to is None:
        raise ValidationError(_("Choose the agency the report is referred to."))
    workflow.advance(report, "decide")
    matches = {Recommendation.VICTIM: Outcome.VICTIM, Recommendation.POSSIBLE: Outcome.POSSIBLE, Recommendation.NOT_TRAFFICKING: Outcome.NOT_TRAFFICKING}
    decision = Decision.objects.create(
        report=report, screening=screening, outcome=outcome, recommendation=screening.recommendation,
        disagrees=matches.get(screening.recommendation) != outcome, rationale=rationale.strip(), deciding_org=deciding_org,
        referred_to=referred_to, decided_by=actor,
    )
    report.version += 1
    report.save()
    audit.record("screening.decision_recorded", actor=actor, obj=decision, changed_fields=["outcome", "rationale"], details={"report_id": report.pk, "outcome": outcome, "disagrees": decision.disagrees, "htcds_status": HTCDS_STATUS[outcome]})
    dispatch("decision.recorded", message=_("Decision recorded on report %(ref)s.") % {"ref": report.reference}, link=report.get_absolute_url(), assignee=report.assignee, actor=actor)
    if outcome in {Outcome.VICTIM, Outcome.POSSIBLE}:
        from cases.actions import open_case

        open_case(decision, actor=actor)
    return decision
