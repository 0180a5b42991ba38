"""The route from report to case as a state machine (issue #3): each action names the statuses it may
start from and the status it leads to. Permissions are checked by ``visible_to(user, action)``."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from intake.choices import Status as S

OPEN = (S.RECEIVED, S.TRIAGED, S.ASSIGNED, S.UNDER_SCREENING)

TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "triage": ((S.RECEIVED, S.TRIAGED), S.TRIAGED),
    "assign": ((S.RECEIVED, S.TRIAGED, S.ASSIGNED, S.UNDER_SCREENING), S.ASSIGNED),
    "acknowledge": ((S.ASSIGNED,), S.UNDER_SCREENING),
    "screen": ((S.UNDER_SCREENING,), None),
    "decide": ((S.UNDER_SCREENING,), S.DECIDED),
    "open_case": ((S.DECIDED,), S.CASE_OPENED),
    "close": ((*OPEN, S.DECIDED), S.CLOSED),
    "link": ((*OPEN, S.DECIDED, S.CASE_OPENED, S.CLOSED), None),
    "add_information": ((*OPEN, S.DECIDED, S.CASE_OPENED, S.CLOSED), None),
}

ACTION_LABELS = {
    "triage": _("triaged"),
    "assign": _("assigned"),
    "acknowledge": _("acknowledged"),
    "screen": _("screened"),
    "decide": _("decided"),
    "open_case": _("turned into a case"),
    "close": _("closed"),
}


def allowed(report, action: str) -> bool:
    sources, _target = TRANSITIONS[action]
    return report.status in sources


def advance(report, action: str) -> None:
    """Check the transition and move the report along (the caller saves, audits and bumps the version)."""
    sources, target = TRANSITIONS[action]
    if report.status not in sources:
        raise ValidationError(
            _("This report is %(status)s: it cannot be %(action)s now.")
            % {"status": report.get_status_display().lower(), "action": ACTION_LABELS.get(action, action)},
            code="invalid_transition",
        )
    if target is not None:
        report.status = target
