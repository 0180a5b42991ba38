from __future__ import annotations

import base64
import io

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import actions, lockout, sessions
from accounts.forms import (
    EnrolForm,
    LoginForm,
    OTPForm,
    PasswordChangeForm,
    TemporaryPasswordForm,
    UserFilterForm,
    UserForm,
)
from accounts.middleware import mfa_not_required
from accounts.models import Role, User, UserSession
from accounts.permissions import PERMISSIONS, ROLES
from audit import log as audit
from audit.models import SIGN_IN_ACTIONS, AuditEvent
from utilities import context
from utilities.querysets import get_visible_or_404

# One message for every credential failure: unknown user, wrong password, locked or deactivated account.
GENERIC_LOGIN_ERROR = _(
    "Please enter a correct username and password. Note that both fields may be case-sensitive. "
    "After repeated failures an account is locked until an administrator unlocks it."
)


def _requested_next(request: HttpRequest) -> str:
    """The ``next`` the request asked for, if it stays on this site; otherwise ""."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return ""


def _safe_next(request: HttpRequest, default: str = "") -> str:
    return _requested_next(request) or default or reverse("home")


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _client_ip() -> str | None:
    ctx = context.current()
    return (ctx.client_ip or None) if ctx else None


@login_not_required
@mfa_not_required
@sensitive_post_parameters("password")
@never_cache
def login_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated and (request.user.is_verified() or settings.DEMO_MODE):
        return redirect(_safe_next(request))
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        ip = _client_ip()
        if lockout.address_blocked(ip):
            form.add_error(None, _("Too many failed sign-ins from your network. Wait 15 minutes, then try again."))
            status = 429
        else:
            user = authenticate(request, username=username, password=form.cleaned_data["password"])
            if user is None:
                known = User.objects.filter(username__iexact=username.strip()).first()
                audit.record("auth.login_failed", actor=None, obj=known, details={"step": "password"})
                lockout.register_failure(username, ip)
                form.add_error(None, GENERIC_LOGIN_ERROR)
            else:
                login(request, user, backend="accounts.backends.RoleBackend")
                sessions.start(request, user)
                lockout.clear_failures(username)
                audit.record("auth.login", actor=user, obj=user, details={"step": "password"})
                next_url = _requested_next(request)
                if TOTPDevice.objects.filter(user=user, confirmed=True).exists():
                    return redirect(_with_next(reverse("accounts:mfa_verify"), next_url))
                if settings.DEMO_MODE:
                    return redirect(next_url or reverse("home"))
                return redirect(_with_next(reverse("accounts:mfa_setup"), next_url))
    return render(request, "accounts/login.html", {"form": form, "next": request.GET.get("next", "")}, status=status)


@mfa_not_required
@sensitive_post_parameters("code")
@never_cache
def mfa_verify(request: HttpRequest) -> HttpResponse:
    user = request.user
    if user.is_verified():
        return redirect(_safe_next(request))
    if not TOTPDevice.objects.filter(user=user, confirmed=True).exists():
        return redirect("accounts:mfa_setup")
    form = OTPForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(user, form.cleaned_data["code"])
        if device is not None:
            otp_login(request, device)
            method = "recovery_code" if isinstance(device, StaticDevice) else "totp"
            audit.record("auth.mfa_verified", actor=user, obj=user, details={"method": method})
            if method == "recovery_code":
                left = StaticToken.objects.filter(device__user=user).count()
                messages.warning(
                    request,
                    _("You signed in with a recovery code. %(left)s codes are left; generate new ones on your profile.")
                    % {"left": left},
                )
            return redirect(_safe_next(request))
        audit.record("auth.mfa_failed", actor=user, obj=user)
        locked = lockout.register_failure(user.username, _client_ip())
        if locked is not None:
            logout(request)
            messages.error(request, GENERIC_LOGIN_ERROR)
            return redirect("accounts:login")
        form.add_error("code", _("That code is not valid. Check your device's clock and try again."))
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": request.GET.get("next", "")})


def _pending_device(user: User) -> TOTPDevice:
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
    return device


@mfa_not_required
@sensitive_post_parameters("code")
@never_cache
def mfa_setup(request: HttpRequest) -> HttpResponse:
    user = request.user
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    if has_device and not user.is_verified():
        # Enrolling a new device must never be a way round verifying the existing one.
        return redirect("accounts:mfa_verify")
    device = _pending_device(user)
    form = EnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"].strip()):
            codes = actions.confirm_totp_device(device, actor=user)
            otp_login(request, device)
            return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": _safe_next(request)})
        form.add_error("code", _("That code is not valid. Check your device's clock and try again."))
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "secret": base64.b32encode(device.bin_key).decode().rstrip("="),
            "replacing": has_device,
            "next": request.GET.get("next", ""),
        },
    )


@mfa_not_required
@never_cache
def mfa_qr(request: HttpRequest) -> HttpResponse:
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).first()
    if device is None:
        return HttpResponse(status=404)
    buffer = io.BytesIO()
    # django-otp names the issuer from settings.OTP_TOTP_ISSUER in the otpauth:// URL.
    segno.make(device.config_url, error="m").save(buffer, kind="svg", scale=5, border=2, title=_("Two-factor QR code"))
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"
    return response


@mfa_not_required
@login_not_required
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record("auth.logout", actor=request.user, obj=request.user)
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    logout(request)
    messages.info(request, _("You have signed out."))
    return redirect("accounts:login")


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.set_password(request.user, actor=request.user, password=form.cleaned_data["new_password1"], temporary=False)
        update_session_auth_hash(request, request.user)
        messages.success(request, _("Your password was changed."))
        return redirect("accounts:profile")
    return render(request, "accounts/password_change.html", {"form": form})


password_change.password_change_view = True


@never_cache
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    sign_ins = AuditEvent.objects.visible_to(user).filter(
        Q(actor_id=user.pk) | Q(object_type="accounts.user", object_id=str(user.pk)), action__in=SIGN_IN_ACTIONS
    )[:20]
    context_data = {
        "totp": TOTPDevice.objects.filter(user=user, confirmed=True).first(),
        "recovery_left": StaticToken.objects.filter(device__user=user).count(),
        "sessions": UserSession.objects.filter(user=user),
        "current_key": request.session.session_key,
        "sign_ins": sign_ins,
    }
    return render(request, "accounts/profile.html", context_data)


@require_POST
def profile_action(request: HttpRequest, action: str) -> HttpResponse:
    user = request.user
    if action == "recovery_codes":
        codes = actions.regenerate_recovery_codes(actor=user)
        return render(request, "accounts/recovery_codes.html", {"codes": codes, "next": reverse("accounts:profile")})
    if action == "end_session":
        key = request.POST.get("session_key", "")
        if key and key != request.session.session_key and actions.end_session(user, key, actor=user):
            messages.success(request, _("That session was ended."))
    elif action == "end_other_sessions":
        for tracked in UserSession.objects.filter(user=user).exclude(session_key=request.session.session_key):
            actions.end_session(user, tracked.session_key, actor=user)
        messages.success(request, _("You were signed out everywhere else."))
    else:
        return HttpResponse(status=404)
    return redirect("accounts:profile")


@login_not_required
@mfa_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    from django.utils import translation

    lang = request.POST.get("language", "")
    next_url = _safe_next(request, "/")
    response = HttpResponseRedirect(next_url)
    if lang in dict(settings.LANGUAGES):
        translation.activate(lang)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            lang,
            max_age=365 * 24 * 3600,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=getattr(settings, "LANGUAGE_COOKIE_SECURE", False),
            httponly=True,
        )
        if request.user.is_authenticated and request.user.preferred_language != lang:
            actions.update_user(request.user, actor=request.user, version=request.user.version, preferred_language=lang)
    return response


# --- people and roles -----------------------------------------------------------------------------


def user_list(request: HttpRequest) -> HttpResponse:
    users = User.objects.visible_to(request.user).select_related("agency").prefetch_related("roles")
    form = UserFilterForm(request.GET or None)
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            users = users.filter(
                Q(username__icontains=data["q"]) | Q(first_name__icontains=data["q"]) | Q(last_name__icontains=data["q"])
            )
        if data["agency"]:
            users = users.filter(agency=data["agency"])
        if data["role"]:
            users = users.filter(roles=data["role"])
        if data["status"] == "active":
            users = users.filter(is_active=True)
        elif data["status"] == "inactive":
            users = users.filter(is_active=False)
        elif data["status"] == "locked":
            users = users.filter(locked_at__isnull=False)
    page = Paginator(users.order_by("agency__name", "last_name", "username"), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/user_list.html",
        {"page": page, "form": form, "can_manage": request.user.has_perm("accounts.manage_users")},
    )


def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    subject = get_visible_or_404(User.objects.select_related("agency"), request.user, "view", pk=pk)
    can_manage = User.objects.visible_to(request.user, "change").filter(pk=subject.pk).exists()
    return render(
        request,
        "accounts/user_detail.html",
        {
            "subject": subject,
            "can_manage": can_manage,
            "has_mfa": TOTPDevice.objects.filter(user=subject, confirmed=True).exists(),
            "password_form": TemporaryPasswordForm(subject) if can_manage else None,
        },
    )


@permission_required("accounts.manage_users", raise_exception=True)
def user_create(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = actions.create_user(
                actor=request.user,
                username=data["username"],
                agency=data["agency"],
                roles=list(data["roles"]),
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                job_title=data["job_title"],
                phone=data["phone"],
                preferred_language=data["preferred_language"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("User %(username)s was created.") % {"username": user.username})
            return redirect("accounts:user_detail", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "subject": None})


def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    subject = get_visible_or_404(User.objects.all(), request.user, "change", pk=pk)
    initial = {
        "username": subject.username,
        "first_name": subject.first_name,
        "last_name": subject.last_name,
        "email": subject.email,
        "job_title": subject.job_title,
        "phone": subject.phone,
        "agency": subject.agency_id,
        "roles": list(subject.roles.all()),
        "preferred_language": subject.preferred_language,
        "version": subject.version,
    }
    form = UserForm(request.POST or None, initial=initial, instance=subject)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.update_user(
                subject,
                actor=request.user,
                version=data["version"] or 0,
                roles=list(data["roles"]),
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                job_title=data["job_title"],
                phone=data["phone"],
                agency_id=data["agency"].pk,
                preferred_language=data["preferred_language"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("accounts:user_detail", pk=subject.pk)
    stale = any(error.code == "stale" for error in form.errors.as_data().get("__all__", []))
    return render(request, "accounts/user_form.html", {"form": form, "subject": subject}, status=409 if stale else 200)


USER_ACTIONS = {
    "deactivate": (actions.deactivate_user, _("The account was deactivated and its sessions were ended.")),
    "reactivate": (actions.reactivate_user, _("The account was reactivated.")),
    "unlock": (actions.unlock_user, _("The account was unlocked.")),
    "reset_mfa": (actions.reset_mfa, _("Two-factor authentication was reset; the user enrols again at next sign-in.")),
}


@require_POST
def user_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    subject = get_visible_or_404(User.objects.all(), request.user, "change", pk=pk)
    if action == "set_password":
        form = TemporaryPasswordForm(subject, request.POST)
        if form.is_valid():
            actions.set_password(subject, actor=request.user, password=form.cleaned_data["password"], temporary=True)
            messages.success(request, _("A temporary password was set; the user must change it at next sign-in."))
        else:
            for error in form.errors.get("password", []):
                messages.error(request, error)
        return redirect("accounts:user_detail", pk=subject.pk)
    if action not in USER_ACTIONS:
        return HttpResponse(status=404)
    if subject.pk == request.user.pk and action in {"deactivate", "reset_mfa"}:
        raise PermissionDenied(_("You cannot do this to your own account."))
    func, message = USER_ACTIONS[action]
    func(subject, actor=request.user)
    messages.success(request, message)
    return redirect("accounts:user_detail", pk=subject.pk)


def role_matrix(request: HttpRequest) -> HttpResponse:
    if not (request.user.has_perm("accounts.manage_roles") or request.user.has_perm("accounts.manage_users")):
        raise PermissionDenied
    can_edit = request.user.has_perm("accounts.manage_roles")
    roles = sorted(Role.objects.all(), key=lambda r: r.sort_key)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        changed = 0
        for role in roles:
            wanted = {code for code in request.POST.getlist(f"role-{role.code}") if code in PERMISSIONS}
            if wanted != set(role.permissions or []):
                if role.code == "system_administrator" and "accounts.manage_roles" not in wanted and request.user.role_codes == {"system_administrator"}:
                    messages.error(request, _("The System Administrator role must keep 'change which permissions each role holds', or nobody could change it back."))
                    continue
                actions.set_role_permissions(role, actor=request.user, codes=wanted)
                changed += 1
        messages.success(request, _("%(count)s roles updated.") % {"count": changed})
        return redirect("accounts:role_matrix")
    groups: dict[str, list] = {}
    for code, label in PERMISSIONS.items():
        groups.setdefault(code.split(".")[0], []).append(
            {"code": code, "label": label, "cells": [(role, code in (role.permissions or [])) for role in roles]}
        )
    return render(
        request,
        "accounts/role_matrix.html",
        {"roles": roles, "groups": groups, "can_edit": can_edit, "role_names": ROLES},
    )
