from __future__ import annotations

from django.core.management.base import BaseCommand

from audit.log import record
from geo.assign import assign_all


class Command(BaseCommand):
    help = "(Re)assign every located report, case place and agency to its administrative area."

    def handle(self, *args, **options):
        done = assign_all()
        record("geo.assign_areas", details=done)
        for label, n in done.items():
            self.stdout.write(f"{label}: {n}")
