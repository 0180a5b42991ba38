"""The weekly access digest (issue #10): compute it now and notify the Director (--dry-run: print only)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from retention.access import compute_digest
from retention.actions import create_access_digest


class Command(BaseCommand):
    help = "Make the access digest of the last seven days (--dry-run: print it, keep and send nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Print the findings; keep and send nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        if dry_run:
            findings = compute_digest()
        else:
            digest = create_access_digest()
            findings = digest.findings
            self.stdout.write(f"Access digest #{digest.pk}")
        self.stdout.write(f"Heavy readers: {len(findings['heavy_readers'])}")
        for row in findings["heavy_readers"]:
            self.stdout.write(f"  {row['user']}: {row['records']} records (usual week {row['median']})")
        self.stdout.write(f"Reads outside working hours: {len(findings['out_of_hours'])} user(s)")
        for row in findings["out_of_hours"]:
            self.stdout.write(f"  {row['user']}: {row['reads']} reads of {row['records']} records")
        self.stdout.write(f"Break-glass uses: {len(findings['break_glass'])}")
        for row in findings["break_glass"]:
            self.stdout.write(f"  {row['user']}: case {row['case']} at {row['at']}")
