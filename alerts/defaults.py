"""The unit's SOP as default alert rules (issue #3). Loaded by a data migration; administrators edit them."""

DEFAULT_RULES = [
    {"event": "report.created", "target_roles": ["director", "head_of_investigations"]},
    {"event": "report.child", "target_roles": ["director", "head_of_investigations"], "urgent": True, "escalate_after_minutes": 60, "escalate_to_roles": ["deputy_director"]},
    {"event": "report.immediate_danger", "target_roles": ["director", "head_of_investigations"], "urgent": True, "escalate_after_minutes": 30, "escalate_to_roles": ["deputy_director"]},
    {"event": "report.assigned", "target_assignee": True},
    {"event": "report.ack_overdue", "target_roles": ["head_of_investigations"], "target_assignee": True, "urgent": True, "escalate_after_minutes": 120, "escalate_to_roles": ["director"]},
    {"event": "report.screening_overdue", "target_roles": ["head_of_investigations"], "target_assignee": True},
    {"event": "decision.recorded", "target_roles": ["director", "head_of_investigations"], "target_assignee": True},
    {"event": "case.opened", "target_roles": ["director", "head_of_investigations"], "target_assignee": True},
    {"event": "case.break_glass", "target_roles": ["director"], "urgent": True},
    {"event": "care.permit_expiring", "target_assignee": True, "target_roles": ["head_of_investigations"]},
]
