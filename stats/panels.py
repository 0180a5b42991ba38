"""The statistics panel on the "my work" home page (issue #8): this year's headline counts for those who
may see the dashboard. Counts only."""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from beacon.home import panel

HEADLINES = ("identified_victims", "cases", "prosecuted", "convicted")


@panel(70)
def statistics_panel(request):
    if not request.user.has_perm("stats.view_dashboard"):
        return None
    from stats import builder, dataset
    from stats.views import SERIES

    today = timezone.localdate()
    this_year, last_year = today.year, today.year - 1
    items = []
    for key, measure, fixed, title in SERIES:
        if key not in HEADLINES:
            continue
        # Both years in one query grouped by year (issue #11: four queries instead of eight). Each record has
        # one date and the year is taken from that same date, so each year's distinct count is the one a
        # query over that year alone would give.
        by_year = {
            row["year"]: row["n"]
            for row in dataset.count(
                measure, ("year",), builder.engine_filters(fixed), date_from=date(last_year, 1, 1), date_to=today
            )
        }
        items.append(
            {"title": str(title), "this_year": by_year.get(this_year, 0), "last_year": by_year.get(last_year, 0)}
        )
    return {"title": _("Statistics %(year)s") % {"year": today.year}, "template": "stats/_panel.html", "items": items,
            "link": reverse("stats:dashboard"), "empty": ""}  # fmt: skip
