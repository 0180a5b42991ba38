"""The anonymised victim-level export for the regional network (issue #8), in the variables of the CTDC Global
Synthetic Data codebook (version 2, February 2024), made k-anonymous before it leaves the unit.

Two halves:

- ``victim_records`` reads Beacon (one record per victim, never a name, an id or a date: the year only, the
  age as a codebook band) and codes it in the codebook's 27 variables, nothing more (only the minimum leaves
  the unit);
- ``anonymise`` is pure (lists of dicts in, lists of dicts out, no database) so its guarantee can be tested on
  any synthetic table: generalise the quasi-identifiers step by step along a fixed hierarchy, suppress the
  records still in classes smaller than k, then blank the values of the other variables that fewer than k
  records of a class share.

docs/ctdc.md explains the variables, the hierarchy and suppression to users.

Codes follow the codebook: missing values are empty cells (its NULL), flags are ``1`` or empty, countries are
ISO 3166-1 alpha-3. Age bands are written ``0--8`` as in the CTDC data dictionary ("N--N"); the PDF codebook
typesets the same double hyphen as a dash.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.db.models.functions import ExtractYear
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from cases.choices import (
    ControlMethod,
    ExploitationType,
    ForcedLabourIndustry,
    Gender,
    PlaceKind,
    SexExploitationType,
    TraffickingStatus,
)
from cases.choices import RelationshipToTrafficker as Relation
from stats.dataset import AGE_BANDS, MEASURES, stats_database
from utilities import countries
from utilities.spreadsheet import csv_lines

MISSING = ""  # the codebook's NULL
YES = "1"

# --- the codebook's variables, in its order -------------------------------------------------------------------

MEANS = {
    "meansDebtBondageEarnings": {ControlMethod.DEBT_BONDAGE, ControlMethod.TAKES_EARNINGS},
    "meansThreats": {ControlMethod.PHYSICAL_THREATS, ControlMethod.THREATENS_FAMILY, ControlMethod.THREATS_LAW},
    "meansAbusePsyPhySex": {ControlMethod.PSYCHOLOGICAL, ControlMethod.PHYSICAL_ABUSE, ControlMethod.SEXUAL_ABUSE},
    "meansFalsePromises": {ControlMethod.FALSE_PROMISES},
    "meansDrugsAlcohol": {ControlMethod.SUBSTANCES},
    "meansDenyBasicNeeds": {
        ControlMethod.RESTRICTS_FINANCE,
        ControlMethod.RESTRICTS_MEDICAL,
        ControlMethod.WITHHOLDS_NECESSITIES,
    },
    "meansExcessiveWorkHours": {ControlMethod.EXCESSIVE_HOURS},
    # The codebook's list and Appendix II spell it meansWithholdDocs (its variable 14 page says ...Documents).
    "meansWithholdDocs": {ControlMethod.WITHHOLDS_DOCUMENTS},
}
PURPOSES = {
    "isForcedLabour": {
        ExploitationType.FORCED_LABOUR,
        ExploitationType.CHILD_LABOUR,
        ExploitationType.SERVITUDE,
        ExploitationType.FORCED_BEGGING,
    },
    "isSexualExploit": {ExploitationType.SEXUAL},
    "isOtherExploit": {
        ExploitationType.FORCED_MARRIAGE,
        ExploitationType.FORCED_MILITARY,
        ExploitationType.ORGAN_REMOVAL,
        ExploitationType.FORCED_ADOPTION,
        ExploitationType.SURROGACY,
        ExploitationType.OTHER,
    },
}
LABOUR = {
    "typeOfLabourAgriculture": ForcedLabourIndustry.A,
    "typeOfLabourConstruction": ForcedLabourIndustry.F,
    "typeOfLabourDomesticWork": ForcedLabourIndustry.T,
    "typeOfLabourHospitality": ForcedLabourIndustry.I,
}
SEX_TYPES = {
    "typeOfSexProstitution": SexExploitationType.PROSTITUTION,
    "typeOfSexPornography": SexExploitationType.PORNOGRAPHY,
}
# HTCDS records the relationship to the trafficker, not specifically the recruiter; a stranger is CTDC's
# "other" (any relationship that fits none of the named ones). HTCDS has no intimate partner value.
RECRUITER = {
    "recruiterRelationIntimatePartner": None,
    "recruiterRelationFriend": Relation.ACQUAINTED,
    "recruiterRelationFamily": Relation.FAMILIAL,
    "recruiterRelationOther": Relation.UNACQUAINTED,
}

COLUMNS: tuple[str, ...] = (
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    "traffickMonths",
    *MEANS,
    *PURPOSES,
    *LABOUR,
    *SEX_TYPES,
    *RECRUITER,
)

GENDER = {
    Gender.FEMININE: "Woman",
    Gender.MASCULINE: "Man",
    Gender.TRANS_FEMININE: "Trans/Transgender/NonConforming",
    Gender.TRANS_MASCULINE: "Trans/Transgender/NonConforming",
    Gender.NON_CONFORMING: "Trans/Transgender/NonConforming",
}
# Where gender was not recorded, sex stands in for it (as in older CTDC data); intersex is not a gender.
GENDER_FROM_SEX = {"female": "Woman", "male": "Man"}

AGE_BROAD = tuple((low_high[0].replace("-", "--"), low_high[1], low_high[2]) for low_high in AGE_BANDS)
TRAFFICK_MONTHS = (("0--12 (0-1 yr)", 0, 12), ("13--24 (1-2 yrs)", 13, 24), ("25+ (2+ yrs)", 25, None))


def _band(value: int | None, bands) -> str:
    if value is None or value < 0:
        return MISSING
    for name, low, high in bands:
        if value >= low and (high is None or value <= high):
            return name
    return MISSING


def age_broad(age: int | None) -> str:
    """The codebook's ageBroad band for an age in years (stats.dataset.AGE_BANDS, written ``0--8``)."""
    return _band(age, AGE_BROAD)


