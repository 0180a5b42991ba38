"""Statistics read from a PostgreSQL replica when one is configured (issue #11); everything else, and every
write, stays on the primary.

The suite's "replica" alias is a test mirror of default (beacon/settings.py). PostgreSQL would copy committed
rows to a real replica; a test's rows are never committed, so while these tests run the replica alias is handed
the primary's own connection (``ReplicaSeesPrimary``). Queries still go through the replica alias and are
counted there, which is what these tests check.
"""

from __future__ import annotations

from datetime import date

from django.db import connections, router
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.models import Case
from stats import dataset
from tests import factories as f
from tests.base import BeaconTestCase
from utilities.env import parse_database_url
from utilities.routers import ReplicaRouter

WRITES = ("INSERT", "UPDATE", "DELETE", "CREATE", "ALTER", "DROP")


class ReplicaSeesPrimary:
    """While the class runs, the replica alias uses the primary's connection (see the module docstring).

    Swapped after TestCase has opened its transactions and put back before it rolls them back, so each alias
    still ends its own transaction on its own connection."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        replica, primary = connections["replica"], connections["default"]
        primary.ensure_connection()
        cls._replica_own_connection = replica.connection
        replica.connection = primary.connection

    @classmethod
    def tearDownClass(cls):
        connections["replica"].connection = cls._replica_own_connection
        super().tearDownClass()


def sql_of(captured) -> list[str]:
    return [q["sql"].lstrip().upper() for q in captured.captured_queries]


@override_settings(STATS_DATABASE="replica")
class ReplicaTests(ReplicaSeesPrimary, BeaconTestCase):
    databases = {"default", "replica"}

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        owner = cls.users["investigator"]
        cls.case = f.make_case(owner=owner, opened_on=date(2025, 3, 10))
        f.add_victim(cls.case, sex="female", age=15, nationalities=["VE"], types=["SexualExploitation"])
        f.add_victim(cls.case, sex="male", age=40, nationalities=["GY"], types=["ForcedLabour"])

    def test_statistics_are_counted_on_the_replica(self):
        self.assertEqual(dataset.stats_database(), "replica")
        with (
            CaptureQueriesContext(connections["replica"]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            rows = dataset.count("victims", ["sex"])
        self.assertEqual({r["sex"]: r["n"] for r in rows}, {"female": 1, "male": 1})
        self.assertTrue(on_replica.captured_queries, "the count did not read from the replica")
        self.assertEqual(on_primary.captured_queries, [])

    def test_the_dashboard_reads_the_replica_and_writes_only_the_primary(self):
        client = self.client_for("analyst")
        with (
            CaptureQueriesContext(connections["replica"]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            response = client.get(reverse("stats:dashboard"))
        self.assertEqual(response.status_code, 200)
        self.assertTrue(on_replica.captured_queries)
        self.assertFalse([sql for sql in sql_of(on_replica) if sql.startswith(WRITES)])
        # Sign-in, sessions and permissions stay on the primary, which always has the latest rows.
        self.assertTrue(any("ACCOUNTS_USER" in sql or "DJANGO_SESSION" in sql for sql in sql_of(on_primary)))

    def test_everything_else_reads_and_writes_the_primary(self):
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            case = Case.objects.get(pk=self.case.pk)
            self.assertEqual(case._state.db, "default")
            self.client_for("investigator").get(reverse("cases:case_detail", args=[case.pk]))
        self.assertEqual(on_replica.captured_queries, [])

    def test_a_row_read_from_the_replica_is_saved_to_the_primary(self):
        case = Case.objects.using("replica").get(pk=self.case.pk)
        self.assertEqual(router.db_for_write(Case, instance=case), "default")
        with CaptureQueriesContext(connections["replica"]) as on_replica:
            # A relation between rows read from each alias is allowed: they are the same data.
            self.assertTrue(router.allow_relation(case, Case.objects.get(pk=self.case.pk)))
            case.save()
        self.assertEqual(on_replica.captured_queries, [])


class RouterTests(BeaconTestCase):
    def test_the_replica_is_never_migrated(self):
        self.assertFalse(router.allow_migrate("replica", "cases", model_name="case"))
        self.assertTrue(router.allow_migrate("default", "cases", model_name="case"))

    def test_reads_and_writes_default_to_the_primary(self):
        self.assertEqual(router.db_for_read(Case), "default")
        self.assertEqual(router.db_for_write(Case), "default")
        self.assertIsNone(ReplicaRouter().allow_relation(_Stub("other"), _Stub("default")))

    def test_without_a_replica_statistics_read_the_primary(self):
        with override_settings(STATS_DATABASE="nonexistent"):
            self.assertEqual(dataset.stats_database(), "default")

    def test_the_replica_url_is_parsed_like_the_primary(self):
        config = parse_database_url("postgres://reader:pw@replica.db:5432/beacon", base_dir=None)
        self.assertEqual((config["HOST"], config["USER"], config["NAME"]), ("replica.db", "reader", "beacon"))


class _Stub:
    def __init__(self, db: str):
        self._state = type("State", (), {"db": db})()
