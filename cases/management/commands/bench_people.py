"""``manage.py bench_people --scale N``: generate N synthetic people on PostgreSQL and measure name search and
duplicate proposals (issue #4). See bench/people.py; results go to docs/benchmarks.md."""

from __future__ import annotations

import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection


class Command(BaseCommand):
    help = "Benchmark person search and duplicate proposals on a generated database (PostgreSQL, name containing 'bench')."
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--scale", type=int, default=100_000, help="number of synthetic people (default 100000)")
        parser.add_argument("--batch-size", type=int, default=10_000)
        parser.add_argument("--queries", type=int, default=200)
        parser.add_argument("--seed", type=int, default=4)
        parser.add_argument("--report", choices=["auto", "yes", "no"], default="auto", help="time the nightly duplicate report (auto: up to 200,000 people)")
        parser.add_argument("--generate-only", action="store_true")
        parser.add_argument("--no-doc", action="store_true", help="do not update docs/benchmarks.md")
        parser.add_argument("--reset", action="store_true", help="drop and recreate the benchmark database first")

    def out(self, message: str) -> None:
        self.stdout.write(f"[{time.monotonic() - self.started:8.1f}s] {message}")
        self.stdout.flush()

    def handle(self, *args, **options):
        self.started = time.monotonic()
        conf = connection.settings_dict
        if connection.vendor != "postgresql":
            raise CommandError("bench_people measures PostgreSQL: set DATABASE_URL=postgres://.../beacon_bench")
        if "bench" not in conf["NAME"]:
            raise CommandError(f"Refusing to write synthetic people into {conf['NAME']!r}: the database name must contain 'bench'.")
        self.ensure_database(conf, reset=options["reset"])
        call_command("migrate", verbosity=0)
        from bench import people as bench

        scale = options["scale"]
        generation = bench.generate(scale, batch_size=options["batch_size"], seed=options["seed"], out=self.out)
        bench.restore_index_if_missing(self.out)
        if options["generate_only"]:
            return
        generated = bench._state_get("generated", 0)
        if generated != scale:
            self.out(f"note: this database holds {generated} generated people; figures are for {generated}")
            scale = generated
        results = bench.measure(options["queries"], options["seed"], self.out)
        report = None
        if options["report"] == "yes" or (options["report"] == "auto" and scale <= 200_000):
            self.out("timing the duplicate report")
            report = bench.measure_report(self.out)
        where = f"{conf['HOST'] or 'localhost'}:{conf['PORT'] or 5432}/{conf['NAME']}"
        command = f"DATABASE_URL=postgres://{conf['USER']}@{where} .venv/bin/python manage.py bench_people " + " ".join(sys.argv[2:])
        text = bench.section(scale, command.strip(), bench.machine(), generation, bench.sizes(), results, report)
        self.stdout.write(text)
        if not options["no_doc"]:
            bench.write_doc(scale, text)
            self.out(f"updated {bench.DOC}")

    def ensure_database(self, conf, *, reset: bool) -> None:
        import psycopg

        params = {k: v for k, v in {"user": conf["USER"], "password": conf["PASSWORD"], "host": conf["HOST"], "port": conf["PORT"]}.items() if v}
        connection.close()
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [conf["NAME"]]).fetchone()
            if exists and reset:
                self.out(f"dropping {conf['NAME']}")
                admin.execute(f'DROP DATABASE "{conf["NAME"]}" WITH (FORCE)')
                exists = None
            if not exists:
                self.out(f"creating database {conf['NAME']}")
                admin.execute(f'CREATE DATABASE "{conf["NAME"]}"')
