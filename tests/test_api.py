"""The REST API (issue #9): tokens (personal and service, scopes, expiry, revocation, hash only), the same
need-to-know as the pages (404 across teams and agencies, the provider reads the snapshot only), read-only
fields refused, ETag / If-Match (412, 428), Idempotency-Key replay, per-token rate limits (429), audited
reads, the token pages and ``manage.py create_token``, the schema and the docs page."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from datetime import timedelta
from decimal import Decimal
from io import StringIO

from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from api import actions as api_actions
from api.models import ApiToken, IdempotencyRecord, TokenKind
from audit.models import AuditEvent
from care import actions as care_actions
from cases import actions as case_actions
from cases.models import Case
from directory.models import Agency
from intake import actions as intake_actions
from intake.models import Report
from investigations import actions as inv_actions
from referrals import actions as referral_actions
from screening.actions import record_decision, record_screening
from tests.base import BeaconTestCase

MEDIA_ROOT = tempfile.mkdtemp(prefix="beacon-api-tests-")

GIVEN, FAMILY, ALIAS = "Quenisha Marisol", "Baptiste-Ramdeen", "Nisha"
SUSPECT = ("Rudolfo", "Quintero-Vasquez")
OTHER_VICTIM = ("Philippa", "Oyelaran-Mbeki")
SHELTER_ADDRESS = "14 Hidden Lane, Arima"


def open_case(world, owner, narrative: str) -> Case:
    """A case the way the unit opens one: report, assignment, screening, decision."""
    report = intake_actions.create_report(
        actor=world.intake, channel="hotline", received_at=timezone.now(), narrative=narrative
    )
    intake_actions.assign_report(report, actor=world.hoi, version=report.version, investigator=owner)
    report.refresh_from_db()
    intake_actions.acknowledge_report(report, actor=owner, version=report.version)
    report.refresh_from_db()
    screening = record_screening(
        report, actor=owner, version=report.version, person_label="Victim A", person_age=24, age_basis="stated",
        answers={"recruitment": True, "deception": True, "forced_labour": True},
        evidence={"recruitment": "job ad", "deception": "pay lied about", "forced_labour": "no wages"},
    )  # fmt: skip
    report.refresh_from_db()
    record_decision(
        screening,
        actor=world.hoi,
        version=report.version,
        outcome="victim_identified",
        rationale="All elements.",
        deciding_org="Police",
    )
    return Case.objects.get(report=report)


@override_settings(MEDIA_ROOT=MEDIA_ROOT)
class ApiWorld(BeaconTestCase):
    """Case A (owner ``investigator``, care officer ``care`` on the team) with a named victim, a suspect with a
    charge and a hearing, referrals of the victim to Safe Harbour (``shelter``) and Blue Basin (``refuge``).
    Case B belongs to ``investigator2`` alone, with another named victim."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        Agency.objects.filter(pk__in=[cls.safe_harbour.pk, cls.blue_basin.pk]).update(authorised_for_referrals=True)
        Agency.objects.filter(pk=cls.safe_harbour.pk).update(
            address=SHELTER_ADDRESS, latitude=Decimal("10.6"), longitude=Decimal("-61.3")
        )
        cls.safe_harbour.refresh_from_db()
        cls.blue_basin.refresh_from_db()
        cls.case = open_case(cls, cls.investigator, "Workers kept in a compound behind the boatyard.")
        cls.victim = cls.case.persons.get(role="victim")
        case_actions.add_team_member(cls.case, actor=cls.hoi, user=cls.care, role="care")
        person = cls.victim.person
        case_actions.update_person(
            cls.victim,
            actor=cls.investigator,
            version=person.version,
            pseudonym="Victim Amaryllis",
            given_names=GIVEN,
            family_names=FAMILY,
            sex="female",
        )
        cls.victim.refresh_from_db()
        cls.suspect = case_actions.add_person(
            cls.case,
            actor=cls.investigator,
            role="suspect",
            pseudonym="Suspect Zinnia",
            given_names=SUSPECT[0],
            family_names=SUSPECT[1],
        )
        need = care_actions.add_need(
            cls.victim, actor=cls.care, need_type="shelter", priority="urgent", status="identified"
        )
        for agency in (cls.safe_harbour, cls.blue_basin):
            care_actions.record_consent(cls.victim, actor=cls.care, purpose="sharing", agency=agency, method="written")
        cls.referral = cls._referral(cls.safe_harbour, need)
        cls.other_referral = cls._referral(cls.blue_basin, need)
        court_case = inv_actions.open_court_case(cls.case, actor=cls.investigator, court="High Court", number="CR-9")
        cls.charge = inv_actions.lay_charge(
            cls.suspect,
            actor=cls.investigator,
            offence="Trafficking in persons",
            statute="TIP Act 2011, s.16",
            laid_on=timezone.localdate(),
            court_case=court_case,
        )
        cls.hearing = inv_actions.schedule_hearing(
            court_case,
            actor=cls.investigator,
            starts_at=timezone.now() + timedelta(days=7),
            purpose="Preliminary enquiry",
        )
        cls.case_b = open_case(cls, cls.investigator2, "A second, unrelated situation.")
        cls.victim_b = cls.case_b.persons.get(role="victim")
        case_actions.update_person(
            cls.victim_b,
            actor=cls.investigator2,
            version=cls.victim_b.person.version,
            pseudonym="Victim Begonia",
            given_names=OTHER_VICTIM[0],
            family_names=OTHER_VICTIM[1],
        )
        cls.case.refresh_from_db()
        cls.case_b.refresh_from_db()

    @classmethod
    def _referral(cls, provider, need):
        referral = referral_actions.create_referral(
            cls.victim, actor=cls.care, provider=provider, needs=["shelter"], urgency="urgent",
            shared_fields=["name", "age", "sex", "languages", "safety_notes"], shared_name=ALIAS,
            safety_notes="No visitors.", care_needs=[need],
        )  # fmt: skip
        return referral_actions.send_referral(referral, actor=cls.care, version=referral.version)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(MEDIA_ROOT, ignore_errors=True)

    def token(self, user, *scopes, kind=TokenKind.PERSONAL, days=30, **extra) -> str:
        if isinstance(user, str):
            user = self.users[user]
        _token, secret = api_actions.create_token(
            actor=None, user=user, name="test", scopes=scopes, days=days, kind=kind, **extra
        )
        return secret

    def api(self, secret: str | None) -> Client:
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}") if secret else Client()


