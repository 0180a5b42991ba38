"""``manage.py export_ctdc [--output FILE] [--k 11] [--year-from YYYY] [--year-to YYYY] [--user NAME]``: the
anonymised, k-anonymous victim data set for the regional network in the CTDC 2024 codebook's variables
(docs/ctdc.md), and the suppression report. Audited (``exchange.ctdc_exported``: k and counts)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from exchange import ctdc


def report_lines(result: ctdc.Result) -> list[str]:
    """The suppression report in plain words: counts only, never a value."""
    lines = [
        f"k = {result.k}",
        f"Eligible victims: {result.eligible}",
        f"Records exported: {result.records}",
        f"Records suppressed (in classes smaller than k): {result.suppressed}",
        f"Equivalence classes: {result.classes} (smallest: {result.smallest_class})",
        f"Quasi-identifiers: {', '.join(ctdc.QUASI_IDENTIFIERS)}",
    ]
    if result.steps:
        lines.append("Generalised:")
        lines += [f"  {s.label}: {s.level_label} ({s.records} records)" for s in result.steps]
    else:
        lines.append("Generalised: nothing")
    if result.blanked:
        lines.append("Values withheld (shared by fewer than k records of a class):")
        lines += [f"  {column}: {n}" for column, n in result.blanked.items()]
    return lines


class Command(BaseCommand):
    help = "Export the anonymised (k-anonymous) victim data set in the CTDC 2024 codebook's variables. Audited."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", help="CSV file to write (default: standard output; the report then goes to standard error)"
        )
        parser.add_argument(
            "--k", type=int, default=None, help="minimum size of every equivalence class (default: CTDC_K_ANONYMITY)"
        )
        parser.add_argument("--year-from", type=int, dest="year_from", help="first year of registration")
        parser.add_argument("--year-to", type=int, dest="year_to", help="last year of registration")
        parser.add_argument("--user", help="the user the audit row names (must hold exchange.export_anonymised)")

    def handle(self, *args, output=None, k=None, year_from=None, year_to=None, user=None, **options):
        k = ctdc.default_k() if k is None else k
        if k < 2:
            raise CommandError("--k must be at least 2.")
        if year_from and year_to and year_from > year_to:
            raise CommandError("--year-from is after --year-to.")
        actor = None
        if user:
            actor = User.objects.filter(username=user, is_active=True).first()
            if actor is None:
                raise CommandError(f"No active user {user!r}.")
            if not actor.has_perm("exchange.export_anonymised"):
                raise CommandError(f"{user} may not export the anonymised data set (exchange.export_anonymised).")
        result = ctdc.build(k=k, year_from=year_from, year_to=year_to)
        ctdc.record_export(result, actor=actor)
        report = self.stdout
        if output:
            with open(output, "w", encoding="utf-8", newline="") as out:
                out.writelines(ctdc.to_csv(result))
        else:
            for line in ctdc.to_csv(result):
                self.stdout.write(line, ending="")
            report = self.stderr
        for line in report_lines(result):
            report.write(line)
        if output:
            self.stdout.write(f"Wrote {result.records} records to {output}.")
