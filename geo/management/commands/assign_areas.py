from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from audit.log import record
from geo.assign import assign_all


class Command(BaseCommand):
    help = (
        "(Re)assign every located report, case place and agency to its administrative area. Idempotent: run it "
        "after upgrading (the backfill, issue #11) and whenever records were written without the actions."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=2000, help="records per insert (and per progress line)")

    def handle(self, *args, **options):
        started = time.monotonic()
        last = {"at": 0.0}

        def progress(label: str, done: int, total: int) -> None:
            # At most one line every two seconds, and the last one of each type.
            now = time.monotonic()
            if done == total or now - last["at"] >= 2:
                last["at"] = now
                self.stdout.write(f"{label}: {done:,} of {total:,} ({now - started:.0f} s)")

        done = assign_all(batch=options["batch"], progress=progress if options["verbosity"] else None)
        record("geo.assign_areas", details=done)
        for label, n in done.items():
            self.stdout.write(f"{label}: {n}")
