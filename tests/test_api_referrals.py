"""The unit's side of referrals over the API, and conditional GET (the leftovers of issue #9).

A CTU officer's token with ``referrals:write`` refers a survivor to an authorised provider through the same
actions as the referral form: consent is required to send, what the user may not see is 404, what they may
see but not change is 403, a stale If-Match is 412. Detail endpoints answer 304 to an If-None-Match that
names their current ETag, and the read is audited all the same."""

from __future__ import annotations

import json

from api.models import ApiToken
from audit.models import AuditEvent
from cases import actions as case_actions
from directory.models import Agency
from referrals import actions as referral_actions
from referrals.models import Referral
from tests.base import make_user
from tests.test_api import FAMILY, GIVEN, ApiWorld


class ReferralApiWorld(ApiWorld):
    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # Authorised, active, but no consent to share with it is recorded for the survivor.
        cls.no_consent = Agency.objects.create(
            name="Harbour Light Centre", short_name="Harbour Light", kind="shelter", org_type="ngo",
            authorised_for_referrals=True,
        )  # fmt: skip
        cls.need = cls.victim.care_needs.get()
        cls.care2 = make_user("care2", cls.ctu, "victim_care_officer")
        cls.refuge_colleague = make_user("shelter2", cls.safe_harbour, "service_provider_staff")

    def post(self, client, url, body, **headers):
        return client.post(url, json.dumps(body), content_type="application/json", headers=headers)

    def body(self, **overrides) -> dict:
        return {
            "case_person": self.victim.pk, "provider": self.safe_harbour.pk, "needs": ["shelter"], "urgency": "urgent",
            "shared_fields": ["name", "age", "languages"], "shared_name": GIVEN_FIRST, "safety_notes": "Evenings only.",
            "care_needs": [self.need.pk], **overrides,
        }  # fmt: skip

    def writer(self, user="care", *scopes):
        return self.api(self.token(user, *(scopes or ("referrals:read", "referrals:write"))))


GIVEN_FIRST = "Quenisha"


