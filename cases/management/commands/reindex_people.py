"""Rebuild the keyed blind indexes of people (issue #4): every person's name search tokens and every
identifier's index (documents, phones, emails...). Run it after the token design in cases/search.py changes or
after BEACON_BLIND_INDEX_KEY changes. Safe to run again; each batch is replaced in one transaction.
(Indexes kept by other apps, such as the reporter phone of intake reports, are not rebuilt here.)"""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from audit import log as audit
from cases import search
from cases.actions import identifier_index
from cases.models import Identifier


class Command(BaseCommand):
    help = "Rebuild the blind-index search tokens of every person and the index of every identifier."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, **options):
        verbose = options["verbosity"] > 0
        batch_size = max(1, options["batch_size"])

        def progress(done: int, total: int) -> None:
            if verbose:
                self.stdout.write(f"reindexed {done}/{total} people")

        people = search.reindex_all(batch_size=batch_size, progress=progress)
        identifiers = changed = 0
        total = Identifier.objects.count()
        last = 0
        while True:
            batch = list(Identifier.objects.filter(pk__gt=last).order_by("pk").only("id", "kind", "value", "index")[:batch_size])
            if not batch:
                break
            stale = []
            for identifier in batch:
                index = identifier_index(identifier.kind, identifier.value)
                if index != identifier.index:
                    identifier.index = index
                    stale.append(identifier)
            with transaction.atomic():
                Identifier.objects.bulk_update(stale, ["index"])
            identifiers += len(batch)
            changed += len(stale)
            last = batch[-1].pk
            if verbose:
                self.stdout.write(f"reindexed {identifiers}/{total} identifiers ({changed} changed)")
        audit.record("people.reindexed", details={"people": people, "identifiers": identifiers, "identifiers_changed": changed})
        self.stdout.write(self.style.SUCCESS(f"Search tokens rebuilt for {people} people; {changed} of {identifiers} identifier indexes updated."))
