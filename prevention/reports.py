"""Prevention indicators (issue #13): aggregates only, no participant's name leaves here."""

from __future__ import annotations

from collections import defaultdict

from directory.choices import OrganisationType
from prevention.choices import ParticipantSex
from prevention.models import REACH_FIELDS, Course, OutreachEvent, Participant

SEXES = ["female", "male", "unknown"]
AGES = ["minor", "adult", "unknown"]


def _bars(rows: list[dict], key: str) -> None:
    peak = max([row[key] for row in rows] + [1])
    for row in rows:
        row["bar"] = round(100 * row[key] / peak)


def people_reached(events=None) -> dict:
    """Totals by sex × age band, the grand total, materials and hotline calls, and people reached per month."""
    events = list(OutreachEvent.objects.all() if events is None else events)
    grid = {sex: {age: 0 for age in AGES} for sex in SEXES}
    months: dict[str, int] = defaultdict(int)
    for event in events:
        for name, sex, age in REACH_FIELDS:
            grid[sex][age] += getattr(event, name)
        months[event.date.strftime("%Y-%m")] += event.people_reached
    by_sex = {sex: sum(grid[sex].values()) for sex in SEXES}
    by_age = {age: sum(grid[sex][age] for sex in SEXES) for age in AGES}
    per_month = [{"month": m, "reached": n} for m, n in sorted(months.items())]
    _bars(per_month, "reached")
    return {
        "grid": grid,
        "by_sex": by_sex,
        "by_age": by_age,
        "total": sum(by_sex.values()),
        "events": len(events),
        "materials": sum(e.materials_count for e in events),
        "hotline_calls": sum(e.hotline_calls for e in events),
        "months": per_month,
    }


def participants_by_agency_type(participants=None) -> list[dict]:
    """Participants who attended, per HTCDS organisation type and sex."""
    qs = Participant.objects.all() if participants is None else participants
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {sex: 0 for sex in ParticipantSex.values})
    for p in qs.filter(attended=True).select_related("agency"):
        counts[p.agency_type][p.sex] += 1
    labels = dict(OrganisationType.choices)
    rows = [
        {"org_type": code, "label": str(labels.get(code, code)), **by_sex, "total": sum(by_sex.values())}
        for code, by_sex in sorted(counts.items(), key=lambda kv: str(labels.get(kv[0], kv[0])))
    ]
    _bars(rows, "total")
    return rows


def course_results(courses=None) -> list[dict]:
    """Per course: participants, those with both scores, average improvement (post − pre, only participants
    with both scores) and the share at or above the course's post-test threshold (of those with a post-test)."""
    rows = []
    for course in Course.objects.all() if courses is None else courses:
        scores = list(Participant.objects.filter(session__course=course).values_list("pre_score", "post_score"))
        paired = [(pre, post) for pre, post in scores if pre is not None and post is not None]
        posts = [post for _pre, post in scores if post is not None]
        able = sum(1 for post in posts if post >= course.pass_mark)
        rows.append({
            "course": course.title,
            "subject": course.get_subject_display(),
            "pass_mark": course.pass_mark,
            "participants": len(scores),
            "paired": len(paired),
            "improvement": round(sum(post - pre for pre, post in paired) / len(paired), 1) if paired else None,
            "tested": len(posts),
            "able": able,
            "able_share": round(100 * able / len(posts)) if posts else None,
        })  # fmt: skip
    peak = max([abs(r["improvement"]) for r in rows if r["improvement"] is not None] + [1])
    for row in rows:
        row["bar"] = round(100 * abs(row["improvement"] or 0) / peak)
    return rows


def report_tables() -> dict[str, list[list]]:
    """The report's tables as rows of cells (header first), for the CSV export."""
    reach = people_reached()
    tables: dict[str, list[list]] = {}
    tables["reach_by_sex_age"] = [["sex", *AGES, "total"]] + [
        [sex, *[reach["grid"][sex][age] for age in AGES], reach["by_sex"][sex]] for sex in SEXES
    ]
    tables["reach_by_month"] = [["month", "reached"]] + [[m["month"], m["reached"]] for m in reach["months"]]
    tables["participants_by_agency_type"] = [["org_type", *ParticipantSex.values, "total"]] + [
        [r["org_type"], *[r[s] for s in ParticipantSex.values], r["total"]] for r in participants_by_agency_type()
    ]
    tables["course_results"] = [
        ["course", "subject", "threshold", "participants", "with_both_scores", "average_improvement", "post_tested",
         "at_or_above_threshold", "share_percent"]
    ] + [
        [r["course"], r["subject"], r["pass_mark"], r["participants"], r["paired"],
         "" if r["improvement"] is None else r["improvement"], r["tested"], r["able"],
         "" if r["able_share"] is None else r["able_share"]]
        for r in course_results()
    ]  # fmt: skip
    return tables
