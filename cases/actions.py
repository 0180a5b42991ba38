"""Every change to cases and the people in them goes through these actions (issues #3, #4): atomic, audited in
the same transaction (field names only, never values), optimistic locking on edits, search tokens refreshed."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.rules import dispatch
from approvals.actions import consume as consume_approval
from approvals.choices import Kind as ApprovalKind
from audit import log as audit
from cases import search
from cases.choices import CaseStatus, IdentifierKind, PersonRole, TeamRole
from cases.models import (
    BreakGlass,
    Case,
    CaseAttachment,
    CaseMember,
    CaseNote,
    CasePerson,
    CaseShare,
    Identifier,
    Person,
    PersonAlias,
    PersonMerge,
    Place,
    SuspectProfile,
    VictimProfile,
)
from geo.assign import forget_area, refresh_area
from intake import workflow
from integrations.events import emit
from screening.choices import HTCDS_STATUS
from utilities.crypto import blind_index, normalise, phone_index
from utilities.locking import check_version
from utilities.storage import store_encrypted

PERSON_FIELDS = (
    "given_names", "family_names", "birth_date", "estimated_age", "age_estimated_on", "age_estimation", "sex", "gender",
    "nationalities", "languages", "interpreter_needed",
)  # fmt: skip
VICTIM_FIELDS = (
    "trafficking_status", "registered_on", "exploitation_types", "forced_labour_industry", "sexual_exploitation_types",
    "methods_of_control", "recruitment_methods", "recruitment_websites", "exploitation_websites",
    "relationship_to_trafficker", "age_when_trafficked", "vulnerabilities", "vulnerability_details",
)  # fmt: skip
SUSPECT_FIELDS = ("roles_in_process", "role_details")
PLACE_FIELDS = ("kind", "description", "city", "country", "latitude", "longitude", "date_from", "date_to", "case_person")

# Report's suspected exploitation -> HTCDS vic_TypeOfExploitation.
REPORT_TO_HTCDS = {
    "sexual": "SexualExploitation", "forced_labour": "ForcedLabour", "domestic_servitude": "Servitude",
    "forced_criminality": "Other", "begging": "ForcedBegging", "forced_marriage": "ForcedMarriage",
    "organ_removal": "OrganRemoval", "other": "Other",
}  # fmt: skip


def _can_change(case: Case, actor) -> None:
    if not Case.objects.visible_to(actor, "change").filter(pk=case.pk).exists():
        raise PermissionDenied


def _can_change_person_link(link: CasePerson, actor) -> None:
    if not CasePerson.objects.visible_to(actor, "change").filter(pk=link.pk).exists():
        raise PermissionDenied


def _birth_year(birth_date: str) -> int | None:
    if not birth_date:
        return None
    try:
        return timezone.datetime.fromisoformat(birth_date).year
    except ValueError as exc:
        raise ValidationError(_("Write the date of birth as YYYY-MM-DD.")) from exc


@transaction.atomic
def open_case(decision, *, actor) -> Case:
    """An identified or possible victim opens a case carrying the screening, the decision and the HTCDS
    trafficking status with the deciding organisation (issue #3)."""
    report = decision.report
    workflow.advance(report, "open_case")
    owner = report.assignee or actor
    status = HTCDS_STATUS[decision.outcome]
    case = Case.objects.create(report=report, decision=decision, status=CaseStatus.ACTIVE, trafficking_status=status, deciding_org=decision.deciding_org, owner=owner)
    case.reference = f"C-{case.opened_at:%Y}-{case.pk:05d}"
    case.save(update_fields=["reference"])
    CaseMember.objects.create(case=case, user=owner, role=TeamRole.OWNER)
    screening = decision.screening
    today = timezone.localdate()
    person = Person.objects.create(
        estimated_age=screening.person_age, age_estimated_on=today if screening.person_age is not None else None,
        age_estimation={"document": "document", "stated": "stated", "estimated": "appearance"}.get(screening.age_basis, "unknown"),
        created_by=actor,
    )  # fmt: skip
    link = CasePerson.objects.create(case=case, person=person, role=PersonRole.VICTIM, pseudonym=screening.person_label)
    VictimProfile.objects.create(
        case_person=link, trafficking_status=status, registered_on=today, age_when_trafficked=screening.person_age,
        exploitation_types=sorted({REPORT_TO_HTCDS[e] for e in report.exploitation if e in REPORT_TO_HTCDS}),
    )  # fmt: skip
    report.save()
    audit.record("cases.case_opened", actor=actor, obj=case, details={"report_id": report.pk, "decision_id": decision.pk, "trafficking_status": status})
    emit("case.opened", case)
    dispatch("case.opened", message=_("Case %(ref)s opened from report %(report)s.") % {"ref": case.reference, "report": report.reference}, link=case.get_absolute_url(), assignee=report.assignee, actor=actor)
    return case


# --- people ---------------------------------------------------------------------------------------------


@transaction.atomic
def add_person(case: Case, *, actor, role: str, pseudonym: str, person: Person | None = None, **identity) -> CasePerson:
    """Add someone to a case: an existing person (chosen from the duplicate proposals or search) or a new one."""
    _can_change(case, actor)
    if role not in PersonRole.values:
        raise ValidationError(_("Unknown role."))
    if person is None:
        unknown = set(identity) - set(PERSON_FIELDS)
        if unknown:
            raise TypeError(f"not person fields: {sorted(unknown)}")
        person = Person(created_by=actor, **identity)
        person.birth_year = _birth_year(person.birth_date)
        person.full_clean()
        person.save()
        search.index_person(person)
    elif person.merged_into_id:
        raise ValidationError(_("This person record was merged into another one."))
    if CasePerson.objects.filter(case=case, person=person, role=role).exists():
        raise ValidationError(_("This person already has that role in the case."))
    link = CasePerson.objects.create(case=case, person=person, role=role, pseudonym=pseudonym.strip()[:60] or _("Person"))
    if role == PersonRole.VICTIM:
        VictimProfile.objects.create(case_person=link, trafficking_status=case.trafficking_status, registered_on=timezone.localdate())
    elif role == PersonRole.SUSPECT:
        SuspectProfile.objects.create(case_person=link)
    audit.record("cases.person_added", actor=actor, obj=case, changed_fields=[k for k, v in identity.items() if v not in (None, "", [])], details={"person_id": person.pk, "case_person_id": link.pk, "role": role, "existing": bool(identity) is False})
    return link


@transaction.atomic
def update_person(link: CasePerson, *, actor, version: int, pseudonym: str | None = None, **identity) -> Person:
    _can_change_person_link(link, actor)
    person = link.person
    check_version(Person, person.pk, version)
    unknown = set(identity) - set(PERSON_FIELDS)
    if unknown:
        raise TypeError(f"not person fields: {sorted(unknown)}")
    before = audit.snapshot(person, identity.keys())
    for name, value in identity.items():
        setattr(person, name, value)
    person.birth_year = _birth_year(person.birth_date)
    person.full_clean()
    person.version += 1
    person.save()
    changed = audit.changed(person, before, identity.keys())
    if pseudonym is not None and pseudonym.strip() and pseudonym.strip() != link.pseudonym:
        link.pseudonym = pseudonym.strip()[:60]
        link.save(update_fields=["pseudonym"])
        changed.append("pseudonym")
    if {"given_names", "family_names"} & set(changed):
        search.index_person(person)
    audit.record("cases.person_updated", actor=actor, obj=person, changed_fields=changed, details={"case_id": link.case_id})
    return person


@transaction.atomic
def add_alias(link: CasePerson, *, actor, name: str) -> PersonAlias:
    _can_change_person_link(link, actor)
    if not name.strip():
        raise ValidationError(_("The alias is empty."))
    alias = PersonAlias.objects.create(person=link.person, name=name.strip()[:200])
    search.index_person(link.person)
    audit.record("cases.alias_added", actor=actor, obj=link.person, changed_fields=["aliases"], details={"case_id": link.case_id})
    return alias


@transaction.atomic
def remove_alias(alias: PersonAlias, link: CasePerson, *, actor) -> None:
    _can_change_person_link(link, actor)
    if alias.person_id != link.person_id:
        raise PermissionDenied
    alias.delete()
    search.index_person(link.person)
    audit.record("cases.alias_removed", actor=actor, obj=link.person, changed_fields=["aliases"], details={"case_id": link.case_id})


def identifier_index(kind: str, value: str) -> str:
    """The blind index that finds the same identifier elsewhere, after kind-specific normalisation."""
    if kind == IdentifierKind.PHONE:
        return phone_index(value)
    text = normalise(value)
    if kind in {IdentifierKind.ID_DOCUMENT, IdentifierKind.VEHICLE, IdentifierKind.BANK_ACCOUNT}:
        text = "".join(ch for ch in text if ch.isalnum())
    elif kind in {IdentifierKind.SOCIAL, IdentifierKind.ONLINE_PROFILE}:
        text = text.removeprefix("https://").removeprefix("http://").removeprefix("www.").lstrip("@").rstrip("/")
    return blind_index(text, f"identifier:{kind}") if text else ""


@transaction.atomic
def add_identifier(*, actor, kind: str, value: str, case: Case, link: CasePerson | None = None, **extra) -> Identifier:
    if link is not None:
        _can_change_person_link(link, actor)
        if link.case_id != case.pk:
            raise PermissionDenied
    else:
        _can_change(case, actor)
    if kind not in IdentifierKind.values or not value.strip():
        raise ValidationError(_("Choose a kind and give a value."))
    identifier = Identifier(
        person=link.person if link else None, case=None if link else case, kind=kind, value=value.strip()[:300],
        index=identifier_index(kind, value), created_by=actor, **extra,
    )  # fmt: skip
    identifier.full_clean()
    identifier.save()
    audit.record("cases.identifier_added", actor=actor, obj=case, details={"identifier_id": identifier.pk, "kind": kind, "case_person_id": link.pk if link else None})
    return identifier


@transaction.atomic
def remove_identifier(identifier: Identifier, *, actor, case: Case) -> None:
    _can_change(case, actor)
    # The identifier must belong to this case, or to a person in it whom the actor may change.
    if identifier.case_id != case.pk:
        links = CasePerson.objects.visible_to(actor, "change").filter(case=case, person_id=identifier.person_id)
        if identifier.person_id is None or not links.exists():
            raise PermissionDenied
    identifier.delete()
    audit.record("cases.identifier_removed", actor=actor, obj=case, details={"kind": identifier.kind})


@transaction.atomic
def update_profile(link: CasePerson, *, actor, version: int, **fields):
    """Exploitation details of a victim, or the role of a suspect, in HTCDS terms."""
    _can_change_person_link(link, actor)
    if link.role == PersonRole.VICTIM:
        profile, allowed = link.victim_profile, VICTIM_FIELDS
    elif link.role == PersonRole.SUSPECT:
        profile, allowed = link.suspect_profile, SUSPECT_FIELDS
    else:
        raise ValidationError(_("Only victims and suspects have a profile."))
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"not profile fields: {sorted(unknown)}")
    check_version(type(profile), profile.pk, version)
    before = audit.snapshot(profile, fields.keys())
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.full_clean()
    profile.version += 1
    profile.save()
    audit.record("cases.profile_updated", actor=actor, obj=link.case, changed_fields=audit.changed(profile, before, fields.keys()), details={"case_person_id": link.pk, "role": link.role})
    return profile


