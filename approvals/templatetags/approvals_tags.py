"""``{% pending_approvals as n %}``: how many requests await the user's decision (0 for non-approvers)."""

from __future__ import annotations

from django import template

from approvals.choices import Status
from approvals.models import ApprovalRequest

register = template.Library()


@register.simple_tag(takes_context=True)
def pending_approvals(context) -> int:
    user = getattr(context.get("request"), "user", None) or context.get("user")
    if user is None or not user.is_authenticated or not user.has_perm("approvals.approve"):
        return 0
    return (
        ApprovalRequest.objects.visible_to(user).live().filter(status=Status.PENDING).exclude(requested_by=user).count()
    )
