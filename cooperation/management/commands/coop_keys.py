"""`manage.py coop_keys`: this instance's id, inbox and public keys, to give to another country's unit
(issue #9; docs/cooperation.md). `--generate` creates the key file named by BEACON_COOP_KEY_FILE (production)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from cooperation.keys import instance_keys, write_key_file


class Command(BaseCommand):
    help = "Print this instance's cooperation id and public keys (base64); --generate creates the key file."

    def add_arguments(self, parser):
        parser.add_argument("--generate", action="store_true", help="Create BEACON_COOP_KEY_FILE (never overwrites).")

    def handle(self, *args, generate=False, **options):
        path = settings.BEACON_COOP_KEY_FILE
        if not path:
            raise CommandError("Set BEACON_COOP_KEY_FILE to the path of this instance's cooperation key file.")
        if generate:
            try:
                write_key_file(Path(path))
            except FileExistsError:
                raise CommandError(f"{path} exists already; it was left as it is.") from None
            self.stdout.write(f"Created {path} (readable by its owner only). Back it up with the other secrets.")
        keys = instance_keys()
        self.stdout.write(f"instance_id: {settings.BEACON_INSTANCE_ID}")
        self.stdout.write(f"inbox_url: {settings.BEACON_SITE_URL}/cooperation/inbox/")
        self.stdout.write(f"signing_key: {keys.signing_public}")
        self.stdout.write(f"encryption_key: {keys.encryption_public}")
