"""What happens to a case after it is opened, for the benchmark's realistic cases (issue #11).

``bench/cases.py`` adds the realistic cases (report, screening, decision, case, owner, 1 to 8 people); this
module adds, per case, the records a working unit accumulates, in proportions taken from the brief of issue
#11 (a case of a few people, followed for months):

- a victim or suspect profile for every victim or suspect link (as ``cases.actions.add_person`` creates
  them), with the derived columns ``exploitation_form`` and ``detected_on`` set through ``derive``;
- services delivered (``care.ServiceDelivery``): 70% of victims, 1 to 4 each;
- referrals: 60% of victims, 1 to 3 each, to one of 10 provider agencies, with their status history
  (``ReferralEvent``), 0 to 6 messages of the secure thread each (sent referrals only), and 1 or 2 services
  reported by the provider on referrals in progress or completed;
- an investigation on 40% of cases: 2 to 12 log entries (interviews name a person of the case), 0 to 5
  exhibits; a third of investigated cases with suspects go to court (court case, one charge per suspect,
  1 to 6 hearings);
- audit history: the rows the actions above write (same action codes, object and details as the real
  actions), plus reads: 3 to 40 case page views per case and a few care and investigation page views.
  The audit log is a keyed hash chain (``audit/chain.py``): the rows are chained here with
  ``audit.chain.compute_hash`` after the last row, under the same advisory lock as ``audit.log.record``,
  so ``audit.verify.verify_chain`` stays valid. Their ``at`` is historical (spread like the cases) while
  their ids follow the rows already there: the chain is ordered by id, never by time.

Encrypted fields go through the models (``bulk_create``: ``EncryptedTextField`` encrypts); creation dates
are historical (``auto_now``/``auto_now_add`` are lifted while writing). Cases are written in batches of
``batch`` cases, each in one transaction with the progress counter, so an interrupted run continues where it
stopped. Nothing here runs outside the benchmark database.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from bench.people import _state_get, _state_set

STATE_KEY = "records"
BATCH = 500
N_PROVIDERS = 10

# Proportions (see the module docstring); kept together so the document can quote them.
SHARE_VICTIMS_SERVICES = 0.70
SHARE_VICTIMS_REFERRED = 0.60
SHARE_CASES_INVESTIGATED = 0.40
SHARE_INVESTIGATED_TO_COURT = 1 / 3

TABLES = (
    "cases_victimprofile",
    "cases_suspectprofile",
    "care_servicedelivery",
    "referrals_referral",
    "referrals_referralevent",
    "referrals_referralmessage",
    "referrals_referralservice",
    "investigations_logentry",
    "investigations_logentry_officers",
    "investigations_evidence",
    "investigations_courtcase",
    "investigations_charge",
    "investigations_hearing",
    "audit_auditevent",
)

MESSAGES_UNIT = (
    "Can you confirm the appointment for Tuesday morning?",
    "She would prefer a female counsellor; is that possible?",
    "The interpreter is booked for the next session.",
    "Please call the safe contact only, never the shelter's main line.",
    "We will bring her documents to the intake meeting.",
    "Any update on the place at the shelter?",
    "Transport is arranged for the medical appointment.",
)
MESSAGES_PROVIDER = (
    "Received, we will call back today.",
    "Intake is scheduled for Thursday at 10:00.",
    "She attended the first session; next one in two weeks.",
    "We need a copy of the medical referral letter.",
    "A place is available from Monday.",
    "The legal aid clinic has taken the file.",
    "She asked to postpone to next week.",
)
SERVICE_DETAILS = (
    "Initial assessment and safety planning.",
    "Weekly counselling session.",
    "General medical check and follow-up.",
    "Legal advice on immigration status.",
    "Food and hygiene items.",
    "Interpretation during the statement.",
    "Vocational course enrolment.",
)
LOG_TITLES = {
    "interview": ("Interview of {p}", "Follow-up interview of {p}", "Statement taken from {p}"),
    "surveillance": ("Surveillance of the premises", "Observation of the bar at night"),
    "search": ("Search of the premises", "Search of the vehicle"),
    "operation": ("Joint operation with the police", "Rescue operation"),
    "request": ("Request for bank records", "Request to immigration for travel history"),
    "financial": ("Financial enquiry into transfers", "Analysis of remittances"),
    "other": ("Meeting with the prosecutor", "Site visit"),
}
LOG_KINDS = ("interview",) * 5 + ("surveillance", "search", "operation", "request", "financial", "other")
EXHIBITS = ("Mobile phone", "Passport", "Ledger", "Laptop", "Bank cards", "Work contract", "SIM cards", "Photos")
EXPLOITATION = (
    (["SexualExploitation"], 8),
    (["ForcedLabour"], 5),
    (["ForcedLabour", "SexualExploitation"], 1),
    (["ForcedBegging"], 1),
    (["ForcedMarriage"], 1),
    (["ChildLabour"], 1),
    ([], 3),
)
# Referral outcomes, with the steps each went through (statuses in order).
REFERRAL_PATHS = (
    ("completed", ("sent", "acknowledged", "accepted", "in_progress", "completed"), 40),
    ("in_progress", ("sent", "acknowledged", "accepted", "in_progress"), 20),
    ("accepted", ("sent", "acknowledged", "accepted"), 8),
    ("acknowledged", ("sent", "acknowledged"), 4),
    ("sent", ("sent",), 4),
    ("declined", ("sent", "acknowledged", "declined"), 12),
    ("withdrawn", ("sent", "withdrawn"), 6),
    ("draft", (), 6),
)
STAMP = {
    "sent": "sent_at",
    "acknowledged": "acknowledged_at",
    "accepted": "accepted_at",
    "declined": "declined_at",
    "in_progress": "started_at",
    "completed": "completed_at",
    "withdrawn": "withdrawn_at",
}
VERB = {  # status reached -> the action's name (audit code ``referrals.<verb>``) and the event's kind
    "sent": ("send", "sent"),
    "acknowledged": ("acknowledge", "acknowledged"),
    "accepted": ("accept", "accepted"),
    "declined": ("decline", "declined"),
    "in_progress": ("start", "started"),
    "completed": ("complete", "completed"),
    "withdrawn": ("withdraw", "withdrawn"),
}
SERVICE_TYPES = ("counselling", "medical", "accommodation", "legal_aid", "direct_assistance", "interpretation",
                 "vocational", "srh", "family_tracing")  # fmt: skip


# --- actors ----------------------------------------------------------------------------------------------


def _actors(out: Callable[[str], None]) -> dict:
    """The unit's users of the benchmark, a care officer, and 10 provider agencies with one staff member each."""
    from accounts.models import Role, User
    from directory.choices import AgencyKind, OrganisationType
    from directory.models import Agency

    setup = _state_get("setup")
    director = User.objects.get(pk=setup["director"])

    def user(name: str, role: str, agency):
        u = User.objects.filter(username=name).first()
        if u is None:
            u = User.objects.create_user(username=name, password=None, agency=agency, email=f"{name}@example.invalid")
            u.roles.set(Role.objects.filter(code=role))
        return u

    kinds = (AgencyKind.SHELTER, AgencyKind.NGO, AgencyKind.CLINIC, AgencyKind.LEGAL_AID, AgencyKind.NGO)
    providers, staff = [], {}
    for i in range(N_PROVIDERS):
        kind = kinds[i % len(kinds)]
        agency, _created = Agency.objects.get_or_create(
            name=f"Provider {i + 1} (bench)",
            defaults={"kind": kind, "org_type": OrganisationType.NGO, "authorised_for_referrals": True},
        )
        providers.append(agency.pk)
        staff[agency.pk] = user(f"bench_provider_{i + 1}", "service_provider_staff", agency).pk
    care = user("bench_care", "victim_care_officer", director.agency)
    users = {u.pk: u for u in User.objects.filter(pk__in=[*staff.values(), care.pk, *_unit_ids(setup)])}
    info = {
        pk: {
            "actor_id": pk,
            "actor_name": u.get_username(),
            "agency_id": u.agency_id,
            "agency_name": u.agency.name if u.agency_id else "",
            "roles": ",".join(sorted(u.role_codes)),
        }
        for pk, u in users.items()
    }
    out(f"records: {len(providers)} provider agencies, {len(info)} actors")
    return {"providers": providers, "staff": staff, "care": care.pk, "info": info, "hoi": _hoi(setup)}


