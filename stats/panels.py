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
    items = []
    for key, measure, fixed, title in SERIES:
        if key not in HEADLINES:
            continue
        wanted = builder.engine_filters(fixed)
        items.append({
            "title": str(title),
            "this_year": dataset.total(measure, wanted, date_from=date(today.year, 1, 1), date_to=today),
            "last_year": dataset.total(measure, wanted, date_from=date(today.year - 1, 1, 1), date_to=date(today.year - 1, 12, 31)),
        })  # fmt: skip
    return {"title": _("Statistics %(year)s") % {"year": today.year}, "template": "stats/_panel.html", "items": items,
            "link": reverse("stats:dashboard"), "empty": ""}  # fmt: skip
