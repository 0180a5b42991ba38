"""The case record pages (issue #4). Every page starts from ``visible_to`` (404 for what the user may not see,
403 for what they may see but not change), every read is audited, every write goes through cases.actions."""

from __future__ import annotations

import mimetypes

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Value
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from audit import log as audit
from cases import actions
from cases.choices import CaseStatus, PersonRole
from cases.duplicates import propose
from cases.forms import (
    AliasForm,
    AttachmentForm,
    BreakGlassForm,
    CaseLookupForm,
    CloseForm,
    IdentifierForm,
    NoteForm,
    PersonAddForm,
    PersonEditForm,
    PlaceForm,
    ShareForm,
    SuspectProfileForm,
    TeamMemberForm,
    VersionForm,
    VictimProfileForm,
    choice_labels,
)
from cases.links import linked_cases
from cases.models import (
    BreakGlass,
    Case,
    CaseAttachment,
    CaseMember,
    CasePerson,
    CaseShare,
    Identifier,
    Person,
    PersonAlias,
    Place,
    case_grants,
)
from cases.timeline import build as build_timeline
from investigations.models import FULL_ROLES
from screening.choices import DecidingOrganisation
from utilities.locking import is_stale
from utilities.querysets import get_visible_or_404
from utilities.storage import read_encrypted

CASE_RELATED = ("owner", "report", "decision", "decision__screening", "decision__decided_by")
# What the case page's latest events (cases/timeline.py, the case's origin) read besides CASE_RELATED.
TIMELINE_RELATED = ("report__triaged_by", "report__assignee", "decision__screening__screened_by")
# How many of the latest events the case page shows (the full timeline has its own page).
RECENT_EVENTS = 5
REASON_LABELS = {
    "name": gettext_lazy("similar name"),
    "names": gettext_lazy("similar name"),
    "alias": gettext_lazy("alias"),
    "birth_date": gettext_lazy("same date of birth"),
    "birth_year": gettext_lazy("same year of birth"),
    "age": gettext_lazy("similar age"),
    "nationality": gettext_lazy("same nationality"),
    "identifier": gettext_lazy("same identifier"),
}


def _case(request: HttpRequest, pk: int, action: str = "view") -> Case:
    return get_visible_or_404(Case.objects.select_related(*CASE_RELATED), request.user, action, pk=pk)


def _link(request: HttpRequest, case: Case, link_pk: int, action: str = "view") -> CasePerson:
    return get_visible_or_404(
        CasePerson.objects.filter(case=case).select_related("person"), request.user, action, pk=link_pk
    )


def _links(case: Case, user, action: str = "view"):
    return CasePerson.objects.visible_to(user, action).filter(case=case).select_related("person")


def _permissions(case: Case, user, change: bool | None = None) -> dict:
    if change is None:
        change = Case.objects.visible_to(user, "change").filter(pk=case.pk).exists()
    return {
        "change": change,
        "manage_team": user.has_perm("cases.manage_team") or case.owner_id == user.pk,
        "close": change and case.status in {CaseStatus.ACTIVE, CaseStatus.FOLLOW_UP},
        "reopen": change and case.status != CaseStatus.ACTIVE,
    }


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _form_page(
    request,
    case,
    form,
    *,
    title: str,
    back: str,
    intro: str = "",
    submit: str = "",
    multipart: bool = False,
    status: int = 200,
    link=None,
):
    context = {
        "case": case,
        "form": form,
        "title": title,
        "back": back,
        "intro": intro,
        "submit": submit or _("Save"),
        "multipart": multipart,
        "link": link,
    }
    return render(request, "cases/form_page.html", context, status=status)


# --- list, lookup, break-glass -------------------------------------------------------------------------


