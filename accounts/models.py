from __future__ import annotations

from functools import cached_property

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.permissions import LEADERSHIP, ROLES, effective
from utilities.querysets import RestrictedQuerySet


class Role(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    permissions = models.JSONField(_("permissions"), default=list, blank=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return str(ROLES.get(self.code, self.code))

    @property
    def name(self) -> str:
        return str(self)

    @property
    def sort_key(self) -> int:
        codes = list(ROLES)
        return codes.index(self.code) if self.code in codes else len(codes)


class SeenPermission(models.Model):
    """Catalogue codes already applied to the roles once, so an administrator's removal of a default
    permission is never undone by the next upgrade (see ``accounts.roles.sync_roles``)."""

    code = models.CharField(max_length=80, unique=True)


class UserQuerySet(RestrictedQuerySet):
    def _restrict(self, user, action):
        if action == "view":
            if user.has_perm("accounts.view_all_users") or user.has_perm("accounts.manage_users"):
                return self
            # Colleagues only: partner agencies must not be able to enumerate the unit's officers.
            return self.filter(agency_id=user.agency_id)
        if action == "change" and user.has_perm("accounts.manage_users"):
            return self
        return self.none()


class BeaconUserManager(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    agency = models.ForeignKey(
        "directory.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="users"
    )
    roles = models.ManyToManyField(Role, verbose_name=_("roles"), related_name="users", blank=True)
    job_title = models.CharField(_("job title"), max_length=120, blank=True)
    phone = models.CharField(_("work phone"), max_length=40, blank=True)
    locked_at = models.DateTimeField(_("locked since"), null=True, blank=True)
    must_change_password = models.BooleanField(_("must change password at next sign-in"), default=False)
    preferred_language = models.CharField(_("language"), max_length=8, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = BeaconUserManager()

    REQUIRED_FIELDS = ["email"]

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["username"]

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @cached_property
    def _roles(self) -> tuple[tuple[str, list], ...]:
        # Codes and permissions of the user's roles in one query, shared by role_codes and permission_codes
        # (issue #11: every page asked for both, two round trips).
        if not self.pk:
            return ()
        return tuple(self.roles.values_list("code", "permissions"))

    @cached_property
    def role_codes(self) -> frozenset[str]:
        return frozenset(code for code, _perms in self._roles)

    @cached_property
    def permission_codes(self) -> frozenset[str]:
        if not self.pk or not self.is_active:
            return frozenset()
        codes: set[str] = set()
        for _code, perms in self._roles:
            codes.update(perms or [])
        return effective(codes, in_home_unit=self.in_home_unit)

    @cached_property
    def in_home_unit(self) -> bool:
        # Through the agency itself (kept on the user), which the audit log reads on every request anyway.
        return bool(self.agency_id) and bool(self.agency.is_home_unit)

    @property
    def is_leadership(self) -> bool:
        return bool(self.role_codes & LEADERSHIP)

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def has_perm(self, perm, obj=None) -> bool:
        # No superuser short-cut: every right comes from a role and the catalogue (issue #2).
        from accounts.backends import RoleBackend

        return RoleBackend().has_perm(self, perm, obj)

    def has_perms(self, perm_list, obj=None) -> bool:
        return all(self.has_perm(perm, obj) for perm in perm_list)

    def forget_cached_permissions(self) -> None:
        for name in ("_roles", "role_codes", "permission_codes", "in_home_unit"):
            self.__dict__.pop(name, None)
        self._state.fields_cache.pop("agency", None)


class FailedLogin(models.Model):
    """One failed password or MFA attempt. The username is kept only as a keyed hash: people sometimes type
    their password into the username box, and unknown usernames must not be stored."""

    username_hash = models.CharField(max_length=64, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class UserSession(models.Model):
    """The server-side sessions of a user, so they can be listed, revoked and ended on deactivation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tracked_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-last_seen"]