class CreateReferralTests(ReferralApiWorld):
    def test_a_care_officer_refers_and_sends_with_consent(self):
        client = self.writer()
        response = self.post(client, "/api/v1/referrals/", self.body())
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        referral = Referral.objects.get(pk=data["id"])
        self.assertEqual(
            (data["status"], data["case_person"], data["provider"]["id"]),
            ("sent", self.victim.pk, self.safe_harbour.pk),
        )
        self.assertEqual(
            (referral.created_by, referral.sent_by, list(referral.care_needs.all())),
            (self.care, self.care, [self.need]),
        )
        self.assertEqual(referral.snapshot["name"], GIVEN_FIRST)
        self.assertEqual(response["Location"], f"/api/v1/referrals/{referral.pk}/")
        self.assertEqual(client.get(response["Location"])["ETag"], response["ETag"])
        for action in ("referrals.created", "referrals.send"):
            self.assertTrue(
                AuditEvent.objects.filter(action=action, actor_id=self.care.pk, object_id=str(referral.pk)).exists()
            )
        # The provider now reads it, and only what was shared.
        shelter = self.api(self.token("shelter", "referrals:read")).get(f"/api/v1/provider/referrals/{referral.pk}/")
        self.assertEqual(shelter.status_code, 200)
        self.assertEqual(shelter.json()["shared"]["name"], GIVEN_FIRST)
        self.assertNotIn(FAMILY, shelter.content.decode())

    def test_without_consent_nothing_is_sent_or_created(self):
        client = self.writer()
        before = Referral.objects.count()
        audited = AuditEvent.objects.filter(action="referrals.created").count()
        refused = self.post(client, "/api/v1/referrals/", self.body(provider=self.no_consent.pk))
        self.assertEqual(refused.status_code, 400, refused.content)
        self.assertEqual(refused.json()["code"], "no_consent")
        self.assertIn("Harbour Light Centre", refused.json()["detail"])
        self.assertEqual(Referral.objects.count(), before)
        self.assertEqual(AuditEvent.objects.filter(action="referrals.created").count(), audited)
        # A draft needs no consent yet, as on the form; sending it does.
        draft = self.post(client, "/api/v1/referrals/", self.body(provider=self.no_consent.pk, send=False))
        self.assertEqual(draft.status_code, 201, draft.content)
        self.assertEqual(draft.json()["status"], "draft")
        url = draft["Location"]
        send = self.post(client, url + "send/", {}, **{"If-Match": draft["ETag"]})
        self.assertEqual((send.status_code, send.json()["code"]), (400, "no_consent"))
        self.assertEqual(Referral.objects.get(pk=draft.json()["id"]).status, "draft")
        # The provider never sees a draft.
        refuge = self.api(self.token("shelter", "referrals:read"))
        self.assertEqual(refuge.get(f"/api/v1/provider/referrals/{draft.json()['id']}/").status_code, 404)

    def test_a_draft_is_sent_with_if_match(self):
        client = self.writer()
        draft = self.post(client, "/api/v1/referrals/", self.body(send=False))
        url = draft["Location"]
        self.assertEqual(self.post(client, url + "send/", {}).status_code, 428)
        self.assertEqual(self.post(client, url + "send/", {}, **{"If-Match": '"stale"'}).status_code, 412)
        sent = self.post(client, url + "send/", {}, **{"If-Match": draft["ETag"]})
        self.assertEqual(sent.status_code, 200, sent.content)
        self.assertEqual(sent.json()["status"], "sent")
        self.assertNotEqual(sent["ETag"], draft["ETag"])
        self.assertEqual(self.post(client, url + "send/", {}, **{"If-Match": sent["ETag"]}).status_code, 409)

    def test_a_provider_not_authorised_for_referrals_is_refused(self):
        client = self.writer()
        before = Referral.objects.count()
        refused = self.post(client, "/api/v1/referrals/", self.body(provider=self.police.pk))
        self.assertEqual(refused.status_code, 400)
        self.assertEqual(list(refused.json()), ["provider"])
        self.assertIn("not authorised", refused.json()["provider"][0])
        self.assertEqual(self.post(client, "/api/v1/referrals/", self.body(provider=999999)).status_code, 400)
        self.assertEqual(Referral.objects.count(), before)

    def test_input_that_depends_on_the_survivor_is_checked(self):
        client = self.writer()
        family = self.post(client, "/api/v1/referrals/", self.body(shared_name=FAMILY))
        self.assertEqual((family.status_code, list(family.json())), (400, ["shared_name"]))
        self.assertNotIn(FAMILY, family.content.decode())  # the refusal does not echo the name
        other_need = self.post(client, "/api/v1/referrals/", self.body(care_needs=[self.need.pk + 1000]))
        self.assertEqual((other_need.status_code, list(other_need.json())), (400, ["care_needs"]))
        read_only = self.post(client, "/api/v1/referrals/", self.body(status="sent"))
        self.assertEqual((read_only.status_code, list(read_only.json())), (400, ["status"]))
        no_need = self.post(client, "/api/v1/referrals/", self.body(needs=[]))
        self.assertEqual((no_need.status_code, list(no_need.json())), (400, ["needs"]))
        self.assertFalse(
            Referral.objects.filter(created_by=self.care, provider=self.safe_harbour)
            .exclude(pk=self.referral.pk)
            .exists()
        )

    def test_what_the_user_may_not_see_is_404_and_what_they_may_not_change_is_403(self):
        before = Referral.objects.count()
        # A care officer who is not on the case does not see its survivor.
        outsider = self.writer(self.care2)
        hidden = self.post(outsider, "/api/v1/referrals/", self.body())
        self.assertEqual((hidden.status_code, hidden.json()["code"]), (404, "not_found"))
        # A suspect is not referred: the link is not found as a survivor, as on the form's page, even by the
        # Director, who sees the suspect.
        suspect = self.post(self.writer("director"), "/api/v1/referrals/", self.body(case_person=self.suspect.pk))
        self.assertEqual(suspect.status_code, 404)
        self.assertEqual(hidden.json(), suspect.json())
        # Provider staff are not on the unit's side at all.
        self.assertEqual(self.post(self.writer("shelter"), "/api/v1/referrals/", self.body()).status_code, 404)
        # The case owner sees the survivor, but an investigator may not send referrals (a token kept the scope
        # after the role changed): 403 with the reason, nothing created.
        secret = self.token("care", "referrals:read", "referrals:write")
        ApiToken.objects.filter(user=self.care).update(user=self.investigator)
        refused = self.post(self.api(secret), "/api/v1/referrals/", self.body())
        self.assertEqual(refused.status_code, 403, refused.content)
        self.assertIn("may not send or withdraw referrals", refused.json()["detail"])
        self.assertEqual(Referral.objects.count(), before)

    def test_the_write_scope_is_needed(self):
        read_only = self.api(self.token("care", "referrals:read"))
        refused = self.post(read_only, "/api/v1/referrals/", self.body())
        self.assertEqual(refused.status_code, 403)
        self.assertIn("referrals:write", refused.json()["detail"])
        etag = read_only.get(f"/api/v1/referrals/{self.referral.pk}/")["ETag"]
        withdraw = self.post(
            read_only, f"/api/v1/referrals/{self.referral.pk}/withdraw/", {"reason": "x"}, **{"If-Match": etag}
        )
        self.assertEqual(withdraw.status_code, 403)
        self.assertEqual(Referral.objects.get(pk=self.referral.pk).status, "sent")

    def test_a_retried_creation_refers_once(self):
        client = self.writer()
        before = Referral.objects.count()
        first = self.post(client, "/api/v1/referrals/", self.body(), **{"Idempotency-Key": "ref-1"})
        retry = self.post(client, "/api/v1/referrals/", self.body(), **{"Idempotency-Key": "ref-1"})
        self.assertEqual((first.status_code, retry.status_code, retry["Idempotent-Replayed"]), (201, 201, "true"))
        self.assertEqual(first.json(), retry.json())
        self.assertEqual(Referral.objects.count(), before + 1)