def traffick_months(months: int | None) -> str:
    return _band(months, TRAFFICK_MONTHS)


def gender(gender_code: str, sex: str) -> str:
    return GENDER.get(gender_code) or GENDER_FROM_SEX.get(sex, MISSING)


def _flag(condition: bool) -> str:
    return YES if condition else MISSING


def code_record(
    *,
    year: int,
    age: int | None,
    gender_code: str = "",
    sex: str = "",
    nationalities: Sequence[str] = (),
    exploitation_country: str = "",
    months: int | None = None,
    exploitation_types: Iterable[str] = (),
    sexual_exploitation_types: Iterable[str] = (),
    forced_labour_industry: str = "",
    methods_of_control: Iterable[str] = (),
    relationship: str = "",
) -> dict[str, str]:
    """One victim in the codebook's variables. Takes only what the export needs, so nothing else can leak."""
    types = {str(t) for t in exploitation_types or ()}
    sex_types = {str(t) for t in sexual_exploitation_types or ()}
    means = {str(m) for m in methods_of_control or ()}
    row = {
        "yearOfRegistration": str(year),
        "gender": gender(gender_code, sex),
        "ageBroad": age_broad(age),
        "citizenship": countries.alpha3(nationalities[0]) if nationalities else MISSING,
        "CountryOfExploitation": countries.alpha3(exploitation_country),
        "traffickMonths": traffick_months(months),
    }
    row.update({name: _flag(bool(means & codes)) for name, codes in MEANS.items()})
    row.update({name: _flag(bool(types & codes)) for name, codes in PURPOSES.items()})
    if sex_types:  # a type of sexual exploitation implies the purpose even when the type list missed it
        row["isSexualExploit"] = YES
    row.update({name: _flag(forced_labour_industry == code) for name, code in LABOUR.items()})
    row.update({name: _flag(code in sex_types) for name, code in SEX_TYPES.items()})
    row.update({name: _flag(code is not None and relationship == code) for name, code in RECRUITER.items()})
    return row


# --- k-anonymity ------------------------------------------------------------------------------------------------

PURPOSE_COLUMNS = tuple(PURPOSES)
QUASI_IDENTIFIERS: tuple[str, ...] = (
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    *PURPOSE_COLUMNS,
)
# Every other variable is protected by blanking rare values within each class (see ``blank_rare``).
OTHER_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in QUASI_IDENTIFIERS)

_AGE_LEVEL_1 = {
    "0--8": "0--17",
    "9--17": "0--17",
    "18--20": "18--29",
    "21--23": "18--29",
    "24--26": "18--29",
    "27--29": "18--29",
    "30--38": "30+",
    "39--47": "30+",
    "48+": "30+",
}


