"""Access transparency (issue #10): who read the records a user owns, and the weekly digest of unusual access
for the Director. Both read the audit log, which already holds every read (action, actor, object, time)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

# Audit actions that are reads of a case or of a person on it (grep `audit.record(` for "viewed").
READ_ACTIONS = (
    "cases.case_viewed",
    "cases.person_viewed",
    "cases.attachment_downloaded",
    "care.viewed",
    "investigations.viewed",
    "referrals.viewed",
)
HEAVY_READER_FACTOR = 3
HEAVY_READER_FLOOR = 20
BASELINE_WEEKS = 8


def reads_of_my_records(user):
    """Audit rows of reads by other users of the cases ``user`` owns and of the people on them, newest first."""
    from audit.models import AuditEvent
    from cases.models import Case, CasePerson

    case_ids = list(Case.objects.filter(owner=user).values_list("pk", flat=True))
    if not case_ids:
        return AuditEvent.objects.none()
    person_ids = set(CasePerson.objects.filter(case_id__in=case_ids).values_list("person_id", flat=True))
    mine = Q(object_type="cases.case", object_id__in=[str(pk) for pk in case_ids]) | Q(
        object_type="cases.person", object_id__in=[str(pk) for pk in person_ids]
    )
    return AuditEvent.objects.filter(mine, action__in=READ_ACTIONS).exclude(actor_id=user.pk).order_by("-at", "-id")


def describe_reads(events, owner) -> list[dict]:
    """Rows for the page: when, who, what was read; records by case reference and pseudonym only."""
    from cases.models import Case, CasePerson

    events = list(events)
    case_ids = {int(e.object_id) for e in events if e.object_type == "cases.case" and e.object_id.isdigit()}
    case_ids |= {int(e.details.get("case_id")) for e in events if str(e.details.get("case_id", "")).isdigit()}
    refs = dict(Case.objects.filter(pk__in=case_ids, owner=owner).values_list("pk", "reference"))
    link_ids = {
        int(e.details.get("case_person_id")) for e in events if str(e.details.get("case_person_id", "")).isdigit()
    }
    pseudonyms = dict(CasePerson.objects.filter(pk__in=link_ids, case__owner=owner).values_list("pk", "pseudonym"))
    rows = []
    for e in events:
        case_id = int(e.object_id) if e.object_type == "cases.case" else int(e.details.get("case_id") or 0)
        rows.append(
            {
                "at": e.at,
                "who": e.actor_name or "-",
                "agency": e.agency_name,
                "action": e.action,
                "case_id": case_id or None,
                "case": refs.get(case_id) or (f"#{case_id}" if case_id else ""),
                "person": pseudonyms.get(int(e.details.get("case_person_id") or 0), "")
                if e.object_type == "cases.person"
                else "",
                "via_api": bool(e.details.get("api")) if isinstance(e.details, dict) else False,
            }
        )
    return rows


# --- the weekly digest ---------------------------------------------------------------------------------------


def working_hours() -> tuple[time, time]:
    start, _sep, end = (settings.BEACON_WORKING_HOURS or "07:00-19:00").partition("-")
    return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())


def working_days() -> set[int]:
    """ISO weekdays (1 = Monday) from "1-5" or "1,2,3,4,5,6"."""
    days: set[int] = set()
    for part in (settings.BEACON_WORKING_DAYS or "1-5").split(","):
        low, _sep, high = part.strip().partition("-")
        days |= set(range(int(low), int(high or low) + 1))
    return days


def is_out_of_hours(moment: datetime) -> bool:
    local = timezone.localtime(moment)
    start, end = working_hours()
    return local.isoweekday() not in working_days() or not (start <= local.time() < end)


def _reads(start: datetime, end: datetime):
    from audit.models import AuditEvent

    return AuditEvent.objects.filter(at__gte=start, at__lt=end, action__in=READ_ACTIONS, actor_id__isnull=False)


def _distinct_records_per_user(start: datetime, end: datetime) -> dict[int, int]:
    rows = (
        _reads(start, end)
        .values("actor_id")
        .annotate(n=Count(Concat("object_type", Value(":"), "object_id"), distinct=True))
    )
    return {row["actor_id"]: row["n"] for row in rows}


def compute_digest(now: datetime | None = None) -> dict:
    """Findings over the seven days before ``now``: heavy readers (distinct records read more than three times
    their own weekly median of the eight weeks before, and at least the floor), reads outside working hours,
    and every break-glass. Staff names, counts and case references only."""
    from accounts.models import User
    from cases.models import BreakGlass

    now = now or timezone.now()
    start = now - timedelta(days=7)
    this_week = _distinct_records_per_user(start, now)
    baseline: dict[int, list[int]] = defaultdict(list)
    weeks = [
        _distinct_records_per_user(start - timedelta(days=7 * (i + 1)), start - timedelta(days=7 * i))
        for i in range(BASELINE_WEEKS)
    ]
    names = dict(User.objects.filter(pk__in=this_week).values_list("pk", "username"))
    heavy = []
    for user_id, n in sorted(this_week.items()):
        for week in weeks:
            baseline[user_id].append(week.get(user_id, 0))
        median = statistics.median(baseline[user_id])
        if n >= HEAVY_READER_FLOOR and n > HEAVY_READER_FACTOR * median:
            heavy.append(
                {"user_id": user_id, "user": names.get(user_id, f"#{user_id}"), "records": n, "median": median}
            )
    heavy.sort(key=lambda row: -row["records"])

    late: dict[int, dict] = {}
    for actor_id, actor_name, at, object_type, object_id in (
        _reads(start, now).values_list("actor_id", "actor_name", "at", "object_type", "object_id").order_by("at", "id")
    ):
        if not is_out_of_hours(at):
            continue
        row = late.setdefault(
            actor_id, {"user_id": actor_id, "user": actor_name, "reads": 0, "records": set(), "first": at, "last": at}
        )
        row["reads"] += 1
        row["records"].add(f"{object_type}:{object_id}")
        row["last"] = at
    out_of_hours = [
        {**row, "records": len(row["records"]), "first": row["first"].isoformat(), "last": row["last"].isoformat()}
        for row in sorted(late.values(), key=lambda r: -r["reads"])
    ]

    glass = [
        {
            "user_id": bg.user_id,
            "user": bg.user.username,
            "case_id": bg.case_id,
            "case": bg.case.reference or f"#{bg.case_id}",
            "at": bg.started_at.isoformat(),
            "expires": bg.expires_at.isoformat(),
        }
        for bg in BreakGlass.objects.filter(started_at__gte=start, started_at__lt=now)
        .select_related("user", "case")
        .order_by("started_at")
    ]
    start_h, end_h = working_hours()
    return {
        "heavy_readers": heavy,
        "out_of_hours": out_of_hours,
        "break_glass": glass,
        "settings": {
            "factor": HEAVY_READER_FACTOR,
            "floor": HEAVY_READER_FLOOR,
            "weeks": BASELINE_WEEKS,
            "working_hours": f"{start_h:%H:%M}-{end_h:%H:%M}",
            "working_days": sorted(working_days()),
        },
    }