class WithdrawReferralTests(ReferralApiWorld):
    def test_withdraw_with_if_match_and_a_reason(self):
        client = self.writer()
        url = f"/api/v1/referrals/{self.referral.pk}/"
        etag = client.get(url)["ETag"]
        self.assertEqual(self.post(client, url + "withdraw/", {"reason": "Moved away."}).status_code, 428)
        stale = self.post(client, url + "withdraw/", {"reason": "Moved away."}, **{"If-Match": '"0123"'})
        self.assertEqual((stale.status_code, stale.json()["code"]), (412, "precondition_failed"))
        # If-Match compares strongly (RFC 9110): a weak tag never matches, and "*" names no state.
        for header in (f"W/{etag}", "*"):
            self.assertIn(
                self.post(client, url + "withdraw/", {"reason": "Moved."}, **{"If-Match": header}).status_code,
                {412, 428},
                header,
            )
        self.assertEqual(self.post(client, url + "withdraw/", {}, **{"If-Match": etag}).status_code, 400)
        done = self.post(client, url + "withdraw/", {"reason": "Moved away."}, **{"If-Match": f'"nope", {etag}'})
        self.assertEqual(done.status_code, 200, done.content)
        self.assertEqual(done.json()["status"], "withdrawn")
        referral = Referral.objects.get(pk=self.referral.pk)
        self.assertEqual(referral.withdrawal_reason, "Moved away.")
        self.assertTrue(
            AuditEvent.objects.filter(
                action="referrals.withdraw", actor_id=self.care.pk, object_id=str(referral.pk)
            ).exists()
        )
        # The old ETag is stale now; the new one names a state that cannot be withdrawn again.
        self.assertEqual(self.post(client, url + "withdraw/", {"reason": "x"}, **{"If-Match": etag}).status_code, 412)
        again = self.post(client, url + "withdraw/", {"reason": "x"}, **{"If-Match": done["ETag"]})
        self.assertEqual((again.status_code, again.json()["code"]), (409, "conflict"))

    def test_a_change_by_someone_else_makes_the_etag_stale(self):
        client = self.writer()
        url = f"/api/v1/referrals/{self.referral.pk}/"
        etag = client.get(url)["ETag"]
        referral_actions.accept_referral(self.referral, actor=self.shelter, version=self.referral.version)
        self.assertEqual(self.post(client, url + "withdraw/", {"reason": "x"}, **{"If-Match": etag}).status_code, 412)
        self.assertEqual(Referral.objects.get(pk=self.referral.pk).status, "accepted")

    def test_other_teams_get_404(self):
        outsider = self.writer(self.care2)
        url = f"/api/v1/referrals/{self.referral.pk}/withdraw/"
        self.assertEqual(self.post(outsider, url, {"reason": "x"}, **{"If-Match": '"x"'}).status_code, 404)
        shelter = self.writer("shelter")
        self.assertEqual(self.post(shelter, url, {"reason": "x"}, **{"If-Match": '"x"'}).status_code, 404)


