"""Server-side session bookkeeping: start, track, list, revoke, end all (issue #2)."""

from __future__ import annotations

from importlib import import_module

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User, UserSession
from utilities import context

AUTH_AT = "beacon_auth_at"
SEEN_AT = "beacon_seen_at"


def session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def start(request: HttpRequest, user: User) -> None:
    """Called right after ``django.contrib.auth.login`` (which has already cycled the session key)."""
    now = timezone.now().timestamp()
    request.session[AUTH_AT] = now
    request.session[SEEN_AT] = now
    request.session.save()
    ctx = context.current()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "client_ip": (ctx.client_ip or None) if ctx else None,
            "user_agent": ctx.user_agent if ctx else "",
        },
    )


def end_all(user: User, *, except_key: str | None = None) -> int:
    """End every server-side session of ``user`` (deactivation, MFA reset, 'sign out everywhere')."""
    store = session_store()
    ended = 0
    for tracked in UserSession.objects.filter(user=user):
        if tracked.session_key == except_key:
            continue
        store(session_key=tracked.session_key).delete()
        tracked.delete()
        ended += 1
    return ended


def end_one(user: User, session_key: str) -> bool:
    tracked = UserSession.objects.filter(user=user, session_key=session_key).first()
    if tracked is None:
        return False
    session_store()(session_key=session_key).delete()
    tracked.delete()
    return True
