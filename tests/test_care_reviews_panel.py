"""The home page's "Risk reviews due" panel (issue #4) answers exactly what the rule says, for any mix of
victims and assessments: rewritten for speed (issue #11), it is checked here against the rule written out
the plain way (the latest assessment of every visible victim, looked up one by one)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from care.choices import RiskLevel
from care.models import RiskAssessment, victims_visible_to
from care.panels import CLOSED, REVIEW_SOON_DAYS, risk_reviews_due
from cases.choices import CaseStatus
from cases.models import CaseMember
from tests.base import BeaconTestCase
from tests.factories import add_suspect, add_victim, make_case


def reference(user, today, limit):
    latest = RiskAssessment.objects.filter(case_person=OuterRef("pk")).order_by("-assessed_on", "-id")
    victims = (
        victims_visible_to(user, "change")
        .exclude(case__status__in=CLOSED)
        .annotate(next_review=Subquery(latest.values("next_review_on")[:1]), level=Subquery(latest.values("level")[:1]))
        .filter(Q(next_review__isnull=True) | Q(next_review__lte=today + timedelta(days=REVIEW_SOON_DAYS)))
        .order_by(F("next_review").asc(nulls_first=True), "pk")[:limit]
    )
    return [(v.case.reference, v.pseudonym, v.next_review, v.level or "") for v in victims]


class RiskReviewsPanelTests(BeaconTestCase):
    def test_same_answer_as_the_rule_for_a_varied_unit(self):
        rng = random.Random(11)
        today = timezone.localdate()
        levels = list(RiskLevel.values)
        for n in range(14):
            owner = self.care if n % 3 else self.investigator2
            case = make_case(owner=owner, status=CaseStatus.CLOSED if n % 7 == 6 else CaseStatus.ACTIVE)
            if owner == self.investigator2:
                CaseMember.objects.create(case=case, user=self.care, role="care")
            add_suspect(case)
            for _v in range(rng.randint(1, 3)):
                link = add_victim(case)
                for _a in range(rng.choice((0, 0, 1, 2, 3))):
                    assessed = today - timedelta(days=rng.choice((0, 3, 3, 20, 40, 90)))
                    RiskAssessment.objects.create(
                        case_person=link, recorded_by=self.care, level=rng.choice(levels), factors="x",
                        assessed_on=assessed, next_review_on=assessed + timedelta(days=rng.choice((1, 5, 10, 30, 60))),
                    )  # fmt: skip
        seen_never = seen_due = False
        for name in ("director", "care", "investigator2", "investigator", "shelter"):
            user = self.users[name]
            for limit in (1, 3, 5, 10, 100):
                got = [(r["reference"], r["pseudonym"], r["next_review"], r["level"]) for r in risk_reviews_due(user, today, limit)]
                want = [(ref, ps, nr, str(RiskLevel(lv).label) if lv else "") for ref, ps, nr, lv in reference(user, today, limit)]
                self.assertEqual(got, want, (name, limit))
                seen_never |= any(r[2] is None for r in got)
                seen_due |= any(r[2] is not None for r in got)
        # The data exercised both halves: never assessed and due, cut by the limit in between.
        self.assertTrue(seen_never and seen_due)
        self.assertGreater(len(reference(self.director, today, 100)), 10)

    def test_same_day_assessments_the_later_record_counts(self):
        today = timezone.localdate()
        link = add_victim(make_case(owner=self.care))
        for level, review in (("high", today - timedelta(days=1)), ("low", today + timedelta(days=90))):
            RiskAssessment.objects.create(case_person=link, recorded_by=self.care, level=level, factors="x",
                                          assessed_on=today, next_review_on=review)  # fmt: skip
        self.assertEqual(risk_reviews_due(self.care, today), [])
        RiskAssessment.objects.create(case_person=link, recorded_by=self.care, level="medium", factors="x",
                                      assessed_on=today, next_review_on=today)  # fmt: skip
        self.assertEqual([r["next_review"] for r in risk_reviews_due(self.care, today)], [today])
        self.assertEqual(reference(self.care, today, 10)[0][2], today)