@transaction.atomic
def add_place(case: Case, *, actor, **fields) -> Place:
    _can_change(case, actor)
    link = fields.get("case_person")
    if link is not None and link.case_id != case.pk:
        raise PermissionDenied
    place = Place(case=case, **fields)
    place.full_clean()
    place.save()
    refresh_area(place)
    audit.record("cases.place_added", actor=actor, obj=case, changed_fields=[k for k, v in fields.items() if v not in (None, "")], details={"place_id": place.pk, "kind": place.kind})
    return place


@transaction.atomic
def remove_place(place: Place, *, actor) -> None:
    _can_change(place.case, actor)
    if place.case_person_id and not CasePerson.objects.visible_to(actor, "change").filter(pk=place.case_person_id).exists():
        raise PermissionDenied
    forget_area("cases.place", place.pk)
    place.delete()
    audit.record("cases.place_removed", actor=actor, obj=place.case, details={"kind": place.kind})


@transaction.atomic
def add_note(case: Case, *, actor, text: str) -> CaseNote:
    if not Case.objects.visible_to(actor, "view").filter(pk=case.pk).exists():
        raise PermissionDenied
    if not text.strip():
        raise ValidationError(_("The note is empty."))
    note = CaseNote.objects.create(case=case, text=text.strip(), created_by=actor)
    audit.record("cases.note_added", actor=actor, obj=case)
    return note


