"""``manage.py export_htcds [--format csv|xlsx] [--output FILE] [--user NAME] [--encrypt|--no-encrypt]``: every
victim and perpetrator as IOM HTCDS 2.0 rows (identifiable data: the export is audited). With ``--user``, only
what that user may see. With ``--encrypt`` (the default when FILE ends in .zip) the file is written inside an
AES-256 ZIP and its password goes to standard error, apart from the file (issue #10)."""

from __future__ import annotations

import argparse

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from exchange import htcds
from exchange.actions import export_htcds, export_htcds_archive


class Command(BaseCommand):
    help = "Export case records as IOM HTCDS 2.0 rows (CSV or XLSX, optionally in an encrypted ZIP). Audited."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
        parser.add_argument("--output", help="file to write (default: standard output, CSV only)")
        parser.add_argument(
            "--user", help="export as this user: only what they may see, and they are the audit's actor"
        )
        parser.add_argument(
            "--encrypt",
            action=argparse.BooleanOptionalAction,
            default=None,
            help="write an AES-256 encrypted ZIP (default when --output ends in .zip); the password goes to "
            "standard error",
        )

    def handle(self, *args, format: str, output: str | None, user: str | None, encrypt: bool | None, **options):
        actor = None
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {user!r}.")
            if not actor.has_perm("exchange.export_htcds"):
                raise CommandError(f"{user} may not export HTCDS files (exchange.export_htcds).")
        if encrypt is None:
            encrypt = bool(output) and output.lower().endswith(".zip")
        if encrypt:
            if not output:
                raise CommandError("Give --output FILE.zip for an encrypted archive.")
            archive = export_htcds_archive(actor=actor, fmt=format, via="command")
            with open(output, "wb") as out:
                out.write(archive.content)
            self.stdout.write(f"Exported {archive.rows} rows to {output} (AES-256 ZIP, SHA-256 {archive.sha256}).")
            # Standard error, not standard output: the file and its password must not travel together.
            self.stderr.write(
                f"Archive password (give it separately from the file): {archive.password}", style_func=str
            )
            return
        if format == "xlsx" and not output:
            raise CommandError("Give --output FILE for XLSX.")
        rows, count = export_htcds(actor=actor, fmt=format, via="command")
        if format == "xlsx":
            with open(output, "wb") as out:
                out.write(htcds.to_xlsx(rows))
        elif output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                out.writelines(htcds.to_csv(rows))
        else:
            for line in htcds.to_csv(rows):
                self.stdout.write(line, ending="")
        if output:
            self.stdout.write(f"Exported {count} rows to {output}.")
