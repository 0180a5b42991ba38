"""What the public report form shows that differs between deployments (issue #3).

The emergency numbers are shown on every public page. A deployment changes them by defining
``BEACON_PUBLIC_EMERGENCY_NUMBERS`` in its settings: a list of ``(label, number as shown, number to dial)``.
Until such a setting exists these defaults (Trinidad and Tobago) apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class EmergencyNumber:
    label: str
    shown: str  # as people know it, e.g. "800-4CTU (800-4288)"
    dial: str  # digits for the tel: link


DEFAULT_EMERGENCY_NUMBERS = (
    EmergencyNumber(_("Police"), "999", "999"),
    EmergencyNumber(_("Counter Trafficking Unit hotline"), "800-4CTU (800-4288)", "8004288"),
)


def emergency_numbers() -> tuple[EmergencyNumber, ...]:
    configured = getattr(settings, "BEACON_PUBLIC_EMERGENCY_NUMBERS", None)
    if not configured:
        return DEFAULT_EMERGENCY_NUMBERS
    return tuple(
        EmergencyNumber(str(label), str(shown), "".join(ch for ch in str(dial) if ch.isdigit() or ch == "+"))
        for label, shown, dial in configured
    )
