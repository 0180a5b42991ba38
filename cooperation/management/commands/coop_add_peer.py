"""`manage.py coop_add_peer ID NAME COUNTRY INBOX_URL SIGNING_KEY ENCRYPTION_KEY`: register another country's
unit (issue #9), as the registry page does; audited. `--update` replaces the details of a registered unit."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from cooperation import actions
from cooperation.models import Peer


class Command(BaseCommand):
    help = "Register (or with --update, change) another Beacon instance in the cooperation registry."

    def add_arguments(self, parser):
        parser.add_argument("instance_id")
        parser.add_argument("name")
        parser.add_argument("country", help="ISO 3166-1 alpha-2")
        parser.add_argument("inbox_url")
        parser.add_argument("signing_key", help="Ed25519 public key, base64")
        parser.add_argument("encryption_key", help="X25519 public key, base64")
        parser.add_argument("--update", action="store_true")

    def handle(
        self, *args, instance_id, name, country, inbox_url, signing_key, encryption_key, update=False, **options
    ):
        fields = {"name": name, "country": country, "inbox_url": inbox_url, "signing_key": signing_key,
                  "encryption_key": encryption_key}  # fmt: skip
        existing = Peer.objects.filter(instance_id=instance_id).first()
        try:
            if existing and update:
                peer = actions.update_peer(existing, actor=None, version=existing.version, **fields)
            elif existing:
                raise CommandError(f"{instance_id} is registered already; use --update to change it.")
            else:
                peer = actions.add_peer(actor=None, instance_id=instance_id, **fields)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"{'Updated' if existing else 'Registered'} {peer.instance_id} ({peer.name}).")
