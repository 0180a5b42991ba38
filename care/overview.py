"""Read-side helpers of the care pages and panels: what each victim's overview shows (issue #4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from care.choices import NEED_CLOSED, RISK_BADGE, ActionStatus, AgeResult, GoalStatus, NeedPriority
from care.models import CarePlan, Need, PlanGoal

PRIORITY_RANK = {NeedPriority.URGENT: 0, NeedPriority.HIGH: 1, NeedPriority.MEDIUM: 2, NeedPriority.LOW: 3}

# A permit this close to expiry is shown as urgent on the overview (the alert itself goes at 30 days).
PERMIT_URGENT_DAYS = 7


def risk_badge(level: str) -> str:
    return RISK_BADGE.get(level, "text-bg-secondary")


def is_child(person, age_assessments: list, today: date) -> bool:
    """Whether the child safeguarding section applies: under 18 by the person record or by the latest age
    assessment. When the age is unknown and no assessment found an adult, the person is treated as a child
    until assessed (presumption of minority, UNICEF guidelines on child victims of trafficking)."""
    age = person.age_on(today)
    latest = age_assessments[0] if age_assessments else None
    if age is not None and age < 18:
        return True
    if latest is not None and latest.result in {AgeResult.UNDER_18, AgeResult.UNDETERMINED}:
        return True
    return age is None and latest is None


@dataclass
class GoalView:
    goal: PlanGoal
    actions: list
    done: int
    total: int

    @property
    def percent(self) -> int:
        if self.goal.status == GoalStatus.ACHIEVED:
            return 100
        return round(100 * self.done / self.total) if self.total else 0


@dataclass
class PlanView:
    plan: CarePlan
    goals: list[GoalView] = field(default_factory=list)

    @property
    def achieved(self) -> int:
        return sum(1 for g in self.goals if g.goal.status == GoalStatus.ACHIEVED)

    @property
    def counted(self) -> int:
        return sum(1 for g in self.goals if g.goal.status != GoalStatus.DROPPED)

    @property
    def percent(self) -> int:
        return round(100 * self.achieved / self.counted) if self.counted else 0


def plan_views(plans) -> list[PlanView]:
    result = []
    for plan in plans:
        view = PlanView(plan)
        for goal in plan.goals.all():
            actions = list(goal.actions.all())
            counted = [a for a in actions if a.status != ActionStatus.CANCELLED]
            view.goals.append(
                GoalView(goal, actions, sum(1 for a in counted if a.status == ActionStatus.DONE), len(counted))
            )
        result.append(view)
    return result


def sorted_needs(needs: list[Need]) -> list[Need]:
    return sorted(
        needs, key=lambda n: (n.status in NEED_CLOSED, PRIORITY_RANK.get(n.priority, 9), n.identified_on, n.pk)
    )


def victim_overview(link, today: date) -> dict:
    """Everything the care page shows about one victim (``link`` is a visible victim ``CasePerson``)."""
    risks = list(link.risk_assessments.select_related("recorded_by"))
    ages = list(link.age_assessments.select_related("recorded_by"))
    documents = list(link.immigration_documents.select_related("recorded_by"))
    for document in documents:
        document.days = document.days_left(today)
        document.days_ago = -document.days if document.days is not None and document.days < 0 else None
        document.urgent = document.is_current and document.days is not None and document.days <= PERMIT_URGENT_DAYS
        document.soon = document.is_current and document.days is not None and document.days <= 30
    plans = link.care_plans.select_related("recorded_by").prefetch_related("goals__actions__owner")
    notifications = list(link.authority_notifications.select_related("notified_by"))
    child = is_child(link.person, ages, today)
    return {
        "link": link,
        "age": link.person.age_on(today),
        "is_child": child,
        "needs": sorted_needs(list(link.care_needs.select_related("recorded_by"))),
        "risk": risks[0] if risks else None,
        "risk_history": risks[1:],
        "risk_badge": risk_badge(risks[0].level) if risks else "",
        "plans": plan_views(plans),
        "services": list(link.services_received.select_related("provider", "recorded_by")),
        "status": link.immigration_statuses.first(),
        "documents": documents,
        "guardians": list(link.guardians.select_related("recorded_by")) if child else [],
        "notifications": notifications if child else [],
        "age_assessments": ages,
        "authority_missing": child and not notifications,
        "consents": list(link.consents.select_related("agency", "recorded_by", "withdrawal_recorded_by")),
    }
