"""The one way to read what a user may see (NetBox's ``RestrictedQuerySet``; issue #2).

Every model that holds something a user might not be entitled to uses a queryset derived from
``RestrictedQuerySet`` and implements ``_restrict(user, action)``. Views, lists, searches, exports and API
endpoints all start from ``Model.objects.visible_to(user, action)``.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404


class RestrictedQuerySet(models.QuerySet):
    def visible_to(self, user, action: str = "view") -> models.QuerySet:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        return self._restrict(user, action)

    def _restrict(self, user, action: str) -> models.QuerySet:  # pragma: no cover - abstract
        raise NotImplementedError(f"{self.model.__name__} must say who may {action} it")


def get_visible_or_404(queryset: models.QuerySet, user, action: str = "view", **lookup):
    """Fetch one object: 404 when the user may not see it (as if it did not exist), 403 when they may see it
    but not perform ``action`` on it (Zulip's ``access_stream_by_id``)."""
    try:
        obj = queryset.visible_to(user, "view").get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
    if action != "view" and not queryset.visible_to(user, action).filter(pk=obj.pk).exists():
        raise PermissionDenied
    return obj
