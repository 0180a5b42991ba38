"""``manage.py backup ARCHIVE``: one encrypted, consistent archive of the database and attachments (issues #10, #11)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from utilities.backup import BackupError, create_backup


class Command(BaseCommand):
    help = (
        "Write an encrypted archive (BEACON_BACKUP_KEY) of the database and the stored files (MEDIA_ROOT, or every "
        "object under the prefix with BEACON_STORAGE=s3), with a manifest of row counts, file hashes and the audit "
        "chain head. Restore it with `manage.py restore`."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", help="The file to write, e.g. /backups/beacon-2026-11-22.beacon-backup")

    def handle(self, *args, archive, **options):
        try:
            result = create_backup(Path(archive))
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written to {result.path}: {manifest['database_vendor']} database, "
                f"{sum(manifest['row_counts'].values())} rows in {len(manifest['row_counts'])} tables, "
                f"{len(manifest['files']) - 1} media files."
            )
        )
