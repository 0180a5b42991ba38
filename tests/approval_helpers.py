"""Getting a second person's approval in tests of the gated flows (issue #10)."""

from __future__ import annotations

from approvals import actions as approvals
from approvals.models import ApprovalRequest


def approve(kind: str, *, requester, approver, reason: str = "Needed for the case.", **target) -> ApprovalRequest:
    """``requester`` asks, ``approver`` approves; returns the approved request, ready to be used once."""
    item = approvals.request_approval(kind, actor=requester, reason=reason, **target)
    return approvals.approve(item, actor=approver, version=item.version, note="Agreed.")