def _unit_ids(setup: dict) -> list[int]:
    from django.db.models import Q

    from accounts.models import User

    names = ["bench_director", "bench_hoi", "bench_investigator", "bench_investigator2"]
    return list(
        User.objects.filter(Q(username__in=names) | Q(pk__in=[setup["director"], setup["investigator"]])).values_list(
            "pk", flat=True
        )
    )


def _hoi(setup: dict) -> int:
    from accounts.models import User

    return User.objects.filter(username="bench_hoi").values_list("pk", flat=True).first() or setup["director"]


@contextmanager
def historical_dates(*models) -> Iterator[None]:
    """Let ``bulk_create`` keep the dates we set (``auto_now``/``auto_now_add`` would write today)."""
    saved = []
    for model in models:
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, now, add in saved:
            f.auto_now, f.auto_now_add = now, add


# --- the audit chain -------------------------------------------------------------------------------------

AUDIT_COLUMNS = ("id", "at", "actor_id", "actor_name", "agency_id", "agency_name", "roles", "action", "object_type",
                 "object_id", "request_id", "client_ip", "changed_fields", "details", "prev_hash", "hash")  # fmt: skip


def write_audit(rows: list[dict]) -> int:
    """Append ``rows`` (dicts of ``audit.chain.HASHED_FIELDS``) to the chain, in order of time, after the last
    row; the caller's transaction holds the chain's advisory lock until it commits (as ``audit.log.record``)."""
    from audit.chain import compute_hash
    from audit.log import _PG_CHAIN_LOCK

    if not rows:
        return 0
    rows.sort(key=lambda r: r["at"])
    with connection.cursor() as c:
        c.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_CHAIN_LOCK])
        c.execute("SELECT hash FROM audit_auditevent ORDER BY id DESC LIMIT 1")
        last = c.fetchone()
        prev = last[0] if last else ""
        c.execute(
            "SELECT nextval(pg_get_serial_sequence('audit_auditevent', 'id')) FROM generate_series(1, %s)", [len(rows)]
        )
        ids = sorted(r[0] for r in c.fetchall())
        with c.cursor.copy(f"COPY audit_auditevent ({', '.join(AUDIT_COLUMNS)}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                digest = compute_hash(prev, row)
                copy.write_row(
                    (pk, row["at"], row["actor_id"], row["actor_name"], row["agency_id"], row["agency_name"],
                     row["roles"], row["action"], row["object_type"], row["object_id"], "", None,
                     json.dumps(row["changed_fields"]), json.dumps(row["details"]), prev, digest)
                )  # fmt: skip
                prev = digest
    return len(rows)


# --- one batch of cases ----------------------------------------------------------------------------------


class Batch:
    """Everything written for a batch of cases, then written table by table."""

    def __init__(self, rng: random.Random, actors: dict, now: datetime):
        self.rng = rng
        self.actors = actors
        self.now = now
        self.audit: list[dict] = []
        self.ids: dict[str, Iterator[int]] = {}

    def when(self, start: datetime, max_days: float) -> datetime:
        """A time after ``start`` within ``max_days`` (never in the future), with microseconds like now()."""
        at = start + timedelta(seconds=self.rng.uniform(60, max(120, max_days * 86400)))
        at = min(at, self.now - timedelta(seconds=self.rng.uniform(0, 3600)))
        return max(at, start)

    def row(self, action: str, actor: int, at: datetime, obj: tuple[str, int], *, fields=(), details=None) -> dict:
        """One audit row as ``audit.log.record`` builds it (no request: written outside one)."""
        return {
            "at": at.astimezone(UTC), **self.actors["info"][actor], "action": action, "object_type": obj[0],
            "object_id": str(obj[1]), "request_id": "", "client_ip": None,
            "changed_fields": sorted(set(fields)), "details": details or {},
        }  # fmt: skip

    def log(self, *args, **kwargs) -> None:
        self.audit.append(self.row(*args, **kwargs))

    def later(self, make: Callable[[], dict]) -> None:
        """An audit row naming a record's id, known once the record is written."""
        self.audit.append(make)


def _take_ids(table: str, n: int) -> Iterator[int]:
    if n == 0:
        return iter(())
    with connection.cursor() as c:
        c.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, %s)", [n])  # noqa: S608
        return iter(sorted(r[0] for r in c.fetchall()))


