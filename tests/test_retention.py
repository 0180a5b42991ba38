"""Retention (issue #10): anonymising closed cases keeps every statistic, makes people unfindable, respects
legal holds and pending charges, writes one audit row per record, and a dry run changes nothing."""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from datetime import date, datetime, timedelta
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEvent
from audit.verify import verify_chain
from cases import search
from cases.models import Case, CaseNote, Identifier, Person, PersonAlias, SearchToken
from intake.models import Report
from investigations.models import Charge
from retention import actions
from retention.models import LegalHold, RetentionRule, RetentionRun
from retention.tasks import run_due
from stats import dataset, standard
from tests import factories as f
from tests.base import BeaconTestCase
from utilities import storage
from utilities.storage import store_encrypted

VICTIM_DIMS = ["sex", "age_broad", "nationality", "form", "year"]
NAMES = ("Rosalind", "Quintero", "Marisol", "Abernathy", "Thaddeus", "Okonkwo")


def _closed_case(owner, opened: date, closed: date, **kwargs) -> Case:
    case = f.make_case(owner=owner, opened_on=opened, **kwargs)
    Case.objects.filter(pk=case.pk).update(
        status="Closed", closed_at=timezone.make_aware(datetime.combine(closed, datetime.min.time()))
    )
    case.refresh_from_db()
    return case


class RetentionFixture(BeaconTestCase):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        cls.old = _closed_case(owner, date(2015, 2, 1), date(2016, 1, 10))
        cls.rosalind = f.add_victim(cls.old, sex="female", age=24, nationalities=["VE"], types=["SexualExploitation"],
                                    given_names="Rosalind", family_names="Quintero").person  # fmt: skip
        for i in range(4):
            f.add_victim(cls.old, sex="female", age=16 + i, nationalities=["GY"], types=["ForcedLabour"])
        # Age known only as an estimate, with a date of birth typed as text: both must count the same after.
        f.add_victim(cls.old, sex="male", nationalities=["TT"], types=["ChildLabour"], estimated_age=13,
                     age_estimated_on=date(2015, 2, 1), birth_date="2002-01-03")  # fmt: skip
        cls.thaddeus = f.add_suspect(
            cls.old, sex="male", birth_year=1970, given_names="Thaddeus", family_names="Okonkwo"
        )
        Charge.objects.create(case=cls.old, suspect=cls.thaddeus, offence="TIP", statute="s.16", laid_on=date(2015, 6, 1),
                              outcome="conviction", outcome_on=date(2015, 11, 1), created_by=owner)  # fmt: skip
        PersonAlias.objects.create(person=cls.rosalind, name="Rosie Q")
        Identifier.objects.create(person=cls.rosalind, kind="phone", value="+1 868 555 0101", index="x")
        CaseNote.objects.create(case=cls.old, text="Rosalind was moved to the shelter.", created_by=owner)
        Case.objects.filter(pk=cls.old.pk).update(closure_reason="Rosalind returned home.")

        # Held: a charge still pending; and a legal hold.
        cls.pending = _closed_case(owner, date(2015, 3, 1), date(2016, 2, 1))
        cls.marisol = f.add_victim(
            cls.pending, sex="female", age=30, nationalities=["CO"], given_names="Marisol", family_names="Abernathy"
        ).person
        suspect = f.add_suspect(cls.pending, sex="male", birth_year=1980)
        Charge.objects.create(
            case=cls.pending, suspect=suspect, offence="TIP", statute="s.16", laid_on=date(2015, 8, 1), created_by=owner
        )
        cls.held = _closed_case(owner, date(2015, 4, 1), date(2016, 3, 1))
        cls.held_victim = f.add_victim(cls.held, sex="female", age=27, nationalities=["VE"]).person
        cls.hold = LegalHold.objects.create(
            case=cls.held, reason="Civil claim before the High Court", placed_by=cls.users["director"]
        )

        # Still open; a victim on the old case and on this one stays, because this case still needs her.
        cls.open = f.make_case(owner=owner, opened_on=date(2015, 5, 1))
        cls.open_victim = f.add_victim(cls.open, sex="female", age=21, nationalities=["TT"]).person
        cls.shared = f.add_victim(cls.old, sex="female", age=35, nationalities=["JM"]).person
        f.add_victim(cls.open, person=cls.shared)
        # Closed recently: not yet due.
        cls.recent = _closed_case(owner, date(2015, 7, 1), timezone.localdate() - timedelta(days=30))
        cls.recent_victim = f.add_victim(cls.recent, sex="male", age=40, nationalities=["GY"]).person

        RetentionRule.objects.filter(record_type__in=["case_victims", "case_suspects"]).update(
            period_months=12, is_active=True
        )

    def statistics(self) -> dict:
        return {
            "victims": dataset.count("victims", VICTIM_DIMS),
            "victims_bands": dataset.count("victims", ["age_band", "status"]),
            "suspects": dataset.count("suspects", ["sex", "age_broad", "nationality", "year"]),
            "convicted": dataset.count("convicted", ["sex", "age_broad", "year"]),
            "cases": dataset.count("cases", ["year", "status"]),
            "glotip_2015": [tuple(vars(row).values()) for row in standard.glotip_rows(2015)],
        }

    def person(self, person: Person) -> Person:
        return Person.objects.get(pk=person.pk)


