"""Importing and exporting case records in the IOM HTCDS 2.0 format (issue #8).

Import is all or nothing: every row is checked (exchange/htcds.py), then matched against what the database
holds (same ``x_ExternalId`` = same record; rows of one ``x_CaseId`` = one case) and, only if no row is
wrong, written in one transaction with one audit row (counts, never values). New records are written in bulk
(encryption happens in the field, blind-index name tokens are computed here), so tens of thousands of rows
import in seconds. Each imported case gets the import's own report, screening and decision (channel
"import"), and the importing user owns it.

Export writes one row per victim and perpetrator the user may see; a record exported for the first time gets
a random ``x_ExternalId``, kept, so re-importing the file updates instead of duplicating.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from functools import partial
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import NOT_PROVIDED, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import log as audit
from cases import search
from cases.actions import identifier_index
from cases.choices import (
    CaseStatus,
    DocumentType,
    IdentifierKind,
    PersonRole,
    TeamRole,
    TraffickingStatus,
    exploitation_form,
)
from cases.models import (
    Case,
    CaseMember,
    CasePerson,
    Identifier,
    Person,
    Place,
    SearchToken,
    SuspectProfile,
    VictimProfile,
)
from exchange import htcds
from exchange.htcds import VICTIM, ImportRefused, Row, RowError
from exchange.models import ExternalCase, ExternalRecord, ImportJob, JobStatus
from geo.assign import forget_area, refresh_area, refresh_areas
from intake.models import Report
from screening.choices import DecidingOrganisation, Outcome, Recommendation
from screening.models import Decision, Screening, ScreeningInstrument
from utilities.archive import encrypted_zip
from utilities.crypto import encrypt_text
from utilities.storage import backend as storage_backend
from utilities.storage import delete_encrypted, read_encrypted, store_encrypted, stored_names

logger = logging.getLogger(__name__)

IMPORT_STORE = "htcds-imports"
# Uploads larger than this are imported by the background worker, with a progress bar; smaller ones at once.
SYNC_MAX_BYTES = getattr(settings, "HTCDS_SYNC_MAX_BYTES", 256 * 1024)
MAX_BYTES = getattr(settings, "HTCDS_IMPORT_MAX_BYTES", 50 * 1024 * 1024)
MAX_STORED_ERRORS = 1000
CHUNK = 2000

STATUS_OUTCOME = {
    TraffickingStatus.ACTUAL: (Outcome.VICTIM, Recommendation.VICTIM),
    TraffickingStatus.POSSIBLE: (Outcome.POSSIBLE, Recommendation.POSSIBLE),
    TraffickingStatus.NOT_A_VICTIM: (Outcome.NOT_TRAFFICKING, Recommendation.NOT_TRAFFICKING),
}
CASE_COLUMNS = {
    "status": "cas_Status",
    "closure_reason": "cas_ReasonForCaseClosure",
    "deciding_org": "vic_TraffickingStatusDecisionMakingOrg",
}
PLACE_FIELDS = ("kind", "city", "country", "latitude", "longitude", "date_from", "description")
# Which identifier an HTCDS column is: (kind, document type, note).
IDENTIFIER_COLUMNS = {
    "national_id": (IdentifierKind.ID_DOCUMENT, DocumentType.NATIONAL_ID, ""),
    "email": (IdentifierKind.EMAIL, "", ""),
    "mobile": (IdentifierKind.PHONE, "", ""),
    "home": (IdentifierKind.PHONE, "", htcds.HOME_PHONE_NOTE),
}


@dataclass
class ImportResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    cases_created: int = 0
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- matching rows to records ----------------------------------------------------------------------------


@dataclass
class Group:
    """The rows of one case in the file, and the case they go to (None: a new case)."""

    key: str
    rows: list[Row]
    case: Case | None = None
    fields: dict = field(default_factory=dict)
    remember_key: bool = False  # an existing case reached through its records: keep its x_CaseId for next time


def _plan(rows: list[Row], actor, errors: list[RowError]) -> tuple[list[Group], dict[str, CasePerson]]:
    matched: dict[str, CasePerson] = {}
    for chunk in _chunks([r.external_id for r in rows]):
        for record in ExternalRecord.objects.filter(external_id__in=chunk).select_related("case_person"):
            matched[record.external_id] = record.case_person
    keys = sorted({r.case_key for r in rows if r.case_key})
    case_of_key: dict[str, int] = {}
    for chunk in _chunks(keys):
        case_of_key.update(ExternalCase.objects.filter(external_id__in=chunk).values_list("external_id", "case_id"))
    wanted = {link.case_id for link in matched.values()} | set(case_of_key.values())
    changeable: set[int] = set()
    for chunk in _chunks(sorted(wanted)):
        changeable |= set(Case.objects.visible_to(actor, "change").filter(pk__in=chunk).values_list("pk", flat=True))

    groups: dict[str, Group] = {}
    for row in rows:
        link = matched.get(row.external_id)
        if link is not None:
            if link.case_id not in changeable:
                errors.append(RowError(row.line, "x_ExternalId", _("This record is in a case you may not change.")))
            expected = PersonRole.VICTIM if row.person_type == VICTIM else PersonRole.SUSPECT
            if link.role != expected:
                errors.append(
                    RowError(
                        row.line,
                        "x_PersonType",
                        _("The record with this x_ExternalId is not a %(type)s.") % {"type": row.person_type},
                    )
                )
        key = row.case_key or "\0" + row.external_id
        groups.setdefault(key, Group(key=key, rows=[])).rows.append(row)

    cases_needed: set[int] = set()
    for group in groups.values():
        target = case_of_key.get(group.key)
        if target is not None and target not in changeable:
            for row in group.rows:
                if row.external_id not in matched:
                    errors.append(RowError(row.line, "x_CaseId", _("This case is one you may not change.")))
        for row in group.rows:
            link = matched.get(row.external_id)
            if link is None:
                continue
            if target is None:
                target = link.case_id
            elif link.case_id != target:
                errors.append(
                    RowError(
                        row.line,
                        "x_CaseId",
                        _("This record belongs to another case than the other rows with this x_CaseId."),
                    )
                )
        first: dict[str, tuple[str, int]] = {}
        for row in group.rows:
            for name, value in row.case.items():
                if name not in first:
                    first[name] = (value, row.line)
                elif first[name][0] != value:
                    errors.append(
                        RowError(
                            row.line,
                            CASE_COLUMNS[name],
                            _("Differs from line %(line)d of the same case.") % {"line": first[name][1]},
                        )
                    )
        group.fields = {name: value for name, (value, _line) in first.items()}
        group.remember_key = target is not None and not group.key.startswith("\0") and group.key not in case_of_key
        if target is not None:
            cases_needed.add(target)
            group.case = target  # replaced by the Case below
    cases = Case.objects.in_bulk(sorted(cases_needed))
    for group in groups.values():
        if group.case is not None:
            group.case = cases[group.case]
    return list(groups.values()), matched


# --- writing ---------------------------------------------------------------------------------------------


def _create_cases(groups: list[Group], actor) -> int:
    """A report, screening, decision and case (owned by the importing user) for each new case in the file."""
    new = [g for g in groups if g.case is None]
    if not new:
        return 0
    now = timezone.now()
    instrument = (
        ScreeningInstrument.objects.filter(is_current=True).first()
        or ScreeningInstrument.objects.order_by("-version").first()
    )
    rationale = _Encrypted(encrypt_text(_("Recorded in another system and imported from an HTCDS file.")))
    label = _("Imported record")
    report_ids, case_ids = _allocate_ids(Report, len(new)), _allocate_ids(Case, len(new))
    screening_ids, decision_ids = _allocate_ids(Screening, len(new)), _allocate_ids(Decision, len(new))
    reports, screenings, decisions, cases, members, keys = [], [], [], [], [], []
    for group, report_id, screening_id, decision_id, case_id in zip(
        new, report_ids, screening_ids, decision_ids, case_ids, strict=True
    ):
        victims = [r for r in group.rows if r.person_type == VICTIM]
        trafficking = (victims[0].victim.get("trafficking_status") if victims else "") or TraffickingStatus.POSSIBLE
        outcome, recommendation = STATUS_OUTCOME[trafficking]
        deciding_org = group.fields.get("deciding_org") or DecidingOrganisation.OTHER
        status = group.fields.get("status") or CaseStatus.ACTIVE
        reports.append({
            "id": report_id, "reference": f"R-{now:%Y}-{report_id:05d}", "channel": "import", "received_at": now,
            "status": "case_opened", "created_by_id": actor.pk, "assignee_id": actor.pk, "assigned_at": now,
        })  # fmt: skip
        screenings.append({
            "id": screening_id, "report_id": report_id, "instrument_id": instrument.pk, "person_label": label,
            "recommendation": recommendation, "screened_by_id": actor.pk, "answers": {"source": "htcds_import"},
        })  # fmt: skip
        decisions.append({
            "id": decision_id, "report_id": report_id, "screening_id": screening_id, "outcome": outcome,
            "recommendation": recommendation, "rationale": rationale, "deciding_org": deciding_org, "decided_by_id": actor.pk,
        })  # fmt: skip
        cases.append({
            "id": case_id, "reference": f"C-{now:%Y}-{case_id:05d}", "report_id": report_id, "decision_id": decision_id,
            "status": status, "trafficking_status": trafficking, "deciding_org": deciding_org, "owner_id": actor.pk,
            "closure_reason": group.fields.get("closure_reason", ""),
            "closed_at": now if status in (CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED) else None,
        })  # fmt: skip
        members.append({"case_id": case_id, "user_id": actor.pk, "role": TeamRole.OWNER})
        if not group.key.startswith("\0"):
            keys.append({"external_id": group.key, "case_id": case_id})
        group.case = Case(pk=case_id)
        group.fields = {}  # applied
    _insert(Report, reports)
    _insert(Screening, screenings)
    _insert(Decision, decisions)
    _insert(Case, cases)
    _insert(CaseMember, members)
    _insert(ExternalCase, keys)
    return len(new)


def _update_case(group: Group) -> bool:
    case = group.case
    changed = []
    for name, value in group.fields.items():
        if name == "status" and value and case.status != value:
            case.status = value
            case.closed_at = timezone.now() if value in (CaseStatus.CLOSED, CaseStatus.CLOSED_REFERRED) else None
            changed += ["status", "closed_at"]
        elif name == "closure_reason" and case.closure_reason != value:
            case.closure_reason = value
            changed.append("closure_reason")
        elif name == "deciding_org" and value and case.deciding_org != value:
            case.deciding_org = value
            changed.append("deciding_org")
    if changed:
        case.version += 1
        case.save(update_fields=[*changed, "version"])
    return bool(changed)


def _pseudonyms(groups: list[Group]) -> dict[tuple[int, str], int]:
    """How many victims and suspects each existing case already has (new people are numbered after them)."""
    counts: dict[tuple[int, str], int] = defaultdict(int)
    ids = [g.case.pk for g in groups]
    for chunk in _chunks(ids):
        for case_id, role in CasePerson.objects.filter(case_id__in=chunk).values_list("case_id", "role"):
            counts[(case_id, role)] += 1
    return counts


# --- fast inserts ------------------------------------------------------------------------------------------
#
# bulk_create builds a model instance per row and prepares every field through the ORM; at tens of thousands of
# people (and a dozen or more search tokens each) that is most of an import's time. New records are therefore
# written as plain rows: ids taken from the table's sequence, every concrete field of the model filled (given
# value, else the field's default, auto_now(_add) = now), encrypted fields encrypted, JSON dumped, then COPY on
# PostgreSQL or executemany elsewhere. Models with their own save() (VictimProfile) get its derivation applied by
# the caller. A field added to these models later is filled from its default without touching this code.


class _Encrypted(str):
    """A value already encrypted (the same boilerplate on thousands of rows is encrypted once)."""


def _allocate_ids(model, count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count]
            )
            return [row[0] for row in cursor.fetchall()]
        # SQLite: writers are serialised (IMMEDIATE transactions), so the next ids are simply above the largest.
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608  # nosec B608 - table name from the model
        top = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = cursor.fetchone()
        start = max(top, seq[0] if seq else 0) + 1
        return list(range(start, start + count))


def _converter(field, now):
    from utilities.crypto import EncryptedTextField

    postgres = connection.vendor == "postgresql"
    if isinstance(field, EncryptedTextField):
        return lambda v: v if isinstance(v, _Encrypted) or v in (None, "") else encrypt_text(str(v))
    if field.get_internal_type() == "JSONField":
        return (field.encoder or json.JSONEncoder)().encode  # json.dumps, without a new encoder per value
    if postgres:
        return None
    kind = field.get_internal_type()
    if kind == "DateTimeField":
        return lambda v: connection.ops.adapt_datetimefield_value(v)
    if kind == "DateField":
        return lambda v: connection.ops.adapt_datefield_value(v)
    if kind == "DecimalField":
        return lambda v: connection.ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    return None


def _insert(model, rows: list[dict]) -> list[int]:
    """Write ``rows`` (attname -> value; "id" from _allocate_ids, else allocated here) as new ``model`` rows;
    returns their ids, in order."""
    if not rows:
        return []
    ids = [row["id"] for row in rows] if "id" in rows[0] else _allocate_ids(model, len(rows))
    now = timezone.now()
    columns, fields, converters, pk_position = [], [], [], None
    for f in model._meta.concrete_fields:
        if f.db_default is not NOT_PROVIDED and not f.has_default() and f.attname not in rows[0]:
            continue  # the database fills it
        if f.primary_key:
            pk_position = len(columns)
            columns.append(f.column)
            continue
        columns.append(f.column)
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            default = now if f.get_internal_type() == "DateTimeField" else now.date()
        else:
            default = f.get_default()
        convert = _converter(f, now)
        if convert is not None:
            converters.append((len(fields), convert))
        fields.append((f.attname, default))
    # The inner loops are the import's hottest Python (every value of every new record): comprehensions, and
    # converters visited only for the columns that have one.
    out = []
    for pk, row in zip(ids, rows, strict=True):
        get = row.get
        values = [get(attname, default) for attname, default in fields]
        for i, convert in converters:
            if values[i] is not None:
                values[i] = convert(values[i])
        if pk_position is not None:
            values.insert(pk_position, pk)
        out.append(values)
    table = model._meta.db_table
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                for values in out:
                    copy.write_row(values)
        else:
            marks = ", ".join(["%s"] * len(columns))
            for chunk in _chunks(out, 5000):
                cursor.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({marks})", chunk)  # noqa: S608  # nosec B608 - table name from the model
    return ids


def _copy_tokens(names: list[tuple[int, str]]) -> None:
    """Search tokens of new people (``(person id, full name)``): the most numerous rows, three columns, computed
    while they are sent, so on PostgreSQL the server indexes one batch while this process computes the next.
    Names share most words, so each token is computed once per import (``search.memoised``), and the rows (three
    integers and a letter: nothing to escape) are sent as COPY text in large chunks, not one call per row."""
    table = SearchToken._meta.db_table
    memo: dict = {}

    def rows():
        for person_id, name in names:
            yield from search.token_rows(person_id, search.tokens_for_names([name] if name else [], memo=memo))

    stream = rows()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} (token, kind, person_id) FROM STDIN") as copy:
                while chunk := list(islice(stream, 20000)):
                    copy.write("".join([f"{t}\t{k}\t{p}\n" for t, k, p in chunk]))
            return
        while chunk := list(islice(stream, 10000)):
            cursor.executemany(f"INSERT INTO {table} (token, kind, person_id) VALUES (%s, %s, %s)", chunk)  # noqa: S608  # nosec B608 - table name from the model


def _create_people(groups: list[Group], matched: dict, actor) -> int:
    todo = [(g, r) for g in groups for r in g.rows if r.external_id not in matched]
    if not todo:
        return 0
    numbers = _pseudonyms([g for g in groups if any(r.external_id not in matched for r in g.rows)])
    person_ids, link_ids = _allocate_ids(Person, len(todo)), _allocate_ids(CasePerson, len(todo))
    people, links, victims, suspects, identifiers, places, names, records = [], [], [], [], [], [], [], []
    victim_label, suspect_label = _("Victim %(n)d"), _("Suspect %(n)d")
    for (group, row), person_id, link_id in zip(todo, person_ids, link_ids, strict=True):
        case_id = group.case.pk
        people.append({"id": person_id, "created_by_id": actor.pk, **row.person})
        role = PersonRole.VICTIM if row.person_type == VICTIM else PersonRole.SUSPECT
        numbers[(case_id, role)] += 1
        label = victim_label if role == PersonRole.VICTIM else suspect_label
        links.append(
            {
                "id": link_id,
                "case_id": case_id,
                "person_id": person_id,
                "role": role,
                "pseudonym": label % {"n": numbers[(case_id, role)]},
            }
        )
        if role == PersonRole.VICTIM:
            fields = dict(row.victim)
            fields["trafficking_status"] = fields.get("trafficking_status") or TraffickingStatus.POSSIBLE
            # What VictimProfile.save() derives, for rows written without it.
            fields["exploitation_form"] = exploitation_form(fields.get("exploitation_types"))
            fields["detected_on"] = fields.get("registered_on")  # else the case's opening day, set below
            victims.append({"case_person_id": link_id, **fields})
        else:
            suspects.append({"case_person_id": link_id, **row.suspect})
        for key, value in row.identifiers.items():
            if value:
                kind, doc_type, note = IDENTIFIER_COLUMNS[key]
                identifiers.append({
                    "person_id": person_id, "kind": kind, "document_type": doc_type, "note": note, "value": value,
                    "index": identifier_index(kind, value), "created_by_id": actor.pk,
                })  # fmt: skip
        if row.place:
            places.append({"case_id": case_id, "case_person_id": link_id, **row.place})
        names.append(
            (
                person_id,
                " ".join(x for x in (row.person.get("given_names", ""), row.person.get("family_names", "")) if x),
            )
        )
        records.append({"external_id": row.external_id, "case_person_id": link_id})
    _insert(Person, people)
    _insert(CasePerson, links)
    _insert(VictimProfile, victims)
    undated = [v["case_person_id"] for v in victims if not v.get("detected_on")]
    if undated:
        opened = (
            Case.objects.filter(persons__pk=OuterRef("case_person_id"))
            .annotate(day=TruncDate("opened_at"))
            .values("day")[:1]
        )
        VictimProfile.objects.filter(case_person_id__in=undated).update(detected_on=Subquery(opened))
    _insert(SuspectProfile, suspects)
    _insert(Identifier, identifiers)
    refresh_areas("cases.place", _insert(Place, places))
    _insert(ExternalRecord, records)
    _copy_tokens(names)
    return len(todo)


def _first_identifier(identifiers: list[Identifier], key: str) -> Identifier | None:
    kind, doc_type, note = IDENTIFIER_COLUMNS[key]
    for item in sorted(identifiers, key=lambda i: i.pk):
        if item.kind != kind:
            continue
        if kind == IdentifierKind.ID_DOCUMENT and item.document_type != doc_type:
            continue
        if kind == IdentifierKind.PHONE and (item.note == htcds.HOME_PHONE_NOTE) != (key == "home"):
            continue
        return item
    return None


def _update_record(row: Row, link: CasePerson, actor) -> bool:
    """Apply a row to the record it matched; True if anything changed."""
    changed = False
    person = link.person
    names = [k for k, v in row.person.items() if getattr(person, k) != v]
    if names:
        for name in names:
            setattr(person, name, row.person[name])
        person.version += 1
        person.save(update_fields=[*names, "version", "updated_at"])
        if {"given_names", "family_names"} & set(names):
            search.index_person(person)
        changed = True
    identifiers = list(person.identifiers.all())
    for key, value in row.identifiers.items():
        current = _first_identifier(identifiers, key)
        if current is not None and current.value == value:
            continue
        if current is not None and not value:
            current.delete()
        elif current is not None:
            current.value, current.index = value, identifier_index(current.kind, value)
            current.save(update_fields=["value", "index"])
        elif value:
            kind, doc_type, note = IDENTIFIER_COLUMNS[key]
            Identifier.objects.create(
                person=person,
                kind=kind,
                document_type=doc_type,
                note=note,
                value=value,
                index=identifier_index(kind, value),
                created_by=actor,
            )
        else:
            continue
        changed = True
    if row.person_type == VICTIM:
        profile, values = link.victim_profile, dict(row.victim)
        if "trafficking_status" in values and not values["trafficking_status"]:
            del values["trafficking_status"]  # an empty cell never clears a required value
    else:
        profile, values = link.suspect_profile, row.suspect
    names = [k for k, v in values.items() if getattr(profile, k) != v]
    if names:
        for name in names:
            setattr(profile, name, values[name])
        profile.version += 1
        profile.save()
        changed = True
    if row.place_present:
        current = next(iter(Place.objects.filter(case_person=link)), None)
        if current is not None and row.place is None:
            forget_area("cases.place", current.pk)
            current.delete()
            changed = True
        elif current is not None:
            names = [k for k in PLACE_FIELDS if getattr(current, k) != row.place[k]]
            if names:
                for name in names:
                    setattr(current, name, row.place[name])
                current.save(update_fields=names)
                refresh_area(current, names)
                changed = True
        elif row.place is not None:
            refresh_area(Place.objects.create(case=link.case, case_person=link, **row.place))
            changed = True
    return changed


def _write(groups: list[Group], matched: dict[str, CasePerson], actor, result: ImportResult) -> None:
    result.cases_created = _create_cases(groups, actor)
    ExternalCase.objects.bulk_create(
        [ExternalCase(external_id=g.key, case=g.case) for g in groups if g.remember_key], ignore_conflicts=True
    )
    touched_cases = {g.case.pk for g in groups if g.fields and _update_case(g)}
    result.created = _create_people(groups, matched, actor)
    links = CasePerson.objects.select_related("person", "case", "victim_profile", "suspect_profile").in_bulk(
        [link.pk for link in matched.values()]
    )
    for group in groups:
        for row in group.rows:
            link = matched.get(row.external_id)
            if link is None:
                continue
            if _update_record(row, links[link.pk], actor) or group.case.pk in touched_cases:
                result.updated += 1
            else:
                result.unchanged += 1


def import_htcds(
    data: bytes, *, actor, fmt: str | None = None, job: ImportJob | None = None, progress=None
) -> ImportResult:
    """Import an HTCDS file (bytes of a CSV or XLSX): every row or none. Raises ImportRefused listing every
    problem (line, column, reason); nothing is written then."""
    if actor is None or not actor.has_perm("exchange.import_htcds"):
        raise PermissionDenied
    fmt = fmt or htcds.sniff_format(data[:4096])
    if fmt not in ("csv", "xlsx"):
        raise ImportRefused([RowError(0, "", _("The file is neither CSV nor XLSX."))])
    rows, ignored, errors = htcds.check_file(data, fmt, progress=progress)
    result = ImportResult(rows=len(rows), ignored_columns=ignored)
    if job is not None and not errors:
        ImportJob.objects.filter(pk=job.pk).update(phase="writing", progress=60)
    with transaction.atomic():
        groups, matched = _plan(rows, actor, errors)
        if errors:
            raise ImportRefused(sorted(errors, key=lambda e: (e.line, e.column)))
        _write(groups, matched, actor, result)
        audit.record(
            "exchange.htcds_imported", actor=actor, object_type="exchange.importjob", object_id=job.pk if job else "",
            details={"format": fmt, **{k: v for k, v in result.as_dict().items() if k != "ignored_columns"}},
        )  # fmt: skip
    return result


# --- import jobs (the web page's imports) -----------------------------------------------------------------


def _delete_stored(name: str) -> None:
    if name:
        delete_encrypted(IMPORT_STORE, name)


@transaction.atomic
def queue_import(data: bytes, fmt: str, *, actor, background: bool) -> ImportJob:
    """Keep the upload (encrypted) and create its job; the worker runs it if ``background``."""
    from exchange.tasks import run_import_job

    if not actor.has_perm("exchange.import_htcds"):
        raise PermissionDenied
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is too large."))
    job = ImportJob.objects.create(created_by=actor, file_format=fmt, size=len(data), stored_name=uuid.uuid4().hex)
    store_encrypted(IMPORT_STORE, job.stored_name, data)
    audit.record("exchange.htcds_import_queued", actor=actor, obj=job, details={"format": fmt, "bytes": len(data)})
    if background:
        transaction.on_commit(partial(run_import_job.enqueue, job.pk), robust=True)
    return job


def run_job(job_id: int) -> bool:
    """Run a queued import job once (a second call, or a second worker, does nothing)."""
    if not ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, phase="checking", progress=1
    ):
        return False
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    try:
        data = read_encrypted(IMPORT_STORE, job.stored_name)
        total = max(1, htcds.estimate_rows(data, job.file_format))

        def progress(done: int) -> None:
            # Checking is visible while it runs; writing is one transaction, shown as a whole.
            ImportJob.objects.filter(pk=job_id).update(progress=min(60, 1 + 59 * done // total))

        result = import_htcds(data, actor=job.created_by, fmt=job.file_format, job=job, progress=progress)
    except ImportRefused as refused:
        ImportJob.objects.filter(pk=job_id).update(
            status=JobStatus.REFUSED, phase="", progress=100, finished_at=timezone.now(), stored_name="",
            errors=[e.as_dict() for e in refused.errors[:MAX_STORED_ERRORS]], rows=len({e.line for e in refused.errors}),
        )  # fmt: skip
        ok = False
    except Exception as exc:  # noqa: BLE001 - the job must end, whatever went wrong; the cause is logged
        # The exception's text may quote a value; only its type is logged.
        logger.error("HTCDS import job %s failed: %s", job_id, type(exc).__name__)
        ImportJob.objects.filter(pk=job_id).update(
            status=JobStatus.FAILED, phase="", finished_at=timezone.now(), stored_name=""
        )
        ok = False
    else:
        ImportJob.objects.filter(pk=job_id).update(
            status=JobStatus.DONE, phase="", progress=100, finished_at=timezone.now(), stored_name="",
            rows=result.rows, created=result.created, updated=result.updated, unchanged=result.unchanged,
            cases_created=result.cases_created, ignored_columns=result.ignored_columns,
        )  # fmt: skip
        ok = True
    _delete_stored(job.stored_name)
    return ok


# --- export ----------------------------------------------------------------------------------------------


def export_links(actor=None):
    """Victims and perpetrators to export: those ``actor`` may see (every one for the command line)."""
    links = (
        CasePerson.objects.visible_to(actor, "view")
        if actor is not None
        else CasePerson.objects.filter(person__merged_into__isnull=True)
    )
    return links.filter(role__in=[PersonRole.VICTIM, PersonRole.SUSPECT])


def _give_external_ids(links) -> None:
    missing = list(links.filter(external_record__isnull=True).values_list("pk", flat=True))
    for chunk in _chunks(missing):
        ExternalRecord.objects.bulk_create(
            [ExternalRecord(external_id=uuid.uuid4().hex, case_person_id=pk) for pk in chunk], ignore_conflicts=True
        )


def export_rows(links) -> Iterator[list]:
    yield list(htcds.COLUMNS)
    queryset = (
        links.select_related(
            "person", "case", "victim_profile", "suspect_profile", "external_record", "case__external_case"
        )
        .prefetch_related("person__identifiers", "case__places")
        .order_by("case_id", "pk")
    )
    for link in queryset.iterator(chunk_size=CHUNK):
        case = link.case
        case_id = case.external_case.external_id if hasattr(case, "external_case") else (case.reference or str(case.pk))
        yield htcds.export_row(link, external_id=link.external_record.external_id, case_id=case_id)


def export_htcds(*, actor=None, fmt: str = "csv", links=None, via: str = "web"):
    """Audit the export, give first-time records their x_ExternalId, and return (row iterator, count). The
    audit row is written before any row leaves."""
    if actor is not None and not actor.has_perm("exchange.export_htcds"):
        raise PermissionDenied
    links = export_links(actor) if links is None else links
    with transaction.atomic():
        _give_external_ids(links)
        count = links.count()
        audit.record(
            "exchange.htcds_exported",
            actor=actor,
            object_type="cases.caseperson",
            details={"format": fmt, "rows": count, "via": via},
        )
    return export_rows(links), count


# --- encrypted archives (issue #10) ----------------------------------------------------------------------
#
# Identifiable exports leave as an AES-256 ZIP whose password is shown to the requester once, apart from the
# file. The web page keeps the archive (encrypted at rest as well) under a generated name until the requester
# downloads it, once; the audit rows name the archive by its SHA-256, never the password.

ARCHIVE_STORE = "htcds-exports"
ARCHIVE_TTL = timedelta(hours=1)  # an archive not downloaded within this is deleted


@dataclass
class Archive:
    content: bytes
    password: str
    filename: str  # the archive's own name, beacon-htcds-<date>.zip
    sha256: str
    rows: int


def export_htcds_archive(*, actor=None, fmt: str = "csv", via: str = "web", links=None) -> Archive:
    """The HTCDS export (audited as every export) inside an encrypted ZIP, with one more audit row saying an
    encrypted archive was produced and its SHA-256. Call inside the transaction that spends the approval."""
    stamp = timezone.localdate().isoformat()
    with transaction.atomic():
        rows, count = export_htcds(actor=actor, fmt=fmt, links=links, via=via)
        body = htcds.to_xlsx(rows) if fmt == "xlsx" else "".join(htcds.to_csv(rows)).encode("utf-8")
        content, password = encrypted_zip({f"beacon-htcds-{stamp}.{fmt}": body})
        digest = hashlib.sha256(content).hexdigest()
        audit.record(
            "exchange.htcds_archive_prepared", actor=actor, object_type="cases.caseperson",
            details={"format": fmt, "rows": count, "via": via, "encryption": "zip-aes256", "sha256": digest},
        )  # fmt: skip
    logger.info("HTCDS export archive prepared (%s, %d rows, sha256 %s)", via, count, digest)
    return Archive(content, password, f"beacon-htcds-{stamp}.zip", digest, count)


def _archive_path(name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / ARCHIVE_STORE / name[:2] / name


def sweep_archives(now=None) -> int:
    """Delete kept archives older than ARCHIVE_TTL (never downloaded), on disk or in the object store."""
    limit = (now or timezone.now()) - ARCHIVE_TTL
    count = 0
    for name, modified in list(stored_names(ARCHIVE_STORE)):
        if modified < limit:
            delete_encrypted(ARCHIVE_STORE, name)  # a download that took it meanwhile is not an error
            count += 1
    return count


def keep_archive(archive: Archive) -> str:
    """Keep the archive (encrypted at rest) under a new generated name, returned, for one download."""
    sweep_archives()
    name = uuid.uuid4().hex
    store_encrypted(ARCHIVE_STORE, name, archive.content)
    return name


def _take_file(name: str) -> bytes | None:
    """On disk the file is first renamed, atomically, so a second download finds nothing."""
    source = _archive_path(name)
    taken = uuid.uuid4().hex
    target = _archive_path(name[:2] + taken)
    try:
        fresh = source.stat().st_mtime >= timezone.now().timestamp() - ARCHIVE_TTL.total_seconds()
        os.replace(source, target)
    except FileNotFoundError:
        return None
    try:
        return read_encrypted(ARCHIVE_STORE, name[:2] + taken) if fresh else None
    finally:
        target.unlink(missing_ok=True)


def _take_object(name: str) -> bytes | None:
    """An object store cannot rename atomically: the download is claimed first in the database-backed cache
    (an insert on its unique key, so of two workers or hosts only one wins), then read and deleted."""
    from django.core.cache import caches

    if not caches["api"].add(f"beacon:archive-taken:{name}", 1, timeout=int(2 * ARCHIVE_TTL.total_seconds())):
        return None
    modified = next((m for n, m in stored_names(ARCHIVE_STORE) if n == name), None)
    if modified is None:
        return None
    try:
        return read_encrypted(ARCHIVE_STORE, name) if modified >= timezone.now() - ARCHIVE_TTL else None
    finally:
        delete_encrypted(ARCHIVE_STORE, name)


def take_archive(name: str, *, actor, sha256: str) -> bytes | None:
    """The kept archive's bytes, deleted as they are read: of two concurrent downloads only one gets them. None
    when it is gone or expired. The download is audited."""
    content = _take_object(name) if storage_backend() == "s3" else _take_file(name)
    if content is None or hashlib.sha256(content).hexdigest() != sha256:
        return None
    audit.record(
        "exchange.htcds_archive_downloaded", actor=actor, object_type="cases.caseperson",
        details={"encryption": "zip-aes256", "sha256": sha256},
    )  # fmt: skip
    logger.info("HTCDS export archive downloaded (sha256 %s)", sha256)
    return content
