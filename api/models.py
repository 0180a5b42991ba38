"""API credentials and retried writes (issue #9).

A token is shown once, when it is made; only the SHA-256 of its secret is stored, next to a short public
prefix used to find the row. Personal tokens act as their owner; service tokens act as a service account the
system administrator chose. Either way the token's scopes only narrow what that user may already do.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet


class TokenKind(models.TextChoices):
    PERSONAL = "personal", _("Personal")
    SERVICE = "service", _("Service")


class ApiTokenQuerySet(RestrictedQuerySet):
    """ "view"/"revoke": a user's own personal tokens; service tokens for holders of api.manage_service_tokens."""

    def _restrict(self, user, action):
        if action not in {"view", "revoke"}:
            return self.none()
        mine = models.Q(kind=TokenKind.PERSONAL, user=user)
        if user.has_perm("api.manage_service_tokens"):
            return self.filter(mine | models.Q(kind=TokenKind.SERVICE))
        return self.filter(mine)

    def usable(self):
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now(), user__is_active=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("acts as"), on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=TokenKind.choices, default=TokenKind.PERSONAL)
    scopes = models.JSONField(_("scopes"), default=list)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    rate_per_minute = models.PositiveIntegerField(
        _("requests per minute"), null=True, blank=True, help_text=_("Empty: the instance's default.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "active" if self.expires_at > timezone.now() else "expired"


class IdempotencyRecord(models.Model):
    """The answer to a POST sent with an ``Idempotency-Key``: a retry with the same key and body gets the same
    answer without the action running twice. Bodies may hold personal data, so they are encrypted."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # None while the first request runs
    response_body = EncryptedTextField(blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["token", "key"], name="unique_idempotency_key_per_token")]