class StatisticsKeptTests(RetentionFixture):
    def test_every_statistic_is_the_same_before_and_after(self):
        before = self.statistics()
        self.assertTrue(any(row["n"] for row in before["victims"]))
        run = actions.apply_retention()
        after = self.statistics()
        self.assertEqual(before, after)
        anonymised = sum(entry["anonymised"] for entry in run.counts.values())
        self.assertGreaterEqual(anonymised, 8)  # the old case, its six victims and its suspect

    def test_what_statistics_need_is_kept_on_the_person(self):
        actions.apply_retention()
        person = self.person(self.rosalind)
        self.assertEqual((person.sex, person.nationalities, person.birth_year), ("female", ["VE"], 1991))


class AnonymisationTests(RetentionFixture):
    def test_names_are_gone_from_the_database_and_from_search(self):
        self.assertEqual(
            [hit.person.pk for hit in search.search("Rosalind Quintero", Person.objects.all())], [self.rosalind.pk]
        )
        actions.apply_retention()
        for person in (self.rosalind, self.thaddeus.person):
            stored = self.person(person)
            self.assertEqual((stored.given_names, stored.family_names, stored.birth_date), ("", "", ""))
            self.assertFalse(SearchToken.objects.filter(person=person).exists())
        self.assertEqual(search.search("Rosalind Quintero", Person.objects.all()), [])
        self.assertEqual(search.search("Thaddeus Okonkwo", Person.objects.all()), [])
        self.assertFalse(PersonAlias.objects.filter(person=self.rosalind).exists())
        self.assertFalse(Identifier.objects.filter(person=self.rosalind).exists())
        self.assertEqual(CaseNote.objects.get(case=self.old).text, "")
        self.assertEqual(Case.objects.get(pk=self.old.pk).closure_reason, "")
        self.assertEqual(Report.objects.get(pk=self.old.report_id).narrative, "")

    def test_records_merged_into_an_anonymised_person_are_anonymised_too(self):
        absorbed = f.make_person(
            sex="female", given_names="Rosalinda", family_names="Quintero", merged_into=self.rosalind
        )
        actions.apply_retention()
        absorbed.refresh_from_db()
        self.assertEqual((absorbed.given_names, absorbed.family_names), ("", ""))
        self.assertFalse(SearchToken.objects.filter(person=absorbed).exists())

    def test_a_report_shared_with_a_case_still_kept_keeps_its_narrative(self):
        Case.objects.filter(pk=self.open.pk).update(report_id=self.old.report_id)
        actions.apply_retention()
        self.assertEqual(Report.objects.get(pk=self.old.report_id).narrative, "Constructed record.")
        self.assertEqual(CaseNote.objects.get(case=self.old).text, "")

    def test_cases_still_open_or_not_yet_due_are_untouched(self):
        actions.apply_retention()
        for person in (self.open_victim, self.shared, self.recent_victim):
            stored = self.person(person)
            self.assertNotEqual(stored.given_names, "")
            self.assertTrue(SearchToken.objects.filter(person=person).exists())

    def test_a_second_run_finds_nothing_more(self):
        actions.apply_retention()
        again = actions.apply_retention()
        self.assertEqual(sum(e["anonymised"] for e in again.counts.values()), 0)


