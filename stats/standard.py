"""The standard outputs the unit owes (issue #8): the UNODC GLOTIP data layout, SDG indicator 16.2.2 and a
US TIP report data-call summary. Every figure comes from ``stats.dataset`` (one grouped query per
breakdown); totals are their own queries, never sums of cells, and small cells print ``<5``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cases.choices import ExploitationForm, TraffickingStatus
from stats import dataset
from utilities import countries
from utilities.spreadsheet import csv_lines, xlsx_bytes

GLOTIP_COLUMNS = [
    "Iso3_code", "Country", "Region", "Subregion", "Indicator", "Dimension", "Category", "Sex", "Age", "Year",
    "Unit of measurement", "txtVALUE", "Source",
]  # fmt: skip

# Beacon's codes -> GLOTIP words.
GLOTIP_SEX = {"female": "Female", "male": "Male", "intersex": "Other", "unknown": "Unknown", None: "Unknown"}
GLOTIP_AGE = {"0-17": "0 to 17 years", "18+": "18 years or over", "unknown": "Unknown", None: "Unknown"}
GLOTIP_FORM = {
    ExploitationForm.SEXUAL: "Sexual exploitation",
    ExploitationForm.LABOUR: "Forced labour",
    ExploitationForm.OTHER: "Other forms of exploitation",
}
SEXES = ["Female", "Male", "Other", "Unknown", "Total"]
AGES = ["0 to 17 years", "18 years or over", "Unknown", "Total"]

# Indicator -> the dataset measure and the filters that define it.
DETECTED = {"status": [TraffickingStatus.ACTUAL]}
INDICATORS = [
    ("Detected trafficking victims", "victims", DETECTED),
    ("Persons brought into formal contact", "suspects", {}),
    ("Persons prosecuted", "prosecuted", {}),
    ("Persons convicted", "convicted", {}),
]


def small(n: int, threshold: int | None = None) -> str:
    """A count as published: every count below the threshold (0 to 4 by default) is ``<5``."""
    threshold = settings.STATS_SMALL_CELL if threshold is None else threshold
    return f"<{threshold}" if n < threshold else str(n)


def _year_range(year: int) -> dict:
    return {"date_from": date(year, 1, 1), "date_to": date(year, 12, 31)}


GRID_DIMS = ["sex", "age_broad"]


def _sex_age_grid(rows: list[tuple], dims: list[str], keep=None) -> dict[tuple[str, str], int]:
    """Counts for every (GLOTIP sex, GLOTIP age) pair including the Total margins, from the distinct
    records of ``dataset.records`` (a person is counted once in a total even if the cells overlap)."""
    grid: dict[tuple[str, str], int] = {}

    def add(key, n):
        grid[key] = grid.get(key, 0) + n

    for (sex, age), n in dataset.crosstab(rows, dims, ["sex", "age_broad"], keep).items():
        add((GLOTIP_SEX[sex], GLOTIP_AGE[age]), n)
    for (sex,), n in dataset.crosstab(rows, dims, ["sex"], keep).items():
        add((GLOTIP_SEX[sex], "Total"), n)
    for (age,), n in dataset.crosstab(rows, dims, ["age_broad"], keep).items():
        add(("Total", GLOTIP_AGE[age]), n)
    add(("Total", "Total"), sum(dataset.crosstab(rows, dims, [], keep).values()))
    return grid


@dataclass
class GlotipRow:
    indicator: str
    dimension: str
    category: str
    sex: str
    age: str
    year: int
    value: int

    def published(self) -> str:
        return small(self.value)


def glotip_rows(year: int) -> list[GlotipRow]:
    """Every reported cell for ``year``: the full sex x age grid (with totals) for each indicator, the same
    grid per form of exploitation, detected victims by citizenship, and offences."""
    rows: list[GlotipRow] = []

    def grid_rows(indicator, dimension, category, grid):
        for sex in SEXES:
            for age in AGES:
                rows.append(GlotipRow(indicator, dimension, category, sex, age, year, grid.get((sex, age), 0)))

    for indicator, measure, filters in INDICATORS:
        # One query per indicator: every breakdown and total is counted from the same distinct records.
        dims = [*GRID_DIMS, "form", "nationality"] if measure == "victims" else list(GRID_DIMS)
        records = dataset.records(measure, dims, filters, **_year_range(year))
        grid_rows(indicator, "Total", "Total", _sex_age_grid(records, dims))
        if measure == "victims":
            for form, category in GLOTIP_FORM.items():
                grid_rows(
                    indicator,
                    "by form of exploitation",
                    category,
                    _sex_age_grid(records, dims, lambda r, f=form: r["form"] == f),
                )
            by_citizenship: dict[str, set] = {}
            for pid, *values in records:
                nationality = dict(zip(dims, values, strict=True))["nationality"]
                category = countries.nationality(nationality) if nationality else "Unknown"
                by_citizenship.setdefault(category, set()).add(pid)
            for category in sorted(by_citizenship):
                rows.append(
                    GlotipRow(
                        indicator, "by citizenship", category, "Total", "Total", year, len(by_citizenship[category])
                    )
                )
    offences = dataset.total("cases", **_year_range(year))
    rows.append(GlotipRow("Offences of trafficking in persons", "Total", "Total", "Total", "Total", year, offences))
    return rows


def glotip_table(year: int, *, country: str | None = None, source: str | None = None) -> list[list[str]]:
    """The GLOTIP layout: a header and one row per cell, for the instance's country."""
    code = (country or settings.BEACON_COUNTRY_CODE).upper()
    info = countries.get(code)
    source = source or f"National authorities ({settings.BEACON_COUNTRY_NAME}), Beacon case records"
    table = [list(GLOTIP_COLUMNS)]
    for r in glotip_rows(year):
        table.append([
            info.alpha3 if info else code, info.name if info else code, info.region if info else "",
            info.subregion if info else "", r.indicator, r.dimension, r.category, r.sex, r.age, str(r.year),
            "Counts", r.published(), source,
        ])  # fmt: skip
    return table


