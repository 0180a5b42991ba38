"""Survivor feedback results (issue #13): satisfaction by service and provider, the share who felt treated
with respect and dignity and who felt safe, disaggregated by sex, age band and area.

Groups of fewer than ``SMALL_CELL`` answers are suppressed ("<5", no mean and no shares) so a table cell can
never describe one or two identifiable survivors. Comments never appear in results.
"""

from __future__ import annotations

from collections import defaultdict

from django.utils.translation import gettext as _

from care.choices import ServiceType
from feedback.choices import AgeBand, Sex
from feedback.models import SurveyResponse

SMALL_CELL = 5
SUPPRESSED = "<5"


def _summary(rows: list) -> dict:
    n = len(rows)
    if n < SMALL_CELL:
        return {"n": n, "count": SUPPRESSED, "suppressed": True, "mean": None, "respected": None, "safe": None}
    return {
        "n": n,
        "count": str(n),
        "suppressed": False,
        "mean": round(sum(r.satisfaction for r in rows) / n, 1),
        "respected": round(100 * sum(1 for r in rows if r.respected) / n),
        "safe": round(100 * sum(1 for r in rows if r.felt_safe) / n),
    }


def _groups(responses: list, key, label) -> list[dict]:
    groups: dict = defaultdict(list)
    for r in responses:
        groups[key(r)].append(r)
    rows = [{"label": label(k), **_summary(v)} for k, v in groups.items()]
    rows.sort(key=lambda row: str(row["label"]))
    for row in rows:
        # Bars only for shown groups: a bar's length would give a suppressed count away.
        row["mean_bar"] = 0 if row["mean"] is None else round(100 * row["mean"] / 5)
        row["respected_bar"] = row["respected"] or 0
    return rows


def feedback_statistics(queryset=None) -> dict:
    responses = list((queryset if queryset is not None else SurveyResponse.objects.all()).select_related("provider"))
    services = dict(ServiceType.choices)
    sexes = dict(Sex.choices)
    ages = dict(AgeBand.choices)
    return {
        "overall": _summary(responses),
        "sections": [
            {"key": "service", "title": _("By service"),
             "rows": _groups(responses, lambda r: r.service_type, lambda k: str(services.get(k, k)))},
            {"key": "provider", "title": _("By provider"),
             "rows": _groups(responses, lambda r: r.provider_id, lambda k: _provider_name(responses, k))},
            {"key": "sex", "title": _("By sex"), "rows": _groups(responses, lambda r: r.sex, lambda k: str(sexes.get(k, k)))},
            {"key": "age_band", "title": _("By age band"),
             "rows": _groups(responses, lambda r: r.age_band, lambda k: str(ages.get(k, k)))},
            {"key": "area", "title": _("By area"),
             "rows": _groups(responses, lambda r: r.area.casefold(), lambda k: k.title() or _("Not given"))},
        ],
    }  # fmt: skip


def _provider_name(responses: list, provider_id: int) -> str:
    return next(str(r.provider) for r in responses if r.provider_id == provider_id)


def csv_rows(stats: dict) -> list[list[str]]:
    header = [_("breakdown"), _("group"), _("answers"), _("mean satisfaction (1-5)"),
              _("respect and dignity (%)"), _("felt safe (%)")]  # fmt: skip

    def cells(row):
        if row["suppressed"]:
            return [SUPPRESSED, "", "", ""]
        return [row["count"], str(row["mean"]), str(row["respected"]), str(row["safe"])]

    rows = [header, [_("overall"), "", *cells(stats["overall"])]]
    for section in stats["sections"]:
        rows += [[section["key"], str(row["label"]), *cells(row)] for row in section["rows"]]
    return rows
