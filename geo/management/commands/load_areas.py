from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from audit.log import record
from geo import loader


class Command(BaseCommand):
    help = "Load administrative areas from a GeoJSON FeatureCollection (Polygon/MultiPolygon), idempotent by code."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--name-property", default="name")
        parser.add_argument("--code-property", default="iso_3166_2")
        parser.add_argument(
            "--no-assign",
            action="store_true",
            help="do not reassign located records afterwards (then run assign_areas before using the map)",
        )

    def handle(self, *args, **options):
        try:
            data = loader.read(options["file"])
            result = loader.load(
                data,
                name_property=options["name_property"],
                code_property=options["code_property"],
                source=str(options["file"]),
            )
        except loader.LoadError as exc:
            raise CommandError("Nothing loaded:\n  " + "\n  ".join(exc.problems)) from None
        record(
            "geo.load_areas",
            details={"created": result.created, "updated": result.updated, "unchanged": result.unchanged},
        )
        self.stdout.write(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")
        if (result.created or result.updated) and not options["no_assign"]:
            # The map reads each record's stored area (issue #11): new or changed areas move records.
            call_command("assign_areas", stdout=self.stdout, verbosity=options["verbosity"])