@transaction.atomic
def add_attachment(case: Case, *, actor, upload, kind: str, description: str = "", link: CasePerson | None = None) -> CaseAttachment:
    from intake.filetypes import sniff

    _can_change(case, actor)
    if link is not None and link.case_id != case.pk:
        raise PermissionDenied
    data = upload.read()
    if len(data) > settings.CASE_ATTACHMENT_MAX_BYTES:
        raise ValidationError(_("The file is too large."))
    attachment = CaseAttachment(
        case=case, case_person=link, kind=kind, stored_name=uuid.uuid4().hex, original_name=getattr(upload, "name", "file")[:200],
        description=description, content_type=sniff(data[:64]) or "application/octet-stream", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), uploaded_by=actor,
    )  # fmt: skip
    store_encrypted("case-attachments", attachment.stored_name, data)
    attachment.save()
    audit.record("cases.attachment_added", actor=actor, obj=case, details={"attachment_id": attachment.pk, "kind": kind, "sha256": attachment.sha256})
    return attachment


# --- team, sharing, break-glass, closure --------------------------------------------------------------


def _can_manage_team(case: Case, actor) -> None:
    if not (actor.has_perm("cases.manage_team") or case.owner_id == actor.pk):
        raise PermissionDenied


@transaction.atomic
def add_team_member(case: Case, *, actor, user, role: str) -> CaseMember:
    _can_manage_team(case, actor)
    if role not in TeamRole.values or role == TeamRole.OWNER:
        raise ValidationError(_("Choose a team role."))
    if not user.is_active or not user.in_home_unit:
        raise ValidationError(_("Only active members of the unit can join a case team."))
    member, _created = CaseMember.objects.update_or_create(case=case, user=user, defaults={"role": role})
    audit.record("cases.team_member_added", actor=actor, obj=case, details={"user_id": user.pk, "role": role})
    return member


