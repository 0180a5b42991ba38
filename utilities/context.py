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


# --- Per-request memo (issue #11) -------------------------------------------------------------------------
# A page asks "which cases may this user see, and in what capacity?" several times (the people on the case,
# linked cases, the timeline, the investigation buttons). The answer is read once per request and kept here,
# keyed by whatever the caller names (the user's id among it). It exists only while a request is being served
# (RequestContextMiddleware opens and closes it): commands, task workers and anything outside a request have
# no memo and always read the database, so nothing cached can outlive the request that read it.
#
# Rules that keep it from ever answering with a stale grant:
# - any statement that may change data (INSERT, UPDATE, DELETE, ROLLBACK TO SAVEPOINT, raw SQL...) empties it
#   (``forget_on_write``, installed by the middleware), so a break-glass, share or team change made in the
#   request is seen by every read after it; only reads, savepoints and audit appends keep it (``KEEPS_MEMO``);
# - nothing is stored while inside a transaction (``atomic``): what is read there may still be rolled back;
# - actions may also call ``forget()`` explicitly.

_memo: contextvars.ContextVar[dict | None] = contextvars.ContextVar("beacon_request_memo", default=None)
_MISSING = object()


@contextmanager
def request_memo() -> Iterator[dict]:
    """Open an empty memo for the duration of one request (and drop it afterwards, whatever happens)."""
    memo: dict = {}
    token = _memo.set(memo)
    try:
        yield memo
    finally:
        memo.clear()
        _memo.reset(token)


def forget() -> None:
    """Empty the request's memo (a no-op outside a request)."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()


def _in_transaction() -> bool:
    from django.db import connection

    # A test case's own wrapping transaction (Django marks it ``_from_testcase``) is not one the code opened.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def memoized(key, compute):
    """``compute()``'s value, read once per request under ``key``; outside a request, or inside a transaction,
    simply ``compute()``."""
    memo = _memo.get()
    if memo is None:
        return compute()
    value = memo.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        if not _in_transaction():
            memo[key] = value
    return value


# Statements that cannot change anything memoized: reads, opening or releasing a savepoint (nothing is ever
# stored inside a transaction, so none can be rolled back under the memo), and appending to the audit log
# (append-only, issue #2), which nearly every page does once, after it has looked up what the user may see.
KEEPS_MEMO = ("SELECT", "SAVEPOINT", "RELEASE SAVEPOINT", 'INSERT INTO "AUDIT_AUDITEVENT" ')


def forget_on_write(execute, sql, params, many, context):
    """Database execute wrapper: any statement that may change data empties the request's memo."""
    if not str(sql).lstrip()[:40].upper().startswith(KEEPS_MEMO):
        forget()
    return execute(sql, params, many, context)
