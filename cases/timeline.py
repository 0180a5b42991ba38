"""The case timeline (issue #4): every event of the case in order, from the report that started it to closure.

Built from the case's audit rows (and its people's, for changes made on this case), the report's route, the
screening and decision, the notes and the dated places. The audit log holds action codes and field names,
never values: the timeline turns them into human labels. Reads (page views, downloads, searches) stay in
the audit log, not here. Events about a person the user may not see on this case (a suspect, for a care
officer) are left out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from audit.models import AuditEvent
from cases.choices import AttachmentKind, CaseStatus, IdentifierKind, PersonRole, PlaceKind, ShareScope, TeamRole
from cases.models import Case, CaseAttachment, CasePerson, Person, SuspectProfile, VictimProfile

ACTION_LABELS = {
    "cases.case_opened": _("Case opened"),
    "cases.person_added": _("Person added to the case"),
    "cases.person_updated": _("Identity updated"),
    "cases.alias_added": _("Alias added"),
    "cases.alias_removed": _("Alias removed"),
    "cases.identifier_added": _("Identifier added"),
    "cases.identifier_removed": _("Identifier removed"),
    "cases.profile_updated": _("Profile updated"),
    "cases.place_added": _("Place recorded"),
    "cases.place_removed": _("Place removed"),
    "cases.attachment_added": _("File attached"),
    "cases.team_member_added": _("Team member added"),
    "cases.team_member_removed": _("Team member removed"),
    "cases.shared": _("Case shared"),
    "cases.share_revoked": _("Sharing revoked"),
    "cases.break_glass": _("Emergency access used"),
    "cases.case_closed": _("Case closed"),
    "cases.case_reopened": _("Case reopened"),
    "cases.persons_merged": _("Person records merged"),
    "cases.merge_undone": _("Merge undone"),
}
# Reads are audited but are not events in the life of the case; notes are shown from the notes themselves.
SKIPPED = {"cases.case_viewed", "cases.person_viewed", "cases.attachment_downloaded", "cases.note_added"}

PROFILE_MODELS = {PersonRole.VICTIM: VictimProfile, PersonRole.SUSPECT: SuspectProfile}


@dataclass
class Entry:
    at: datetime
    label: str
    detail: str = ""
    actor: str = ""
    category: str = "change"  # origin, change, access, note, place, closure
    date_only: bool = False
    seq: int = 0


def _day(value) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


def _label(choices, value) -> str:
    return str(dict(choices).get(value, "")) if value else ""


def _field_labels(model, names) -> str:
    labels = []
    for name in names or []:
        try:
            labels.append(str(model._meta.get_field(name).verbose_name))
        except FieldDoesNotExist:
            if name == "pseudonym":
                labels.append(str(_("pseudonym")))
            elif name == "aliases":
                labels.append(str(_("aliases")))
    return ", ".join(labels)


# What the timeline reads of an audit row (not its hash chain, agency or client details).
ROW_FIELDS = ("id", "at", "actor_id", "actor_name", "action", "object_type", "object_id", "changed_fields", "details")


def _is_event(row) -> bool:
    return (
        row.action not in SKIPPED and row.action.startswith(("cases.", "care.")) and not row.action.endswith("viewed")
    )


def build(
    case: Case, user, *, links=None, latest: int | None = None, notes=None, places=None, attachments=None
) -> list[Entry]:
    """The case's events, oldest first.

    ``latest``: only the last ``latest`` of them (the case page's latest events, issue #11), exactly the tail
    of the full timeline: which events are shown is decided for every event as before, but only the ones kept
    are labelled and described. The case page also hands over what it has already read, so nothing is read
    twice: ``links`` (the case's people ``user`` may see), ``notes``, ``places`` (every place of the case, with
    its ``case_person``) and ``attachments`` (every file of the case)."""
    if links is None:
        links = CasePerson.objects.visible_to(user).filter(case=case)
    visible_links = {link.pk: link for link in links}
    visible_people = {link.person_id: link for link in visible_links.values()}
    # Every link of the case, also hidden ones: an event naming one of them is shown only if it is visible.
    all_links = dict(CasePerson.objects.filter(case=case).values_list("pk", "role"))
    if attachments is None:
        attachment_links = dict(CaseAttachment.objects.filter(case=case).values_list("pk", "case_person_id"))
    else:
        attachment_links = {a.pk: a.case_person_id for a in attachments}

    # Reads (every page view is audited) are never events: left in the database instead of read and dropped,
    # so a case viewed a thousand times costs no more than one viewed once (issue #11). ``_is_event`` stays
    # the rule; the query only spares it rows it would drop (exact matches only: LIKE ignores case on SQLite).
    events = AuditEvent.objects.exclude(action__in=SKIPPED).only(*ROW_FIELDS)
    rows = list(
        events.filter(object_type="cases.case", object_id=str(case.pk))
        .filter(Q(action__startswith="cases.") | Q(action__startswith="care."))
        .order_by("id")
    )
    if visible_people:
        person_rows = events.filter(
            object_type="cases.person", object_id__in=[str(pk) for pk in visible_people], details__case_id=case.pk
        ).order_by("id")
        rows += [row for row in person_rows if (row.details or {}).get("case_id") == case.pk]
    # Victim care (care app) records its events on its own objects, naming the case and the person.
    rows += list(events.filter(object_type__startswith="care.", details__case_id=case.pk).order_by("id"))

    # Every event the user may see, as (time, order, how to make its entry): the entries themselves are made
    # only for those shown. The sort is stable, so events at the same instant keep the order they are read in.
    pending: list[tuple[datetime, int, object, object]] = []
    for row in rows:
        if not _is_event(row):
            continue
        details = row.details or {}
        link_id = details.get("case_person_id")
        if row.action == "cases.attachment_added":
            link_id = attachment_links.get(details.get("attachment_id"))
        if row.object_type == "cases.person":
            link = visible_people.get(int(row.object_id))
        elif link_id:
            if link_id not in visible_links:
                if link_id in all_links or row.action == "cases.person_added":
                    continue  # about someone this user may not see on this case
                link = None  # the link was removed since
            else:
                link = visible_links[link_id]
        else:
            link = None
        if row.action.startswith("care.") and link is None:
            continue  # victim care is shown only with a person the user may see
        pending.append((row.at, row.pk, _audit_entry, (row, details, link)))

    pending += [(entry.at, entry.seq, None, entry) for entry in _origin(case)]
    if notes is None:
        notes = case.notes.select_related("created_by")
    pending += [(note.created_at, 0, _note_entry, note) for note in notes]
    if places is None:
        places = case.places.filter(date_from__isnull=False).select_related("case_person")
    for place in places:
        if place.date_from is None or (place.case_person_id and place.case_person_id not in visible_links):
            continue
        pending.append((_day(place.date_from), 0, _place_entry, (place, visible_links)))
    pending.sort(key=lambda item: (item[0], item[1]))
    if latest is not None:
        pending = pending[-latest:] if latest > 0 else []

    user_ids = set()
    for _at, _seq, make, arg in pending:
        if make is _audit_entry:
            row, details, _link = arg
            user_ids |= {row.actor_id, details.get("user_id")}
    user_ids.discard(None)
    names = {u.pk: u.display_name for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    return [make(arg, names) if make else arg for _at, _seq, make, arg in pending]


def _audit_entry(arg, names: dict) -> Entry:
    row, details, link = arg
    entry = Entry(
        at=row.at,
        label=str(ACTION_LABELS.get(row.action) or _other_label(row)),
        actor=names.get(row.actor_id, row.actor_name),
        seq=row.pk,
    )
    entry.detail = _detail(row, details, link, names)
    if row.action.startswith("care."):
        entry.category = "care"
    if row.action == "cases.break_glass":
        entry.category = "access"
    elif row.action in {"cases.case_closed", "cases.case_reopened", "cases.case_opened"}:
        entry.category = "closure"
    return entry


def _note_entry(note, _names: dict) -> Entry:
    return Entry(
        at=note.created_at, label=str(_("Note")), detail=note.text, actor=note.created_by.display_name, category="note"
    )


def _place_entry(arg, _names: dict) -> Entry:
    place, visible_links = arg
    where = ", ".join(p for p in (place.city, place.country) if p) or place.description[:80]
    detail = where
    if place.date_to:
        detail = str(_("%(where)s, until %(to)s")) % {"where": where, "to": place.date_to.isoformat()}
    if place.case_person_id:
        detail = f"{visible_links[place.case_person_id].pseudonym} · {detail}"
    return Entry(
        at=_day(place.date_from),
        label=_label(PlaceKind.choices, place.kind),
        detail=detail,
        category="place",
        date_only=True,
    )


# Verbs of other apps' audit codes ("care.need_added"): the label is the object's name and what happened to it.
VERBS = {
    "added": _("%(what)s recorded"),
    "recorded": _("%(what)s recorded"),
    "assessed": _("%(what)s recorded"),
    "updated": _("%(what)s updated"),
    "withdrawn": _("%(what)s withdrawn"),
    "notified": _("%(what)s sent"),
    "alerted": _("%(what)s: alert sent"),
}


def _other_label(row) -> str:
    try:
        model = apps.get_model(row.object_type)
    except (LookupError, ValueError):
        return str(_("Change recorded"))
    name = str(model._meta.verbose_name)
    what = name[:1].upper() + name[1:]
    verb = VERBS.get(row.action.rsplit("_", 1)[-1], _("%(what)s changed"))
    return str(verb) % {"what": what}


def _origin(case: Case) -> list[Entry]:
    report = case.report
    entries = [
        Entry(
            at=report.received_at,
            label=str(_("Report received")),
            detail=f"{report.reference} · {report.get_channel_display()}",
            category="origin",
            seq=-6,
        )
    ]
    if report.triaged_at:
        entries.append(
            Entry(
                at=report.triaged_at,
                label=str(_("Report triaged")),
                actor=report.triaged_by.display_name if report.triaged_by else "",
                category="origin",
                seq=-5,
            )
        )
    if report.assigned_at:
        entries.append(
            Entry(
                at=report.assigned_at,
                label=str(_("Report assigned")),
                detail=report.assignee.display_name if report.assignee else "",
                category="origin",
                seq=-4,
            )
        )
    if report.acknowledged_at:
        entries.append(
            Entry(at=report.acknowledged_at, label=str(_("Assignment acknowledged")), category="origin", seq=-3)
        )
    decision = case.decision
    screening = decision.screening
    entries.append(
        Entry(
            at=screening.screened_at,
            label=str(_("Screening recorded")),
            detail=str(_("Recommendation: %(r)s")) % {"r": screening.get_recommendation_display()},
            actor=screening.screened_by.display_name,
            category="origin",
            seq=-2,
        )
    )
    entries.append(
        Entry(
            at=decision.decided_at,
            label=str(_("Identification decision")),
            detail=decision.get_outcome_display(),
            actor=decision.decided_by.display_name,
            category="origin",
            seq=-1,
        )
    )
    return entries


def _detail(row, details: dict, link: CasePerson | None, names: dict) -> str:
    action = row.action
    who = link.pseudonym if link else ""
    parts: list[str] = []
    if action == "cases.person_added":
        parts = [who, _label(PersonRole.choices, details.get("role"))]
    elif action in {"cases.identifier_added", "cases.identifier_removed"}:
        parts = [_label(IdentifierKind.choices, details.get("kind")), who]
    elif action == "cases.profile_updated":
        model = PROFILE_MODELS.get(details.get("role"))
        parts = [who, _field_labels(model, row.changed_fields) if model else ""]
    elif action == "cases.person_updated":
        parts = [who, _field_labels(Person, row.changed_fields)]
    elif action in {"cases.alias_added", "cases.alias_removed"}:
        parts = [who]
    elif action in {"cases.place_added", "cases.place_removed"}:
        parts = [_label(PlaceKind.choices, details.get("kind"))]
    elif action == "cases.attachment_added":
        parts = [_label(AttachmentKind.choices, details.get("kind")), who]
    elif action == "cases.team_member_added":
        parts = [names.get(details.get("user_id"), ""), _label(TeamRole.choices, details.get("role"))]
    elif action in {"cases.team_member_removed", "cases.share_revoked"}:
        parts = [names.get(details.get("user_id"), "")]
    elif action == "cases.shared":
        parts = [names.get(details.get("user_id"), ""), _label(ShareScope.choices, details.get("scope"))]
        if details.get("until"):
            parts.append(str(_("until %(day)s")) % {"day": details["until"]})
    elif action == "cases.break_glass":
        hours = details.get("hours")
        parts = [str(_("for %(hours)s hours")) % {"hours": hours}] if hours else []
    elif action.startswith("care."):
        parts = [who]
    elif action == "cases.case_closed":
        parts = [_label(CaseStatus.choices, details.get("status"))]
    return " · ".join(p for p in parts if p)