def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    # Only what the list shows: the report's encrypted narrative and reporter details are never read here.
    cases = (
        Case.objects.visible_to(user)
        .select_related("owner", "report")
        .only("reference", "opened_at", "status", "trafficking_status", "owner", "report__reference")
    )
    if not user.has_perm("cases.view_all") and not cases.exists() and not user.has_perm("intake.create_report"):
        raise PermissionDenied
    form = CaseLookupForm(request.GET or None)
    ref, status, lookup = "", "", None
    if form.is_valid():
        ref, status = form.cleaned_data["ref"], form.cleaned_data["status"]
    if ref:
        found = cases.filter(reference__iexact=ref).first()
        if found is not None:
            audit.record("cases.case_lookup", actor=user, details={"result": "visible"})
            return redirect(found)
        # Only a holder of the break-glass permission learns that a case they cannot see exists; for anyone
        # else an existing case and a mistyped reference answer exactly the same.
        hidden = Case.objects.filter(reference__iexact=ref).first() if user.has_perm("cases.break_glass") else None
        audit.record(
            "cases.case_lookup", actor=user, details={"result": "break_glass_offered" if hidden else "not_found"}
        )
        lookup = {"ref": ref, "case": hidden, "form": BreakGlassForm()}
    if status:
        cases = cases.filter(status=status)
    page = Paginator(cases, 50).get_page(request.GET.get("page"))
    audit.record("cases.case_list", actor=user, details={"filters": ["status"] if status else [], "page": page.number})
    return render(request, "cases/case_list.html", {"page": page, "form": form, "lookup": lookup})


