"""``manage.py bench_htcds [--rows N]``: HTCDS import throughput (issue #8; target: 2,000 records/s on PostgreSQL).

Generates N synthetic HTCDS rows (default 20,000: one to three victims per case, one case in five with a
perpetrator, places, identity numbers, phones; fictional names from bench/names.py), then times
``exchange.actions.import_htcds`` on them: checking, matching and writing every record with its encryption and
search tokens. Runs against whatever DATABASE_URL is set (on PostgreSQL the database is created and migrated if
missing). The import runs inside a transaction that is rolled back afterwards, so the database is left as it
was (on PostgreSQL the deferred foreign-key checks a commit would run are forced and timed first); ``--keep``
commits instead. Besides records per second, it prints the CPU time this process used, which tells apart a slow
import from a busy machine."""

from __future__ import annotations

import csv
import io
import os
import random
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from bench import names as N
from cases.choices import ControlMethod, ExploitationType, RecruitmentMethod

FAMILIES = (
    ("spanish", N.SPANISH_FEMALE, N.SPANISH_MALE, N.SPANISH_FAMILY),
    ("english", N.ENGLISH_FEMALE, N.ENGLISH_MALE, N.ENGLISH_FAMILY),
    ("indo", N.INDO_GIVEN_FEMALE, N.INDO_GIVEN_MALE, N.INDO_FAMILY),
)
COLUMNS = [
    "x_ExternalId", "x_CaseId", "x_PersonType", "x_RegistrationDate", "prs_FirstName", "prs_SecondName", "prs_Birthdate",
    "prs_Gender", "prs_Citizenship", "prs_PrimaryLanguage", "prs_IdentityNumber", "prs_MobilePhone", "vic_TraffickingStatus",
    "vic_TraffickingStatusDecisionMakingOrg", "vic_TypeOfExploitation", "vic_MethodsOfControl", "vic_MethodOfRecruitment",
    "vic_AgeWhenTrafficked", "per_RoleInProcess", "cas_Status", "hte_Type", "hte_City", "hte_Country", "hte_Latitude",
    "hte_Longitude", "hte_Date",
]  # fmt: skip


def synthetic_rows(count: int, seed: int) -> bytes:
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    run = uuid.uuid4().hex[:8]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    n = case_no = 0
    today = date.today()
    while n < count:
        case_no += 1
        people = rng.choice((1, 1, 1, 2, 2, 3))
        with_suspect = rng.random() < 0.2
        status = rng.choice(("Active", "Active", "Active", "FollowUp", "Closed"))
        org = rng.choice(("Police", "NGO", "NonPoliceGovernmentalOrganization"))
        for i in range(people + with_suspect):
            if n >= count:
                break
            n += 1
            family, female, male, surnames = rng.choice(FAMILIES)
            is_female = rng.random() < 0.7
            suspect = i == people
            nationality = {"spanish": "VE", "english": "TT", "indo": "TT"}[family]
            born = today - timedelta(days=rng.randint(14 * 365, 50 * 365))
            registered = today - timedelta(days=rng.randint(0, 5 * 365))
            types = rng.sample(list(ExploitationType.values), rng.choice((1, 1, 2)))
            place = rng.random() < 0.5
            writer.writerow([
                f"bench-{run}-{n}", f"bench-{run}-case-{case_no}", "Perpetrator" if suspect else "Victim",
                "" if suspect else registered.isoformat(),
                " ".join(rng.sample(female if is_female else male, rng.choice((1, 1, 2)))),
                " ".join(rng.sample(surnames, rng.choice((1, 2)))), born.isoformat() if rng.random() < 0.7 else "",
                "Feminine" if is_female else "Masculine", nationality, "es" if family == "spanish" else "en",
                f"V-{rng.randint(1_000_000, 30_000_000)}" if rng.random() < 0.4 else "",
                f"+1868{rng.randint(2_000_000, 7_999_999)}" if rng.random() < 0.5 else "",
                "" if suspect else rng.choice(("ActualVictimOfTrafficking", "PossibleVictimOfTrafficking")),
                "" if suspect else org, "" if suspect else ";".join(types),
                "" if suspect else ";".join(rng.sample(list(ControlMethod.values), 2)),
                "" if suspect else rng.choice(list(RecruitmentMethod.values)),
                "" if suspect else rng.randint(8, 40), "Exploiter;RecruiterOrIntermediary" if suspect else "", status,
                "Exploitation" if place else "", "Port of Spain" if place else "", "TT" if place else "",
                f"{10.6 + rng.random() / 10:.6f}" if place else "", f"{-61.5 + rng.random() / 10:.6f}" if place else "",
                registered.isoformat() if place else "",
            ])  # fmt: skip
    return out.getvalue().encode()


