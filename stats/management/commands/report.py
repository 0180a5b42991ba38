"""``manage.py report glotip|sdg|tip --year YYYY [--format csv|xlsx] [--output FILE]`` (issue #8).

The same tables as the Standard outputs page. Small cells print ``<5``; the generation is audited under
the system account (the command is run by an operator on the server)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import log as audit
from stats import standard

KINDS = {
    "glotip": ("GLOTIP", lambda year: standard.glotip_table(year)),
    "sdg": ("SDG 16.2.2", lambda year: standard.sdg_table(year)),
    "tip": ("TIP", lambda year: standard.tip_table([year])),
}


class Command(BaseCommand):
    help = "Produce a standard statistical output (UNODC GLOTIP, SDG 16.2.2, TIP data call) for a year."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--year", type=int, default=timezone.localdate().year - 1)
        parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
        parser.add_argument("--output", help="File to write (default: standard output, CSV only)")

    def handle(self, *args, kind, year, format, output, **options):
        if not 1900 <= year <= 2100:
            raise CommandError("--year must be a four-digit year.")
        title, build = KINDS[kind]
        table = build(year)
        if format == "xlsx":
            if not output:
                raise CommandError("--format xlsx needs --output FILE.")
            data = standard.to_xlsx(table, f"{title} {year}")
            with open(output, "wb") as fh:
                fh.write(data)
        else:
            text = standard.to_csv(table)
            if output:
                with open(output, "w", encoding="utf-8", newline="") as fh:
                    fh.write(text)
            else:
                self.stdout.write(text, ending="")
        audit.record("stats.standard_report", actor=None, details={"kind": kind, "year": year, "format": format, "via": "command"})
        if output:
            self.stderr.write(f"{title} {year}: {len(table) - 1} rows written to {output}")