def case_break_glass(request: HttpRequest, pk: int) -> HttpResponse:
    user = request.user
    if not user.has_perm("cases.break_glass"):
        raise Http404
    case = Case.objects.filter(pk=pk).first()
    if case is None:
        raise Http404
    if Case.objects.visible_to(user).filter(pk=case.pk).exists():
        return redirect(case)
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            grant = actions.break_glass(case, actor=user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error("reason", exc)
        else:
            until = timezone.localtime(grant.expires_at)
            messages.warning(
                request,
                _("Emergency access granted until %(time)s. The Director has been alerted.")
                % {"time": until.strftime("%Y-%m-%d %H:%M")},
            )
            return redirect(case)
    return render(request, "cases/break_glass.html", {"case": case, "form": form})


# --- the case page and its timeline ---------------------------------------------------------------------


def _case_page(request: HttpRequest, pk: int) -> Case:
    """The case for its page. For leadership (cases.view_all) what they may do on it is answered here: they may
    change every case and see every investigation and court date, the same answers as the rules give, without
    asking the database (issue #11). For everyone else see ``_answers``."""
    user = request.user
    cases = Case.objects.select_related(*CASE_RELATED, *TIMELINE_RELATED)
    if user.has_perm("cases.view_all"):
        cases = cases.annotate(may_change=Value(True), may_investigate=Value(True), may_see_court_dates=Value(True))
    return get_visible_or_404(cases, user, "view", pk=pk)


def _answers(case: Case, user, links: list[CasePerson]) -> None:
    """What a user outside leadership may do on a case they see, from what the page has already read (issue
    #11): their grants (read once per request, ``case_grants``) and the case's people they may see (``links``,
    from ``CasePerson.objects.visible_to(user, "view")``). Building the rules' querysets again for this one case
    cost more than the rest of the page; the answers are the rules' own, case by case:

    - change (``Case.objects.visible_to(user, "change")``): the user owns the case, is on its team or holds an
      unexpired emergency grant on it (shares give no change);
    - investigation (``investigations.models.investigation_cases``): the case is visible and the user owns it,
      sees a suspect on it or is on its team in a full role (``FULL_ROLES``);
    - court dates (``investigations.models.court_date_cases``): the investigation side, or a victim the user
      sees on it.

    tests/test_case_page_answers.py checks these against the rules themselves for every kind of user and grant,
    so a change to a rule that is not made here fails there."""
    grants = case_grants(user)
    team_roles = {role for case_id, role in grants["team"] if case_id == case.pk}
    case.may_change = case.pk in grants["owned"] or bool(team_roles) or case.pk in grants["glass"]
    roles = {link.role for link in links}
    case.may_investigate = case.owner_id == user.pk or PersonRole.SUSPECT in roles or bool(team_roles & set(FULL_ROLES))
    case.may_see_court_dates = case.may_investigate or PersonRole.VICTIM in roles


def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case_page(request, pk)
    user = request.user
    audit.record("cases.case_viewed", actor=user, obj=case)
    # The page shows a person's names, aliases, age and nationalities; their identifiers are on their own page.
    links = list(_links(case, user).prefetch_related("person__aliases"))
    if not hasattr(case, "may_change"):
        _answers(case, user, links)
    visible_ids = {link.pk for link in links}
    today = timezone.localdate()
    for link in links:
        link.age = link.person.age_on(today)
        link.is_victim = link.role == PersonRole.VICTIM
    places = [
        p
        for p in case.places.select_related("case_person")
        if p.case_person_id is None or p.case_person_id in visible_ids
    ]
    all_attachments = list(case.attachments.select_related("case_person", "uploaded_by").order_by("created_at"))
    attachments = [a for a in all_attachments if a.case_person_id is None or a.case_person_id in visible_ids]
    notes = list(case.notes.select_related("created_by"))
    grant = None
    # Outside leadership the request's grants (read once, cases.models.case_grants) say whether there is an
    # emergency grant on this case at all; only then is it fetched for its expiry.
    if user.has_perm("cases.view_all") or case.pk in case_grants(user)["glass"]:
        grant = (
            BreakGlass.objects.filter(case=case, user=user, expires_at__gt=timezone.now())
            .order_by("-expires_at")
            .first()
        )
    # The latest events: the tail of the full timeline, only its last five entries labelled, from what this
    # page has already read (issue #11).
    recent = build_timeline(
        case, user, links=links, latest=RECENT_EVENTS, notes=notes, places=places, attachments=all_attachments
    )
    context = {
        "case": case,
        "persons": links,
        "team": case.team.select_related("user").order_by("added_at"),
        "identifiers": case.identifiers.order_by("kind", "created_at"),
        "places": places,
        "attachments": attachments,
        "notes": notes,
        "links": linked_cases(case, user, links=links),
        "recent": recent[::-1],
        "can": _permissions(case, user, change=case.may_change),
        "note_form": NoteForm(),
        "grant": grant,
        "deciding_org": dict(DecidingOrganisation.choices).get(case.deciding_org, case.deciding_org),
        # Investigation pages (issue #6): the full team and leadership; care officers get court dates only.
        "investigation": case.may_investigate,
        "court_dates": case.may_see_court_dates,
    }
    return render(request, "cases/case_detail.html", context)


def case_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    audit.record("cases.case_viewed", actor=request.user, obj=case, details={"page": "timeline"})
    return render(request, "cases/case_timeline.html", {"case": case, "entries": build_timeline(case, request.user)})


# --- people ---------------------------------------------------------------------------------------------


def _proposal_rows(proposals, user) -> list[dict]:
    rows = []
    today = timezone.localdate()
    for proposal in proposals:
        person = proposal.person
        cases = (
            CasePerson.objects.visible_to(user).filter(person=person).select_related("case").order_by("case__opened_at")
        )
        rows.append({
            "person": person, "score": round(float(proposal.score) * 100), "age": person.age_on(today),
            "reasons": [str(REASON_LABELS.get(r, r)) for r in proposal.reasons],
            "appearances": [(c.case, c.pseudonym, c.get_role_display()) for c in cases],
        })  # fmt: skip
    return rows


def person_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Two steps: the identity is entered, likely duplicates among the people the user may see are proposed,
    and the officer either uses one of them or confirms a new person."""
    case = _case(request, pk, "change")
    user = request.user
    form = PersonAddForm(request.POST or None, initial={"pseudonym": ""})
    if request.method != "POST" or not form.is_valid():
        return render(request, "cases/person_add.html", {"case": case, "form": form, "step": 1})
    data = form.cleaned_data
    people = Person.objects.visible_to(user).filter(merged_into__isnull=True)
    proposals = propose(
        people,
        given_names=data["given_names"],
        family_names=data["family_names"],
        birth_date=data["birth_date"],
        estimated_age=data["estimated_age"],
        nationalities=data["nationalities"],
        identifiers=form.identifiers(),
    )
    chosen = request.POST.get("use_person")
    step_two = {"case": case, "form": form, "step": 2, "role_label": PersonRole(data["role"]).label}
    if not chosen and not request.POST.get("create_new") and proposals:
        return render(request, "cases/person_add.html", {**step_two, "proposals": _proposal_rows(proposals, user)})
    existing = None
    if chosen:
        existing = next((p.person for p in proposals if str(p.person.pk) == chosen), None)
        if existing is None:
            form.add_error(None, _("Choose one of the proposed people, or create a new person."))
            return render(request, "cases/person_add.html", {**step_two, "proposals": _proposal_rows(proposals, user)})
    try:
        with transaction.atomic():
            if existing is not None:
                link = actions.add_person(
                    case, actor=user, role=data["role"], pseudonym=data["pseudonym"], person=existing
                )
            else:
                link = actions.add_person(
                    case, actor=user, role=data["role"], pseudonym=data["pseudonym"], **form.identity()
                )
            for kind, value in form.identifiers():
                actions.add_identifier(
                    actor=user, case=case, link=link, kind=kind, value=value, document_type=data["document_type"]
                )
    except ValidationError as exc:
        _add_errors(form, exc)
        return render(request, "cases/person_add.html", {"case": case, "form": form, "step": 1})
    if existing is not None:
        messages.success(
            request, _("%(who)s added to the case, using the existing person record.") % {"who": link.pseudonym}
        )
    else:
        messages.success(request, _("%(who)s added to the case.") % {"who": link.pseudonym})
    return redirect("cases:person_detail", case.pk, link.pk)


def person_detail(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    case = _case(request, pk)
    link = _link(request, case, link_pk)
    user = request.user
    person = link.person
    audit.record("cases.person_viewed", actor=user, obj=person, details={"case_id": case.pk, "case_person_id": link.pk})
    profile = None
    if link.role == PersonRole.VICTIM:
        profile = _victim_profile_view(link.victim_profile)
    elif link.role == PersonRole.SUSPECT:
        profile = _suspect_profile_view(link.suspect_profile)
    change_links = CasePerson.objects.visible_to(user, "change").filter(pk=link.pk).exists()
    other_cases = (
        CasePerson.objects.visible_to(user)
        .filter(person=person)
        .exclude(pk=link.pk)
        .select_related("case")
        .order_by("case__opened_at")
    )
    context = {
        "case": case,
        "link": link,
        "person": person,
        "age": person.age_on(timezone.localdate()),
        "aliases": person.aliases.order_by("created_at"),
        "identifiers": person.identifiers.order_by("kind", "created_at"),
        "profile": profile,
        "places": link.places.all(),
        "attachments": link.attachments.select_related("uploaded_by").order_by("created_at"),
        "other_cases": other_cases,
        "can_change": change_links,
        "alias_form": AliasForm(),
    }
    return render(request, "cases/person_detail.html", context)


def _audit_person_read(request: HttpRequest, link: CasePerson, page: str) -> None:
    """Edit forms show the record too: showing one is a read."""
    audit.record(
        "cases.person_viewed",
        actor=request.user,
        obj=link.person,
        details={"case_id": link.case_id, "case_person_id": link.pk, "page": page},
    )


def _victim_profile_view(profile) -> list[tuple[str, str]]:
    from cases import choices as c

    return [
        (_("Trafficking status"), profile.get_trafficking_status_display()),
        (_("Registered / identified on"), profile.registered_on.isoformat() if profile.registered_on else ""),
        (_("Age when trafficked"), "" if profile.age_when_trafficked is None else str(profile.age_when_trafficked)),
        (_("Relationship to trafficker"), profile.get_relationship_to_trafficker_display()),
        (_("Types of exploitation"), ", ".join(choice_labels(c.ExploitationType.choices, profile.exploitation_types))),
        (
            _("Forced-labour industry"),
            ", ".join(
                choice_labels(
                    c.ForcedLabourIndustry.choices,
                    [profile.forced_labour_industry] if profile.forced_labour_industry else [],
                )
            ),
        ),
        (
            _("Types of sexual exploitation"),
            ", ".join(choice_labels(c.SexExploitationType.choices, profile.sexual_exploitation_types)),
        ),
        (
            _("Methods of recruitment"),
            ", ".join(choice_labels(c.RecruitmentMethod.choices, profile.recruitment_methods)),
        ),
        (
            _("Recruitment websites and apps"),
            ", ".join(choice_labels(c.WebsiteOrApp.choices, profile.recruitment_websites)),
        ),
        (
            _("Exploitation websites and apps"),
            ", ".join(choice_labels(c.WebsiteOrApp.choices, profile.exploitation_websites)),
        ),
        (_("Methods of control"), ", ".join(choice_labels(c.ControlMethod.choices, profile.methods_of_control))),
        (_("Vulnerabilities"), ", ".join(choice_labels(c.Vulnerability.choices, profile.vulnerabilities))),
        (_("Details of vulnerabilities"), profile.vulnerability_details),
    ]


def _suspect_profile_view(profile) -> list[tuple[str, str]]:
    from cases.choices import PerpetratorRole

    return [
        (
            _("Role in the trafficking process"),
            ", ".join(choice_labels(PerpetratorRole.choices, profile.roles_in_process)),
        ),
        (_("Details"), profile.role_details),
    ]


def person_edit(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    case = _case(request, pk)
    link = _link(request, case, link_pk, "change")
    person = Person.objects.get(pk=link.person_id)
    form = PersonEditForm(
        request.POST or None, instance=person, initial={"version": person.version, "pseudonym": link.pseudonym}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_person(
                link,
                actor=request.user,
                version=form.cleaned_data["version"],
                pseudonym=form.cleaned_data["pseudonym"],
                **form.identity(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            status = 409 if is_stale(exc) else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect("cases:person_detail", case.pk, link.pk)
    _audit_person_read(request, link, "edit")
    return render(
        request,
        "cases/person_form.html",
        {"case": case, "link": link, "form": form, "title": _("Edit identity")},
        status=status,
    )


def profile_edit(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    case = _case(request, pk)
    link = _link(request, case, link_pk, "change")
    if link.role == PersonRole.VICTIM:
        form_class, profile, title = VictimProfileForm, link.victim_profile, _("Exploitation details (HTCDS)")
    elif link.role == PersonRole.SUSPECT:
        form_class, profile, title = SuspectProfileForm, link.suspect_profile, _("Role of the suspect (HTCDS)")
    else:
        raise Http404
    profile = type(profile).objects.get(pk=profile.pk)
    form = form_class(request.POST or None, instance=profile, initial={"version": profile.version})
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_profile(
                link, actor=request.user, version=form.cleaned_data["version"], **form.profile_fields()
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            status = 409 if is_stale(exc) else 200
        else:
            messages.success(request, _("Changes saved."))
            return redirect("cases:person_detail", case.pk, link.pk)
    _audit_person_read(request, link, "profile")
    return render(
        request, "cases/person_form.html", {"case": case, "link": link, "form": form, "title": title}, status=status
    )


def alias_add(request: HttpRequest, pk: int, link_pk: int) -> HttpResponse:
    case = _case(request, pk)
    link = _link(request, case, link_pk, "change")
    form = AliasForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_alias(link, actor=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Alias added."))
            return redirect("cases:person_detail", case.pk, link.pk)
    back = reverse("cases:person_detail", args=[case.pk, link.pk])
    return _form_page(request, case, form, title=_("Add an alias"), back=back, link=link)


@require_POST
def alias_remove(request: HttpRequest, pk: int, link_pk: int, alias_pk: int) -> HttpResponse:
    case = _case(request, pk)
    link = _link(request, case, link_pk, "change")
    alias = PersonAlias.objects.filter(pk=alias_pk, person_id=link.person_id).first()
    if alias is None:
        raise Http404
    actions.remove_alias(alias, link, actor=request.user)
    messages.success(request, _("Alias removed."))
    return redirect("cases:person_detail", case.pk, link.pk)


def identifier_add(request: HttpRequest, pk: int, link_pk: int | None = None) -> HttpResponse:
    """An identifier of a person in the case, or of the case itself (an address of exploitation, a vehicle seen)."""
    if link_pk is None:
        case = _case(request, pk, "change")
        link = None
        back = reverse("cases:case_detail", args=[case.pk])
    else:
        case = _case(request, pk)
        link = _link(request, case, link_pk, "change")
        back = reverse("cases:person_detail", args=[case.pk, link.pk])
    form = IdentifierForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_identifier(actor=request.user, case=case, link=link, **form.identifier_fields())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Identifier added."))
            return redirect(back)
    title = _("Add an identifier") if link else _("Add an identifier of the case")
    intro = (
        ""
        if link
        else _(
            "Something that belongs to the case rather than to one person: an address of exploitation, a vehicle or a bank account seen."
        )
    )
    return _form_page(request, case, form, title=title, back=back, intro=intro, link=link)


@require_POST
def identifier_remove(request: HttpRequest, pk: int, identifier_pk: int) -> HttpResponse:
    case = _case(request, pk, "change")
    identifier = Identifier.objects.filter(pk=identifier_pk).first()
    if identifier is None:
        raise Http404
    if identifier.case_id == case.pk:
        back = reverse("cases:case_detail", args=[case.pk])
    else:
        link = (
            _links(case, request.user, "change").filter(person_id=identifier.person_id).first()
            if identifier.person_id
            else None
        )
        if link is None:
            raise Http404
        back = reverse("cases:person_detail", args=[case.pk, link.pk])
    actions.remove_identifier(identifier, actor=request.user, case=case)
    messages.success(request, _("Identifier removed."))
    return redirect(back)


# --- places, notes, attachments -----------------------------------------------------------------------


def place_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk, "change")
    links = _links(case, request.user, "change")
    initial = {}
    link_pk = request.GET.get("person")
    if link_pk and link_pk.isdigit() and links.filter(pk=link_pk).exists():
        initial["case_person"] = int(link_pk)
    form = PlaceForm(request.POST or None, links=links, initial=initial)
    back = reverse("cases:case_detail", args=[case.pk])
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_place(case, actor=request.user, **form.place_fields())
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Place recorded."))
            return redirect(back)
    intro = _("Where recruitment, transit or exploitation happened. Latitude and longitude place the pin on the map.")
    return _form_page(request, case, form, title=_("Record a place"), back=back, intro=intro)


@require_POST
def place_remove(request: HttpRequest, pk: int, place_pk: int) -> HttpResponse:
    case = _case(request, pk, "change")
    place = Place.objects.filter(pk=place_pk, case=case).first()
    if place is None or (
        place.case_person_id and not _links(case, request.user, "change").filter(pk=place.case_person_id).exists()
    ):
        raise Http404
    actions.remove_place(place, actor=request.user)
    messages.success(request, _("Place removed."))
    return redirect(case)


def note_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    form = NoteForm(request.POST or None)
    back = reverse("cases:case_detail", args=[case.pk])
    if request.method == "POST" and form.is_valid():
        try:
            actions.add_note(case, actor=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Note added."))
            return redirect(back)
    return _form_page(request, case, form, title=_("Add a note"), back=back)


def attachment_add(request: HttpRequest, pk: int, link_pk: int | None = None) -> HttpResponse:
    if link_pk is None:
        case = _case(request, pk, "change")
        link = None
        form = AttachmentForm(request.POST or None, request.FILES or None, links=_links(case, request.user, "change"))
        back = reverse("cases:case_detail", args=[case.pk])
    else:
        case = _case(request, pk)
        link = _link(request, case, link_pk, "change")
        form = AttachmentForm(request.POST or None, request.FILES or None)
        back = reverse("cases:person_detail", args=[case.pk, link.pk])
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.add_attachment(
                case,
                actor=request.user,
                upload=data["upload"],
                kind=data["kind"],
                description=data["description"],
                link=link or data.get("case_person"),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("File attached. It is stored encrypted."))
            return redirect(back)
    title = _("Attach a document or photo")
    return _form_page(request, case, form, title=title, back=back, multipart=True, submit=_("Upload"), link=link)


def attachment_download(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    case = _case(request, pk)
    attachment = CaseAttachment.objects.filter(pk=attachment_pk, case=case).first()
    if attachment is None:
        raise Http404
    if attachment.case_person_id and not _links(case, request.user).filter(pk=attachment.case_person_id).exists():
        raise Http404
    data = read_encrypted("case-attachments", attachment.stored_name)
    audit.record("cases.attachment_downloaded", actor=request.user, obj=case, details={"attachment_id": attachment.pk})
    extension = mimetypes.guess_extension(attachment.content_type) or ""
    response = HttpResponse(data, content_type="application/octet-stream")
    # Never the original file name (it may carry a name); never inline.
    response["Content-Disposition"] = f'attachment; filename="{case.reference}-{attachment.pk}{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


# --- closure --------------------------------------------------------------------------------------------


def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk, "change")
    form = CloseForm(request.POST or None, initial={"version": case.version, "status": CaseStatus.CLOSED})
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.close_case(
                case,
                actor=request.user,
                version=data["version"],
                status=data["status"],
                reason=data["reason"],
                follow_up=data["follow_up"],
                follow_up_due=data["follow_up_due"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
            status = 409 if is_stale(exc) else 200
        else:
            messages.success(
                request, _("Case closed.") if data["status"] != CaseStatus.FOLLOW_UP else _("Case moved to follow-up.")
            )
            return redirect(case)
    return render(request, "cases/case_close.html", {"case": case, "form": form, "reopen_form": None}, status=status)


@require_POST
def case_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk, "change")
    form = VersionForm(request.POST)
    if form.is_valid() and case.status != CaseStatus.ACTIVE:
        try:
            actions.reopen_case(case, actor=request.user, version=form.cleaned_data["version"])
        except ValidationError as exc:
            for error in exc.messages:
                messages.error(request, error)
            return render(
                request,
                "cases/case_close.html",
                {"case": case, "form": None, "reopen_form": form},
                status=409 if is_stale(exc) else 200,
            )
        messages.success(request, _("Case reopened."))
    elif not form.is_valid():
        messages.error(request, _("The case could not be reopened: reload the page and try again."))
    return redirect(case)


# --- team and sharing -----------------------------------------------------------------------------------


def _team_context(case: Case, user, **forms) -> dict:
    can = _permissions(case, user)
    today = timezone.localdate()
    shares = case.shares.select_related("user", "granted_by").order_by("-created_at") if can["manage_team"] else []
    return {
        "case": case,
        "can": can,
        "team": case.team.select_related("user").order_by("added_at"),
        "shares": shares,
        "grants": case.break_glass.filter(expires_at__gt=timezone.now()).select_related("user")
        if can["manage_team"]
        else [],
        "today": today,
        "member_form": forms.get("member_form") or TeamMemberForm(prefix="member"),
        "share_form": forms.get("share_form") or ShareForm(prefix="share"),
    }


def case_team(request: HttpRequest, pk: int) -> HttpResponse:
    case = _case(request, pk)
    audit.record("cases.case_viewed", actor=request.user, obj=case, details={"page": "team"})
    return render(request, "cases/case_team.html", _team_context(case, request.user))


def _team_manager_case(request: HttpRequest, pk: int) -> Case:
    case = _case(request, pk)
    if not _permissions(case, request.user)["manage_team"]:
        raise PermissionDenied
    return case


@require_POST
def team_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _team_manager_case(request, pk)
    form = TeamMemberForm(request.POST, prefix="member")
    if form.is_valid():
        try:
            actions.add_team_member(
                case, actor=request.user, user=form.cleaned_data["user"], role=form.cleaned_data["role"]
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("%(who)s is on the team.") % {"who": form.cleaned_data["user"].display_name})
            return redirect("cases:case_team", case.pk)
    return render(request, "cases/case_team.html", _team_context(case, request.user, member_form=form))


@require_POST
def team_remove(request: HttpRequest, pk: int, member_pk: int) -> HttpResponse:
    case = _team_manager_case(request, pk)
    member = CaseMember.objects.filter(pk=member_pk, case=case).select_related("case").first()
    if member is None:
        raise Http404
    try:
        actions.remove_team_member(member, actor=request.user)
    except ValidationError as exc:
        for error in exc.messages:
            messages.error(request, error)
    else:
        messages.success(request, _("Removed from the team."))
    return redirect("cases:case_team", case.pk)


@require_POST
def share_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = _team_manager_case(request, pk)
    form = ShareForm(request.POST, prefix="share")
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.share_case(
                case,
                actor=request.user,
                user=data["user"],
                scope=data["scope"],
                reason=data["reason"],
                until=data["until"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Case shared with %(who)s.") % {"who": data["user"].display_name})
            return redirect("cases:case_team", case.pk)
    return render(request, "cases/case_team.html", _team_context(case, request.user, share_form=form))


@require_POST
def share_revoke(request: HttpRequest, pk: int, share_pk: int) -> HttpResponse:
    case = _team_manager_case(request, pk)
    share = CaseShare.objects.filter(pk=share_pk, case=case, revoked_at__isnull=True).select_related("case").first()
    if share is None:
        raise Http404
    actions.revoke_share(share, actor=request.user)
    messages.success(request, _("Sharing revoked."))
    return redirect("cases:case_team", case.pk)
