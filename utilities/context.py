"""Per-request context (request id, client address, acting user) that the audit log reads.

Kept in a ContextVar so actions called from views, commands and task workers all see the right values
without passing the request around; commands and workers simply have no request id of their own.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RequestContext:
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_ip: str = ""
    user_agent: str = ""


_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar("beacon_request", default=None)


def current() -> RequestContext | None:
    return _current.get()


def activate(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def without_client_details() -> Iterator[None]:
    """Audit rows written inside keep the request id but no client address or browser: the append-only log
    must never be able to point at an anonymous reporter (issue #3)."""
    ctx = current()
    token = activate(RequestContext(request_id=ctx.request_id) if ctx else RequestContext())
    try:
        yield
    finally:
        deactivate(token)
