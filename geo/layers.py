"""What each map layer shows to whom (issue #7). Views and JSON endpoints call these; nothing here writes.

Safety rules, in one place:
- a service provider's pin (and its area) only for users who may see its location
  (``directory.visibility.can_see_location``); others get the organisation, phone and hours;
- an incident (a report's or a case place's pin) exactly only when the user may see the record
  (``Report.objects.visible_to``; the case and ``CasePerson.objects.visible_to`` for places) **and** is on
  the case team for it (assignee or team of the report's case; owner or team of the place's case) or in the
  unit's leadership (``cases.view_all``). Everyone else gets counts per area;
- counts per area come only from records the user may see, and for anyone outside leadership a count of
  1 to 4 is shown as "<5" and not coloured (small numbers identify people).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from care.choices import NeedType
from directory.isocodes import language_code
from directory.pathways import haversine_km
from directory.visibility import can_see_location
from geo.assign import area_code_for, shapes

SMALL_COUNT = 5
PERIODS = (30, 90, 365, 0)  # days; 0 is "all time"
DEFAULT_PERIOD = 365


def suppresses_small_counts(user) -> bool:
    return not user.has_perm("cases.view_all")


def shown_count(n: int, *, suppress: bool) -> str:
    if suppress and 0 < n < SMALL_COUNT:
        return f"<{SMALL_COUNT}"
    return str(n)


# --- services ------------------------------------------------------------------------------------------


def _service_label(code: str) -> str:
    try:
        return str(NeedType(code).label)
    except ValueError:
        return code


@dataclass
class ServicePoint:
    agency: object
    services: list = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    location_withheld: bool = False
    distance_km: float | None = None
    capacity: str = ""

    def as_json(self) -> dict:
        a = self.agency
        return {
            "id": a.pk,
            "name": a.name,
            "phone": a.phone,
            "hours": _("Open 24 hours, 7 days") if a.open_24_7 else a.opening_hours,
            "services": [_service_label(s.service_type) for s in self.services],
            "capacity": self.capacity,
            "lat": self.latitude,
            "lon": self.longitude,
            "location_withheld": self.location_withheld,
        }


def _capacity_text(services) -> str:
    parts = [
        _("%(service)s: %(free)d free of %(total)s")
        % {
            "service": _service_label(s.service_type),
            "free": s.capacity_free,
            "total": s.capacity_total if s.capacity_total is not None else "?",
        }
        for s in services
        if s.capacity_free is not None
    ]
    return "; ".join(parts)


def services(
    user,
    *,
    service_type: str = "",
    eligibility: str = "",
    language: str = "",
    open_now: bool = False,
    free: bool = False,
) -> list[ServicePoint]:
    """Active providers matching the filters; pins only where the user may see the location."""
    from directory.models import CAPACITY_BOUND, Agency

    wanted_language = language_code(language) if language else None
    result = []
    for agency in Agency.objects.filter(is_active=True, services__isnull=False).distinct().prefetch_related("services"):
        offered = list(agency.services.all())
        if service_type:
            offered = [s for s in offered if s.service_type == service_type]
            if not offered:
                continue
        if eligibility == "children" and not agency.serves_children:
            continue
        if eligibility == "adults" and not agency.serves_adults:
            continue
        if wanted_language and wanted_language not in {language_code(c) for c in agency.languages or []}:
            continue
        if open_now and not (agency.open_24_7 or not agency.opening_hours.strip()):
            continue
        if free:
            # Free capacity: a place free now, or a service that has no capacity limit at all.
            offered = [
                s for s in offered
                if (s.capacity_free or 0) > 0 or (s.capacity_free is None and s.service_type not in CAPACITY_BOUND)
            ]  # fmt: skip
            if not offered:
                continue
        point = ServicePoint(agency, offered, capacity=_capacity_text(offered))
        if agency.has_location:
            if can_see_location(user, agency):
                point.latitude, point.longitude = float(agency.latitude), float(agency.longitude)
            else:
                point.location_withheld = True
        result.append(point)
    return result


def nearest(
    user, lat: float, lon: float, *, service_type: str = "", limit: int = 10
) -> tuple[list[ServicePoint], list[ServicePoint]]:
    """Suitable services nearest first (distance only where the user may see the location), and the
    suitable ones whose location is withheld or unknown (organisation, phone, hours: call them)."""
    from directory.models import CAPACITY_BOUND

    located, other = [], []
    for point in services(user, service_type=service_type):
        # A capacity-bound service with no free place cannot take anyone now (as in directory.pathways).
        if all(s.service_type in CAPACITY_BOUND and s.capacity_free == 0 for s in point.services):
            continue
        if point.latitude is not None:
            point.distance_km = haversine_km((lat, lon), (point.latitude, point.longitude))
            located.append(point)
        else:
            other.append(point)
    located.sort(key=lambda p: (p.distance_km, p.agency.name.lower()))
    other.sort(key=lambda p: p.agency.name.lower())
    return located[:limit], other


# --- incidents -----------------------------------------------------------------------------------------


@dataclass
class Incident:
    kind: str  # "report" or "place"
    pk: int
    latitude: float
    longitude: float
    area: str | None
    exact: bool
    label: str = ""
    url: str = ""


def period_start(days: int, *, now=None):
    return None if not days else (now or timezone.now()) - timedelta(days=days)


def _report_rows(user, *, since=None, until=None, exploitation: str = "", status: str = ""):
    from intake.choices import Status
    from intake.models import Report

    qs = Report.objects.visible_to(user).filter(latitude__isnull=False, longitude__isnull=False)
    if since is not None:
        qs = qs.filter(received_at__gte=since)
    if until is not None:
        qs = qs.filter(received_at__lt=until)
    if status == "open":
        qs = qs.exclude(status=Status.CLOSED)
    elif status == "closed":
        qs = qs.filter(status=Status.CLOSED)
    rows = qs.values_list("pk", "latitude", "longitude", "exploitation", "reference", "assignee_id")
    # JSON list containment is not portable to SQLite: filter the (short) list in Python.
    return [r for r in rows if not exploitation or exploitation in (r[3] or [])]


def _team_case_ids(user) -> set[int]:
    from cases.models import Case

    return set(Case.objects.filter(owner=user).values_list("pk", flat=True)) | set(
        Case.objects.filter(team__user=user).values_list("pk", flat=True)
    )


def incidents(
    user, *, days: int = DEFAULT_PERIOD, exploitation: str = "", status: str = "", now=None
) -> list[Incident]:
    """Every incident the user may see (exact or not) with its area; filtered by period, exploitation, status."""
    from cases.choices import CaseStatus
    from cases.models import Case, CasePerson, Place

    since = period_start(days, now=now)
    within = shapes()
    leadership = user.has_perm("cases.view_all")
    team = set() if leadership else _team_case_ids(user)
    team_reports = set() if leadership else set(Case.objects.filter(pk__in=team).values_list("report_id", flat=True))
    result = []
    for pk, lat, lon, _exp, reference, assignee_id in _report_rows(
        user, since=since, exploitation=exploitation, status=status
    ):
        exact = leadership or assignee_id == user.pk or pk in team_reports
        result.append(
            Incident(
                "report",
                pk,
                float(lat),
                float(lon),
                area_code_for(lat, lon, within=within),
                exact,
                reference or f"#{pk}",
            )
        )

    cases = Case.objects.visible_to(user)
    # Only the columns the map shows: no encrypted description, narrative or reporter detail is decrypted.
    places = (
        Place.objects.filter(case__in=cases, latitude__isnull=False, longitude__isnull=False)
        .select_related("case", "case__report")
        .only(
            "latitude", "longitude", "kind", "date_from", "case_person_id", "case__reference", "case__opened_at",
            "case__status", "case__report__exploitation",
        )
    )  # fmt: skip
    if status == "open":
        places = places.filter(case__status__in=[CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP])
    elif status == "closed":
        places = places.exclude(case__status__in=[CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP])
    places = list(places)
    # A place tied to a person shows only if that person is visible: ask about those people only, not about
    # every person the user may see (170,000 ids for the Director at 100,000 people).
    tied = {place.case_person_id for place in places if place.case_person_id is not None}
    people = (
        set(CasePerson.objects.visible_to(user).filter(pk__in=tied).values_list("pk", flat=True)) if tied else set()
    )
    for place in places:
        if place.case_person_id is not None and place.case_person_id not in people:
            continue
        when = place.date_from or timezone.localtime(place.case.opened_at).date()
        if since is not None and when < since.date():
            continue
        if exploitation and exploitation not in (place.case.report.exploitation or []):
            continue
        exact = leadership or place.case_id in team
        result.append(
            Incident(
                "place", place.pk, float(place.latitude), float(place.longitude),
                area_code_for(place.latitude, place.longitude, within=within), exact,
                f"{place.case} · {place.get_kind_display()}", place.case.get_absolute_url(),
            )
        )  # fmt: skip
    return result


# --- counts and hotspots -------------------------------------------------------------------------------


def counts_by_area(items) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for item in items:
        counts[item.area] = counts.get(item.area, 0) + 1
    return counts


@dataclass
class Hotspot:
    code: str
    current: int
    previous: int

    @property
    def change(self) -> int:
        return self.current - self.previous

    @property
    def change_pct(self) -> float | None:
        return None if self.previous == 0 else round(100.0 * self.change / self.previous, 1)

    @property
    def rising(self) -> bool:
        return self.current > self.previous


def compare_periods(current: dict, previous: dict) -> list[Hotspot]:
    """Per area, this period against the previous one of equal length; largest rise first, then code."""
    codes = sorted({c for c in (*current, *previous) if c})
    spots = [Hotspot(c, current.get(c, 0), previous.get(c, 0)) for c in codes]
    spots.sort(key=lambda h: (-h.change, h.code))
    return spots


def report_hotspots(user, *, days: int, now=None) -> list[Hotspot]:
    """Reports per area in the last ``days`` against the ``days`` before."""
    now = now or timezone.now()
    days = days or 90
    within = shapes()

    def count(since, until):
        rows = _report_rows(user, since=since, until=until)
        result: dict = {}
        for _pk, lat, lon, *_rest in rows:
            code = area_code_for(lat, lon, within=within)
            result[code] = result.get(code, 0) + 1
        return result

    start = now - timedelta(days=days)
    return compare_periods(count(start, now), count(start - timedelta(days=days), start))


def area_table(user, *, days: int = DEFAULT_PERIOD, exploitation: str = "", status: str = "", now=None) -> dict:
    """Counts per area (with suppression) and hotspots: the map's text alternative and its choropleth."""
    from geo.models import AdministrativeArea

    suppress = suppresses_small_counts(user)
    items = incidents(user, days=days, exploitation=exploitation, status=status, now=now)
    counts = counts_by_area(items)
    spots = {h.code: h for h in report_hotspots(user, days=days, now=now)}
    rows = []
    for area in AdministrativeArea.objects.order_by("name"):
        n = counts.get(area.code, 0)
        spot = spots.get(area.code)
        hidden = suppress and spot is not None and (0 < spot.current < SMALL_COUNT or 0 < spot.previous < SMALL_COUNT)
        rows.append(
            {
                "code": area.code,
                "name": area.name,
                "count": n if not (suppress and 0 < n < SMALL_COUNT) else None,
                "shown": shown_count(n, suppress=suppress),
                "current": shown_count(spot.current, suppress=suppress) if spot else "0",
                "previous": shown_count(spot.previous, suppress=suppress) if spot else "0",
                "change": None if (hidden or spot is None) else spot.change,
                # "Rising" is said only where this period's count is itself shown (5 or more, or leadership).
                "rising": bool(spot and spot.rising and not (suppress and spot.current < SMALL_COUNT)),
            }
        )
    outside = counts.get(None, 0)
    return {
        "rows": rows,
        "outside": shown_count(outside, suppress=suppress),
        "total": shown_count(len(items), suppress=suppress),
        "suppressed": suppress,
        "max": max([r["count"] or 0 for r in rows] or [0]),
    }