@transaction.atomic
def remove_team_member(member: CaseMember, *, actor) -> None:
    _can_manage_team(member.case, actor)
    if member.role == TeamRole.OWNER:
        raise ValidationError(_("The owner cannot be removed; change the owner instead."))
    member.delete()
    audit.record("cases.team_member_removed", actor=actor, obj=member.case, details={"user_id": member.user_id})


@transaction.atomic
def share_case(case: Case, *, actor, user, scope: str, reason: str, until) -> CaseShare:
    _can_manage_team(case, actor)
    if not reason.strip():
        raise ValidationError(_("Give the reason for sharing."))
    if until < timezone.localdate():
        raise ValidationError(_("The end date is in the past."))
    if not user.is_active or not user.in_home_unit:
        raise ValidationError(_("Cases are shared only within the unit; partners receive referrals instead."))
    share = CaseShare.objects.create(case=case, user=user, scope=scope, reason=reason.strip(), until=until, granted_by=actor)
    audit.record("cases.shared", actor=actor, obj=case, details={"user_id": user.pk, "scope": scope, "until": until.isoformat()})
    return share


@transaction.atomic
def revoke_share(share: CaseShare, *, actor) -> CaseShare:
    _can_manage_team(share.case, actor)
    share.revoked_at = timezone.now()
    share.save(update_fields=["revoked_at"])
    audit.record("cases.share_revoked", actor=actor, obj=share.case, details={"user_id": share.user_id})
    return share


@transaction.atomic
def break_glass(case: Case, *, actor, reason: str) -> BreakGlass:
    """Urgent access to a case the user is not on: reason required, time-limited, the Director is alerted."""
    if not actor.has_perm("cases.break_glass"):
        raise PermissionDenied
    if len(reason.strip()) < 10:
        raise ValidationError(_("Explain the emergency (at least a sentence)."))
    grant = BreakGlass.objects.create(case=case, user=actor, reason=reason.strip(), expires_at=timezone.now() + timedelta(hours=settings.BREAK_GLASS_HOURS))
    audit.record("cases.break_glass", actor=actor, obj=case, details={"hours": settings.BREAK_GLASS_HOURS})
    dispatch("case.break_glass", message=_("%(user)s used emergency access to case %(ref)s.") % {"user": actor.username, "ref": case.reference}, link=case.get_absolute_url(), actor=actor)
    return grant


