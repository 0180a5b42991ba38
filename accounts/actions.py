"""Every change to users, roles and sign-in state goes through these actions (STYLE: named actions).

Each is atomic, takes the acting user as keyword-only ``actor`` and writes its audit row in the same
transaction. Views validate input and call them; they never ``.save()`` a user themselves.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import sessions
from accounts.models import FailedLogin, Role, User
from accounts.permissions import PERMISSIONS
from alerts.actions import notify
from audit import log as audit
from utilities.locking import check_version


def users_with_permission(code: str):
    """Active users holding ``code`` through any of their roles (JSON lookups differ per database, and the
    role table is tiny, so the roles are filtered in Python)."""
    role_ids = [role.pk for role in Role.objects.all() if code in (role.permissions or [])]
    return User.objects.filter(is_active=True, roles__in=role_ids).distinct()


USER_FIELDS = ("first_name", "last_name", "email", "job_title", "phone", "agency_id", "preferred_language")


@transaction.atomic
def create_user(
    *, actor: User | None, username: str, agency, roles=(), password: str | None = None, **fields
) -> User:
    user = User(username=username, agency=agency, **fields)
    if password:
        validate_password(password, user)
        user.set_password(password)
        # A password chosen by an administrator is temporary (ASVS 2.1.x).
        user.must_change_password = actor is not None
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    user.roles.set(roles)
    audit.record(
        "accounts.user_created",
        actor=actor,
        obj=user,
        changed_fields=[*fields.keys(), "username", "agency_id", "roles"],
        details={"roles": sorted(r.code for r in roles)},
    )
    return user


@transaction.atomic
def update_user(user: User, *, actor: User, version: int, roles=None, **fields) -> User:
    check_version(User, user.pk, version)
    before = audit.snapshot(user, USER_FIELDS)
    before_roles = set(user.roles.values_list("code", flat=True))
    for name, value in fields.items():
        setattr(user, name, value)
    user.full_clean(exclude=["password"])
    changed = audit.changed(user, before, USER_FIELDS)
    details = {}
    if roles is not None:
        new_roles = {r.code for r in roles}
        if new_roles != before_roles:
            user.roles.set(roles)
            changed.append("roles")
            details = {"roles_added": sorted(new_roles - before_roles), "roles_removed": sorted(before_roles - new_roles)}
    user.version += 1
    user.save()
    user.forget_cached_permissions()
    audit.record("accounts.user_updated", actor=actor, obj=user, changed_fields=changed, details=details)
    return user


@transaction.atomic
def deactivate_user(user: User, *, actor: User) -> User:
    user.is_active = False
    user.version += 1
    user.save(update_fields=["is_active", "version"])
    ended = sessions.end_all(user)
    audit.record("accounts.user_deactivated", actor=actor, obj=user, details={"sessions_ended": ended})
    return user


@transaction.atomic
def reactivate_user(user: User, *, actor: User) -> User:
    user.is_active = True
    user.version += 1
    user.save(update_fields=["is_active", "version"])
    audit.record("accounts.user_reactivated", actor=actor, obj=user)
    return user


@transaction.atomic
def lock_user(user: User, *, failures: int) -> User:
    """Called by the lockout counter, not by a person; administrators are told in their notification area."""
    user.locked_at = timezone.now()
    user.save(update_fields=["locked_at"])
    ended = sessions.end_all(user)
    audit.record(
        "auth.account_locked", actor=None, obj=user, details={"failures": failures, "sessions_ended": ended}
    )
    notify(
        users_with_permission("accounts.manage_users"),
        event="accounts.account_locked",
        message=_("Account %(username)s was locked after repeated failed sign-ins.") % {"username": user.username},
        link=reverse("accounts:user_detail", args=[user.pk]),
    )
    return user


@transaction.atomic
def unlock_user(user: User, *, actor: User) -> User:
    from accounts.lockout import username_hash

    user.locked_at = None
    user.version += 1
    user.save(update_fields=["locked_at", "version"])
    FailedLogin.objects.filter(username_hash=username_hash(user.username)).delete()
    audit.record("accounts.user_unlocked", actor=actor, obj=user)
    return user


@transaction.atomic
def set_password(user: User, *, actor: User, password: str, temporary: bool) -> User:
    validate_password(password, user)
    user.set_password(password)
    user.must_change_password = temporary
    user.version += 1
    user.save(update_fields=["password", "must_change_password", "version"])
    audit.record(
        "accounts.password_reset" if temporary else "accounts.password_changed",
        actor=actor,
        obj=user,
        changed_fields=["password"],
    )
    return user


@transaction.atomic
def reset_mfa(user: User, *, actor: User) -> User:
    """Remove every MFA device; the user enrols again at next sign-in. Ends their sessions."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    ended = sessions.end_all(user)
    audit.record("accounts.mfa_reset", actor=actor, obj=user, details={"sessions_ended": ended})
    return user


@transaction.atomic
def confirm_totp_device(device: TOTPDevice, *, actor: User) -> list[str]:
    """Confirm an enrolment and issue fresh recovery codes, shown to the user once."""
    TOTPDevice.objects.filter(user=actor).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(actor)
    audit.record("accounts.mfa_enrolled", actor=actor, obj=actor)
    return codes


@transaction.atomic
def regenerate_recovery_codes(*, actor: User) -> list[str]:
    codes = _new_recovery_codes(actor)
    audit.record("accounts.recovery_codes_regenerated", actor=actor, obj=actor)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    from django.conf import settings

    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="recovery", confirmed=True)
    codes = []
    for _i in range(settings.MFA_RECOVERY_CODES):
        token = StaticToken.random_token()
        device.token_set.create(token=token)
        codes.append(token)
    return codes


@transaction.atomic
def set_role_permissions(role: Role, *, actor: User, codes: set[str]) -> Role:
    unknown = set(codes) - set(PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown permission codes: {sorted(unknown)}")
    before = set(role.permissions or [])
    role.permissions = sorted(codes)
    role.save(update_fields=["permissions"])
    audit.record(
        "accounts.role_permissions_changed",
        actor=actor,
        obj=role,
        changed_fields=["permissions"],
        details={"role": role.code, "granted": sorted(codes - before), "revoked": sorted(before - codes)},
    )
    return role


@transaction.atomic
def end_session(user: User, session_key: str, *, actor: User) -> bool:
    ended = sessions.end_one(user, session_key)
    if ended:
        audit.record("auth.session_revoked", actor=actor, obj=user)
    return ended
