"""The 'my work' home page is made of panels that each domain contributes (issue #2).

A panel provider is ``func(request) -> dict | None``; it returns None when the panel does not concern the
user. Later domains (intake, cases, referrals...) register their own with ``@panel(order)``.
"""

from __future__ import annotations

from collections.abc import Callable

_PANELS: list[tuple[int, Callable]] = []


def panel(order: int):
    def register(func: Callable) -> Callable:
        _PANELS.append((order, func))
        _PANELS.sort(key=lambda item: item[0])
        return func

    return register


def panels_for(request) -> list[dict]:
    result = []
    for _order, func in _PANELS:
        data = func(request)
        if data:
            result.append(data)
    return result
