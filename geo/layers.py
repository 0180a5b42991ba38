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

Areas are not computed per request (issue #11): each located record's area is stored at write time
(``geo.assign.refresh_area``, ``AreaAssignment``) and the counts are one SQL aggregation per layer, grouped by
the stored area. A stored row is trusted only while it matches the record (same coordinates, assigned after
the areas last changed); any record without such a row is placed in Python exactly as before, so the figures
never depend on every write path remembering the hook.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connections
from django.db.models import Case as SqlCase
from django.db.models import F, FloatField, Max, Q, Value, When
from django.db.models.functions import Cast, Coalesce, TruncDate
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


# --- stored areas (issue #11) ------------------------------------------------------------------------


def _contains(field_name: str, code: str) -> Q:
    """``code`` is in the JSON list ``field_name``, in SQL on every backend."""
    from django.db import connection

    if connection.features.supports_json_field_contains:
        return Q(**{f"{field_name}__contains": [code]})
    # SQLite keeps the list as JSON text: the code is matched with its quotes, so "labour" never matches
    # "forced_labour". Codes are lower-case enum values (views accept only Exploitation.values).
    return Q(**{f"{field_name}__icontains": json.dumps(code)})


def _areas_changed_at():
    from geo.models import AdministrativeArea

    return AdministrativeArea.objects.aggregate(at=Max("updated_at"))["at"]


def _joined(qs, label: str, keys: dict) -> tuple[str, list, object]:
    """SQL of ``qs`` (located records of type ``label``) left-joined to their stored, still valid, area.

    Columns: ``r.geo_pk``, ``r.geo_k0..`` (``keys``), ``a.id`` (NULL: no valid stored row) and ``a.area_id``
    (NULL: outside every area). A row is valid when its coordinates are the record's, as the database casts
    them to floating point (the hook stores ``float()`` of the same value), and it was assigned after the
    areas last changed."""
    from geo.models import AreaAssignment

    db = qs.db
    conn = connections[db]
    inner = (
        qs.filter(latitude__isnull=False, longitude__isnull=False)
        .order_by()
        .values(
            geo_pk=F("pk"),
            geo_lat=Cast("latitude", FloatField()),
            geo_lon=Cast("longitude", FloatField()),
            **{f"geo_k{i}": expr for i, expr in enumerate(keys.values())},
        )
    )
    sql, params = inner.query.sql_with_params()
    q = conn.ops.quote_name
    table = q(AreaAssignment._meta.db_table)
    join = (
        f"FROM ({sql}) r LEFT JOIN {table} a ON a.{q('object_type')} = %s AND a.{q('object_id')} = r.geo_pk "
        f"AND a.{q('latitude')} = r.geo_lat AND a.{q('longitude')} = r.geo_lon"
    )
    params = [*params, label]
    changed_at = _areas_changed_at()
    if changed_at is not None:
        join += f" AND a.{q('assigned_at')} >= %s"
        params.append(conn.ops.adapt_datetimefield_value(changed_at))
    return join, params, conn


def _recompute(qs, pks) -> dict:
    """The area of records with no valid stored row, computed in Python as before issue #11."""
    within = shapes()
    rows = qs.model._default_manager.filter(pk__in=list(pks)).values_list("pk", "latitude", "longitude")
    return {pk: area_code_for(lat, lon, within=within) for pk, lat, lon in rows}


def _codes() -> dict[int, str]:
    from geo.models import AdministrativeArea

    return dict(AdministrativeArea.objects.values_list("pk", "code"))


def stored_area_counts(qs, label: str, **keys) -> dict[tuple, int]:
    """How many located records of ``qs`` fall in each area: ``{(area code or None, *key values): n}``, one
    ``GROUP BY`` over the stored areas. ``keys`` are extra expressions to group by (e.g. the period)."""
    join, params, conn = _joined(qs, label, keys)
    k = [f"r.geo_k{i}" for i in range(len(keys))]
    stale = "CASE WHEN a.id IS NULL THEN r.geo_pk END"
    columns = ", ".join([stale, "a.area_id", *k])
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT {columns}, COUNT(*) {join} GROUP BY {columns}", params)  # noqa: S608 - ORM-built SQL
        rows = cursor.fetchall()
    codes = _codes()
    missing = [row[0] for row in rows if row[0] is not None]
    computed = _recompute(qs, missing) if missing else {}
    counts: dict[tuple, int] = {}
    for pk, area_id, *values, n in rows:
        code = computed[pk] if pk is not None else codes.get(area_id)
        key = (code, *values)
        counts[key] = counts.get(key, 0) + n
    return counts


def stored_areas(qs, label: str) -> dict[int, str | None]:
    """The area code of every located record of ``qs``, by primary key, from the stored areas."""
    join, params, conn = _joined(qs, label, {})
    with conn.cursor() as cursor:
        cursor.execute(f"SELECT r.geo_pk, a.id, a.area_id {join}", params)  # noqa: S608 - ORM-built SQL
        rows = cursor.fetchall()
    codes = _codes()
    missing = [pk for pk, row_id, _area in rows if row_id is None]
    result = _recompute(qs, missing) if missing else {}
    result.update({pk: codes.get(area_id) for pk, row_id, area_id in rows if row_id is not None})
    return result


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


def _report_qs(user, *, since=None, until=None, exploitation: str = "", status: str = ""):
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
    if exploitation:
        qs = qs.filter(_contains("exploitation", exploitation))
    return qs


def _place_qs(user, *, since=None, exploitation: str = "", status: str = ""):
    """Case places the user may see: the case (``Case.objects.visible_to``) and, for a place tied to a person,
    that person (``CasePerson.objects.visible_to``); dated by ``date_from``, else the day the case opened."""
    from cases.choices import CaseStatus
    from cases.models import Case, CasePerson, Place

    qs = Place.objects.filter(
        case__in=Case.objects.visible_to(user), latitude__isnull=False, longitude__isnull=False
    ).filter(Q(case_person__isnull=True) | Q(case_person__in=CasePerson.objects.visible_to(user).values("pk")))
    if status == "open":
        qs = qs.filter(case__status__in=[CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP])
    elif status == "closed":
        qs = qs.exclude(case__status__in=[CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP])
    if since is not None:
        # The day in the current time zone, as timezone.localtime(opened_at).date() reads it.
        qs = qs.annotate(geo_when=Coalesce("date_from", TruncDate("case__opened_at"))).filter(
            geo_when__gte=since.date()
        )
    if exploitation:
        qs = qs.filter(_contains("case__report__exploitation", exploitation))
    return qs


def _team_case_ids(user) -> set[int]:
    from cases.models import Case

    return set(Case.objects.filter(owner=user).values_list("pk", flat=True)) | set(
        Case.objects.filter(team__user=user).values_list("pk", flat=True)
    )


def incidents(
    user, *, days: int = DEFAULT_PERIOD, exploitation: str = "", status: str = "", now=None
) -> list[Incident]:
    """Every incident the user may see (exact or not) with its area; filtered by period, exploitation, status."""
    from cases.models import Case

    since = period_start(days, now=now)
    leadership = user.has_perm("cases.view_all")
    team = set() if leadership else _team_case_ids(user)
    team_reports = set() if leadership else set(Case.objects.filter(pk__in=team).values_list("report_id", flat=True))
    result = []
    reports = _report_qs(user, since=since, exploitation=exploitation, status=status)
    areas = stored_areas(reports, "intake.report")
    for pk, lat, lon, reference, assignee_id in reports.values_list(
        "pk", "latitude", "longitude", "reference", "assignee_id"
    ):
        exact = leadership or assignee_id == user.pk or pk in team_reports
        result.append(Incident("report", pk, float(lat), float(lon), areas.get(pk), exact, reference or f"#{pk}"))

    # Only the columns the map shows: no encrypted description, narrative or reporter detail is decrypted.
    places = _place_qs(user, since=since, exploitation=exploitation, status=status)
    areas = stored_areas(places, "cases.place")
    for place in places.select_related("case").only("latitude", "longitude", "kind", "case", "case__reference"):
        exact = leadership or place.case_id in team
        result.append(
            Incident(
                "place", place.pk, float(place.latitude), float(place.longitude), areas.get(place.pk), exact,
                f"{place.case} · {place.get_kind_display()}", place.case.get_absolute_url(),
            )
        )  # fmt: skip
    return result


def incident_counts(
    user, *, days: int = DEFAULT_PERIOD, exploitation: str = "", status: str = "", now=None
) -> dict[str | None, int]:
    """How many of ``incidents(user, ...)`` fall in each area (None: outside every area), in SQL."""
    since = period_start(days, now=now)
    counts: dict[str | None, int] = {}
    for qs, label in (
        (_report_qs(user, since=since, exploitation=exploitation, status=status), "intake.report"),
        (_place_qs(user, since=since, exploitation=exploitation, status=status), "cases.place"),
    ):
        for (code,), n in stored_area_counts(qs, label).items():
            counts[code] = counts.get(code, 0) + n
    return counts


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
    """Reports per area in the last ``days`` against the ``days`` before: one query over both periods."""
    now = now or timezone.now()
    days = days or 90
    start = now - timedelta(days=days)
    qs = _report_qs(user, since=start - timedelta(days=days), until=now)
    current: dict = {}
    previous: dict = {}
    period = SqlCase(When(received_at__gte=start, then=Value(1)), default=Value(0))
    for (code, is_current), n in stored_area_counts(qs, "intake.report", period=period).items():
        side = current if is_current else previous
        side[code] = side.get(code, 0) + n
    return compare_periods(current, previous)


def area_table(user, *, days: int = DEFAULT_PERIOD, exploitation: str = "", status: str = "", now=None) -> dict:
    """Counts per area (with suppression) and hotspots: the map's text alternative and its choropleth."""
    from geo.models import AdministrativeArea

    suppress = suppresses_small_counts(user)
    counts = incident_counts(user, days=days, exploitation=exploitation, status=status, now=now)
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
        "total": shown_count(sum(counts.values()), suppress=suppress),
        "suppressed": suppress,
        "max": max([r["count"] or 0 for r in rows] or [0]),
    }
