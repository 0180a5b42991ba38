"""``manage.py restore ARCHIVE``: restore a `manage.py backup` archive and prove it complete (issue #10)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from utilities.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = (
        "Restore an archive written by `manage.py backup` into the configured (empty) database and file storage "
        "(MEDIA_ROOT, or the bucket with BEACON_STORAGE=s3, whichever wrote the backup), then check row counts "
        "against its manifest and verify the audit chain. Exits non-zero on any mismatch."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The archive written by `manage.py backup`")
        parser.add_argument(
            "--force", action="store_true", help="Replace the contents of a database that is not empty."
        )

    def handle(self, *args, archive, force, **options):
        try:
            result = restore_backup(Path(archive), force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        if result.problems:
            raise CommandError("Restored, but it does not match the backup: " + "; ".join(result.problems))
        counts = result.manifest["row_counts"]
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored {sum(counts.values())} rows in {len(counts)} tables and {result.media_files} media files; "
                f"row counts match the backup and the audit chain is intact ({result.audit_rows} rows verified)."
            )
        )