class ConditionalGetTests(ReferralApiWorld):
    def test_if_none_match_answers_304_without_a_body_and_the_read_is_audited(self):
        client = self.api(self.token("investigator", "persons:read"))
        url = f"/api/v1/persons/{self.victim.person_id}/"
        first = client.get(url)
        etag = first["ETag"]
        for header in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            response = client.get(url, headers={"If-None-Match": header})
            self.assertEqual(response.status_code, 304, header)
            self.assertEqual(response.content, b"")
            self.assertEqual((response["ETag"], response["Cache-Control"]), (etag, "no-store"))
            self.assertNotIn(GIVEN, response.content.decode())
        # Every one of those reads is audited, as the page read is: the client shows its copy again.
        reads = AuditEvent.objects.filter(
            action="cases.person_viewed", actor_id=self.investigator.pk, object_id=str(self.victim.person_id)
        )
        self.assertEqual(reads.count(), 5)
        self.assertEqual(reads.last().details["via"], "api")
        # Another tag, or none: the full answer.
        other = client.get(url, headers={"If-None-Match": '"0123"'})
        self.assertEqual((other.status_code, other.json()["given_names"]), (200, GIVEN))
        self.assertEqual(client.head(url, headers={"If-None-Match": etag}).status_code, 304)

    def test_a_change_answers_200_with_the_new_etag(self):
        client = self.api(self.token("investigator", "persons:read", "cases:read"))
        url = f"/api/v1/persons/{self.victim.person_id}/"
        etag = client.get(url)["ETag"]
        person = self.victim.person
        person.refresh_from_db()
        case_actions.update_person(
            self.victim, actor=self.investigator, version=person.version, interpreter_needed=True
        )
        changed = client.get(url, headers={"If-None-Match": etag})
        self.assertEqual(changed.status_code, 200)
        self.assertNotEqual(changed["ETag"], etag)
        self.assertEqual(client.get(url, headers={"If-None-Match": changed["ETag"]}).status_code, 304)

    def test_a_new_timeline_entry_changes_the_etag_though_the_version_does_not(self):
        shelter = self.api(self.token("shelter", "referrals:read", "referrals:write"))
        url = f"/api/v1/provider/referrals/{self.referral.pk}/"
        accepted = self.post(shelter, url + "accept/", {}, **{"If-Match": shelter.get(url)["ETag"]})
        etag = accepted["ETag"]
        self.assertEqual(shelter.get(url, headers={"If-None-Match": etag}).status_code, 304)
        version = Referral.objects.get(pk=self.referral.pk).version
        referral_actions.post_update(self.referral, actor=self.refuge_colleague, text="Room 4 from Monday.")
        self.assertEqual(Referral.objects.get(pk=self.referral.pk).version, version)
        fresh = shelter.get(url, headers={"If-None-Match": etag})
        self.assertEqual(fresh.status_code, 200)
        self.assertIn("Room 4 from Monday.", [row["note"] for row in fresh.json()["timeline"]])
        # A write based on the view without that entry is stale too.
        self.assertEqual(self.post(shelter, url + "start/", {}, **{"If-Match": etag}).status_code, 412)
        self.assertEqual(self.post(shelter, url + "start/", {}, **{"If-Match": fresh["ETag"]}).status_code, 200)

    def test_every_detail_with_an_etag_answers_304(self):
        client = self.api(
            self.token(
                "investigator", "reports:read", "cases:read", "referrals:read", "directory:read", "investigations:read"
            )
        )
        for url in (
            f"/api/v1/reports/{self.case.report_id}/", f"/api/v1/cases/{self.case.pk}/",
            f"/api/v1/referrals/{self.referral.pk}/", f"/api/v1/directory/agencies/{self.safe_harbour.pk}/",
            f"/api/v1/investigations/charges/{self.charge.pk}/", f"/api/v1/investigations/hearings/{self.hearing.pk}/",
        ):  # fmt: skip
            etag = client.get(url)["ETag"]
            self.assertEqual(client.get(url, headers={"If-None-Match": etag}).status_code, 304, url)

    def test_what_may_not_be_seen_stays_404_and_lists_answer_200(self):
        outsider = self.api(self.token("investigator2", "persons:read", "cases:read"))
        hidden = outsider.get(f"/api/v1/persons/{self.victim.person_id}/", headers={"If-None-Match": "*"})
        self.assertEqual(hidden.status_code, 404)
        listing = outsider.get("/api/v1/cases/", headers={"If-None-Match": "*"})
        self.assertEqual(listing.status_code, 200)
        self.assertFalse(listing.has_header("ETag"))


class SchemaTests(ReferralApiWorld):
    def test_the_schema_documents_the_new_operations(self):
        document = self.api(self.token("care", "referrals:read")).get("/api/schema/?format=json").json()
        paths = document["paths"]
        create = paths["/api/v1/referrals/"]["post"]
        self.assertTrue({"201", "400", "403", "404", "409", "422"} <= set(create["responses"]))
        for step in ("send", "withdraw"):
            operation = paths[f"/api/v1/referrals/{{id}}/{step}/"]["post"]
            self.assertIn("If-Match", [p["name"] for p in operation["parameters"] if p["in"] == "header"])
            self.assertTrue({"200", "409", "412", "428"} <= set(operation["responses"]))
        detail = paths["/api/v1/persons/{id}/"]["get"]
        self.assertIn("304", detail["responses"])
        self.assertIn("If-None-Match", [p["name"] for p in detail["parameters"] if p["in"] == "header"])
        self.assertNotIn("304", paths["/api/v1/persons/"]["get"]["responses"])
        self.assertFalse(document["components"]["schemas"]["ReferralCreateRequest"]["additionalProperties"])