def _age(value: str, level: int) -> str:
    if not value or level == 0:
        return value
    if level == 1:
        return _AGE_LEVEL_1.get(value, MISSING)
    if level == 2:
        return "0--17" if value in ("0--8", "9--17") else "18+"
    return MISSING


def _country(value: str, level: int) -> str:
    if not value or level == 0:
        return value
    country = countries.get(value)
    if country is None or level >= 3:
        return MISSING
    return (country.subregion if level == 1 else country.region) or MISSING


def _year(value: str, level: int) -> str:
    # Spans are aligned on the calendar (not on the export's first year), so a span means the same years in
    # every release and two releases cannot be differenced to recover a single year.
    if not value or level == 0:
        return value
    year = int(value)
    width = 2 if level == 1 else 5
    start = year - year % width
    return f"{start}-{start + width - 1}"


def _blank(value: str, level: int) -> str:
    return value if level == 0 else MISSING


@dataclass(frozen=True)
class Hierarchy:
    columns: tuple[str, ...]
    recode: object  # (value, level) -> value
    levels: tuple[Promise, ...]  # what each level above 0 means, for the report


HIERARCHIES: dict[str, Hierarchy] = {
    "year": Hierarchy(("yearOfRegistration",), _year, (_("two-year span"), _("five-year span"))),
    "gender": Hierarchy(("gender",), _blank, (_("withheld"),)),
    "age": Hierarchy(("ageBroad",), _age, (_("0--17, 18--29, 30+"), _("0--17, 18+ (majority status)"), _("withheld"))),
    "citizenship": Hierarchy(
        ("citizenship",), _country, (_("sub-region (UN M49)"), _("region (UN M49)"), _("withheld"))
    ),
    "exploitation_country": Hierarchy(
        ("CountryOfExploitation",), _country, (_("sub-region (UN M49)"), _("region (UN M49)"), _("withheld"))
    ),
    "purpose": Hierarchy(PURPOSE_COLUMNS, _blank, (_("withheld"),)),
}
HIERARCHY_LABELS: dict[str, Promise] = {
    "year": _("Year of registration"),
    "gender": _("Gender"),
    "age": _("Age band"),
    "citizenship": _("Citizenship"),
    "exploitation_country": _("Country of exploitation"),
    "purpose": _("Type of exploitation (forced labour, sexual, other)"),
}

# The order in which generalisation is tried: the cheapest loss of information first; the year and the
# purpose of exploitation, which most analyses need, late; withholding a value last.
STEPS: tuple[tuple[str, int], ...] = (
    ("age", 1),
    ("citizenship", 1),
    ("exploitation_country", 1),
    ("year", 1),
    ("age", 2),
    ("citizenship", 2),
    ("exploitation_country", 2),
    ("purpose", 1),
    ("year", 2),
    ("gender", 1),
    ("citizenship", 3),
    ("exploitation_country", 3),
    ("age", 3),
)


@dataclass
class StepReport:
    hierarchy: str
    level: int
    records: int  # how many records this step generalised

    @property
    def label(self) -> str:
        return str(HIERARCHY_LABELS[self.hierarchy])

    @property
    def level_label(self) -> str:
        return str(HIERARCHIES[self.hierarchy].levels[self.level - 1])


@dataclass
class Result:
    """The anonymised rows and the report of what was done to them (counts only, never a value)."""

    k: int
    rows: list[dict[str, str]]
    eligible: int
    suppressed: int
    classes: int
    smallest_class: int
    steps: list[StepReport] = field(default_factory=list)
    blanked: dict[str, int] = field(default_factory=dict)  # values withheld per non-identifying variable

    @property
    def records(self) -> int:
        return len(self.rows)

    @property
    def generalised(self) -> int:
        return sum(s.records for s in self.steps)

    def audit_details(self) -> dict:
        return {"k": self.k, "records": self.records, "suppressed": self.suppressed}


def _key(row: dict[str, str], columns: Sequence[str]) -> tuple[str, ...]:
    return tuple(row[c] for c in columns)


def class_sizes(rows: Iterable[dict[str, str]], columns: Sequence[str] = QUASI_IDENTIFIERS) -> Counter:
    """How many rows share each combination of ``columns`` (the equivalence classes)."""
    return Counter(_key(r, columns) for r in rows)


