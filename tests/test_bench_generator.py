"""The benchmark's record generator (bench/records.py, issue #11) on a handful of cases.

PostgreSQL only, by necessity: the generator writes with COPY, draws ids from sequences and takes the audit
chain's advisory lock, as it does on the benchmark database. On SQLite the test asserts it is on SQLite and
stops (the PostgreSQL leg of CI runs it).
"""

from __future__ import annotations

from django.db import connection

from audit.models import AuditEvent
from audit.verify import verify_chain
from bench import people, records
from cases.choices import exploitation_form
from cases.models import CasePerson, VictimProfile
from referrals.models import Referral, ReferralMessage
from tests.base import BeaconTestCase
from tests.factories import add_suspect, add_victim, make_case


class Interrupted(Exception):
    pass


class RecordGeneratorTests(BeaconTestCase):
    def setUp(self):
        if connection.vendor != "postgresql":
            return
        people.ensure_tables()
        self.cases = []
        for _i in range(6):
            case = make_case(owner=self.investigator)
            add_victim(case)
            add_victim(case)
            add_suspect(case)
            self.cases.append(case.pk)
        # As a bulk-generated case has them: no victim profile yet (the generator writes and derives them).
        VictimProfile.objects.filter(case_person__case_id__in=self.cases).delete()
        people._state_set("setup", {"cases": [], "director": self.director.pk, "investigator": self.investigator.pk})
        people._state_set("extra_cases", {"cases": self.cases, "investigator_cases": [], "links": 18})

    def test_interrupted_generation_resumes_and_keeps_the_audit_chain_valid(self):
        if connection.vendor != "postgresql":
            self.assertEqual(connection.vendor, "sqlite")
            return

        def stop_after_first_batch(message: str) -> None:
            if message.startswith("records: 2/"):
                raise Interrupted

        with self.assertRaises(Interrupted):
            records.ensure(stop_after_first_batch, batch=2, seed=5)
        state = people._state_get(records.STATE_KEY)
        self.assertEqual(state["done"], 2)
        opened = AuditEvent.objects.filter(action="cases.case_opened", object_type="cases.case")
        self.assertEqual(sorted(int(x) for x in opened.values_list("object_id", flat=True)), self.cases[:2])

        state = records.ensure(lambda message: None, batch=50, seed=99)  # a rerun keeps the first run's batches
        self.assertEqual((state["done"], state["batch"], state["seed"], state["runs"]), (6, 2, 5, 2))
        self.assertEqual(sorted(int(x) for x in opened.values_list("object_id", flat=True)), self.cases)
        self.assertEqual(records.ensure(lambda message: None), state)  # done: nothing more is written

        result = verify_chain()
        self.assertTrue(result.ok, result.reason)
        self.assertEqual(result.checked, AuditEvent.objects.count())

        # Every victim has a profile whose derived columns are set as VictimProfile.save() would set them.
        victims = CasePerson.objects.filter(case_id__in=self.cases, role="victim")
        profiles = VictimProfile.objects.filter(case_person__in=victims)
        self.assertEqual(profiles.count(), victims.count())
        for profile in profiles:
            self.assertEqual(profile.exploitation_form, exploitation_form(profile.exploitation_types))
            self.assertIsNotNone(profile.detected_on)

        # Referral messages are stored encrypted and read back as text.
        messages = ReferralMessage.objects.filter(referral__case_person__in=victims)
        self.assertTrue(messages.exists())
        with connection.cursor() as c:
            c.execute("SELECT text FROM referrals_referralmessage WHERE id = %s", [messages[0].pk])
            stored = c.fetchone()[0]
        self.assertIn(messages[0].text, records.MESSAGES_UNIT + records.MESSAGES_PROVIDER)
        self.assertNotIn(messages[0].text, stored)
        self.assertTrue(Referral.objects.filter(case_person__in=victims, status="completed").exists())

        # The application reads the generated history: the case timeline shows the people added.
        page = self.client_for("director").get(f"/cases/{self.cases[0]}/timeline/")
        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "Person added to the case")
