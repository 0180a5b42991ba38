"""``{% primero_send_link referral %}``: on a referral's page, a link to send it to the partner's Primero
instance, shown only when that makes sense (issue #9)."""

from __future__ import annotations

from django import template

from integrations.choices import OPEN_REFERRAL_STATUSES
from integrations.models import PrimeroConnection

register = template.Library()


@register.inclusion_tag("integrations/_primero_link.html", takes_context=True)
def primero_send_link(context, referral) -> dict:
    user = context["request"].user
    show = (
        context.get("can_change", False)
        and user.has_perm("integrations.send_primero")
        and referral.status in OPEN_REFERRAL_STATUSES
        and PrimeroConnection.objects.filter(agency_id=referral.provider_id, is_active=True).exists()
    )
    return {"show": show, "referral": referral}