# --- SDG 16.2.2 -------------------------------------------------------------------------------------------


@dataclass
class RateRow:
    sex: str  # "total", "female", "male"
    age: str  # "total", "0-17", "18+"
    form: str  # "" for all forms, else an ExploitationForm value
    victims: int
    population: int | None

    @property
    def suppressed(self) -> bool:
        return self.victims < settings.STATS_SMALL_CELL

    @property
    def rate(self) -> float | None:
        """Detected victims per 100,000 population (None when the population is not recorded)."""
        if not self.population:
            return None
        return self.victims * 100_000 / self.population

    def published_rate(self) -> str:
        if self.rate is None:
            return "n/a"
        if self.suppressed:
            return "suppressed"
        return f"{self.rate:.2f}"


def sdg_16_2_2(year: int) -> list[RateRow]:
    """Detected victims per 100,000 population by sex, age (0-17 / 18+) and form of exploitation.
    Population figures come from ``PopulationFigure`` for the year; a rate needs the matching figure."""
    from stats.models import PopulationFigure

    pops = {(p.sex, p.age): p.population for p in PopulationFigure.objects.filter(year=year)}
    span = _year_range(year)
    rows: list[RateRow] = []
    dims = ["sex", "age_broad", "form"]
    records = dataset.records("victims", dims, DETECTED, **span)
    for form in ["", *GLOTIP_FORM]:
        keep = (lambda r, f=form: r["form"] == f) if form else None
        counts = {("total", "total"): sum(dataset.crosstab(records, dims, [], keep).values())}
        for (sex,), n in dataset.crosstab(records, dims, ["sex"], keep).items():
            counts[(sex, "total")] = n
        for (age,), n in dataset.crosstab(records, dims, ["age_broad"], keep).items():
            counts[("total", age)] = n
        for (sex, age), n in dataset.crosstab(records, dims, ["sex", "age_broad"], keep).items():
            counts[(sex, age)] = n
        for sex in ("total", "female", "male"):
            for age in ("total", "0-17", "18+"):
                rows.append(RateRow(sex, age, form, counts.get((sex, age), 0), pops.get((sex, age))))
    return rows


SDG_COLUMNS = ["Year", "Sex", "Age", "Form of exploitation", "Detected victims", "Population", "Victims per 100,000"]


def sdg_table(year: int) -> list[list[str]]:
    table = [list(SDG_COLUMNS)]
    for r in sdg_16_2_2(year):
        table.append([
            str(year), r.sex.capitalize(), {"total": "Total"}.get(r.age, r.age),
            GLOTIP_FORM.get(r.form, "All forms"), small(r.victims),
            str(r.population) if r.population else "", r.published_rate(),
        ])  # fmt: skip
    return table


# --- US TIP report data call -----------------------------------------------------------------------------


def tip_summary(years: list[int]) -> list[dict]:
    """Per year: victims identified, investigations (cases opened), prosecutions and convictions (persons),
    sentences recorded, victims assisted (received at least one service)."""
    from investigations.models import Charge

    out = []
    for year in years:
        span = _year_range(year)
        sentences = (
            Charge.objects.using(dataset.stats_database())
            .filter(outcome="conviction", outcome_on__year=year)
            .exclude(sentence="")
            .count()
        )
        out.append(
            {
                "year": year,
                "victims_identified": dataset.total("victims", DETECTED, **span),
                "investigations": dataset.total("cases", **span),
                "prosecutions": dataset.total("prosecuted", **span),
                "convictions": dataset.total("convicted", **span),
                "sentences": sentences,
                "victims_assisted": dataset.total("survivors_served", **span),
            }
        )
    return out


TIP_FIELDS = [
    ("year", _("Year")),
    ("victims_identified", _("Victims identified")),
    ("investigations", _("Investigations opened")),
    ("prosecutions", _("Persons prosecuted")),
    ("convictions", _("Persons convicted")),
    ("sentences", _("Sentences recorded")),
    ("victims_assisted", _("Victims assisted")),
]


def tip_table(years: list[int], *, suppress: bool = True) -> list[list[str]]:
    table = [[str(label) for _key, label in TIP_FIELDS]]
    for row in tip_summary(years):
        table.append([str(row["year"])] + [small(row[k]) if suppress else str(row[k]) for k, _l in TIP_FIELDS[1:]])
    return table


# --- files ------------------------------------------------------------------------------------------------


def to_csv(table: list[list[str]]) -> str:
    return "".join(csv_lines(table))


def to_xlsx(table: list[list[str]], title: str) -> bytes:
    return xlsx_bytes(table, sheet=title)
