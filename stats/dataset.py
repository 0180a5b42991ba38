"""What Beacon can count, and by what (issue #8): one engine behind the dashboard, the report builder, the
programme indicators, the standard outputs (GLOTIP, SDG 16.2.2, TIP) and the API.

A *measure* is a thing counted (victims, cases, suspects, persons prosecuted or convicted, referrals,
services...). A *dimension* is a way to break it down (sex, age band, nationality, form of exploitation,
administrative area, year/quarter/month, status...). ``count(measure, dims, filters)`` runs ONE grouped
query in the database (never a Python loop over records) and returns plain rows; ``label(dim, value)``
turns stored codes into words. Totals are separate queries with fewer dimensions, never sums of cells, so a
person counted once stays counted once and suppressed cells never leak into totals.

Definitions (docs/statistics.md explains them to users):
- A victim is a person linked to a case as victim (merged duplicates excluded), counted once per person.
  Their date is the registration date (``VictimProfile.registered_on``, HTCDS ``x_RegistrationDate``), else
  the day the case opened; their age is the age in that year: from the year of birth, else the estimated
  age carried forward, else the age when trafficked.
- Persons brought into formal contact are suspects recorded on a case (dated when recorded); prosecuted are
  suspects with a charge laid in the period (dated by the charge); convicted are suspects convicted in the
  period (dated by the conviction). A person charged in two years counts in each year, once per year.
- Offences are cases opened (each case is one recorded trafficking offence).

Reads go to the ``STATS_DATABASE`` alias when it is configured (a PostgreSQL replica, issue #11).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Case as When_Case
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractQuarter, ExtractYear, TruncDate
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.choices import ExploitationForm, PersonRole, Sex, TraffickingStatus

# Age bands: the 0-17/18+ split every output uses, and finer bands following the CTDC codebook's ageBroad.
AGE_BROAD = (("0-17", 0, 17), ("18+", 18, None))
AGE_BANDS = (
    ("0-8", 0, 8),
    ("9-17", 9, 17),
    ("18-20", 18, 20),
    ("21-23", 21, 23),
    ("24-26", 24, 26),
    ("27-29", 27, 29),
    ("30-38", 30, 38),
    ("39-47", 39, 47),
    ("48+", 48, None),
)
UNKNOWN = "unknown"

DIMENSIONS: dict[str, Promise] = {
    "sex": _("Sex"),
    "age_broad": _("Age (child / adult)"),
    "age_band": _("Age band"),
    "nationality": _("Nationality"),
    "form": _("Form of exploitation"),
    "area": _("Administrative area"),
    "year": _("Year"),
    "quarter": _("Quarter"),
    "month": _("Month"),
    "status": _("Status"),
    "channel": _("Channel"),
    "service_type": _("Service"),
    "provider": _("Provider"),
    "urgency": _("Urgency"),
}
TIME_DIMENSIONS = ("year", "quarter", "month")


def stats_database() -> str:
    """The database alias statistics read from: a replica when configured (issue #11), else default."""
    alias = getattr(settings, "STATS_DATABASE", "default")
    return alias if alias in settings.DATABASES else "default"


def _age_band_expr(age: str, bands) -> When_Case:
    whens = []
    for label_, low, high in bands:
        cond = Q(**{f"{age}__gte": low})
        if high is not None:
            cond &= Q(**{f"{age}__lte": high})
        whens.append(When(cond, then=Value(label_)))
    return When_Case(*whens, default=Value(UNKNOWN), output_field=models.CharField())


def _case_area(case_id_ref: str, report_id_ref: str):
    """The administrative area (code) of a case: the area of its first located place (places of
    exploitation first), else the area of the report that opened it."""
    from cases.models import Place
    from geo.models import AreaAssignment

    place_area = AreaAssignment.objects.filter(object_type="cases.place", object_id=OuterRef("pk"), area__isnull=False)
    places = (
        Place.objects.filter(case_id=OuterRef(case_id_ref))
        .annotate(area_code=Subquery(place_area.values("area__code")[:1]))
        .filter(area_code__isnull=False)
        .order_by(
            When_Case(When(kind="Exploitation", then=Value(0)), default=Value(1), output_field=IntegerField()), "pk"
        )
        .values("area_code")[:1]
    )
    report_area = AreaAssignment.objects.filter(
        object_type="intake.report", object_id=OuterRef(report_id_ref), area__isnull=False
    ).values("area__code")[:1]
    return Coalesce(Subquery(places), Subquery(report_area), output_field=models.CharField())


@dataclass
class Measure:
    key: str
    label: Promise
    model: Callable[[], type[models.Model]]
    date: Callable[[], object]  # an expression giving the record's date
    counted: str  # the field counted distinctly
    base: Callable[[], Q] = lambda: Q()
    person: str | None = None  # path to the Person the record is about
    age_fallback: str | None = None  # path to an age to use when the person's is unknown
    case: str | None = None  # path to the record's Case (for the area)
    extra: dict[str, Callable[[], object]] = field(default_factory=dict)
    description: Promise | str = ""

    @property
    def dimensions(self) -> list[str]:
        dims = list(TIME_DIMENSIONS)
        if self.person:
            dims += ["sex", "age_broad", "age_band", "nationality"]
        if self.case:
            dims.append("area")
        dims += list(self.extra)
        return [d for d in DIMENSIONS if d in dims]

    def expression(self, dim: str):
        p = f"{self.person}__" if self.person else ""
        if dim in self.extra:
            return self.extra[dim]()
        if dim == "year":
            return F("_year")
        if dim == "quarter":
            return F("_year") * 10 + ExtractQuarter("_date")
        if dim == "month":
            return F("_year") * 100 + ExtractMonth("_date")
        if self.person and dim == "sex":
            return F(f"{p}sex")
        if self.person and dim == "nationality":
            # Cast: a bare key transform takes filter values for JSON (SQLite: "malformed JSON" on __in).
            return Cast(KeyTextTransform("0", f"{p}nationalities"), output_field=models.CharField())
        if self.person and dim == "age_broad":
            return _age_band_expr("_age", AGE_BROAD)
        if self.person and dim == "age_band":
            return _age_band_expr("_age", AGE_BANDS)
        if self.case and dim == "area":
            case_path = "pk" if self.case == "self" else f"{self.case}_id"
            report_path = "report_id" if self.case == "self" else f"{self.case}__report_id"
            return _case_area(case_path, report_path)
        raise KeyError(f"{self.key} cannot be broken down by {dim!r}")

    def age(self):
        p = f"{self.person}__"
        candidates = [
            F("_year") - F(f"{p}birth_year"),
            F(f"{p}estimated_age") + F("_year") - ExtractYear(f"{p}age_estimated_on"),
        ]
        if self.age_fallback:
            candidates.append(F(self.age_fallback))
        return Coalesce(*candidates, output_field=IntegerField())


def _m(name):
    def get():
        from django.apps import apps

        return apps.get_model(name)

    return get


_victim_q = lambda: Q(role=PersonRole.VICTIM, person__merged_into__isnull=True)  # noqa: E731
_suspect_q = lambda: Q(role=PersonRole.SUSPECT, person__merged_into__isnull=True)  # noqa: E731

MEASURES: dict[str, Measure] = {
    m.key: m
    for m in [
        Measure(
            "reports",
            _("Reports received"),
            _m("intake.Report"),
            lambda: TruncDate("received_at"),
            "pk",
            extra={"channel": lambda: F("channel"), "status": lambda: F("status"), "urgency": lambda: F("urgency")},
            description=_("Reports taken from every channel, by the date they were received."),
        ),
        Measure(
            "cases",
            _("Cases opened"),
            _m("cases.Case"),
            lambda: TruncDate("opened_at"),
            "pk",
            case="self",
            extra={"status": lambda: F("status")},
            description=_("Cases opened after an identification decision, by the date they opened."),
        ),
        Measure(
            "victims",
            _("Victims"),
            _m("cases.CasePerson"),
            lambda: F("victim_profile__detected_on"),
            "person_id",
            base=_victim_q,
            person="person",
            age_fallback="victim_profile__age_when_trafficked",
            case="case",
            extra={
                "form": lambda: F("victim_profile__exploitation_form"),
                "status": lambda: F("victim_profile__trafficking_status"),
            },
            description=_("People recorded as victims on a case, each counted once, by the date they were registered."),
        ),
        Measure(
            "suspects",
            _("Persons brought into formal contact (suspects)"),
            _m("cases.CasePerson"),
            lambda: TruncDate("created_at"),
            "person_id",
            base=_suspect_q,
            person="person",
            case="case",
            extra={"status": lambda: F("case__status")},
            description=_("Suspects recorded on a case, each counted once, by the date they were recorded."),
        ),
        Measure(
            "prosecuted",
            _("Persons prosecuted"),
            _m("investigations.Charge"),
            lambda: F("laid_on"),
            "suspect__person_id",
            base=lambda: Q(suspect__person__merged_into__isnull=True),
            person="suspect__person",
            case="case",
            description=_("Suspects against whom a charge was laid, each counted once, by the date of the charge."),
        ),
        Measure(
            "convicted",
            _("Persons convicted"),
            _m("investigations.Charge"),
            lambda: F("outcome_on"),
            "suspect__person_id",
            base=lambda: Q(outcome="conviction", suspect__person__merged_into__isnull=True),
            person="suspect__person",
            case="case",
            description=_("Suspects convicted on a charge, each counted once, by the date of the conviction."),
        ),
        Measure(
            "referrals",
            _("Referrals"),
            _m("referrals.Referral"),
            lambda: TruncDate(Coalesce("sent_at", "created_at")),
            "pk",
            base=lambda: ~Q(status="draft"),
            person="case_person__person",
            case="case_person__case",
            extra={
                "status": lambda: F("status"),
                "provider": lambda: F("provider__name"),
                "urgency": lambda: F("urgency"),
            },
            description=_("Referrals sent to service providers (drafts excluded), by the date they were sent."),
        ),
        Measure(
            "services",
            _("Services delivered"),
            _m("care.ServiceDelivery"),
            lambda: F("delivered_on"),
            "pk",
            person="case_person__person",
            case="case_person__case",
            extra={
                "service_type": lambda: F("service_type"),
                "provider": lambda: Coalesce(F("provider__name"), Value("other"), output_field=models.CharField()),
            },
            description=_("Services delivered to survivors (each session or stay), by the date delivered."),
        ),
        Measure(
            "survivors_served",
            _("Survivors receiving services"),
            _m("care.ServiceDelivery"),
            lambda: F("delivered_on"),
            "case_person__person_id",
            person="case_person__person",
            case="case_person__case",
            extra={"service_type": lambda: F("service_type")},
            description=_("Survivors who received a service, each counted once per group."),
        ),
        Measure(
            "transition_plans_completed",
            _("Transition plans completed"),
            _m("care.CarePlan"),
            lambda: F("actual_end_date"),
            "pk",
            base=lambda: Q(kind="transition", actual_end_date__isnull=False),
            person="case_person__person",
            case="case_person__case",
            description=_("Transition plans closed with an actual end date, by that date."),
        ),
    ]
}


def _prepared(measure, dims, filters, *, date_from=None, date_to=None, using=None):
    """The measure's records with the ``d_<dim>`` annotations, filtered."""
    m = MEASURES[measure]
    allowed = set(m.dimensions)
    filters = {k: list(v) for k, v in (filters or {}).items() if v}
    for d in [*dims, *filters]:
        if d not in allowed:
            raise KeyError(f"{measure} cannot be broken down by {d!r}")
    qs = m.model()._default_manager.using(using or stats_database()).filter(m.base())
    qs = qs.annotate(_date=m.date()).filter(_date__isnull=False).annotate(_year=ExtractYear("_date"))
    if m.person and {"age_broad", "age_band"} & {*dims, *filters}:
        # Only when asked for: the age reads the person's row, a join every other count can do without (#11).
        qs = qs.annotate(_age=m.age())
    if date_from:
        qs = qs.filter(_date__gte=date_from)
    if date_to:
        qs = qs.filter(_date__lte=date_to)
    wanted = list(dict.fromkeys([*dims, *filters]))
    qs = qs.annotate(**{f"d_{d}": m.expression(d) for d in wanted})
    for d, values in filters.items():
        cond = Q(**{f"d_{d}__in": [v for v in values if v not in (None, UNKNOWN)]})
        if UNKNOWN in values or None in values:
            cond |= Q(**{f"d_{d}__isnull": True})
            if d in ("sex", "age_broad", "age_band"):
                cond |= Q(**{f"d_{d}": UNKNOWN})
        qs = qs.filter(cond)
    return qs


def _counter(m: Measure, **kwargs) -> Count:
    """The measure's count. Records counted by their own key need no DISTINCT (every join made here follows
    a foreign key to one row, so no record appears twice) and PostgreSQL then skips a sort (issue #11);
    people counted once each do."""
    return Count(m.counted, distinct=m.counted != "pk", **kwargs)


def count(
    measure: str,
    dims: list[str] | tuple[str, ...] = (),
    filters: dict[str, list] | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    using: str | None = None,
) -> list[dict]:
    """Rows ``{dim: value, ..., "n": count}`` for ``measure`` grouped by ``dims``; ``filters`` maps a
    dimension to the values kept. Values are stored codes (``label`` makes them readable); None is unknown."""
    m = MEASURES[measure]
    qs = _prepared(measure, dims, filters, date_from=date_from, date_to=date_to, using=using)
    if not dims:
        return [{"n": qs.aggregate(n=_counter(m))["n"]}]
    keys = [f"d_{d}" for d in dims]
    rows = qs.values(*keys).annotate(n=_counter(m)).order_by(*keys)
    return [{**{d: row[f"d_{d}"] for d in dims}, "n": row["n"]} for row in rows]


def records(
    measure: str,
    dims: list[str] | tuple[str, ...] = (),
    filters: dict[str, list] | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    using: str | None = None,
) -> list[tuple]:
    """Distinct ``(counted id, *dims)`` rows: one query, for outputs that need many breakdowns of the same
    records (GLOTIP): ``crosstab`` then counts every breakdown and total from them, each person once."""
    qs = _prepared(measure, dims, filters, date_from=date_from, date_to=date_to, using=using)
    return list(qs.order_by().values_list(MEASURES[measure].counted, *[f"d_{d}" for d in dims]).distinct())


def crosstab(
    rows: list[tuple], dims: list[str] | tuple[str, ...], by: list[str] | tuple[str, ...], keep=None
) -> dict[tuple, int]:
    """Counts of distinct ids in ``rows`` (as returned by ``records(measure, dims)``) grouped by the subset
    ``by`` of ``dims``; ``keep`` optionally filters rows (a function of a dict of dims)."""
    index = [dims.index(d) + 1 for d in by]
    groups: dict[tuple, set] = {}
    for row in rows:
        if keep is not None and not keep(dict(zip(dims, row[1:], strict=True))):
            continue
        groups.setdefault(tuple(row[i] for i in index), set()).add(row[0])
    return {key: len(ids) for key, ids in groups.items()}


def total(measure: str, filters: dict | None = None, **kwargs) -> int:
    rows = count(measure, (), filters, **kwargs)
    return rows[0]["n"] if rows else 0


Period = tuple[date | None, date | None]


def totals(
    measure: str, filters: dict | None = None, *, periods: dict[str, Period], using: str | None = None
) -> dict[str, int]:
    """``total`` over several periods (name: (from, to), either end open) in ONE query (issue #11): one
    conditional distinct count per period, so each equals ``total`` over that period alone."""
    result = {name: 0 for name in periods}
    # A period ending before it starts counts nothing, and must not widen the range read.
    wanted = {name: (low, high) for name, (low, high) in periods.items() if not (low and high and low > high)}
    if not wanted:
        return result
    lows, highs = [p[0] for p in wanted.values()], [p[1] for p in wanted.values()]
    date_from = None if None in lows else min(lows)
    date_to = None if None in highs else max(highs)
    qs = _prepared(measure, (), filters, date_from=date_from, date_to=date_to, using=using)
    m = MEASURES[measure]
    aggregates = {}
    for name, (low, high) in wanted.items():
        cond = Q()
        if low:
            cond &= Q(_date__gte=low)
        if high:
            cond &= Q(_date__lte=high)
        aggregates[name] = _counter(m, filter=cond) if cond else _counter(m)
    result.update({name: n or 0 for name, n in qs.aggregate(**aggregates).items()})
    return result


def daily(
    measure: str,
    filters: dict | None = None,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    using: str | None = None,
) -> dict[date, int]:
    """Records per day, for measures that count records by their own key: each record has one date and is
    counted once, so any period's total is exactly the sum of its days, and one grouped query answers a
    series and its totals together (issue #11). Measures counting people once each cannot be summed."""
    m = MEASURES[measure]
    if m.counted != "pk":
        raise ValueError(f"{measure} counts people once each: its days cannot be summed")
    qs = _prepared(measure, (), filters, date_from=date_from, date_to=date_to, using=using)
    return {row["_date"]: row["n"] for row in qs.values("_date").annotate(n=_counter(m)).order_by("_date")}


# --- labels -------------------------------------------------------------------------------------------------


def _choices_label(choices, value) -> str:
    return str(dict(choices).get(value, value))


def label(dim: str, value, *, measure: str | None = None) -> str:
    """Words for a stored value, in the active language."""
    if value in (None, "", UNKNOWN):
        if dim == "form":
            return str(ExploitationForm.UNKNOWN.label)
        return str(_("Unknown"))
    if dim == "year":
        return str(value)
    if dim == "quarter":
        return f"{value // 10} Q{value % 10}"
    if dim == "month":
        return f"{value // 100}-{value % 100:02d}"
    if dim == "sex":
        return _choices_label(Sex.choices, value)
    if dim in ("age_broad", "age_band"):
        return str(value)
    if dim == "form":
        return _choices_label(ExploitationForm.choices, value)
    if dim == "nationality":
        from django.utils.translation import get_language

        from utilities import countries

        return countries.name(value, lang=(get_language() or "en")[:2]) or value
    if dim == "area":
        from geo.models import AdministrativeArea

        names = dict(AdministrativeArea.objects.values_list("code", "name"))
        return names.get(value, value)
    if dim == "status":
        from cases.choices import CaseStatus
        from intake.choices import Status as ReportStatus
        from referrals.choices import ReferralStatus

        for choices in (TraffickingStatus.choices, CaseStatus.choices, ReferralStatus.choices, ReportStatus.choices):
            if value in dict(choices):
                return _choices_label(choices, value)
        return str(value)
    if dim == "channel":
        from intake.choices import Channel

        return _choices_label(Channel.choices, value)
    if dim == "service_type":
        from care.choices import ServiceType

        return _choices_label(ServiceType.choices, value)
    if dim == "urgency":
        from referrals.choices import Urgency

        return _choices_label(Urgency.choices, value)
    if dim == "provider" and value == "other":
        return str(_("Other provider"))
    return str(value)


def values_for(dim: str) -> list[tuple[str, str]]:
    """The known values of a dimension (for filter pickers): (code, label)."""
    if dim == "sex":
        return [(v, str(lbl)) for v, lbl in Sex.choices]
    if dim == "age_broad":
        return [(b[0], b[0]) for b in AGE_BROAD] + [(UNKNOWN, str(_("Unknown")))]
    if dim == "age_band":
        return [(b[0], b[0]) for b in AGE_BANDS] + [(UNKNOWN, str(_("Unknown")))]
    if dim == "form":
        return [(v, str(lbl)) for v, lbl in ExploitationForm.choices if v]
    if dim == "area":
        from geo.models import AdministrativeArea

        return list(AdministrativeArea.objects.values_list("code", "name"))
    return []
