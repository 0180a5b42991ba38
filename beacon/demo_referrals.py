"""Fictional referrals at every stage (issue #5), from the demo cases' two named survivors to the demo
shelters, with a few messages and services. Every name and story is invented. Called by ``seed_demo`` after
``seed_case_records``; runs once (skipped when any referral exists)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone


def seed_referrals(users: dict) -> int:
    from care import actions as care_actions
    from care.consent import has_consent
    from cases.models import CasePerson
    from directory.models import Agency
    from referrals import actions as r
    from referrals.models import Referral

    if Referral.objects.exists():
        return 0
    victims = list(
        CasePerson.objects.filter(role="victim")
        .exclude(person__given_names="")
        .select_related("person")
        .order_by("case__opened_at", "pk")
    )[-2:]
    safe_harbour = Agency.objects.filter(short_name="Safe Harbour").first()
    blue_basin = Agency.objects.filter(short_name="Blue Basin").first()
    care, hoi, shelter, refuge = (users.get(n) for n in ("care", "hoi", "shelter", "refuge"))
    if len(victims) < 2 or not all((safe_harbour, blue_basin, care, hoi, shelter, refuge)):
        return 0
    # The demo's shelters take referrals (the directory's own seed may already have said so).
    Agency.objects.filter(pk__in=[safe_harbour.pk, blue_basin.pk], authorised_for_referrals=False).update(
        authorised_for_referrals=True
    )
    safe_harbour.refresh_from_db()
    blue_basin.refresh_from_db()
    majo, lulu = victims
    today = timezone.localdate()
    for link in (
        victims
    ):  # seed_case_records recorded consent to share with the last shelter by name; make sure of Safe Harbour
        if not has_consent(link.pk, "sharing", agency=safe_harbour):
            care_actions.record_consent(
                link,
                actor=care,
                purpose="sharing",
                agency=safe_harbour,
                given_on=today - timedelta(days=19),
                method="written",
            )
    minimum = ["name", "age", "sex", "languages", "safety_notes"]
    now = timezone.now()

    def refer(
        link,
        needs,
        urgency,
        *,
        provider=safe_harbour,
        send=True,
        actor=care,
        override="",
        extra=(),
        notes="Speaks Spanish; an interpreter is arranged (fictional).",
    ):
        alias = link.person.aliases.order_by("pk").first()
        referral = r.create_referral(link, actor=actor, provider=provider, needs=needs, urgency=urgency, shared_fields=minimum + list(extra),
                                     shared_name=alias.name if alias else "", safety_notes=notes)  # fmt: skip
        if send and override:  # issue #10: the override needs a second person's approval first
            from approvals import actions as approvals

            item = r.request_consent_override(referral, actor=actor, reason=override)
            approvals.approve(item, actor=users["director"], version=item.version, note="Agreed (fictional).")
        if send:
            referral = r.send_referral(referral, actor=actor, version=referral.version, override_reason=override)
        return referral

    def fresh(referral):
        return Referral.objects.get(pk=referral.pk)

    def backdate(referral, hours: float, **stamps):
        """Move the referral's times into the past, so targets and statistics look lived-in."""
        base = now - timedelta(hours=hours)
        Referral.objects.filter(pk=referral.pk).update(
            sent_at=base, **{k: base + timedelta(hours=v) for k, v in stamps.items()}
        )
        referral.events.update(at=base)

    created = 0
    # 1. Completed: shelter placement, with messages, a service and an outcome.
    x = refer(majo, ["shelter"], "urgent", extra=["nationality"])
    x = r.acknowledge_referral(x, actor=shelter, version=x.version)
    x = r.accept_referral(x, actor=shelter, version=x.version, note="A bed is ready tonight (fictional).")
    r.post_message(x, actor=care, text="We will arrive around 18:00 with an officer (fictional).")
    r.post_message(x, actor=shelter, text="Understood. Please use the side entrance (fictional).")
    r.record_service(
        fresh(x),
        actor=shelter,
        service_type="accommodation",
        delivered_on=today - timedelta(days=19),
        details="Single room (fictional).",
        outcome="Settled in well.",
    )
    x = fresh(x)
    x = r.complete_referral(
        x, actor=shelter, version=x.version, outcome="Moved to a transitional home with family support (fictional)."
    )
    backdate(x, 24 * 20, acknowledged_at=0.5, accepted_at=1.5, started_at=3, completed_at=24 * 18)
    created += 1
    # 2. In progress: counselling at the shelter, with an update.
    x = refer(majo, ["mhpss"], "priority")
    x = r.accept_referral(x, actor=shelter, version=x.version)
    r.record_service(
        fresh(x),
        actor=shelter,
        service_type="counselling",
        delivered_on=today - timedelta(days=3),
        outcome="First session held (fictional).",
    )
    r.post_update(fresh(x), actor=shelter, text="Weekly sessions booked on Tuesdays (fictional).")
    backdate(x, 24 * 6, acknowledged_at=2, accepted_at=2, started_at=24 * 3)
    created += 1
    # 3. Accepted, services not started yet.
    x = refer(lulu, ["food_nfi"], "routine")
    x = r.accept_referral(x, actor=shelter, version=x.version)
    backdate(x, 30, acknowledged_at=4, accepted_at=10)
    created += 1
    # 4. Acknowledged, waiting for an answer.
    x = refer(lulu, ["documentation"], "priority")
    x = r.acknowledge_referral(x, actor=shelter, version=x.version)
    backdate(x, 6, acknowledged_at=1)
    created += 1
    # 5. Sent, acknowledgement overdue (routine: 24 h): shows on the overdue panel.
    x = refer(lulu, ["mhpss"], "routine")
    backdate(x, 30)
    r.post_message(fresh(x), actor=care, text="Could you confirm you received this referral? (fictional)")
    created += 1
    # 6. Sent to Blue Basin without recorded consent (override by the Head of Investigations), then declined.
    x = refer(
        lulu,
        ["shelter"],
        "urgent",
        provider=blue_basin,
        actor=hoi,
        override="Safe Harbour full; survivor at risk tonight (fictional).",
    )
    x = r.decline_referral(x, actor=refuge, version=x.version, reason="No bed free this week (fictional).")
    backdate(x, 24 * 9, acknowledged_at=1, declined_at=1)
    created += 1
    # 7. Withdrawn by the unit.
    x = refer(majo, ["legal_aid"], "routine")
    r.withdraw_referral(
        x,
        actor=care,
        version=x.version,
        reason="Legal aid arranged through the Legal Aid Authority instead (fictional).",
    )
    created += 1
    # 8. A draft, not yet shared with anyone.
    refer(majo, ["vocational", "education"], "routine", send=False)
    created += 1
    return created