def write_batch(case_ids: list[int], rng: random.Random, actors: dict, now: datetime) -> Counter:
    from care.models import ServiceDelivery
    from cases.models import SuspectProfile, VictimProfile
    from investigations.models import Charge, CourtCase, Evidence, Hearing, LogEntry
    from referrals.models import Referral, ReferralEvent, ReferralMessage, ReferralService

    b = Batch(rng, actors, now)
    with connection.cursor() as c:
        c.execute(
            "SELECT id, owner_id, opened_at, report_id FROM cases_case WHERE id = ANY(%s) ORDER BY id", [case_ids]
        )
        cases = c.fetchall()
        c.execute(
            "SELECT cp.id, cp.case_id, cp.role, cp.pseudonym, v.id IS NOT NULL, s.id IS NOT NULL FROM cases_caseperson cp "
            "LEFT JOIN cases_victimprofile v ON v.case_person_id = cp.id "
            "LEFT JOIN cases_suspectprofile s ON s.case_person_id = cp.id WHERE cp.case_id = ANY(%s) ORDER BY cp.id",
            [case_ids],
        )
        links = defaultdict(list)
        for row in c.fetchall():
            links[row[1]].append(row)
    n = Counter()
    profiles, suspect_profiles, services, logs, officers, exhibits = [], [], [], [], [], []
    referrals, events, messages, reported = [], [], [], []
    court_cases, charges, hearings = [], [], []
    care, hoi, providers = actors["care"], actors["hoi"], actors["providers"]
    # Ids are drawn up front (referral references and audit details name them), over-provisioned per batch.
    people = sum(len(v) for v in links.values())
    ref_ids = _take_ids("referrals_referral", people * 3)
    court_ids = _take_ids("investigations_courtcase", len(cases))
    log_ids = _take_ids("investigations_logentry", len(cases) * 12)
    for case_id, owner, opened, report in cases:
        case_obj = ("cases.case", case_id)
        people_here = links[case_id]
        b.log(
            "cases.case_opened",
            hoi,
            opened,
            case_obj,
            details={"report_id": report, "decision_id": None, "trafficking_status": "ActualVictimOfTrafficking"},
        )
        for k, (link, _c, role, _pseudo, _hv, _hs) in enumerate(people_here):
            b.log("cases.person_added", owner, opened + timedelta(minutes=5 + k), case_obj,
                  fields=["family_names", "given_names", "sex"], details={"case_person_id": link, "role": role})  # fmt: skip
        victims = [p for p in people_here if p[2] == "victim"]
        suspects = [p for p in people_here if p[2] == "suspect"]
        for link, _c, _r, _p, has_profile, _hs in victims:
            if not has_profile:
                types = rng.choices([t for t, _w in EXPLOITATION], weights=[w for _t, w in EXPLOITATION])[0]
                profile = VictimProfile(
                    case_person_id=link, trafficking_status=rng.choice(("ActualVictimOfTrafficking",) * 4 + ("PossibleVictimOfTrafficking",)),
                    registered_on=opened.date() if rng.random() < 0.8 else None, exploitation_types=types,
                    recruitment_methods=rng.choice((["SocialMedia"], ["JobOffer"], [], [])),
                )  # fmt: skip
                profile.derive(case_opened_at=opened)
                profiles.append(profile)
                if types:
                    b.log("cases.profile_updated", owner, b.when(opened, 30), case_obj,
                          fields=["exploitation_types", "trafficking_status"], details={"case_person_id": link})  # fmt: skip
            where = {"case_id": case_id, "case_person_id": link}
            if rng.random() < SHARE_VICTIMS_SERVICES:
                for _k in range(rng.randint(1, 4)):
                    at = b.when(opened, 365)
                    service = ServiceDelivery(
                        case_person_id=link, service_type=rng.choice(SERVICE_TYPES), delivered_on=at.date(),
                        ended_on=(at + timedelta(days=rng.randint(1, 90))).date() if rng.random() < 0.3 else None,
                        provider_id=rng.choice(providers), details=rng.choice(SERVICE_DETAILS),
                        outcome=rng.choice(("", "Attended.", "Completed.")), recorded_by_id=care, created_at=at, updated_at=at,
                    )  # fmt: skip
                    services.append(service)
                    b.later(lambda s=service, at=at, where=where: b.row(
                        "care.service_recorded", care, at, ("care.servicedelivery", s.pk),
                        fields=["delivered_on", "details", "provider", "service_type"], details=where))  # fmt: skip
                for _k in range(rng.randint(0, 3)):
                    b.log("care.viewed", care, b.when(opened, 365), ("cases.case", case_id), details=where)
            if rng.random() < SHARE_VICTIMS_REFERRED:
                for _k in range(rng.randint(1, 3)):
                    _referral(b, next(ref_ids), link, case_id, owner, opened, referrals, events, messages, reported, n)
        for link, _c, _r, _p, _hv, has_profile in suspects:
            if not has_profile:
                suspect_profiles.append(
                    SuspectProfile(case_person_id=link, roles_in_process=rng.choice((["Recruiter"], ["Exploiter"], [])))
                )
        for _k in range(rng.randint(3, 40)):
            viewer = owner if rng.random() < 0.7 else rng.choice((hoi, care))
            b.log("cases.case_viewed", viewer, b.when(opened, 540), case_obj)
        if rng.random() < SHARE_CASES_INVESTIGATED:
            b.log("investigations.viewed", owner, b.when(opened, 30), case_obj)
            for _k in range(rng.randint(2, 12)):
                kind = rng.choice(LOG_KINDS)
                who = rng.choice(people_here) if kind == "interview" else None
                at = b.when(opened, 300)
                pk = next(log_ids)
                title = rng.choice(LOG_TITLES[kind]).format(p=who[3] if who else "")
                logs.append(LogEntry(
                    pk=pk, case_id=case_id, kind=kind, occurred_on=at.date(), title=title, interviewee_id=who[0] if who else None,
                    interpreter_used=kind == "interview" and rng.random() < 0.3, outcome=rng.choice(("", "Statement signed.", "Nothing found.", "Leads identified.")),
                    created_by_id=owner, created_at=at, updated_at=at,
                ))  # fmt: skip
                officers.append(LogEntry.officers.through(logentry_id=pk, user_id=owner))
                b.log("investigations.action_logged", owner, at, case_obj,
                      fields=["kind", "occurred_on", "officers", "title", *(["interviewee"] if who else [])],
                      details={"record": f"logentry:{pk}"})  # fmt: skip
            for k in range(rng.randint(0, 5)):
                at = b.when(opened, 200)
                exhibits.append(Evidence(
                    case_id=case_id, reference=f"EX-{k + 1}", item=rng.choice(EXHIBITS), description="Seized during the search.",
                    found_at="Premises", seized_by_id=owner, seized_at=at, holder_id=owner, storage_location="Exhibit room",
                    created_by_id=owner, created_at=at, updated_at=at,
                ))  # fmt: skip
                _later_record(
                    b,
                    "investigations.evidence_added",
                    owner,
                    at,
                    exhibits[-1],
                    case_obj,
                    ["item", "reference", "seized_at"],
                )
            if suspects and rng.random() < SHARE_INVESTIGATED_TO_COURT:
                at = b.when(opened, 400)
                court = CourtCase(pk=next(court_ids), case_id=case_id, court="Port of Spain Magistrates' Court",
                                  number=f"TIP-{at:%Y}-{case_id}", created_by_id=owner, created_at=at, updated_at=at)  # fmt: skip
                court_cases.append(court)
                b.log(
                    "investigations.court_case_opened",
                    owner,
                    at,
                    case_obj,
                    fields=["court", "number"],
                    details={"record": f"courtcase:{court.pk}"},
                )
                for link, *_rest in suspects:
                    outcome = rng.choices(("pending", "conviction", "acquittal", "withdrawn"), weights=(5, 3, 1, 1))[0]
                    charges.append(Charge(
                        case_id=case_id, suspect_id=link, court_case_id=court.pk, offence="Trafficking in persons",
                        statute="Trafficking in Persons Act 2011, s.16", laid_on=at.date(), outcome=outcome,
                        outcome_on=(at + timedelta(days=rng.randint(120, 700))).date() if outcome != "pending" else None,
                        sentence="Imprisonment" if outcome == "conviction" else "", created_by_id=owner, created_at=at, updated_at=at,
                    ))  # fmt: skip
                    _later_record(
                        b,
                        "investigations.charge_laid",
                        owner,
                        at,
                        charges[-1],
                        case_obj,
                        ["laid_on", "offence", "statute", "suspect"],
                    )
                for _k in range(rng.randint(1, 6)):
                    hat = b.when(at, 600)
                    hearings.append(Hearing(
                        court_case_id=court.pk, starts_at=hat.replace(hour=9, minute=30, second=0, microsecond=0),
                        court=court.court, purpose=rng.choice(("Mention", "Preliminary inquiry", "Trial", "Sentencing")),
                        outcome=rng.choice(("", "Adjourned.", "Evidence heard.")), created_by_id=owner, created_at=hat, updated_at=hat,
                    ))  # fmt: skip
                    _later_record(
                        b,
                        "investigations.hearing_scheduled",
                        owner,
                        hat,
                        hearings[-1],
                        case_obj,
                        ["court", "purpose", "starts_at"],
                    )
    with historical_dates(ServiceDelivery, Referral, ReferralEvent, ReferralMessage, ReferralService, LogEntry, Evidence, CourtCase, Charge, Hearing):  # fmt: skip
        for model, rows in (
            (VictimProfile, profiles), (SuspectProfile, suspect_profiles), (ServiceDelivery, services),
            (Referral, referrals), (ReferralEvent, events), (ReferralMessage, messages), (ReferralService, reported),
            (LogEntry, logs), (LogEntry.officers.through, officers), (Evidence, exhibits), (CourtCase, court_cases),
            (Charge, charges), (Hearing, hearings),
        ):  # fmt: skip
            model.objects.bulk_create(rows, batch_size=2000)
            n[model._meta.db_table] += len(rows)
    rows = [entry() if callable(entry) else entry for entry in b.audit]
    n["audit_auditevent"] += write_audit(rows)
    return n


