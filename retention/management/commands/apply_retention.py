"""Apply the retention rules now (issue #10), or preview them with --dry-run. Prints counts only."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from retention.actions import apply_retention
from retention.choices import RecordType


class Command(BaseCommand):
    help = "Anonymise or delete records past their retention period (--dry-run: report only, change nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be done; change nothing.")

    def handle(self, *args, dry_run: bool = False, **options):
        run = apply_retention(dry_run=dry_run)
        labels = dict(RecordType.choices)
        self.stdout.write(f"Retention {'dry run' if dry_run else 'run'} #{run.pk}")
        if not run.counts:
            self.stdout.write("  no active rule")
        for entry in run.counts.values():
            state = "" if entry["active"] else " (inactive)"
            self.stdout.write(
                f"  {labels.get(entry['record_type'], entry['record_type'])}: {entry['action']} after "
                f"{entry['period_months']} months{state}: found {entry['eligible']}, anonymised {entry['anonymised']}, "
                f"deleted {entry['deleted']}, held cases {entry['held']}, people kept for another case {entry['skipped']}"
            )