@transaction.atomic
def close_case(case: Case, *, actor, version: int, status: str, reason: str, follow_up: str = "", follow_up_due=None) -> Case:
    """Closing is the owner's or leadership's decision, not any team member's."""
    _can_change(case, actor)
    _can_manage_team(case, actor)
    check_version(Case, case.pk, version)
    if status not in {CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED, CaseStatus.FOLLOW_UP}:
        raise ValidationError(_("Choose how the case ends."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for closure."))
    case.status = status
    case.closed_at = timezone.now() if status != CaseStatus.FOLLOW_UP else None
    case.closure_reason = reason.strip()
    case.follow_up = follow_up.strip()
    case.follow_up_due = follow_up_due
    case.version += 1
    case.save()
    audit.record("cases.case_closed", actor=actor, obj=case, changed_fields=["status", "closure_reason", "follow_up"], details={"status": status})
    emit("case.status_changed", case, change=status)
    return case


@transaction.atomic
def reopen_case(case: Case, *, actor, version: int) -> Case:
    _can_change(case, actor)
    _can_manage_team(case, actor)
    check_version(Case, case.pk, version)
    case.status = CaseStatus.ACTIVE
    case.closed_at = None
    case.version += 1
    case.save()
    audit.record("cases.case_reopened", actor=actor, obj=case, changed_fields=["status"])
    emit("case.status_changed", case, change=case.status)
    return case


# --- merging duplicate people ----------------------------------------------------------------------


MERGE_TABLES = (("case_links", CasePerson), ("aliases", PersonAlias), ("identifiers", Identifier))


def merge_approval_target(a: int, b: int) -> dict:
    """How an approval names a pair of person records, whichever is kept: the lower id and the other."""
    low, high = sorted((int(a), int(b)))
    return {"target_type": "cases.person", "target_id": str(low), "parameters": {"other_person_id": high}}


@transaction.atomic
def merge_persons(kept: Person, merged: Person, *, actor) -> PersonMerge:
    """Move everything of ``merged`` onto ``kept``; ``merged`` stays (pointing at ``kept``) so it can be undone."""
    if not actor.has_perm("cases.merge_persons"):
        raise PermissionDenied
    if kept.pk == merged.pk or kept.merged_into_id or merged.merged_into_id:
        raise ValidationError(_("These two records cannot be merged."))
    visible = Person.objects.visible_to(actor)
    if visible.filter(pk__in=[kept.pk, merged.pk]).count() != 2:
        raise PermissionDenied
    moved = {}
    for name, model in MERGE_TABLES:
        rows = model.objects.filter(person=merged)
        if model is CasePerson:
            clashes = set(CasePerson.objects.filter(person=kept).values_list("case_id", "role"))
            if any((r.case_id, r.role) in clashes for r in rows):
                raise ValidationError(_("Both records are in the same case with the same role: remove one link first."))
        moved[name] = list(rows.values_list("pk", flat=True))
        rows.update(person=kept)
    # Four eyes (issue #10): the actor's approved request for this pair is spent with the merge, or nothing moves.
    consume_approval(ApprovalKind.MERGE_PERSONS, actor=actor, **merge_approval_target(kept.pk, merged.pk))
    merged.merged_into = kept
    merged.version += 1
    merged.save(update_fields=["merged_into", "version", "updated_at"])
    search.index_person(kept)
    merge = PersonMerge.objects.create(kept=kept, merged=merged, moved=moved, merged_by=actor)
    audit.record("cases.persons_merged", actor=actor, obj=kept, details={"merged_person_id": merged.pk, "merge_id": merge.pk, "moved": {k: len(v) for k, v in moved.items()}})
    return merge


@transaction.atomic
def undo_merge(merge: PersonMerge, *, actor) -> PersonMerge:
    if not actor.has_perm("cases.merge_persons"):
        raise PermissionDenied
    if merge.undone_at is not None:
        raise ValidationError(_("This merge was already undone."))
    for name, model in MERGE_TABLES:
        model.objects.filter(pk__in=merge.moved.get(name, []), person=merge.kept).update(person=merge.merged)
    Person.objects.filter(pk=merge.merged_id).update(merged_into=None)
    merge.undone_at = timezone.now()
    merge.undone_by = actor
    merge.save(update_fields=["undone_at", "undone_by"])
    for person in Person.objects.filter(pk__in=[merge.kept_id, merge.merged_id]):
        search.index_person(person)
    audit.record("cases.merge_undone", actor=actor, obj=merge.kept, details={"merged_person_id": merge.merged_id, "merge_id": merge.pk})
    return merge
