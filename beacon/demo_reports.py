"""Fictional reports at every stage of the route (issue #3). Every name, place and story is invented."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from intake import actions as intake
from screening import actions as screening


def seed_reports(users: dict) -> int:
    from intake.models import Report

    if Report.objects.exists():
        return 0
    now = timezone.now()
    hoi, director, inv, inv2, officer = users["hoi"], users["director"], users["investigator"], users["investigator2"], users["intake"]

    def report(days_ago: float, **fields):
        defaults = {"channel": "hotline", "received_at": now - timedelta(days=days_ago)}
        return intake.create_report(actor=officer, **{**defaults, **fields})

    def refresh(r):
        r.refresh_from_db()
        return r

    created = 0
    # 1. Received through the public form, nobody has looked yet.
    intake.create_public_report(
        narrative="Una joven venezolana trabaja en un bar de San Fernando; el dueño guarda su pasaporte y no la deja salir.",
        victim_count=1, victim_sex="female", victim_age_group="adult", victim_nationality="Venezuelan", victim_language="Spanish",
        exploitation=["sexual"], location_text="Bar near the San Fernando waterfront (fictional)",
    )  # fmt: skip
    created += 1
    # 2. Received, a child involved: urgent alerts went to the Director and the Head of Investigations.
    report(0.1, narrative="Teacher worried about a 14-year-old pupil seen selling goods late at night for an adult (fictional).",
           child_involved=True, victim_age_group="child", victim_sex="male", urgency="urgent", exploitation=["begging"],
           reporter_name="Ms. Demo Teacher", reporter_phone="+1 868 555 0101", reporter_relationship="professional",
           location_text="Arima market (fictional)", latitude="10.6370", longitude="-61.2820")  # fmt: skip
    created += 1
    # 3. Triaged, waiting for an investigator.
    r = report(1, narrative="Labour inspector found 8 workers on a farm sleeping in a container, wages withheld (fictional).",
               channel="agency_referral", referring_other="Labour Inspectorate field team", victim_count=8, victim_sex="male",
               victim_age_group="adult", exploitation=["forced_labour"], location_text="Farm off the Caroni Savannah Road (fictional)",
               latitude="10.5870", longitude="-61.3900")  # fmt: skip
    intake.triage_report(r, actor=hoi, version=r.version, priority=2)
    created += 1
    # 4. Assigned, acknowledgement overdue.
    r = report(2, narrative="Caller says her sister's employer in Port of Spain took her documents and locks her in (fictional).",
               victim_count=1, victim_sex="female", victim_age_group="adult", exploitation=["domestic_servitude"],
               reporter_phone="+1 868 555 0199", named_persons="Ana Lucia Gomez (fictional)")  # fmt: skip
    intake.triage_report(r, actor=hoi, version=r.version, priority=2)
    r = refresh(r)
    intake.assign_report(r, actor=hoi, version=r.version, investigator=inv2)
    Report.objects.filter(pk=r.pk).update(ack_due_at=now - timedelta(hours=3), assigned_at=now - timedelta(hours=27))
    created += 1
    # 5. Under screening (acknowledged), with a possible duplicate (same phone number as #4).
    r = report(3, narrative="Follow-up call: the same caller adds that there are two other women in the house (fictional).",
               reporter_phone="868-555-0199", named_persons="Gomez, Ana Lucía", victim_count=3, victim_sex="female",
               victim_age_group="adult", exploitation=["domestic_servitude"])  # fmt: skip
    intake.assign_report(r, actor=hoi, version=r.version, investigator=inv)
    r = refresh(r)
    intake.acknowledge_report(r, actor=inv, version=r.version)
    created += 1
    # 6. Screened, awaiting the authorised officer's decision.
    r = report(6, narrative="Walk-in: man recruited in Guyana for construction work, debt of US$2,000 for travel, no pay (fictional).",
               channel="walk_in", victim_count=1, victim_sex="male", victim_age_group="adult", exploitation=["forced_labour"])  # fmt: skip
    intake.assign_report(r, actor=hoi, version=r.version, investigator=inv)
    r = refresh(r)
    intake.acknowledge_report(r, actor=inv, version=r.version)
    r = refresh(r)
    screening.record_screening(r, actor=inv, version=r.version, person_label="Victim A", person_age=34, age_basis="document",
                               answers={"recruitment": True, "transportation": True, "debt_bondage": True, "forced_labour": True},
                               evidence={"recruitment": "Offer through a cousin (fictional)", "transportation": "Flown in by the recruiter",
                                         "debt_bondage": "Travel debt deducted from non-existent wages", "forced_labour": "12-hour days unpaid"})  # fmt: skip
    created += 1
    # 7. Decided: not trafficking.
    r = report(12, narrative="Dispute between a shop owner and a former employee about final pay (fictional).", victim_count=1,
               victim_sex="female", victim_age_group="adult", exploitation=["unknown"])  # fmt: skip
    intake.assign_report(r, actor=hoi, version=r.version, investigator=inv2)
    r = refresh(r)
    intake.acknowledge_report(r, actor=inv2, version=r.version)
    r = refresh(r)
    s = screening.record_screening(r, actor=inv2, version=r.version, person_label="Person A", person_age=41, age_basis="stated", answers={}, evidence={})
    r = refresh(r)
    screening.record_decision(s, actor=hoi, version=r.version, outcome="not_trafficking", rationale="Labour dispute, referred to the Labour Inspectorate (fictional).", deciding_org="NonPoliceGovernmentalOrganization")
    created += 1
    # 8 and 9. Cases opened: an identified child victim and a possible adult victim.
    for days, label, age, answers, evidence, outcome in (
        (20, "Victim B", 16, {"recruitment": True, "harbouring": True, "sexual": True},
         {"recruitment": "Contacted on social media (fictional)", "harbouring": "Kept in a guest house", "sexual": "Made to see clients"}, "victim_identified"),
        (30, "Victim C", 27, {"recruitment": True, "deception": True},
         {"recruitment": "Job offer as a nanny (fictional)", "deception": "Pay and hours misrepresented"}, "possible_victim"),
    ):  # fmt: skip
        r = report(days, narrative=f"Police referral concerning {label} (fictional).", channel="agency_referral",
                   referring_other="TTPS Child Protection Unit" if age < 18 else "TTPS Western Division", victim_count=1,
                   victim_sex="female", victim_age_group="child" if age < 18 else "adult", child_involved=age < 18,
                   exploitation=["sexual"] if age < 18 else ["domestic_servitude"])  # fmt: skip
        intake.triage_report(r, actor=hoi, version=r.version, priority=1)
        r = refresh(r)
        intake.assign_report(r, actor=hoi, version=r.version, investigator=inv)
        r = refresh(r)
        intake.acknowledge_report(r, actor=inv, version=r.version)
        r = refresh(r)
        s = screening.record_screening(r, actor=inv, version=r.version, person_label=label, person_age=age, age_basis="estimated", answers=answers, evidence=evidence)
        r = refresh(r)
        screening.record_decision(s, actor=director if age < 18 else hoi, version=r.version, outcome=outcome, rationale="Screening and interview support this decision (fictional).", deciding_org="NonPoliceGovernmentalOrganization")
        created += 1
    # 10. Closed without a case.
    r = report(15, narrative="Anonymous caller could not give any location or name; no follow-up possible (fictional).")
    intake.close_report(r, actor=hoi, version=r.version, reason="No actionable information after two call-backs.")
    created += 1
    return created


def seed_case_records(users: dict) -> int:
    """Fill the demo cases (issue #4): fictional identities, a suspect linked across both cases by the same
    phone number, places, notes, a care officer on the team. Runs once: skipped when any person has a name."""
    from datetime import date

    from cases import actions as cases
    from cases.models import Case, Person

    if Person.objects.exclude(given_names="").exists():
        return 0
    demo_cases = list(Case.objects.order_by("opened_at"))
    if len(demo_cases) < 2:
        return 0
    from directory.models import Agency

    inv, care, hoi = users["investigator"], users["care"], users["hoi"]
    shelter = Agency.objects.filter(kind="shelter").order_by("name").last()
    created = 0
    victims = [
        ("María José", "Pérez Rondón", "2009-03-14", ["VE"], ["spa"], True, "Majo", "passport", "VE-A1234567"),
        ("Luisa Fernanda", "Gómez Arias", "1997-08-02", ["VE"], ["spa"], True, "Lulu", "national_id", "V-20.345.678"),
    ]
    suspect_phone = "+1 868 555 0177"
    for case, (given, family, born, nat, lang, interp, alias, doc_type, doc) in zip(demo_cases[-2:], victims, strict=False):  # noqa: B007
        link = case.persons.filter(role="victim").first()
        cases.update_person(link, actor=hoi, version=link.person.version, given_names=given, family_names=family, birth_date=born,
                            age_estimation="document", sex="female", gender="Feminine", nationalities=nat, languages=lang,
                            interpreter_needed=interp)  # fmt: skip
        cases.add_alias(link, actor=hoi, name=alias)
        cases.add_identifier(actor=hoi, case=case, link=link, kind="id_document", document_type=doc_type, value=doc, country=nat[0])
        profile = link.victim_profile
        cases.update_profile(link, actor=hoi, version=profile.version, recruitment_methods=["ThroughOnlineSocialNetworks"],
                             recruitment_websites=["Facebook", "WhatsApp"], methods_of_control=["WithholdsDocuments", "DebtBondage", "PhysicalThreats"],
                             relationship_to_trafficker="Unaquainted", vulnerabilities=["Migration", "Poverty"])  # fmt: skip
        cases.add_team_member(case, actor=hoi, user=care, role="care")
        suspect = cases.add_person(case, actor=hoi, role="suspect", pseudonym="Suspect 1", given_names="Rudolfo", family_names="Quintero Demo", sex="male", gender="Masculine", nationalities=["TT"])
        cases.add_identifier(actor=hoi, case=case, link=suspect, kind="phone", value=suspect_phone)
        cases.add_identifier(actor=hoi, case=case, kind="vehicle", value="PCX 1234 (fictional)")
        cases.add_place(case, actor=hoi, kind="Recruitment", description="Contacted on social media while in Maturín (fictional)", city="Maturín", country="VE", date_from=date(2026, 6, 1))
        cases.add_place(case, actor=hoi, kind="Exploitation", description="Guest house near the waterfront (fictional)", city="San Fernando", country="TT",
                        latitude="10.2797", longitude="-61.4589", date_from=date(2026, 7, 15), date_to=date(2026, 10, 20))  # fmt: skip
        cases.add_note(case, actor=inv, text="Interview held with a Spanish interpreter; survivor in shelter (fictional).")
        _seed_care(link, care_officer=care, shelter=shelter)
        created += 4
    return created


def _seed_care(link, *, care_officer, shelter) -> None:
    """Needs, risk, a care plan, services, a permit that expires soon and consent for one demo victim."""
    from datetime import timedelta

    from care import actions as care

    today = timezone.localdate()
    care.add_need(link, actor=care_officer, need_type="shelter", priority="urgent", status="met", identified_on=today - timedelta(days=20), notes="Placed the same day (fictional).")
    care.add_need(link, actor=care_officer, need_type="mhpss", priority="high", status="in_progress", identified_on=today - timedelta(days=20))
    care.add_need(link, actor=care_officer, need_type="legal_aid", priority="medium", status="identified", identified_on=today - timedelta(days=5))
    care.record_risk_assessment(link, actor=care_officer, level="high", factors="Trafficker knows the survivor's family address (fictional).", assessed_on=today - timedelta(days=10))
    plan = care.add_plan(link, actor=care_officer, kind="care", plan_type="SocialCare", objectives="Safety, health and stable accommodation (fictional).", start_on=today - timedelta(days=18), planned_end_date=today + timedelta(days=90))
    goal = care.add_goal(plan, actor=care_officer, description="Weekly counselling sessions", due_on=today + timedelta(days=60), status="open")
    care.add_plan_action(goal, actor=care_officer, description="Book a Spanish-speaking counsellor", owner=care_officer, due_on=today + timedelta(days=7), status="todo")
    care.record_service(link, actor=care_officer, service_type="accommodation", delivered_on=today - timedelta(days=20), provider=shelter, outcome="Stay ongoing (fictional).")
    care.record_service(link, actor=care_officer, service_type="counselling", delivered_on=today - timedelta(days=7), provider_other="Pathways Counselling Centre (fictional)", outcome="First session held.")
    care.record_immigration_status(link, actor=care_officer, status="ministers_permit", as_of=today - timedelta(days=15))
    care.add_document(link, actor=care_officer, kind="ministers_permit", number="MP-2026-0042 (fictional)", issued_on=today - timedelta(days=15), expires_on=today + timedelta(days=25), is_current=True)
    care.record_consent(link, actor=care_officer, purpose="services", given_on=today - timedelta(days=19), method="written", interpreter_used=True, interpreter_language="spa")
    care.record_consent(link, actor=care_officer, purpose="sharing", agency=shelter, given_on=today - timedelta(days=19), method="written", interpreter_used=True, interpreter_language="spa")
