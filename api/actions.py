"""Making and revoking API tokens (issue #9): atomic, audited, the secret returned once and never stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from api import scopes as scope_catalogue
from api.models import ApiToken, TokenKind
from audit import log as audit

TOKEN_PREFIX = "bcn_"
MAX_DAYS = 365
DEFAULT_DAYS = 90


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(raw: str) -> tuple[str, str] | None:
    """``bcn_<prefix>_<secret>`` -> (prefix, secret), or None when it is not shaped like a Beacon token."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    prefix, sep, secret = raw[len(TOKEN_PREFIX) :].partition("_")
    if not sep or len(prefix) != 12 or not secret:
        return None
    return prefix, secret


def matches(token: ApiToken, secret: str) -> bool:
    return hmac.compare_digest(token.secret_hash, hash_secret(secret))


def _check(user, kind: str, scopes, days: int, name: str) -> list[str]:
    errors = {}
    if not (name or "").strip():
        errors["name"] = _("Give the token a name that says what it is for.")
    if not scopes:
        errors["scopes"] = _("Choose at least one scope.")
    unknown = sorted(set(scopes) - set(scope_catalogue.SCOPES))
    if unknown:
        errors["scopes"] = _("Unknown scopes: %(scopes)s.") % {"scopes": ", ".join(unknown)}
    elif scopes:
        beyond = sorted(set(scopes) - set(scope_catalogue.available_to(user)))
        if beyond:
            # A token never carries more than its user could do (issue #9).
            errors["scopes"] = _("%(user)s cannot use these scopes: %(scopes)s.") % {
                "user": user.get_username(),
                "scopes": ", ".join(beyond),
            }
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        errors["days"] = _("A token lasts between 1 and %(max)d days.") % {"max": MAX_DAYS}
    if not user.is_active:
        errors["user"] = _("This account is deactivated.")
    if errors:
        raise ValidationError(errors)
    return [code for code in scope_catalogue.SCOPES if code in set(scopes)]


@transaction.atomic
def create_token(
    *, actor, user, name: str, scopes, days: int = DEFAULT_DAYS, kind: str = TokenKind.PERSONAL,
    rate_per_minute: int | None = None,
) -> tuple[ApiToken, str]:  # fmt: skip
    """A new token for ``user``. Returns the token and its full value, which is never shown again.

    ``actor`` None means the command line (``manage.py create_token``), run by whoever operates the server."""
    if actor is not None:
        if kind == TokenKind.PERSONAL and actor.pk != user.pk:
            raise PermissionDenied
        if kind == TokenKind.SERVICE and not actor.has_perm("api.manage_service_tokens"):
            raise PermissionDenied
    ordered = _check(user, kind, list(scopes), days, name)
    prefix = secrets.token_hex(6)
    while ApiToken.objects.filter(prefix=prefix).exists():  # pragma: no cover - 2^48 prefixes
        prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip()[:100], kind=kind, scopes=ordered, prefix=prefix, secret_hash=hash_secret(secret),
        expires_at=timezone.now() + timedelta(days=days), created_by=actor, rate_per_minute=rate_per_minute,
    )  # fmt: skip
    audit.record(
        "api.token_created", actor=actor, obj=token,
        details={"kind": kind, "scopes": ordered, "days": days, "user_id": user.pk, "via": "ui" if actor else "command"},
    )  # fmt: skip
    return token, f"{TOKEN_PREFIX}{prefix}_{secret}"


@transaction.atomic
def revoke_token(token: ApiToken, *, actor) -> ApiToken:
    if actor is not None and not ApiToken.objects.visible_to(actor, "revoke").filter(pk=token.pk).exists():
        raise PermissionDenied
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.revoked_by = actor
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit.record(
            "api.token_revoked", actor=actor, obj=token, details={"kind": token.kind, "user_id": token.user_id}
        )
    return token


def touch(token: ApiToken) -> None:
    """Note when a token was last used, at most once a minute (no write per request)."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
