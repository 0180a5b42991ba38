"""The audit spine (issue #2): append-only in the database, hash-chained, verified, written atomically."""

from __future__ import annotations

from io import StringIO

from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from accounts import actions
from accounts.models import User
from audit import log as audit
from audit import triggers
from audit.models import AuditEvent
from audit.verify import verify_chain
from tests.base import BeaconTestCase, make_user


class AppendOnlyTests(BeaconTestCase):
    def setUp(self):
        self.event = audit.record("test.event", actor=self.director, details={"n": 1})

    def test_database_refuses_update(self):
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET action = 'forged' WHERE id = %s", [self.event.pk])
        self.assertEqual(AuditEvent.objects.get(pk=self.event.pk).action, "test.event")

    def test_database_refuses_delete(self):
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [self.event.pk])
        self.assertTrue(AuditEvent.objects.filter(pk=self.event.pk).exists())

    def test_orm_refuses_too(self):
        with self.assertRaises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=self.event.pk).update(action="forged")
        with self.assertRaises(DatabaseError), transaction.atomic():
            AuditEvent.objects.filter(pk=self.event.pk).delete()

    def test_postgres_refuses_truncate(self):
        if connection.vendor != "postgresql":
            self.assertEqual(connection.vendor, "sqlite")  # SQLite has no TRUNCATE; DELETE is covered above
            return
        with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("TRUNCATE audit_auditevent")


class ChainTests(BeaconTestCase):
    def setUp(self):
        for i in range(5):
            audit.record("test.event", actor=self.director, object_type="test.thing", object_id=i, changed_fields=["a"])
        self.ids = list(AuditEvent.objects.order_by("id").values_list("id", flat=True))

    def _as_rogue_dba(self, sql: str, params: list):
        """Someone with direct database access removes the trigger, changes rows and puts it back."""
        triggers.remove(connection)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
        finally:
            triggers.install(connection)

    def test_intact_chain_verifies(self):
        out = StringIO()
        call_command("verify_audit", stdout=out)
        self.assertIn(f"{len(self.ids)} rows verified", out.getvalue())

    def test_edited_row_is_named(self):
        target = self.ids[2]
        self._as_rogue_dba("UPDATE audit_auditevent SET actor_name = 'someone else' WHERE id = %s", [target])
        with self.assertRaisesMessage(CommandError, f"row {target}"):
            call_command("verify_audit", stdout=StringIO())
        self.assertIn("edited", verify_chain().reason)

    def test_deleted_row_is_detected_at_its_successor(self):
        self._as_rogue_dba("DELETE FROM audit_auditevent WHERE id = %s", [self.ids[1]])
        result = verify_chain()
        self.assertFalse(result.ok)
        self.assertEqual(result.bad_id, self.ids[2])

    def test_reordered_rows_are_detected(self):
        a, b = self.ids[1], self.ids[3]
        self._as_rogue_dba("UPDATE audit_auditevent SET id = -1 WHERE id = %s", [a])
        self._as_rogue_dba("UPDATE audit_auditevent SET id = %s WHERE id = %s", [a, b])
        self._as_rogue_dba("UPDATE audit_auditevent SET id = %s WHERE id = -1", [b])
        result = verify_chain()
        self.assertFalse(result.ok)
        self.assertEqual(result.bad_id, a)

    def test_recomputing_a_hash_without_the_key_does_not_help(self):
        import hashlib

        target = self.ids[2]
        forged = hashlib.sha256(b"forged").hexdigest()
        self._as_rogue_dba("UPDATE audit_auditevent SET action = 'x', hash = %s WHERE id = %s", [forged, target])
        self.assertEqual(verify_chain().bad_id, target)


class AtomicityTests(BeaconTestCase):
    def test_audit_row_rolls_back_with_the_change(self):
        before = AuditEvent.objects.count()
        with self.assertRaises(RuntimeError), transaction.atomic():
            actions.deactivate_user(self.investigator, actor=self.sysadmin)
            raise RuntimeError("the rest of the change failed")
        self.assertEqual(AuditEvent.objects.count(), before)
        self.assertTrue(User.objects.get(pk=self.investigator.pk).is_active)

    def test_rows_record_who_where_and_which_fields_never_values(self):
        client = self.client_for("sysadmin")
        client.post(
            reverse("accounts:user_edit", args=[self.care.pk]),
            {"username": "care", "first_name": "Secretname", "agency": self.ctu.pk, "roles": [r.pk for r in self.care.roles.all()], "version": self.care.version},
            REMOTE_ADDR="203.0.113.9",
        )
        event = AuditEvent.objects.filter(action="accounts.user_updated").latest("id")
        self.assertEqual(event.actor_name, "sysadmin")
        self.assertEqual(event.agency_name, self.ctu.name)
        self.assertEqual(event.roles, "system_administrator")
        self.assertEqual(event.client_ip, "203.0.113.9")
        self.assertEqual(len(event.request_id), 32)
        self.assertIn("first_name", event.changed_fields)
        self.assertNotIn("Secretname", str(AuditEvent.objects.filter(pk=event.pk).values().first()))

    def test_actor_name_outlives_a_deleted_user(self):
        temp = make_user("temporary", self.ctu, "analyst")
        audit.record("test.event", actor=temp)
        temp.delete()
        event = AuditEvent.objects.filter(action="test.event").latest("id")
        self.assertEqual(event.actor_name, "temporary")
        self.assertTrue(verify_chain().ok)


class AuditBrowsingTests(BeaconTestCase):
    def test_auditor_filters_and_the_search_is_audited(self):
        audit.record("test.alpha", actor=self.director)
        audit.record("test.beta", actor=self.analyst)
        response = self.client_for("auditor").get(reverse("audit:event_list"), {"action": "test.al"})
        self.assertEqual(response.status_code, 200)
        actions_shown = {e.action for e in response.context["page"]}
        self.assertEqual(actions_shown, {"test.alpha"})
        search = AuditEvent.objects.filter(action="audit.search").latest("id")
        self.assertEqual(search.actor_name, "auditor")
        self.assertEqual(search.details["filters"], ["action"])

    def test_others_cannot_browse_the_log(self):
        # other_auditor holds the Auditor role but works for the police: unit-wide rights stay in the unit.
        for name in ("investigator", "analyst", "shelter", "other_auditor", "other_sysadmin"):
            with self.subTest(user=name):
                self.assertEqual(self.client_for(name).get(reverse("audit:event_list")).status_code, 403)
