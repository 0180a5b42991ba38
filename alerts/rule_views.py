"""The alert rules pages (issue #3): who is alerted on which event. Only holders of "alerts.manage_rules"
(the System Administrator and the Director by default) see or change them; everyone else gets 403."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from accounts.permissions import ROLES
from alerts import actions
from alerts.choices import Event
from alerts.models import AlertRule
from alerts.rule_forms import AlertRuleForm


def manage_rules_required(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.has_perm("alerts.manage_rules"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def _describe(rule: AlertRule) -> AlertRule:
    rule.role_labels = [ROLES[code] for code in rule.target_roles or [] if code in ROLES]
    rule.escalate_labels = [ROLES[code] for code in rule.escalate_to_roles or [] if code in ROLES]
    rule.named_users = sorted(rule.target_users.all(), key=lambda u: u.username)
    return rule


@manage_rules_required
def rule_list(request: HttpRequest) -> HttpResponse:
    by_event: dict[str, list[AlertRule]] = {}
    for rule in AlertRule.objects.prefetch_related("target_users"):
        by_event.setdefault(rule.event, []).append(_describe(rule))
    groups = [{"event": value, "label": label, "rules": by_event.pop(value, [])} for value, label in Event.choices]
    # Rules for events this version no longer raises stay visible, so they can be switched off.
    groups += [{"event": event, "label": event, "rules": rules} for event, rules in sorted(by_event.items())]
    return render(request, "alerts/rule_list.html", {"groups": groups})


def _stale(form: AlertRuleForm) -> bool:
    return any(error.code == "stale" for error in form.errors.as_data().get("__all__", []))


@manage_rules_required
def rule_create(request: HttpRequest) -> HttpResponse:
    event = request.GET.get("event")
    initial = {"send_email": True, "is_active": True, "event": event if event in Event.values else None}
    form = AlertRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.create_rule(actor=request.user, **form.rule_fields())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The alert rule was created."))
            return redirect("alert_rules:list")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": None})


@manage_rules_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(AlertRule, pk=pk)
    initial = {name: getattr(rule, name) for name in actions.RULE_FIELDS if name != "target_users"}
    initial |= {"target_users": list(rule.target_users.values_list("pk", flat=True)), "version": rule.version}
    form = AlertRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            actions.update_rule(
                rule, actor=request.user, version=form.cleaned_data["version"] or 0, **form.rule_fields()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("alert_rules:list")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule}, status=409 if _stale(form) else 200)