def _later_record(b: Batch, action: str, actor: int, at: datetime, obj, case_obj, fields: list[str]) -> None:
    b.later(
        lambda: b.row(
            action, actor, at, case_obj, fields=fields, details={"record": f"{obj._meta.model_name}:{obj.pk}"}
        )
    )


def _referral(b: Batch, pk, link, case_id, owner, opened, referrals, events, messages, reported, n) -> None:
    from referrals.models import Referral, ReferralEvent, ReferralMessage, ReferralService

    rng = b.rng
    path = rng.choices([p for p in REFERRAL_PATHS], weights=[w for *_x, w in REFERRAL_PATHS])[0]
    status, steps = path[0], path[1]
    provider = rng.choice(b.actors["providers"])
    staff = b.actors["staff"][provider]
    created = b.when(opened, 120)
    obj = ("referrals.referral", pk)
    needs = rng.sample(("shelter", "counselling", "medical", "legal", "livelihood"), rng.randint(1, 3))
    referral = Referral(
        pk=pk, reference=f"F-{created:%Y}-{pk:05d}", case_person_id=link, provider_id=provider, needs=needs,
        urgency=rng.choice(("routine",) * 6 + ("priority",) * 3 + ("urgent",)), status=status,
        shared_fields=["name", "age", "sex", "languages", "safety_notes"], shared_name=rng.choice(("Ana", "Maria", "Priya", "Keisha", "Rosa")),
        safety_notes="Do not call after 6 pm.", snapshot_data="", created_by_id=owner, created_at=created,
    )  # fmt: skip
    events.append(ReferralEvent(referral_id=pk, kind="created", side="unit", actor_id=owner, at=created))
    b.log("referrals.created", owner, created, obj, fields=["needs", "provider", "shared_fields", "urgency"],
          details={"case_id": case_id, "case_person_id": link, "provider_id": provider, "shared_fields": referral.shared_fields})  # fmt: skip
    at, before = created, "draft"
    for step in steps:
        at = b.when(at, 3 if step in ("sent", "acknowledged", "accepted") else 60)
        setattr(referral, STAMP[step], at)
        unit_step = step in ("sent", "withdrawn")
        actor = owner if unit_step else staff
        verb, kind = VERB[step]
        if step == "sent":
            referral.sent_by_id = owner
            referral.snapshot_data = json.dumps(
                {"name": referral.shared_name, "needs": needs, "urgency": referral.urgency}
            )
        if step == "declined":
            referral.decline_reason = "No place available."
        if step == "withdrawn":
            referral.withdrawal_reason = "The survivor moved abroad."
        if step == "completed":
            referral.outcome = "Services completed."
        events.append(
            ReferralEvent(referral_id=pk, kind=kind, side="unit" if unit_step else "provider", actor_id=actor, at=at)
        )
        b.log(f"referrals.{verb}", actor, at, obj, fields=["status", STAMP[step]], details={"from": before, "to": step})
        before = step
    referrals.append(referral)
    if not steps:
        return
    start = referral.sent_at
    for k in range(rng.randint(0, 6)):
        unit = k % 2 == 0
        sender = owner if unit else staff
        mat = b.when(start, 90)
        message = ReferralMessage(referral_id=pk, side="unit" if unit else "provider", sender_id=sender,
                                  text=rng.choice(MESSAGES_UNIT if unit else MESSAGES_PROVIDER), created_at=mat)  # fmt: skip
        messages.append(message)
        reader, rat = (staff if unit else owner), b.when(mat, 2)
        b.later(lambda m=message, s=sender, at=mat, side=message.side: b.row(
            "referrals.message_posted", s, at, obj, details={"message_id": m.pk, "side": side}))  # fmt: skip
        b.later(
            lambda m=message, r=reader, at=rat: b.row(
                "referrals.messages_read", r, at, obj, details={"message_ids": [m.pk]}
            )
        )
    if status in ("in_progress", "completed"):
        for _k in range(rng.randint(1, 2)):
            sat = b.when(referral.started_at, 60)
            reported.append(ReferralService(referral_id=pk, service_type=rng.choice(SERVICE_TYPES), delivered_on=sat.date(),
                                            details=rng.choice(SERVICE_DETAILS), recorded_by_id=staff, created_at=sat))  # fmt: skip
            b.log("referrals.service_recorded", staff, sat, obj, fields=["delivered_on", "details", "service_type"])


