"""What a token may be used for (issue #9). A scope only narrows: the request still runs as the token's user,
through the same ``visible_to`` rules and actions as the pages, so a scope never grants what the user lacks.
A scope is offered only to users who could use it at all."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext_lazy as _


def _unit(user) -> bool:
    return user.in_home_unit


def _any(user) -> bool:
    return True


def _referrals(user) -> bool:
    from referrals.models import side_of

    return side_of(user) is not None


def _referrals_write(user) -> bool:
    return user.has_perm("referrals.respond") or user.has_perm("referrals.send")


SCOPES: dict[str, tuple[object, Callable]] = {
    "reports:read": (_("Read reports"), _unit),
    "reports:write": (_("Record reports and edit them"), lambda u: u.has_perm("intake.create_report")),
    "cases:read": (_("Read cases"), _unit),
    "persons:read": (_("Read people on cases (identity fields; every read is audited)"), _unit),
    "referrals:read": (_("Read referrals (the unit's or the provider's side)"), _referrals),
    "referrals:write": (
        _(
            "Write referrals: the unit's create, send and withdraw; a provider's acknowledge, accept, decline, start, complete"
        ),
        _referrals_write,
    ),
    "directory:read": (_("Read the directory of agencies and services"), _any),
    "investigations:read": (_("Read charges and hearings"), _unit),
    "stats:read": (_("Read aggregate statistics"), lambda u: u.has_perm("stats.view_dashboard")),
}


def available_to(user) -> list[str]:
    return [code for code, (_label, check) in SCOPES.items() if check(user)]


def choices_for(user) -> list[tuple[str, str]]:
    return [(code, f"{code} — {SCOPES[code][0]}") for code in available_to(user)]