class TokenAuthenticationTests(ApiWorld):
    def test_no_token_or_a_bad_one_is_401_with_a_bearer_challenge(self):
        cases = [
            (None, "not_authenticated"),
            ("bcn_000000000000_nonsense", "authentication_failed"),
            ("something-else", "authentication_failed"),
        ]
        for secret, code in cases:
            response = self.api(secret).get("/api/v1/cases/")
            self.assertEqual(response.status_code, 401)
            self.assertEqual(response["WWW-Authenticate"], 'Bearer realm="api"')
            self.assertEqual(response.json()["code"], code)
        # A real token's prefix with a wrong secret is refused the same way.
        prefix, _secret = api_actions.split_token(self.token("investigator", "cases:read"))
        response = self.api(f"bcn_{prefix}_wrong").get("/api/v1/cases/")
        self.assertEqual((response.status_code, response.json()["code"]), (401, "authentication_failed"))

    def test_a_signed_in_browser_session_is_not_accepted(self):
        response = self.client_for("investigator").get("/api/v1/cases/")
        self.assertEqual(response.status_code, 401)

    def test_a_valid_token_reads_as_its_user(self):
        response = self.api(self.token("investigator", "cases:read")).get("/api/v1/cases/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual([c["reference"] for c in response.json()["results"]], [self.case.reference])
        self.assertIsNotNone(ApiToken.objects.get(user=self.investigator).last_used_at)

    def test_expired_revoked_and_deactivated_tokens_stop_working(self):
        expired = self.token("investigator", "cases:read")
        ApiToken.objects.filter(user=self.investigator).update(expires_at=timezone.now() - timedelta(seconds=1))
        self.assertEqual(self.api(expired).get("/api/v1/cases/").status_code, 401)

        revoked = self.token("hoi", "cases:read")
        self.assertEqual(self.api(revoked).get("/api/v1/cases/").status_code, 200)
        api_actions.revoke_token(ApiToken.objects.get(user=self.hoi), actor=self.hoi)
        self.assertEqual(self.api(revoked).get("/api/v1/cases/").status_code, 401)
        self.assertTrue(AuditEvent.objects.filter(action="api.token_revoked", actor_id=self.hoi.pk).exists())

        left = self.token("director", "cases:read")
        self.director.is_active = False
        self.director.save(update_fields=["is_active"])
        self.assertEqual(self.api(left).get("/api/v1/cases/").status_code, 401)

    def test_a_token_without_the_scope_is_403(self):
        secret = self.token("investigator", "reports:read")
        response = self.api(secret).get("/api/v1/cases/")
        self.assertEqual(response.status_code, 403)
        self.assertIn("cases:read", response.json()["detail"])

    def test_a_token_never_carries_more_than_its_user_could_use(self):
        with self.assertRaises(ValidationError) as raised:
            api_actions.create_token(actor=None, user=self.shelter, name="x", scopes=["cases:read"], days=30)
        self.assertIn("scopes", raised.exception.message_dict)
        with self.assertRaises(ValidationError):
            api_actions.create_token(actor=None, user=self.investigator, name="x", scopes=["cases:read"], days=400)
        self.assertFalse(ApiToken.objects.exists())

    def test_only_a_hash_of_the_secret_is_stored(self):
        secret = self.token("investigator", "cases:read")
        token = ApiToken.objects.get()
        prefix, raw = api_actions.split_token(secret)
        self.assertEqual(token.prefix, prefix)
        self.assertEqual(token.secret_hash, hashlib.sha256(raw.encode()).hexdigest())
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM api_apitoken")
            stored = " ".join(str(v) for row in cursor.fetchall() for v in row)
        self.assertNotIn(raw, stored)


class NeedToKnowTests(ApiWorld):
    def test_other_teams_get_404_and_empty_lists(self):
        mine = self.api(
            self.token(
                "investigator2", "cases:read", "persons:read", "reports:read", "investigations:read", "referrals:read"
            )
        )
        for url in (f"/api/v1/cases/{self.case.pk}/", f"/api/v1/persons/{self.victim.person_id}/", f"/api/v1/reports/{self.case.report_id}/",
                    f"/api/v1/investigations/charges/{self.charge.pk}/", f"/api/v1/referrals/{self.referral.pk}/"):  # fmt: skip
            self.assertEqual(mine.get(url).status_code, 404, url)
        cases = mine.get("/api/v1/cases/").json()["results"]
        self.assertEqual([c["reference"] for c in cases], [self.case_b.reference])
        self.assertEqual(mine.get("/api/v1/investigations/charges/").json()["results"], [])

    def test_another_agency_sees_nothing_of_the_unit(self):
        police = self.api(self.token("other_director", "directory:read"))
        self.assertEqual(police.get(f"/api/v1/cases/{self.case.pk}/").status_code, 403)  # no cases:read scope
        with self.assertRaises(ValidationError):
            self.token("other_director", "cases:read")

    def test_a_care_officer_does_not_see_the_suspect(self):
        care = self.api(self.token("care", "persons:read"))
        listed = care.get("/api/v1/persons/").json()["results"]
        self.assertEqual([p["id"] for p in listed], [self.victim.person_id])
        self.assertEqual(care.get(f"/api/v1/persons/{self.suspect.person_id}/").status_code, 404)

    def test_the_provider_reads_its_own_referrals_and_only_the_snapshot(self):
        shelter = self.api(self.token("shelter", "referrals:read"))
        listed = shelter.get("/api/v1/provider/referrals/")
        self.assertEqual([r["reference"] for r in listed.json()["results"]], [self.referral.reference])
        self.assertEqual(shelter.get(f"/api/v1/provider/referrals/{self.other_referral.pk}/").status_code, 404)
        detail = shelter.get(f"/api/v1/provider/referrals/{self.referral.pk}/")
        body = detail.content.decode()
        self.assertEqual(detail.json()["shared"]["name"], ALIAS)
        for secret in (
            GIVEN,
            FAMILY,
            self.case.reference,
            self.case.report.reference,
            "case_person",
            '"case"',
            SUSPECT[1],
        ):
            self.assertNotIn(secret, body)
        # The unit's side is not theirs.
        self.assertEqual(shelter.get(f"/api/v1/referrals/{self.referral.pk}/").status_code, 404)
        self.assertEqual(shelter.get("/api/v1/referrals/").json()["results"], [])

    def test_the_unit_reads_its_referrals(self):
        care = self.api(self.token("care", "referrals:read"))
        listed = care.get("/api/v1/referrals/").json()["results"]
        self.assertEqual({r["reference"] for r in listed}, {self.referral.reference, self.other_referral.reference})
        self.assertEqual(care.get(f"/api/v1/provider/referrals/{self.referral.pk}/").status_code, 404)

    def test_person_lists_carry_no_identity_fields_and_details_do(self):
        client = self.api(self.token("investigator", "persons:read"))
        listed = client.get("/api/v1/persons/")
        self.assertNotIn(GIVEN, listed.content.decode())
        self.assertEqual({p["id"] for p in listed.json()["results"]}, {self.victim.person_id, self.suspect.person_id})
        detail = client.get(f"/api/v1/persons/{self.victim.person_id}/").json()
        self.assertEqual((detail["given_names"], detail["family_names"]), (GIVEN, FAMILY))
        self.assertEqual(detail["cases"][0]["case_reference"], self.case.reference)
        filtered = client.get(f"/api/v1/persons/?case={self.case_b.pk}").json()["results"]
        self.assertEqual(filtered, [])

    def test_shelter_locations_follow_the_directory_rule(self):
        police = self.api(self.token("other_investigator", "directory:read"))
        hidden = police.get(f"/api/v1/directory/agencies/{self.safe_harbour.pk}/").json()
        self.assertIsNone(hidden["address"])
        self.assertIsNone(hidden["latitude"])
        own = (
            self.api(self.token("shelter", "directory:read"))
            .get(f"/api/v1/directory/agencies/{self.safe_harbour.pk}/")
            .json()
        )
        self.assertEqual(own["address"], SHELTER_ADDRESS)
        self.assertEqual(police.get("/api/v1/directory/services/").status_code, 200)

    def test_charges_and_hearings_for_a_case(self):
        client = self.api(self.token("investigator", "investigations:read"))
        charges = client.get(f"/api/v1/investigations/charges/?case={self.case.pk}").json()["results"]
        self.assertEqual([c["offence"] for c in charges], ["Trafficking in persons"])
        hearings = client.get(f"/api/v1/investigations/hearings/?case={self.case.pk}").json()["results"]
        self.assertEqual([h["court_case_number"] for h in hearings], ["CR-9"])
        self.assertEqual(client.get("/api/v1/investigations/charges/?case=abc").status_code, 400)


class AuditTests(ApiWorld):
    def test_reads_are_audited_like_the_pages(self):
        client = self.api(self.token("investigator", "cases:read", "persons:read", "reports:read"))
        client.get(f"/api/v1/cases/{self.case.pk}/")
        client.get(f"/api/v1/persons/{self.victim.person_id}/")
        client.get(f"/api/v1/reports/{self.case.report_id}/")
        client.get("/api/v1/cases/?status=Active")
        token_id = ApiToken.objects.get().pk
        case_read = AuditEvent.objects.get(
            action="cases.case_viewed", actor_id=self.investigator.pk, object_id=str(self.case.pk)
        )
        self.assertEqual((case_read.details["via"], case_read.details["token_id"]), ("api", token_id))
        person_read = AuditEvent.objects.get(action="cases.person_viewed", actor_id=self.investigator.pk)
        self.assertEqual(
            (person_read.object_id, person_read.details["case_person_id"]), (str(self.victim.person_id), self.victim.pk)
        )
        self.assertTrue(
            AuditEvent.objects.filter(
                action="intake.report_viewed", actor_id=self.investigator.pk, object_id=str(self.case.report_id)
            ).exists()
        )
        listing = AuditEvent.objects.get(action="cases.case_list", actor_id=self.investigator.pk)
        self.assertEqual(listing.details["filters"], ["status"])
        self.assertTrue(AuditEvent.objects.filter(action="api.token_created").exists())

    def test_a_refused_read_writes_no_read_row(self):
        client = self.api(self.token("investigator2", "persons:read"))
        self.assertEqual(client.get(f"/api/v1/persons/{self.victim.person_id}/").status_code, 404)
        self.assertFalse(
            AuditEvent.objects.filter(action="cases.person_viewed", actor_id=self.investigator2.pk).exists()
        )


class WriteTests(ApiWorld):
    REPORT = {"channel": "hotline", "narrative": "A caller describes workers locked in at night.", "urgency": "priority",
              "exploitation": ["forced_labour"], "victim_count": 3}  # fmt: skip

    def post(self, client, url, body, **headers):
        return client.post(url, json.dumps(body), content_type="application/json", headers=headers)

    def patch(self, client, url, body, **headers):
        return client.patch(url, json.dumps(body), content_type="application/json", headers=headers)

    def test_record_a_report(self):
        client = self.api(self.token("intake", "reports:write", "reports:read"))
        response = self.post(client, "/api/v1/reports/", self.REPORT)
        self.assertEqual(response.status_code, 201, response.content)
        body = response.json()
        report = Report.objects.get(pk=body["id"])
        self.assertEqual(
            (body["reference"], report.narrative, report.created_by),
            (report.reference, self.REPORT["narrative"], self.intake),
        )
        self.assertEqual(response["Location"], f"/api/v1/reports/{report.pk}/")
        self.assertTrue(AuditEvent.objects.filter(action="intake.report_created", object_id=str(report.pk)).exists())

    def test_read_only_and_unknown_fields_are_refused(self):
        client = self.api(self.token("intake", "reports:write"))
        before = Report.objects.count()
        response = self.post(
            client, "/api/v1/reports/", {**self.REPORT, "status": "closed", "reference": "R-1", "colour": "red"}
        )
        self.assertEqual(response.status_code, 400)
        self.assertEqual(set(response.json()), {"status", "reference", "colour"})
        self.assertEqual(Report.objects.count(), before)
        self.assertEqual(
            self.post(client, "/api/v1/reports/", {**self.REPORT, "channel": "public_form"}).status_code, 400
        )

    def test_a_write_scope_is_needed_and_the_permission_too(self):
        read_only = self.api(self.token("intake", "reports:read"))
        self.assertEqual(self.post(read_only, "/api/v1/reports/", self.REPORT).status_code, 403)

    def test_etag_and_if_match_on_edits(self):
        client = self.api(self.token("intake", "reports:write", "reports:read"))
        created = self.post(client, "/api/v1/reports/", self.REPORT)
        url = f"/api/v1/reports/{created.json()['id']}/"
        etag = client.get(url)["ETag"]
        self.assertEqual(etag, created["ETag"])
        missing = self.patch(client, url, {"urgency": "urgent"})
        self.assertEqual(missing.status_code, 428)
        self.assertEqual(self.patch(client, url, {"urgency": "urgent"}, **{"If-Match": '"stale"'}).status_code, 412)
        done = self.patch(client, url, {"urgency": "urgent"}, **{"If-Match": etag})
        self.assertEqual(done.status_code, 200, done.content)
        self.assertEqual(done.json()["urgency"], "urgent")
        self.assertNotEqual(done["ETag"], etag)
        again = self.patch(client, url, {"urgency": "routine"}, **{"If-Match": etag})
        self.assertEqual(again.status_code, 412)
        self.assertEqual(Report.objects.get(pk=created.json()["id"]).urgency, "urgent")
        self.assertEqual(self.patch(client, url, {"version": 9}, **{"If-Match": done["ETag"]}).status_code, 400)

    def test_editing_needs_the_right_to_change(self):
        hidden = self.api(self.token("investigator2", "reports:write", "reports:read"))
        self.assertEqual(
            self.patch(hidden, f"/api/v1/reports/{self.case.report_id}/", {"urgency": "urgent"}).status_code, 404
        )

    def test_an_idempotency_key_makes_a_retried_post_safe(self):
        client = self.api(self.token("intake", "reports:write"))
        before = Report.objects.count()
        first = self.post(client, "/api/v1/reports/", self.REPORT, **{"Idempotency-Key": "abc-123"})
        retry = self.post(client, "/api/v1/reports/", self.REPORT, **{"Idempotency-Key": "abc-123"})
        self.assertEqual((first.status_code, retry.status_code), (201, 201))
        self.assertEqual(first.json(), retry.json())
        self.assertEqual(retry["Idempotent-Replayed"], "true")
        self.assertEqual(retry["ETag"], first["ETag"])
        self.assertEqual(Report.objects.count(), before + 1)
        other = self.post(
            client, "/api/v1/reports/", {**self.REPORT, "victim_count": 4}, **{"Idempotency-Key": "abc-123"}
        )
        self.assertEqual(other.status_code, 422)
        # A refused request keeps no record: fixing it and retrying with the same key works.
        bad = self.post(client, "/api/v1/reports/", {"narrative": "no channel"}, **{"Idempotency-Key": "k2"})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(
            self.post(client, "/api/v1/reports/", self.REPORT, **{"Idempotency-Key": "k2"}).status_code, 201
        )
        # Stored answers are encrypted at rest.
        with connection.cursor() as cursor:
            cursor.execute("SELECT response_body FROM api_idempotencyrecord")
            self.assertNotIn("locked in at night", " ".join(r[0] for r in cursor.fetchall()))
        self.assertEqual(IdempotencyRecord.objects.count(), 2)

    def test_the_provider_answers_with_if_match(self):
        client = self.api(self.token("shelter", "referrals:read", "referrals:write"))
        url = f"/api/v1/provider/referrals/{self.referral.pk}/"
        etag = client.get(url)["ETag"]
        self.assertEqual(self.post(client, url + "accept/", {}).status_code, 428)
        accepted = self.post(client, url + "accept/", {"note": "Bed ready."}, **{"If-Match": etag})
        self.assertEqual(accepted.status_code, 200, accepted.content)
        self.assertEqual(accepted.json()["status"], "accepted")
        self.assertEqual(
            self.post(client, url + "decline/", {"reason": "Full."}, **{"If-Match": etag}).status_code, 412
        )
        refused = self.post(client, url + "decline/", {"reason": "Full."}, **{"If-Match": accepted["ETag"]})
        self.assertEqual(refused.status_code, 409)
        self.assertEqual(self.post(client, url + "complete/", {}, **{"If-Match": accepted["ETag"]}).status_code, 400)
        self.assertTrue(AuditEvent.objects.filter(action="referrals.accept", actor_id=self.shelter.pk).exists())
        # Another provider's referral does not exist for this token.
        other = f"/api/v1/provider/referrals/{self.other_referral.pk}/accept/"
        self.assertEqual(self.post(client, other, {}, **{"If-Match": etag}).status_code, 404)

    def test_the_provider_posts_updates_and_services_and_reads_the_timeline(self):
        client = self.api(self.token("shelter", "referrals:read", "referrals:write"))
        url = f"/api/v1/provider/referrals/{self.referral.pk}/"
        etag = client.get(url)["ETag"]
        self.assertEqual(
            self.post(client, url + "updates/", {"text": "Too early."}, **{"If-Match": etag}).status_code, 409
        )
        accepted = self.post(client, url + "accept/", {}, **{"If-Match": etag})
        updated = self.post(client, url + "updates/", {"text": "Settled in well."}, **{"If-Match": accepted["ETag"]})
        self.assertEqual(updated.status_code, 200, updated.content)
        self.assertEqual(self.post(client, url + "updates/", {"text": "x"}).status_code, 428)
        served = self.post(
            client, url + "services/", {"service_type": "accommodation", "delivered_on": timezone.localdate().isoformat()},
            **{"If-Match": updated["ETag"]},
        )  # fmt: skip
        self.assertEqual(served.status_code, 200, served.content)
        self.assertEqual(served.json()["status"], "in_progress")
        timeline = client.get(url).json()["timeline"]
        self.assertIn("Settled in well.", [row["note"] for row in timeline])
        # The unit's officers are not named to the provider, as on the portal.
        self.assertIn(str(self.ctu), [row["who"] for row in timeline])
        self.assertNotIn(self.care.display_name, [row["who"] for row in timeline])
        self.assertTrue(AuditEvent.objects.filter(action="referrals.update_posted", actor_id=self.shelter.pk).exists())
        self.assertTrue(
            AuditEvent.objects.filter(action="referrals.service_recorded", actor_id=self.shelter.pk).exists()
        )

    def test_reading_without_the_write_scope_cannot_answer(self):
        client = self.api(self.token("shelter", "referrals:read"))
        url = f"/api/v1/provider/referrals/{self.referral.pk}/"
        etag = client.get(url)["ETag"]
        self.assertEqual(self.post(client, url + "acknowledge/", {}, **{"If-Match": etag}).status_code, 403)


class ListTests(ApiWorld):
    def test_pagination_filters_and_ordering(self):
        client = self.api(self.token("intake", "reports:read", "reports:write"))
        for days in (3, 1, 2):
            intake_actions.create_report(
                actor=self.intake, channel="walk_in", received_at=timezone.now() - timedelta(days=days), narrative="x"
            )
        first = client.get("/api/v1/reports/?channel=walk_in&ordering=received_at&page_size=2").json()
        self.assertEqual(first["count"], 3)
        self.assertEqual(len(first["results"]), 2)
        self.assertLess(first["results"][0]["received_at"], first["results"][1]["received_at"])
        second = client.get(first["next"]).json()
        self.assertEqual((len(second["results"]), second["next"]), (1, None))
        self.assertEqual(client.get("/api/v1/reports/?channel=walk_in&page=9").status_code, 404)
        self.assertEqual(client.get("/api/v1/reports/?channel=telepathy").status_code, 400)
        # Lists are summaries: the narrative and the reporter come with the (audited) detail only.
        self.assertNotIn("narrative", first["results"][0])

    def test_bodies_must_be_json(self):
        client = self.api(self.token("intake", "reports:write"))
        self.assertEqual(client.post("/api/v1/reports/", {"channel": "hotline"}).status_code, 415)


class RateLimitTests(ApiWorld):
    def test_each_token_has_its_own_budget(self):
        limited = self.api(self.token("investigator", "cases:read", rate_per_minute=2))
        other = self.api(self.token("investigator", "cases:read"))
        self.assertEqual([limited.get("/api/v1/cases/").status_code for _ in range(3)], [200, 200, 429])
        response = limited.get("/api/v1/cases/")
        self.assertEqual(response.status_code, 429)
        self.assertTrue(int(response["Retry-After"]) > 0)
        self.assertEqual(other.get("/api/v1/cases/").status_code, 200)

    @override_settings(API_RATE_PER_MINUTE=1)
    def test_the_default_budget_comes_from_the_settings(self):
        client = self.api(self.token("investigator", "cases:read"))
        self.assertEqual([client.get("/api/v1/cases/").status_code for _ in range(2)], [200, 429])


class StatisticsTests(ApiWorld):
    def test_counts_with_small_cells_withheld(self):
        client = self.api(self.token("analyst", "stats:read"))
        measures = client.get("/api/v1/statistics/measures/")
        self.assertEqual(measures.status_code, 200)
        self.assertIn("victims", [m["key"] for m in measures.json()])
        response = client.get("/api/v1/statistics/?measure=victims&dims=sex")
        self.assertEqual(response.status_code, 200, response.content)
        rows = response.json()["rows"]
        self.assertTrue(rows and all(r["suppressed"] and r["n"] is None for r in rows))
        self.assertEqual(client.get("/api/v1/statistics/?measure=nonsense").status_code, 400)
        self.assertEqual(client.get("/api/v1/statistics/?measure=victims&dims=colour").status_code, 400)
        self.assertTrue(AuditEvent.objects.filter(action="stats.api_query", actor_id=self.analyst.pk).exists())

    def test_statistics_need_the_dashboard_permission(self):
        with self.assertRaises(ValidationError):
            self.token("investigator", "stats:read")


class CommandTests(ApiWorld):
    def test_create_token_prints_the_token_once_and_stores_a_hash(self):
        out, err = StringIO(), StringIO()
        call_command(
            "create_token",
            "shelter",
            "--scope",
            "referrals:read",
            "--scope",
            "referrals:write",
            "--service",
            "--days",
            "30",
            stdout=out,
            stderr=err,
        )
        secret = out.getvalue().strip()
        token = ApiToken.objects.get()
        self.assertEqual(
            (token.kind, token.scopes, token.user),
            (TokenKind.SERVICE, ["referrals:read", "referrals:write"], self.shelter),
        )
        self.assertEqual(token.secret_hash, hashlib.sha256(api_actions.split_token(secret)[1].encode()).hexdigest())
        self.assertNotIn(secret, err.getvalue())
        self.assertEqual(self.api(secret).get("/api/v1/provider/referrals/").status_code, 200)
        event = AuditEvent.objects.get(action="api.token_created")
        self.assertEqual(event.details["via"], "command")
        self.assertNotIn(secret, json.dumps(event.details))

    def test_revoke_token_by_prefix(self):
        secret = self.token("shelter", "referrals:read")
        prefix, _raw = api_actions.split_token(secret)
        out = StringIO()
        call_command("revoke_token", prefix, stdout=out)
        self.assertIn("revoked", out.getvalue())
        self.assertEqual(self.api(secret).get("/api/v1/provider/referrals/").status_code, 401)
        self.assertEqual(AuditEvent.objects.get(action="api.token_revoked").actor_id, None)
        with self.assertRaises(CommandError):
            call_command("revoke_token", "000000000000", stdout=StringIO())

    def test_refusals(self):
        with self.assertRaises(CommandError):
            call_command("create_token", "nosuchuser", "--scope", "cases:read", stdout=StringIO(), stderr=StringIO())
        with self.assertRaises(CommandError):
            call_command("create_token", "shelter", "--scope", "cases:read", stdout=StringIO(), stderr=StringIO())
        self.assertFalse(ApiToken.objects.exists())


class TokenPageTests(ApiWorld):
    def test_a_user_makes_sees_once_and_revokes_a_personal_token(self):
        browser = self.client_for("other_analyst")  # a partner agency's staff: the directory only
        page = browser.get("/api/tokens/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "directory:read")
        self.assertNotContains(page, "cases:read")  # a scope this account could not use is not offered
        made = browser.post("/api/tokens/", {"name": "my script", "scopes": ["directory:read"], "days": 30})
        self.assertEqual(made.status_code, 200)
        secret = made.context["secret"]
        self.assertContains(made, secret)
        self.assertEqual(self.api(secret).get("/api/v1/directory/agencies/").status_code, 200)
        listing = browser.get("/api/tokens/")
        self.assertNotContains(listing, secret)
        self.assertContains(listing, "my script")
        token = ApiToken.objects.get(user=self.other_analyst)
        self.assertEqual(browser.post(f"/api/tokens/{token.pk}/revoke/").status_code, 302)
        self.assertEqual(self.api(secret).get("/api/v1/directory/agencies/").status_code, 401)

    def test_nobody_revokes_another_users_token(self):
        self.token("investigator", "cases:read")
        token = ApiToken.objects.get()
        self.assertEqual(self.client_for("investigator2").post(f"/api/tokens/{token.pk}/revoke/").status_code, 404)
        self.assertIsNone(ApiToken.objects.get().revoked_at)

    def test_service_tokens_are_the_administrators(self):
        self.assertEqual(self.client_for("investigator").get("/api/tokens/service/").status_code, 403)
        admin = self.client_for("sysadmin")
        refused = admin.post(
            "/api/tokens/service/",
            {"user": self.shelter.pk, "name": "shelter system", "scopes": ["cases:read"], "days": 30},
        )
        self.assertEqual(refused.status_code, 200)
        self.assertContains(refused, "cannot use these scopes")
        made = admin.post(
            "/api/tokens/service/",
            {
                "user": self.shelter.pk,
                "name": "shelter system",
                "scopes": ["referrals:read"],
                "days": 30,
                "rate_per_minute": 30,
            },
        )
        secret = made.context["secret"]
        token = ApiToken.objects.get(kind=TokenKind.SERVICE)
        self.assertEqual((token.user, token.rate_per_minute, token.created_by), (self.shelter, 30, self.sysadmin))
        self.assertEqual(self.api(secret).get("/api/v1/provider/referrals/").status_code, 200)
        self.assertContains(admin.get("/api/tokens/service/"), "shelter system")
        # The service account's own token page does not list the service token (it is the administrator's).
        self.assertNotContains(self.client_for("shelter").get("/api/tokens/"), "shelter system")


class SchemaPageTests(ApiWorld):
    def test_the_openapi_schema_validates_without_warnings(self):
        out = StringIO()
        call_command(
            "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out, stderr=StringIO()
        )
        document = json.loads(out.getvalue())
        self.assertEqual(document["info"]["title"], "Beacon API")
        self.assertEqual(document["components"]["securitySchemes"]["bearerAuth"]["scheme"], "bearer")
        paths = set(document["paths"])
        for path in ("/api/v1/reports/", "/api/v1/cases/", "/api/v1/persons/", "/api/v1/referrals/", "/api/v1/provider/referrals/",
                     "/api/v1/directory/agencies/", "/api/v1/directory/services/", "/api/v1/investigations/charges/",
                     "/api/v1/investigations/hearings/", "/api/v1/statistics/"):  # fmt: skip
            self.assertIn(path, paths)
        # Request bodies refuse what they do not list.
        self.assertFalse(document["components"]["schemas"]["ReportWriteRequest"]["additionalProperties"])

    def test_the_schema_for_a_token_or_a_signed_in_user_and_the_docs_offline(self):
        self.assertIn(Client().get("/api/schema/").status_code, {401, 403})
        schema = self.api(self.token("shelter", "referrals:read")).get("/api/schema/?format=json")
        self.assertEqual(schema.status_code, 200)
        document = json.loads(schema.content)
        self.assertTrue(document["openapi"].startswith("3."))
        self.assertIn("/api/v1/provider/referrals/{id}/accept/", document["paths"])
        accept = document["paths"]["/api/v1/provider/referrals/{id}/accept/"]["post"]
        self.assertTrue({"200", "401", "403", "404", "409", "412", "428", "429"} <= set(accept["responses"]))
        self.assertEqual(self.client_for("analyst").get("/api/schema/").status_code, 200)
        docs = self.client_for("analyst").get("/api/docs/")
        self.assertEqual(docs.status_code, 200)
        self.assertContains(docs, "/static/drf_spectacular_sidecar/swagger-ui-dist/")
        self.assertNotContains(docs, "cdn.jsdelivr")
        self.assertNotContains(docs, "<script>")
        self.assertNotContains(docs, "<style")
        self.assertContains(docs, "/static/api/swagger.css")
        script = self.client_for("analyst").get("/api/docs/?script")
        self.assertEqual(script.status_code, 200)
        self.assertIn("/api/schema/", script.content.decode())
