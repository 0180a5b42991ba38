"""Named writes of the stats app (issue #8)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit import log as audit
from stats.models import PopulationFigure


@transaction.atomic
def set_population(year: int, figures: dict[tuple[str, str], int | None], *, actor, source: str = "") -> int:
    """Record the population of ``year`` by (sex, age); None removes a figure. Returns how many are kept."""
    if not actor.has_perm("stats.manage_population"):
        raise PermissionDenied
    changed = []
    for (sex, age), value in figures.items():
        if value is None:
            if PopulationFigure.objects.filter(year=year, sex=sex, age=age).delete()[0]:
                changed.append(f"{sex}:{age}")
            continue
        obj, created = PopulationFigure.objects.get_or_create(
            year=year, sex=sex, age=age, defaults={"population": value, "source": source, "updated_by": actor}
        )
        if not created and (obj.population != value or obj.source != source):
            obj.population, obj.source, obj.updated_by = value, source, actor
            obj.save()
            changed.append(f"{sex}:{age}")
        elif created:
            changed.append(f"{sex}:{age}")
    audit.record("stats.population_set", actor=actor, details={"year": year, "changed": changed})
    return PopulationFigure.objects.filter(year=year).count()
