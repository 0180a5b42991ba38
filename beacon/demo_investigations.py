"""Fictional investigation and prosecution records for the demo cases (issue #6). Every name, place, court
number and story is invented; all records go through the named actions in investigations/actions.py."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

# A minimal, fictional PDF (recognised as application/pdf by its first bytes).
DEMO_PDF = (
    b"%PDF-1.4\n% Fictional demo exhibit: WhatsApp chat export (fictional)\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def _at(day, hour: int = 10):
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def seed_investigations(users: dict) -> int:
    """Fill the two demo cases with investigation records. Runs once: skipped (returns 0) when any
    investigation record already exists for those cases. Returns the number of records created."""
    from cases.models import Case
    from investigations import actions as inv_actions
    from investigations.models import (
        Arrest,
        Charge,
        CourtCase,
        Evidence,
        LogEntry,
        MLARequest,
        Task,
    )

    demo_cases = list(Case.objects.order_by("opened_at"))
    if not demo_cases:
        return 0
    targets = demo_cases[-2:]
    if (
        any(
            model.objects.filter(case__in=targets).exists()
            for model in (LogEntry, Task, Evidence, MLARequest, CourtCase, Charge)
        )
        or Arrest.objects.filter(suspect__case__in=targets).exists()
    ):
        return 0

    inv, hoi = users["investigator"], users["hoi"]
    today = timezone.localdate()
    created = 0

    with transaction.atomic():
        case = targets[-1]
        victim = case.persons.filter(role="victim").order_by("pk").first()
        suspect = case.persons.filter(role="suspect", pseudonym="Suspect 1").order_by("pk").first()
        if suspect is None:
            suspect = case.persons.filter(role="suspect").order_by("pk").first()

        # The investigation log.
        inv_actions.log_action(
            case, actor=inv, officers=[inv], kind="interview", occurred_on=today - timedelta(days=18),
            title="Interview of the survivor (fictional)", interviewee=victim, interpreter_used=True,
            interpreter_language="Spanish",
            outcome="Survivor described recruitment through social media and being kept at a guest house (fictional).",
        )  # fmt: skip
        inv_actions.log_action(
            case, actor=inv, officers=[inv, hoi], kind="search", occurred_on=today - timedelta(days=14),
            title="Search of the guest house in San Fernando (fictional)",
            outcome="Warrant executed; the survivor's passport and a ledger were found in the office (fictional).",
        )  # fmt: skip
        created += 2
        inv_actions.add_task(
            case, actor=inv, title="Obtain the guest house's booking records (fictional)", owner=inv,
            due_on=today + timedelta(days=10),
        )  # fmt: skip
        created += 1

        # The suspect: arrested, then released on bail.
        if suspect is not None:
            inv_actions.record_arrest(
                suspect, actor=inv, arrested_on=today - timedelta(days=14),
                place="Guest house near the San Fernando waterfront (fictional)", arrested_by="PC Demo Officer (fictional)",
            )  # fmt: skip
            inv_actions.record_bail(
                suspect, actor=inv, granted_on=today - timedelta(days=12),
                terms="TTD 50,000 surety; report weekly to San Fernando station; no contact with witnesses (fictional).",
            )  # fmt: skip
            created += 2

        # Evidence: a physical exhibit and a digital one, with one acknowledged hand-over.
        passport = inv_actions.register_evidence(
            case, actor=inv, item="Passport of the survivor (fictional)",
            description="Venezuelan passport held by the suspect (fictional).",
            found_at="Office drawer at the guest house, San Fernando (fictional)", seized_by=inv,
            seized_at=_at(today - timedelta(days=14), 11), storage_location="Exhibit store, locker 3 (fictional)",
        )  # fmt: skip
        inv_actions.register_evidence(
            case, actor=inv, item="Chat export from the suspect's phone (fictional)",
            description="PDF export of messages arranging the survivor's travel (fictional).",
            found_at="Suspect's phone, seized on arrest (fictional)", seized_by=inv,
            seized_at=_at(today - timedelta(days=14), 12), storage_location="Digital evidence store (fictional)",
            upload=SimpleUploadedFile("chat-export.pdf", DEMO_PDF, content_type="application/pdf"),
        )  # fmt: skip
        created += 2
        transfer = inv_actions.hand_over_evidence(
            passport, actor=inv, to_user=hoi, reason="For verification with the Immigration Division (fictional).",
            handed_at=_at(today - timedelta(days=10), 9),
        )  # fmt: skip
        inv_actions.acknowledge_receipt(transfer, actor=hoi)
        created += 1

        # Mutual legal assistance.
        inv_actions.add_mla_request(
            case, actor=inv, country="VE", authority="Ministerio Público, Venezuela (fictional)",
            request="Records of the recruiter's accounts and travel bookings from Maturín (fictional).",
            legal_basis="Inter-American Convention on Mutual Assistance in Criminal Matters",
            sent_on=today - timedelta(days=9), status="sent",
        )  # fmt: skip
        created += 1

        # Prosecution.
        court_case = inv_actions.open_court_case(
            case, actor=inv, court="San Fernando Magistrates' Court (fictional)", number="SF-2026-0173 (fictional)",
            prosecutor="State Attorney Demo (fictional)",
        )  # fmt: skip
        created += 1
        if suspect is not None:
            inv_actions.lay_charge(
                suspect, actor=inv, court_case=court_case, offence="Trafficking in persons (fictional)",
                statute="Trafficking in Persons Act 2011, s.16", laid_on=today - timedelta(days=13),
                prosecutor="State Attorney Demo (fictional)",
            )  # fmt: skip
            created += 1
        inv_actions.schedule_hearing(
            court_case, actor=inv, starts_at=_at(today - timedelta(days=12), 9), purpose="First appearance (fictional)",
            outcome="Bail granted with conditions; matter adjourned (fictional).",
        )  # fmt: skip
        inv_actions.schedule_hearing(
            court_case,
            actor=inv,
            starts_at=_at(today + timedelta(days=5), 9),
            purpose="Preliminary enquiry (fictional)",
        )
        created += 2
        inv_actions.record_court_order(
            case, actor=inv, court_case=court_case, kind="protection",
            terms="The accused shall not approach or contact the survivor (fictional).",
            made_on=today - timedelta(days=12), expires_on=today + timedelta(days=60),
        )  # fmt: skip
        created += 1
        if victim is not None:
            inv_actions.record_participation(
                victim, actor=inv, agreed="yes", agreed_on=today - timedelta(days=11),
                support="Care officer and Spanish interpreter accompany the survivor (fictional).",
                special_measures=["screen"],
            )  # fmt: skip
            created += 1

        # The other case: one log entry and one task.
        if len(targets) == 2:
            other = targets[0]
            inv_actions.log_action(
                other, actor=inv, officers=[inv], kind="interview", occurred_on=today - timedelta(days=25),
                title="Interview of the employer's neighbour (fictional)",
                outcome="Neighbour confirmed the survivor was never seen leaving the house alone (fictional).",
            )  # fmt: skip
            inv_actions.add_task(
                other, actor=inv, title="Request the employer's immigration records (fictional)", owner=inv,
                due_on=today + timedelta(days=14),
            )  # fmt: skip
            created += 2
    return created