class LegalHoldTests(RetentionFixture):
    def test_held_cases_and_pending_charges_are_skipped_and_counted(self):
        run = actions.apply_retention()
        victims_rule = RetentionRule.objects.get(record_type="case_victims")
        self.assertEqual(run.counts[str(victims_rule.pk)]["held"], 2)
        self.assertEqual(self.person(self.marisol).given_names, "Marisol")
        self.assertNotEqual(self.person(self.held_victim).given_names, "")

    def test_lifting_the_hold_lets_the_next_run_anonymise(self):
        actions.apply_retention()
        actions.lift_hold(self.hold, actor=self.director)
        self.assertTrue(AuditEvent.objects.filter(action="retention.hold_lifted", object_id=str(self.hold.pk)).exists())
        actions.apply_retention()
        self.assertEqual(self.person(self.held_victim).given_names, "")
        self.assertEqual(self.person(self.marisol).given_names, "Marisol")  # the charge is still pending

    def test_a_decided_charge_releases_the_case(self):
        Charge.objects.filter(case=self.pending).update(outcome="acquittal", outcome_on=date(2016, 1, 5))
        actions.apply_retention()
        self.assertEqual(self.person(self.marisol).given_names, "")

    def test_placing_a_hold_needs_the_permission(self):
        from django.core.exceptions import PermissionDenied

        with self.assertRaises(PermissionDenied):
            actions.place_hold(self.old, actor=self.investigator, reason="Appeal expected")
        hold = actions.place_hold(self.old, actor=self.hoi, reason="Appeal expected")
        self.assertTrue(AuditEvent.objects.filter(action="retention.hold_placed", object_id=str(hold.pk)).exists())
        actions.apply_retention()
        self.assertEqual(self.person(self.rosalind).given_names, "Rosalind")


class DryRunAndAuditTests(RetentionFixture):
    def test_a_dry_run_changes_nothing(self):
        tokens = SearchToken.objects.count()
        notes = list(CaseNote.objects.values_list("text", flat=True))
        out = StringIO()
        call_command("apply_retention", "--dry-run", stdout=out)
        self.assertEqual(SearchToken.objects.count(), tokens)
        self.assertEqual(list(CaseNote.objects.values_list("text", flat=True)), notes)
        self.assertEqual(self.person(self.rosalind).given_names, "Rosalind")
        self.assertFalse(AuditEvent.objects.filter(action="retention.person_anonymised").exists())
        run = RetentionRun.objects.get()
        self.assertTrue(run.dry_run)
        victims_rule = RetentionRule.objects.get(record_type="case_victims")
        self.assertGreater(run.counts[str(victims_rule.pk)]["eligible"], 0)
        self.assertEqual(run.counts[str(victims_rule.pk)]["anonymised"], 0)
        self.assertIn("dry run", out.getvalue())
        self.assertIn("held cases 2", out.getvalue())

    def test_each_record_has_an_audit_row_with_ids_and_counts_only(self):
        before = AuditEvent.objects.count()
        run = actions.apply_retention()
        rows = AuditEvent.objects.filter(action="retention.person_anonymised")
        self.assertEqual(rows.count(), 7)  # six victims and one suspect of the old case
        self.assertIn(str(self.rosalind.pk), set(rows.values_list("object_id", flat=True)))
        self.assertTrue(
            AuditEvent.objects.filter(action="retention.case_anonymised", object_id=str(self.old.pk)).exists()
        )
        self.assertTrue(AuditEvent.objects.filter(action="retention.run", object_id=str(run.pk)).exists())
        dumped = json.dumps(
            list(AuditEvent.objects.filter(action__startswith="retention.").values("details", "changed_fields"))
        )
        for name in NAMES:
            self.assertNotIn(name, dumped)
        self.assertGreater(AuditEvent.objects.count(), before)
        self.assertTrue(verify_chain().ok)  # the log was only appended to

    def test_the_run_report_holds_no_personal_data(self):
        run = actions.apply_retention()
        dumped = json.dumps(run.counts)
        for name in NAMES:
            self.assertNotIn(name, dumped)


