"""Lockout after repeated failures, per account and per client address (issue #2, ASVS 2.2.1).

An account locks after ``LOCKOUT_ACCOUNT_FAILURES`` failures within the window and stays locked until an
administrator unlocks it. An address is refused for ``LOCKOUT_ADDRESS_BLOCK_SECONDS`` after
``LOCKOUT_ADDRESS_FAILURES`` failures. Unknown usernames are counted just like known ones, so the answers
never tell an attacker which usernames exist.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import FailedLogin, User


def username_hash(username: str) -> str:
    key = hashlib.sha256(b"beacon-lockout:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, username.strip().casefold().encode(), hashlib.sha256).hexdigest()


def address_blocked(client_ip: str | None) -> bool:
    if not client_ip:
        return False
    since = timezone.now() - timedelta(seconds=max(settings.LOCKOUT_WINDOW_SECONDS, settings.LOCKOUT_ADDRESS_BLOCK_SECONDS))
    return FailedLogin.objects.filter(client_ip=client_ip, at__gte=since).count() >= settings.LOCKOUT_ADDRESS_FAILURES


def register_failure(username: str, client_ip: str | None) -> User | None:
    """Count one failure; lock the matching account when it crosses the threshold. Returns the user that
    was locked by this failure, if any."""
    from accounts import actions  # avoid an import cycle: actions use this module's hash

    key = username_hash(username)
    with transaction.atomic():
        FailedLogin.objects.create(username_hash=key, client_ip=client_ip or None)
        since = timezone.now() - timedelta(seconds=settings.LOCKOUT_WINDOW_SECONDS)
        failures = FailedLogin.objects.filter(username_hash=key, at__gte=since).count()
        if failures < settings.LOCKOUT_ACCOUNT_FAILURES:
            return None
        user = User.objects.filter(username__iexact=username.strip(), locked_at__isnull=True).first()
        if user is None:
            return None
        actions.lock_user(user, failures=failures)
        return user


def clear_failures(username: str) -> None:
    FailedLogin.objects.filter(username_hash=username_hash(username)).delete()
