"""Optimistic locking: a form carries the version it was loaded at; saving over a newer version fails with a
clear message instead of silently overwriting another officer's change (issue #2, #3)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class StaleVersion(ValidationError):
    def __init__(self):
        super().__init__(
            _(
                "Someone else changed this record while you were editing it. Your changes were not saved: "
                "reload the page to see the current version, then make your changes again."
            ),
            code="stale",
        )


def check_version(model, pk, version: int) -> None:
    """Raise StaleVersion unless the stored row still has ``version``. Call inside the action's transaction:
    the row is locked on PostgreSQL; SQLite's IMMEDIATE transactions already serialise writers."""
    current = model._base_manager.select_for_update().filter(pk=pk).values_list("version", flat=True).first()
    if current is None or int(version) != current:
        raise StaleVersion()


def is_stale(exc: ValidationError) -> bool:
    """Whether a refused save was refused because someone else saved first (the page answers 409)."""
    return getattr(exc, "code", "") == "stale" or any(
        getattr(error, "code", "") == "stale" for error in getattr(exc, "error_list", [])
    )