class ReportAndScheduleTests(BeaconTestCase):
    def make_report(self, **fields) -> Report:
        report = Report.objects.create(
            channel="hotline",
            received_at=timezone.now(),
            narrative="Marisol Abernathy at the bar",
            status="closed",
            **fields,
        )
        Report.objects.filter(pk=report.pk).update(updated_at=timezone.now() - timedelta(days=800))
        return report

    def test_reports_closed_without_a_case_are_deleted_when_the_rule_says_so(self):
        report = self.make_report()
        RetentionRule.objects.filter(record_type="reports_no_case").update(
            period_months=24, action="delete", is_active=True
        )
        run = actions.apply_retention()
        self.assertFalse(Report.objects.filter(pk=report.pk).exists())
        self.assertTrue(AuditEvent.objects.filter(action="retention.report_deleted", object_id=str(report.pk)).exists())
        self.assertEqual(sum(e["deleted"] for e in run.counts.values()), 1)

    def test_reports_are_anonymised_by_default(self):
        report = self.make_report(reporter_name="Concerned Neighbour")
        RetentionRule.objects.filter(record_type="reports_no_case").update(period_months=24, is_active=True)
        actions.apply_retention()
        report.refresh_from_db()
        self.assertEqual((report.narrative, report.reporter_name), ("", ""))

    def test_the_periodic_task_runs_once_a_day(self):
        RetentionRule.objects.filter(record_type="reports_no_case").update(is_active=True)
        first = run_due()
        self.assertIn("retention_run", first)
        self.assertNotIn("retention_run", run_due())
        self.assertIn("retention_run", run_due(now=timezone.now() + timedelta(hours=25)))

    def test_nothing_runs_while_every_rule_is_inactive(self):
        self.assertNotIn("retention_run", run_due())
        self.assertFalse(RetentionRun.objects.exists())


