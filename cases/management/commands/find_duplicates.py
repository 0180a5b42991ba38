"""Compute the report of probable duplicate people across the whole database (issue #4).

Run it nightly (cron or a systemd timer) on databases above ``cases.duplicates.ON_REQUEST_LIMIT`` people; the
/people/duplicates/ page reads its result. The result file holds person ids, probabilities and reason codes only.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from audit import log as audit
from cases import duplicates


class Command(BaseCommand):
    help = "Find probable duplicate people across the database and save the report the duplicates page reads."

    def add_arguments(self, parser):
        parser.add_argument(
            "--threshold",
            type=float,
            default=duplicates.REPORT_PROBABILITY,
            help="probability (0..1) that two records are the same person from which the pair is listed",
        )

    def handle(self, *args, **options):
        started = time.monotonic()

        def progress(message: str) -> None:
            if options["verbosity"] > 0:
                self.stdout.write(f"[{time.monotonic() - started:7.1f}s] {message}")

        result = duplicates.find_all(threshold=options["threshold"], progress=progress)
        path = duplicates.write_report(result)
        audit.record(
            "people.duplicates_computed",
            details={"pairs": len(result["pairs"]), "people": result["people"], "left_out": result["left_out"]},
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(result['pairs'])} probable duplicate pairs among {result['people']} people "
                f"in {time.monotonic() - started:.1f}s, saved to {path}."
            )
        )
        if result["left_out"]:
            self.stdout.write(
                f"{result['left_out']} people of unknown age in very common-name groups were compared by identifiers only."
            )
