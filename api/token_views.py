"""Pages to make, list and revoke API tokens (issue #9). The secret is shown once, on the answer to the POST
that made it (never in a URL, a redirect or a message), and the page is not cached."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from api import actions
from api.forms import ServiceTokenForm, TokenForm
from api.models import ApiToken, TokenKind
from utilities.querysets import get_visible_or_404


def _add_errors(form, exc: ValidationError) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@never_cache
def tokens(request: HttpRequest) -> HttpResponse:
    """Every signed-in user manages their own personal tokens."""
    user = request.user
    form = TokenForm(request.POST or None, scope_user=user)
    if request.method == "POST" and form.is_valid():
        try:
            token, secret = actions.create_token(
                actor=user, user=user, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
                days=form.cleaned_data["days"], kind=TokenKind.PERSONAL,
            )  # fmt: skip
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return render(request, "api/token_created.html", {"token": token, "secret": secret, "back": "api:tokens"})
    listed = ApiToken.objects.filter(user=user, kind=TokenKind.PERSONAL)
    return render(request, "api/tokens.html", {"form": form, "tokens": listed, "service": False})


@never_cache
def service_tokens(request: HttpRequest) -> HttpResponse:
    admin = request.user
    if not admin.has_perm("api.manage_service_tokens"):
        raise PermissionDenied
    form = ServiceTokenForm(request.POST or None, admin=admin)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            token, secret = actions.create_token(
                actor=admin, user=data["user"], name=data["name"], scopes=data["scopes"], days=data["days"],
                kind=TokenKind.SERVICE, rate_per_minute=data["rate_per_minute"],
            )  # fmt: skip
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return render(
                request, "api/token_created.html", {"token": token, "secret": secret, "back": "api:service_tokens"}
            )
    listed = ApiToken.objects.visible_to(admin).filter(kind=TokenKind.SERVICE).select_related("user", "user__agency")
    return render(request, "api/tokens.html", {"form": form, "tokens": listed, "service": True})


@require_POST
def revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_visible_or_404(ApiToken.objects.all(), request.user, "revoke", pk=pk)
    actions.revoke_token(token, actor=request.user)
    messages.success(request, _("Token “%(name)s” revoked: it no longer works.") % {"name": token.name})
    return redirect("api:service_tokens" if token.kind == TokenKind.SERVICE else "api:tokens")