def blank_rare(rows: list[dict[str, str]], k: int, columns: Sequence[str] = OTHER_COLUMNS) -> dict[str, int]:
    """Within each equivalence class, withhold any value of a non-identifying variable that fewer than k of
    its records share (a rare type of labour must not single anyone out); if the records left without a value
    are then fewer than k, withhold the variable for the whole class. Afterwards every class, grouped by any
    one more variable, still has at least k records in each group. Returns how many values were withheld."""
    blanked: Counter = Counter()
    members: dict[tuple, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        members[_key(row, QUASI_IDENTIFIERS)].append(row)
    for group in members.values():
        for column in columns:
            counts = Counter(r[column] for r in group)
            rare = {v for v, n in counts.items() if v != MISSING and n < k}
            blank_count = counts.get(MISSING, 0) + sum(counts[v] for v in rare)
            if 0 < blank_count < k:
                rare = {v for v in counts if v != MISSING}
            for row in group:
                if row[column] in rare:
                    row[column] = MISSING
                    blanked[column] += 1
    return dict(sorted(blanked.items()))


# Generalising stops once the records left in classes smaller than k are no more than this share of all
# records: suppressing a few outliers keeps the detail of everyone else (ARX and sdcMicro work the same way).
SUPPRESSION_LIMIT = 0.05


def anonymise(
    records: Iterable[dict[str, str]],
    k: int,
    *,
    steps: Sequence[tuple[str, int]] = STEPS,
    suppression_limit: float = SUPPRESSION_LIMIT,
) -> Result:
    """Make ``records`` (dicts with every column of COLUMNS) k-anonymous over QUASI_IDENTIFIERS.

    Deterministic: the same input (in any order) always gives the same output. At each step of ``steps`` the
    records still in a class of fewer than k are recoded to that step's level of its hierarchy (records in
    classes of k or more keep their detail); classes are recounted after every step. Generalising stops when
    the records in small classes are no more than ``suppression_limit`` of all records (or the steps run
    out); those records are suppressed. Then ``blank_rare`` protects the other variables, and the rows
    are sorted so their order says nothing about when anyone was registered.
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    originals = [dict(r) for r in records]
    current = [dict(r) for r in originals]
    levels = [dict.fromkeys(HIERARCHIES, 0) for _r in originals]
    reports: list[StepReport] = []

    def small() -> list[int]:
        sizes = class_sizes(current)
        return [i for i, row in enumerate(current) if sizes[_key(row, QUASI_IDENTIFIERS)] < k]

    budget = int(len(originals) * suppression_limit)
    pending = small()
    for name, level in steps:
        if len(pending) <= budget:
            break
        hierarchy = HIERARCHIES[name]
        changed = 0
        for i in pending:
            if levels[i][name] >= level:
                continue
            levels[i][name] = level
            before = _key(current[i], hierarchy.columns)
            for column in hierarchy.columns:
                current[i][column] = hierarchy.recode(originals[i][column], level)
            changed += _key(current[i], hierarchy.columns) != before
        if changed:
            reports.append(StepReport(name, level, changed))
        pending = small()

    dropped = set(pending)
    kept = [row for i, row in enumerate(current) if i not in dropped]
    blanked = blank_rare(kept, k)
    kept.sort(key=lambda r: _key(r, COLUMNS))
    sizes = class_sizes(kept)
    return Result(
        k=k,
        rows=kept,
        eligible=len(originals),
        suppressed=len(dropped),
        classes=len(sizes),
        smallest_class=min(sizes.values(), default=0),
        steps=reports,
        blanked=blanked,
    )


# --- reading Beacon -----------------------------------------------------------------------------------------


def _months_between(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def _exploitation(places: list, registered: date) -> tuple[str, int | None]:
    """The last country of exploitation and the months exploited (first start to last end, or to the
    registration when a place has no end date) from a victim's places of exploitation."""
    if not places:
        return "", None
    ordered = sorted(places, key=lambda p: (p.date_from or date.min, p.pk))
    country = next((p.country for p in reversed(ordered) if p.country), "")
    dated = [p for p in ordered if p.date_from]
    months = None
    if dated:
        start = dated[0].date_from
        end = max((p.date_to or registered) for p in dated)
        months = _months_between(start, end) if end >= start else None
    return country, months


def victim_records(*, year_from: int | None = None, year_to: int | None = None) -> list[dict[str, str]]:
    """Every victim (identified or possible; not those found not to be victims), once per person, coded in
    the codebook's variables. A person who was a victim in several cases is one record, from their first
    registration (counting them twice would let one person fill two places of a class of k).

    The year and age follow the statistics' rules (stats.dataset): the registration date, else the day the
    case opened; the age in that year from the year of birth, else the estimated age carried forward, else the
    age when trafficked. The country of exploitation is the victim's last place of exploitation, else the
    case's, else this unit's country (the codebook's proxy: where the victim was identified)."""
    from cases.models import CasePerson, Place

    measure = MEASURES["victims"]
    database = stats_database()
    links = (
        CasePerson.objects.using(database)
        .filter(measure.base())
        .exclude(victim_profile__trafficking_status=TraffickingStatus.NOT_A_VICTIM)
        .annotate(_date=measure.date())
        .filter(_date__isnull=False)
        .annotate(_year=ExtractYear("_date"))
        .annotate(_age=measure.age())
        .order_by("person_id", "_date", "pk")
        .values(
            "pk",
            "case_id",
            "person_id",
            "_date",
            "_year",
            "_age",
            "person__gender",
            "person__sex",
            "person__nationalities",
            "victim_profile__exploitation_types",
            "victim_profile__sexual_exploitation_types",
            "victim_profile__forced_labour_industry",
            "victim_profile__methods_of_control",
            "victim_profile__relationship_to_trafficker",
        )
    )
    first: dict[int, dict] = {}
    for link in links:
        first.setdefault(link["person_id"], link)
    chosen = [
        link
        for link in first.values()
        if (year_from is None or link["_year"] >= year_from) and (year_to is None or link["_year"] <= year_to)
    ]
    own: dict[int, list] = defaultdict(list)
    of_case: dict[int, list] = defaultdict(list)
    places = Place.objects.using(database).filter(
        kind=PlaceKind.EXPLOITATION, case_id__in={c["case_id"] for c in chosen}
    )
    for place in places.only("pk", "case_id", "case_person_id", "country", "date_from", "date_to"):
        if place.case_person_id:
            own[place.case_person_id].append(place)
        else:
            of_case[place.case_id].append(place)
    home = getattr(settings, "BEACON_COUNTRY_CODE", "")
    records = []
    for link in chosen:
        registered = link["_date"]
        country, months = _exploitation(own.get(link["pk"]) or of_case.get(link["case_id"]) or [], registered)
        records.append(
            code_record(
                year=link["_year"],
                age=link["_age"],
                gender_code=link["person__gender"] or "",
                sex=link["person__sex"] or "",
                nationalities=link["person__nationalities"] or (),
                exploitation_country=country or home,
                months=months,
                exploitation_types=link["victim_profile__exploitation_types"] or (),
                sexual_exploitation_types=link["victim_profile__sexual_exploitation_types"] or (),
                forced_labour_industry=link["victim_profile__forced_labour_industry"] or "",
                methods_of_control=link["victim_profile__methods_of_control"] or (),
                relationship=link["victim_profile__relationship_to_trafficker"] or "",
            )
        )
    return records


def build(*, k: int | None = None, year_from: int | None = None, year_to: int | None = None) -> Result:
    """The export: Beacon's victims, coded and made k-anonymous (k from settings.CTDC_K_ANONYMITY)."""
    k = k if k is not None else default_k()
    return anonymise(victim_records(year_from=year_from, year_to=year_to), k)


def default_k() -> int:
    return int(getattr(settings, "CTDC_K_ANONYMITY", 11))


def csv_rows(result: Result) -> Iterator[list[str]]:
    yield list(COLUMNS)
    for row in result.rows:
        yield [row[c] for c in COLUMNS]


def to_csv(result: Result) -> Iterator[str]:
    """CSV lines (header first); cells through the spreadsheet-formula guard like every export."""
    return csv_lines(csv_rows(result))


def record_export(result: Result, *, actor=None) -> None:
    """The audit row of one export: k and counts only."""
    from django.db import transaction

    from audit import log as audit

    with transaction.atomic():
        audit.record("exchange.ctdc_exported", actor=actor, object_type="exchange.ctdc", details=result.audit_details())