# --- the run ---------------------------------------------------------------------------------------------


def counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as c:
        for table in (
            "intake_report",
            "screening_screening",
            "screening_decision",
            "cases_case",
            "cases_caseperson",
            *TABLES,
        ):
            c.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - our own table names
            out[table] = c.fetchone()[0]
    return out


def ensure(out: Callable[[str], None], *, seed: int = 11, batch: int = BATCH) -> dict:
    """Write the records of every extra case not done yet (resumable); returns the state with row counts."""
    extra = _state_get("extra_cases")
    if not extra:
        raise RuntimeError("No realistic cases: bench/cases.py's ensure() runs first.")
    case_ids = extra["cases"]
    state = _state_get(STATE_KEY) or {"done": 0, "batch": batch, "seed": seed, "seconds": 0.0, "runs": 0, "written": {}}
    if state["done"] >= len(case_ids):
        return state
    batch, seed = state["batch"], state["seed"]  # a resumed run continues the same batches
    state["runs"] += 1
    actors = _actors(out)
    actors["info"] = {int(k): v for k, v in actors["info"].items()}
    # "Now" of the generated history: fixed at the first run, so a resumed run writes the same population.
    state.setdefault("now", datetime.now(UTC).isoformat())
    now = datetime.fromisoformat(state["now"])
    started = run_started = time.monotonic()
    first = state["done"]
    out(f"records: {len(case_ids) - first:,} of {len(case_ids):,} cases to go, in batches of {batch}")
    while state["done"] < len(case_ids):
        start = state["done"]
        chunk = case_ids[start : start + batch]
        with transaction.atomic():
            written = write_batch(chunk, random.Random(f"{seed}:{start}"), actors, now)  # noqa: S311 - synthetic data
            state["done"] = start + len(chunk)
            state["written"] = dict(Counter(state["written"]) + written)
            state["seconds"] = round(state["seconds"] + time.monotonic() - started, 1)
            started = time.monotonic()
            _state_set(STATE_KEY, state)
        rate = (state["done"] - first) / max(0.001, time.monotonic() - run_started)
        out(
            f"records: {state['done']:,}/{len(case_ids):,} cases ({sum(written.values()):,} rows in this batch; about {(len(case_ids) - state['done']) / max(rate, 0.001):,.0f}s left)"
        )
    out("records: ANALYZE")
    with connection.cursor() as c:
        for table in TABLES:
            c.execute(f"ANALYZE {table}")
    state["counts"] = counts()
    state["finished"] = date.today().isoformat()
    _state_set(STATE_KEY, state)
    out(f"records: done in {state['seconds']:,.0f}s over {state['runs']} run(s)")
    return state
