"""People across cases (issue #4): search by name, probable duplicates, merging and undoing merges.

Every page starts from ``Person.objects.visible_to(user)`` and ``CasePerson.objects.visible_to(user)``: a
person appears only to users who may see them in some case, and each case link only where the user may see it.
Names are never put in URLs (search is a POST) and never in the audit log (counts and ids only).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from approvals import actions as approvals
from approvals.choices import Kind as ApprovalKind
from approvals.forms import RequestForm
from audit import log as audit
from cases import actions, duplicates, search
from cases.models import CasePerson, Identifier, Person, PersonMerge
from cases.people_forms import MergeForm, PersonSearchForm

SEARCH_RESULTS = 25
PAIRS_PER_PAGE = 25


def _links_by_person(user, person_ids) -> dict[int, list[CasePerson]]:
    """The case links of these people that ``user`` may see (role and pseudonym), by person."""
    links = defaultdict(list)
    for link in CasePerson.objects.visible_to(user).filter(person_id__in=list(person_ids)).select_related("case").order_by("case__reference", "role"):
        links[link.person_id].append(link)
    return links


def person_search(request: HttpRequest) -> HttpResponse:
    form = PersonSearchForm(request.POST if request.method == "POST" else None)
    results = None
    if request.method == "POST" and form.is_valid():
        hits = search.search(form.cleaned_data["q"], Person.objects.visible_to(request.user), limit=SEARCH_RESULTS)
        links = _links_by_person(request.user, [h.person.pk for h in hits])
        # A person visible a moment ago but whose last visible link went since is left out, not shown bare.
        results = [
            {"person": h.person, "score": round(h.score * 100), "reasons": h.reasons, "links": links[h.person.pk]}
            for h in hits
            if links.get(h.person.pk)
        ]
        # The query itself is never recorded: it is the name of a victim or a suspect.
        audit.record("people.search", actor=request.user, details={"results": len(results)})
    return render(request, "people/search.html", {"form": form, "results": results})


# --- probable duplicates ---------------------------------------------------------------------------------


def _require(user, permission: str) -> None:
    if not user.has_perm(permission):
        raise PermissionDenied


def duplicate_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, "cases.view_duplicates")
    report = duplicates.read_report()
    pairs, hidden = [], 0
    if report is not None:
        visible = set(Person.objects.visible_to(request.user).values_list("pk", flat=True))
        for row in report["pairs"]:
            if row[0] in visible and row[1] in visible:
                pairs.append(row)
        # Pairs that involve a record this user may not see are counted, never shown (need-to-know).
        others = {pid for row in report["pairs"] if not (row[0] in visible and row[1] in visible) for pid in row[:2]}
        live = set()
        others_list = sorted(others)
        for start in range(0, len(others_list), 900):
            live |= set(Person.objects.filter(pk__in=others_list[start : start + 900], merged_into__isnull=True).values_list("pk", flat=True))
        hidden = sum(1 for row in report["pairs"] if not (row[0] in visible and row[1] in visible) and row[0] in live and row[1] in live)
    page = Paginator(pairs, PAIRS_PER_PAGE).get_page(request.GET.get("page"))
    ids = {pid for row in page.object_list for pid in row[:2]}
    persons = Person.objects.in_bulk(list(ids))
    links = _links_by_person(request.user, ids)
    rows = [
        {
            "a": persons[a], "b": persons[b], "links_a": links[a], "links_b": links[b], "score": round(score * 100),
            "reasons": duplicates.reasons_for(codes),
        }
        for a, b, score, codes in page.object_list
        if a in persons and b in persons
    ]  # fmt: skip
    computed_at = None
    if report is not None:
        try:
            computed_at = datetime.fromisoformat(report["computed_at"])
        except (KeyError, TypeError, ValueError):
            computed_at = None
    audit.record("people.duplicates_viewed", actor=request.user, details={"page": page.number, "pairs": len(pairs)})
    return render(
        request,
        "people/duplicates.html",
        {
            "page": page, "rows": rows, "report": report, "hidden": hidden, "computed_at": computed_at,
            "can_merge": request.user.has_perm("cases.merge_persons"), "command": "manage.py find_duplicates",
        },
    )  # fmt: skip


# --- merging ---------------------------------------------------------------------------------------------


def _record(person: Person, links) -> dict:
    identifiers = Identifier.objects.filter(person=person).order_by("kind", "id")
    return {
        "person": person, "aliases": [a.name for a in person.aliases.order_by("id")], "links": links,
        "identifiers": [(i.get_kind_display(), i.get_document_type_display() if i.document_type else "", i.value) for i in identifiers],
    }  # fmt: skip


def merge_compare(request: HttpRequest, a: int, b: int) -> HttpResponse:
    """Both records side by side; the user chooses the one to keep and confirms. Only a user who may see
    both records (and merge) gets here: anyone else gets 404 for a record they may not see."""
    _require(request.user, "cases.merge_persons")
    if a == b:
        raise Http404
    visible = Person.objects.visible_to(request.user).in_bulk([a, b])
    if a not in visible or b not in visible:
        raise Http404
    pa, pb = visible[a], visible[b]
    choices = [(a, _("Keep record #%(id)s") % {"id": a}), (b, _("Keep record #%(id)s") % {"id": b})]
    asking = request.method == "POST" and request.POST.get("intent") == "request"
    form = MergeForm(request.POST if request.method == "POST" and not asking else None, choices=choices, initial={"keep": a})
    request_form = RequestForm(request.POST if asking else None)
    approval_target = actions.merge_approval_target(a, b)
    status = 200
    if asking:
        # Four eyes (issue #10): ask another approver before the merge can be made.
        status = 400
        if request_form.is_valid():
            item = approvals.request_approval(
                ApprovalKind.MERGE_PERSONS, actor=request.user, reason=request_form.cleaned_data["reason"], **approval_target
            )
            messages.success(request, _("Approval requested (%(ref)s). You will be notified of the decision.") % {"ref": item.reference})
            return redirect("people:merge", a, b)
    elif request.method == "POST" and form.is_valid():
        kept, merged = (pa, pb) if form.cleaned_data["keep"] == a else (pb, pa)
        try:
            actions.merge_persons(kept, merged, actor=request.user)
        except ValidationError as exc:
            form.add_error(None, exc.messages)
            status = 409
        else:
            messages.success(request, _("Record #%(merged)s was merged into record #%(kept)s. The merge can be undone below.") % {"merged": merged.pk, "kept": kept.pk})
            return redirect("people:merges")
    elif request.method == "POST":
        status = 400
    else:
        audit.record("people.merge_compared", actor=request.user, obj=pa, details={"other_person_id": pb.pk})
    profiles = duplicates.load_profiles([a, b])
    score, codes = duplicates.compare(profiles[a], profiles[b])
    links = _links_by_person(request.user, [a, b])
    context = {
        "form": form, "left": _record(pa, links[a]), "right": _record(pb, links[b]),
        "score": round(score * 100), "reasons": duplicates.reasons_for(codes), "request_form": request_form,
        "approved": approvals.usable(ApprovalKind.MERGE_PERSONS, actor=request.user, **approval_target),
        "pending": approvals.pending(ApprovalKind.MERGE_PERSONS, actor=request.user, **approval_target),
    }  # fmt: skip
    return render(request, "people/merge.html", context, status=status)


def merge_list(request: HttpRequest) -> HttpResponse:
    _require(request.user, "cases.merge_persons")
    visible = Person.objects.visible_to(request.user)
    merges = PersonMerge.objects.filter(kept__in=visible.values("pk")).select_related("merged_by", "undone_by").order_by("-merged_at", "-id")
    page = Paginator(merges, 50).get_page(request.GET.get("page"))
    shown = set(visible.filter(pk__in={pid for m in page.object_list for pid in (m.kept_id, m.merged_id)}).values_list("pk", flat=True))
    persons = Person.objects.in_bulk(list(shown))
    rows = [{"merge": m, "kept": persons.get(m.kept_id), "merged": persons.get(m.merged_id)} for m in page.object_list]
    return render(request, "people/merges.html", {"page": page, "rows": rows})


@require_POST
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request.user, "cases.merge_persons")
    merge = PersonMerge.objects.filter(pk=pk, kept__in=Person.objects.visible_to(request.user).values("pk")).first()
    if merge is None:
        raise Http404
    try:
        actions.undo_merge(merge, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The merge was undone: record #%(merged)s is separate again.") % {"merged": merge.merged_id})
    return redirect("people:merges")
