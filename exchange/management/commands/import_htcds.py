"""``manage.py import_htcds FILE --user NAME``: import an IOM HTCDS 2.0 file (CSV or XLSX), all rows or none.

Prints the counts, or every bad row (line, column, reason) and exits with status 1 without writing anything.
The named user (who must hold ``exchange.import_htcds``) owns the imported cases and is the audit's actor."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from exchange import htcds
from exchange.actions import import_htcds


class Command(BaseCommand):
    help = "Import case records from an IOM HTCDS 2.0 file (CSV or XLSX); nothing is written if any row is wrong."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV or XLSX file")
        parser.add_argument("--user", required=True, help="username of the importing user (becomes the cases' owner)")

    def handle(self, *args, file: str, user: str, **options):
        actor = User.objects.filter(username=user, is_active=True).first()
        if actor is None:
            raise CommandError(f"No active user {user!r}.")
        if not actor.has_perm("exchange.import_htcds"):
            raise CommandError(f"{user} may not import HTCDS files (exchange.import_htcds).")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        data = path.read_bytes()
        try:
            result = import_htcds(data, actor=actor)
        except htcds.ImportRefused as refused:
            for error in refused.errors:
                self.stderr.write(f"line {error.line}, column {error.column or '-'}: {error.reason}")
            raise CommandError(f"Nothing was imported: {len(refused.errors)} problem(s) found.") from None
        self.stdout.write(
            f"Imported {result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged; {result.cases_created} new cases."
        )
        if result.ignored_columns:
            self.stdout.write("HTCDS columns Beacon does not hold (ignored): " + ", ".join(result.ignored_columns))