class RetentionPageTests(BeaconTestCase):
    def test_who_may_open_the_page(self):
        for name in ("director", "sysadmin", "deputy", "hoi"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get("/retention/").status_code, 200)
        for name in ("investigator", "analyst", "auditor", "care", "shelter", "other_director"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get("/retention/").status_code, 403)

    def test_rules_are_shown_to_managers_only(self):
        self.assertContains(self.client_for("sysadmin").get("/retention/"), "Reports closed without a case")
        self.assertNotContains(self.client_for("deputy").get("/retention/"), "Reports closed without a case")

    def test_editing_a_rule_is_audited_and_locked(self):
        rule = RetentionRule.objects.get(record_type="reports_no_case")
        url = f"/retention/rules/{rule.pk}/edit/"
        client = self.client_for("sysadmin")
        response = client.post(
            url, {"period_months": 18, "action": "delete", "is_active": "on", "version": rule.version}
        )
        self.assertRedirects(response, "/retention/")
        rule.refresh_from_db()
        self.assertEqual((rule.period_months, rule.action, rule.is_active), (18, "delete", True))
        event = AuditEvent.objects.get(action="retention.rule_updated")
        self.assertEqual(sorted(event.changed_fields), ["action", "is_active", "period_months"])
        stale = client.post(url, {"period_months": 6, "action": "delete", "version": 1})
        self.assertEqual(stale.status_code, 409)
        rule.refresh_from_db()
        self.assertEqual(rule.period_months, 18)
        self.assertEqual(
            self.client_for("deputy")
            .post(url, {"period_months": 6, "action": "delete", "version": rule.version})
            .status_code,
            403,
        )

    def test_cases_can_only_be_anonymised(self):
        rule = RetentionRule.objects.get(record_type="case_victims")
        response = self.client_for("director").post(
            f"/retention/rules/{rule.pk}/edit/", {"period_months": 12, "action": "delete", "version": rule.version}
        )
        self.assertEqual(response.status_code, 200)
        rule.refresh_from_db()
        self.assertEqual(rule.action, "anonymise")

    def test_holds_are_placed_and_lifted_on_the_page(self):
        case = f.make_case(owner=self.investigator)
        client = self.client_for("hoi")
        response = client.post(
            "/retention/holds/place/", {"case_reference": case.reference, "reason": "Judicial review"}
        )
        self.assertRedirects(response, "/retention/")
        hold = LegalHold.objects.get(case=case)
        self.assertContains(client.get("/retention/"), case.reference)
        self.assertEqual(self.client_for("sysadmin").post(f"/retention/holds/{hold.pk}/lift/").status_code, 403)
        self.assertRedirects(client.post(f"/retention/holds/{hold.pk}/lift/"), "/retention/")
        hold.refresh_from_db()
        self.assertIsNotNone(hold.lifted_at)
        unknown = client.post("/retention/holds/place/", {"case_reference": "C-0000-99999", "reason": "x"})
        self.assertEqual(unknown.status_code, 400)

    def test_runs_are_listed_with_counts(self):
        run = actions.apply_retention(dry_run=True)
        page = self.client_for("director").get("/retention/")
        self.assertContains(page, "Dry run")
        self.assertEqual(self.client_for("director").get(f"/retention/runs/{run.pk}/").status_code, 200)
        self.assertEqual(self.client_for("deputy").get(f"/retention/runs/{run.pk}/").status_code, 403)


# --- every narrative of a case's whole record (issue #10) ---------------------------------------------------

MARKER = "Zephyrine-Vantablack"
# Free text retention keeps on purpose: generated references and pseudonyms, institutions, legal
# classifications and codes that statistics and exports count. Nothing here may name or describe a person.
KEPT_TEXT = {
    "cases.case": {"reference", "deciding_org"},
    "cases.caseperson": {"pseudonym"},
    "cases.place": {"city"},
    "cases.victimprofile": {"forced_labour_industry"},
    "intake.report": {"reference", "referring_other", "victim_nationality", "victim_language"},
    "screening.screening": {"person_label"},
    "referrals.referral": {"reference"},
    "care.consent": {"interpreter_language"},
    "investigations.logentry": {"interpreter_language"},
    "investigations.evidence": {"reference"},
    "investigations.mlarequest": {"country", "authority", "legal_basis"},
    "investigations.courtcase": {"court"},
    "investigations.charge": {"offence", "statute"},
    "investigations.hearing": {"court"},
    "integrations.primerosubmission": {"remote_case_id", "remote_referral_id"},
    "cooperation.cooprequest": {"case_reference", "legal_basis"},
    "interpreters.booking": {"case_reference"},
    "approvals.approvalrequest": {"target_type", "target_id"},  # links: "cases.person" and an id
}
# Machine values, never typed by anyone: generated file names, hashes, blind indexes, MIME types.
TECHNICAL = {
    "stored_name",
    "sha256",
    "content_type",
    "index",
    "token",
    "public_code_hash",
    "reporter_phone_index",
    "kind",
}
MEDIA = tempfile.mkdtemp(prefix="beacon-retention-tests-")


def _free_text_fields(model) -> list:
    label = model._meta.label_lower
    return [
        field for field in model._meta.concrete_fields
        if isinstance(field, (models.CharField, models.TextField)) and not field.choices
        and field.name not in TECHNICAL and field.name not in KEPT_TEXT.get(label, ())
        and (field.max_length is None or field.max_length >= len(MARKER))
    ]  # fmt: skip