class Command(BaseCommand):
    help = "Time the HTCDS import on N synthetic rows and print records per second."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=20_000)
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument("--keep", action="store_true", help="commit the imported records instead of rolling back")

    def handle(self, *args, rows: int, seed: int, keep: bool, **options):
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        if connection.vendor == "postgresql":
            self.ensure_database(connection.settings_dict)
        call_command("migrate", verbosity=0)
        from accounts.models import Role, User
        from accounts.roles import sync_roles
        from directory.choices import AgencyKind, OrganisationType
        from directory.models import Agency
        from exchange.actions import import_htcds

        started = time.perf_counter()
        data = synthetic_rows(rows, seed)
        self.stdout.write(
            f"generated {rows} HTCDS rows ({len(data) / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
        with transaction.atomic():
            sync_roles()
            unit = Agency.objects.filter(is_home_unit=True).first() or Agency.objects.create(
                name="Benchmark unit",
                short_name="BENCH",
                kind=AgencyKind.CTU,
                org_type=OrganisationType.CENTRAL_GOVERNMENT,
                is_home_unit=True,
            )
            user, _created = User.objects.get_or_create(
                username="htcds_bench", defaults={"email": "htcds_bench@example.invalid", "agency": unit}
            )
            user.roles.add(Role.objects.get(code="director"))
            user = User.objects.get(pk=user.pk)
        rollback = not keep
        backend = self.backend_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        try:
            with transaction.atomic():
                result = import_htcds(data, actor=user, fmt="csv")
                if rollback:
                    if connection.vendor == "postgresql":
                        # The deferred foreign-key checks a commit would run, run now and timed.
                        with connection.cursor() as cursor:
                            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                    backend = self.backend_cpu(backend) if backend is not None else None
                    raise _Rollback
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            backend = self.backend_cpu(backend) if backend is not None else None
        except _Rollback:
            pass
        rate = result.created / elapsed if elapsed else 0
        where = "rolled back afterwards" if rollback else "committed"
        self.stdout.write(
            f"imported {result.created} records into {result.cases_created} cases on {connection.vendor} in {elapsed:.2f} s "
            f"({where}): {rate:,.0f} records/s"
        )
        # On a shared machine the wall time says little: the CPU both sides used tells what a quiet one would do.
        line = f"CPU used: importing process {cpu:.2f} s"
        if backend is not None:
            line += f", database server process {backend:.2f} s"
        busy = cpu + (backend or 0)
        self.stdout.write(
            f"{line}; {result.created / busy if busy else 0:,.0f} records per CPU-second of both together"
        )

    def backend_cpu(self, since: float | None = None) -> float | None:
        """CPU seconds used by this connection's PostgreSQL server process since ``since`` (read from /proc when
        the server runs on this machine), or None."""
        if connection.vendor != "postgresql":
            return None
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            used = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None
        return used if since is None else used - since

    def ensure_database(self, conf) -> None:
        import psycopg

        params = {
            k: v
            for k, v in {
                "user": conf["USER"],
                "password": conf["PASSWORD"],
                "host": conf["HOST"],
                "port": conf["PORT"],
            }.items()
            if v
        }
        connection.close()
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [conf["NAME"]]).fetchone():
                self.stdout.write(f"creating database {conf['NAME']}")
                admin.execute(f'CREATE DATABASE "{conf["NAME"]}"')


class _Rollback(Exception):
    pass