def _fill(*objects) -> None:
    """Put the marker in every free text field of these rows (through the model, so encrypted ones encrypt)."""
    for obj in objects:
        model = type(obj)
        fields = _free_text_fields(model)
        values = {field.name: MARKER for field in fields}
        if model._meta.label_lower == "screening.screening":
            values["evidence"] = json.dumps({"act_recruitment": MARKER})
        if model._meta.label_lower == "cooperation.coopmessage":
            values["body"] = json.dumps({"asked": MARKER})
        model._base_manager.filter(pk=obj.pk).update(**values)


def _text_columns_holding(marker: str) -> list[str]:
    """Every text and JSON column of every model, read through the model (encrypted fields decrypted)."""
    found = []
    for model in apps.get_models():
        names = [
            field.name for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.TextField, models.JSONField))
        ]  # fmt: skip
        if not names:
            continue
        for row in model._base_manager.values_list("pk", *names):
            for name, value in zip(names, row[1:], strict=True):
                if value is not None and marker in (value if isinstance(value, str) else json.dumps(value)):
                    found.append(f"{model._meta.label_lower}.{name}#{row[0]}")
    return found


@override_settings(MEDIA_ROOT=MEDIA)
class WholeRecordTests(RetentionFixture):
    """A closed case whose every free text, in every app, says the marker; after the job, no column does."""

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(MEDIA, ignore_errors=True)

    def stored(self, store: str, model, **filters) -> str:
        name = uuid.uuid4().hex
        store_encrypted(store, name, MARKER.encode())
        model._base_manager.filter(**filters).update(stored_name=name)
        return name

    def build(self):
        from approvals.models import ApprovalRequest
        from care import models as care
        from cases.models import BreakGlass, CaseAttachment, CaseShare, Place
        from cooperation.models import CoopMessage, CoopRequest, Peer
        from intake.models import ReportAddition, ReportAttachment
        from integrations.models import PrimeroConnection, PrimeroSubmission
        from interpreters.models import Booking, Interpreter
        from investigations import actions as inv_actions
        from investigations import models as inv
        from referrals.choices import ATTACHMENT_STORE
        from referrals.models import Referral, ReferralEvent, ReferralMessage, ReferralService
        from screening.models import Decision, Screening

        user, case = self.users["investigator"], self.old
        victim = case.persons.get(person=self.rosalind)
        suspect = self.thaddeus
        today, now = date(2015, 9, 1), timezone.make_aware(datetime(2015, 9, 1, 10))
        rows = [case, self.rosalind, suspect.person, victim, suspect, victim.victim_profile, suspect.suspect_profile,
                Report.objects.get(pk=case.report_id), CaseNote.objects.get(case=case)]  # fmt: skip
        rows += Screening.objects.filter(report_id=case.report_id)
        rows += Decision.objects.filter(report_id=case.report_id)
        rows += [
            PersonAlias.objects.get(person=self.rosalind),
            Identifier.objects.create(case=case, kind="phone", value="x", index="y"),
            Place.objects.create(case=case, kind="exploitation", description="x"),
            ReportAddition.objects.create(report_id=case.report_id, text="x"),
            CaseShare.objects.create(case=case, user=self.users["deputy"], reason="x", until=today, granted_by=user),
            BreakGlass.objects.create(case=case, user=self.users["analyst"], reason="x", expires_at=now),
        ]
        lifted = LegalHold.objects.create(case=case, reason="x", placed_by=user, lifted_at=now, lifted_by=user)
        rows.append(lifted)
        files = {
            "attachments": [self.stored(
                "attachments", ReportAttachment,
                pk=ReportAttachment.objects.create(report_id=case.report_id, original_name="x", content_type="text/plain", size=1, sha256="0").pk,
            )],
            "case-attachments": [self.stored(
                "case-attachments", CaseAttachment,
                pk=CaseAttachment.objects.create(case=case, case_person=victim, kind="photo", stored_name=uuid.uuid4().hex,
                                                 original_name="x", content_type="image/png", size=1, sha256="0", uploaded_by=user).pk,
            )],
        }  # fmt: skip
        rows += ReportAttachment.objects.filter(report_id=case.report_id)
        rows += CaseAttachment.objects.filter(case=case)

        need = care.Need.objects.create(case_person=victim, need_type="shelter", notes="x", recorded_by=user)
        plan = care.CarePlan.objects.create(case_person=victim, plan_type="Shelter", objectives="x", recorded_by=user)
        goal = care.PlanGoal.objects.create(plan=plan, description="x", recorded_by=user)
        rows += [
            need, plan, goal,
            care.PlanAction.objects.create(goal=goal, description="x", owner=user, recorded_by=user),
            care.RiskAssessment.objects.create(case_person=victim, level="high", factors="x", next_review_on=today, recorded_by=user),
            care.ServiceDelivery.objects.create(case_person=victim, service_type="counselling", provider=self.safe_harbour, recorded_by=user),
            care.ImmigrationStatus.objects.create(case_person=victim, status="temporary", recorded_by=user),
            care.ImmigrationDocument.objects.create(case_person=victim, kind="passport", recorded_by=user),
            care.Guardian.objects.create(case_person=victim, name="x", relationship="mother", recorded_by=user),
            care.AuthorityNotification.objects.create(case_person=victim, notified_by=user, recorded_by=user),
            care.AgeAssessment.objects.create(case_person=victim, method="documents", result="adult", recorded_by=user),
            care.Consent.objects.create(case_person=victim, purpose="sharing", agency=self.safe_harbour, method="written",
                                        withdrawn_on=today, withdrawal_method="verbal", recorded_by=user),
        ]  # fmt: skip

        entry = inv.LogEntry.objects.create(case=case, kind="interview", occurred_on=today, title="x", created_by=user)
        log_file = inv.LogAttachment.objects.create(entry=entry, stored_name=uuid.uuid4().hex, original_name="x",
                                                    content_type="text/plain", size=1, sha256="0", uploaded_by=user)  # fmt: skip
        evidence = inv.Evidence.objects.create(case=case, reference="EX-1", item="x", seized_by=user, seized_at=now,
                                               holder=user, original_name="x", created_by=user)  # fmt: skip
        court_case = inv.CourtCase.objects.create(case=case, court="High Court", number="x", created_by=user)
        court_file = inv.CourtFile.objects.create(case=case, requested_by=user, reveal_identity=True, reveal_reason="x")
        files[inv_actions.LOG_STORE] = [self.stored(inv_actions.LOG_STORE, inv.LogAttachment, pk=log_file.pk)]
        files[inv_actions.EVIDENCE_STORE] = [self.stored(inv_actions.EVIDENCE_STORE, inv.Evidence, pk=evidence.pk)]
        files[inv_actions.COURT_FILE_STORE] = [
            self.stored(inv_actions.COURT_FILE_STORE, inv.CourtFile, pk=court_file.pk)
        ]
        rows += [
            entry, log_file, evidence, court_case, court_file,
            inv.Task.objects.create(case=case, title="x", owner=user, created_by=user),
            inv.Arrest.objects.create(suspect=suspect, arrested_on=today, place="x", arrested_by="x", created_by=user),
            inv.Bail.objects.create(suspect=suspect, granted_on=today, terms="x", created_by=user),
            inv.CustodyTransfer.objects.create(evidence=evidence, from_user=user, to_user=user, handed_at=now, reason="x"),
            inv.MLARequest.objects.create(case=case, country="VE", authority="Fiscalía", request="x", legal_basis="MLAT", created_by=user),
            inv.Hearing.objects.create(court_case=court_case, starts_at=now, court="High Court", purpose="x", created_by=user),
            inv.CourtOrder.objects.create(case=case, court_case=court_case, kind="protection", terms="x", made_on=today, created_by=user),
            inv.VictimParticipation.objects.create(victim=victim, support="x", created_by=user),
        ]  # fmt: skip
        rows += inv.Charge.objects.filter(case=case)

        referral = Referral.objects.create(
            case_person=victim, provider=self.safe_harbour, status="completed", created_by=user
        )
        message = ReferralMessage.objects.create(referral=referral, side="unit", sender=user, text="x")
        files[ATTACHMENT_STORE] = [self.stored(ATTACHMENT_STORE, ReferralMessage, pk=message.pk)]
        connection = PrimeroConnection.objects.create(name="P", agency=self.blue_basin, base_url="https://primero.test",
                                                      username="beacon", password="p", recipient="cp")  # fmt: skip
        peer = Peer.objects.create(instance_id="ve-unit", name="Unidad", country="VE", inbox_url="https://ve.test/cooperation/inbox/",
                                   signing_key="k", encryption_key="k")  # fmt: skip
        coop = CoopRequest.objects.create(
            direction="outgoing", peer=peer, case=case, case_reference="VE-1", asked="x", legal_basis="MLAT"
        )
        rows += [
            referral, message, coop,
            ReferralEvent.objects.create(referral=referral, kind="created", side="unit", actor=user, note="x"),
            ReferralService.objects.create(referral=referral, service_type="counselling", details="x", recorded_by=user),
            PrimeroSubmission.objects.create(referral=referral, connection=connection, consent_overridden=True, override_reason="x", sent_by=user),
            CoopMessage.objects.create(request=coop, direction="outgoing", kind="request", body="{}"),
            ApprovalRequest.objects.create(kind="consent_override", requested_by=user, reason="x", target_type="referrals.referral",
                                           target_id=str(referral.pk), expires_at=now),
            ApprovalRequest.objects.create(kind="court_file_reveal", requested_by=user, reason="x", target_type="cases.case",
                                           target_id=str(case.pk), expires_at=now),
            ApprovalRequest.objects.create(kind="merge_persons", requested_by=user, reason="x", target_type="cases.person",
                                           target_id=str(self.thaddeus.person_id), parameters={"other_person_id": self.rosalind.pk},
                                           expires_at=now, decision_note="x"),
            Booking.objects.create(interpreter=Interpreter.objects.create(name="Ines", languages=["es"]), purpose="x",
                                   case_reference=case.reference or "", date=today),
        ]  # fmt: skip
        _fill(*rows)
        return files

    def test_no_text_column_anywhere_holds_the_marker_after_the_job(self):
        files = self.build()
        before = _text_columns_holding(MARKER)
        # The fixture reaches every app that keeps case texts: care, investigation, court, referrals...
        reached = {entry.split(".")[0] for entry in before}
        self.assertTrue({"cases", "intake", "screening", "care", "investigations", "referrals", "integrations",
                         "approvals", "cooperation", "interpreters", "retention"} <= reached, reached)  # fmt: skip
        for store, names in files.items():
            for name in names:
                self.assertTrue(storage._path(store, name).exists())
        with self.captureOnCommitCallbacks(execute=True):
            run = actions.apply_retention()
        self.assertEqual(_text_columns_holding(MARKER), [])
        for store, names in files.items():
            for name in names:
                self.assertFalse(storage._path(store, name).exists(), store)
        self.assertGreaterEqual(sum(entry["anonymised"] for entry in run.counts.values()), 8)

    def test_statistics_are_the_same_with_the_whole_record(self):
        self.build()
        before = self.statistics()
        tip = standard.tip_summary([2015])
        actions.apply_retention()
        self.assertEqual(self.statistics(), before)
        self.assertEqual(standard.tip_summary([2015]), tip)

    def test_what_stays_is_kinds_dates_and_links(self):
        from care.models import Need
        from investigations.models import Evidence

        self.build()
        actions.apply_retention()
        need = Need.objects.get(case_person__person=self.rosalind)
        self.assertEqual((need.need_type, need.status, need.notes), ("shelter", "identified", ""))
        exhibit = Evidence.objects.get(case=self.old)
        self.assertEqual((exhibit.reference, exhibit.item, exhibit.stored_name, exhibit.sha256), ("EX-1", "", "", ""))
        self.assertEqual(Charge.objects.get(case=self.old).outcome, "conviction")
