"""Importing a session's participants from a sheet and exporting the report tables (issue #13).

Import follows the directory's rules (directory/exchange.py): all or nothing; every row is checked first
and the file is refused with each bad cell (line, column, reason) when any row is wrong.
Columns: name (required), agency (a directory agency's name or short name), organisation and org_type
(HTCDS value, for organisations not in the directory), sex (female/male/unknown), attended and certificate
(yes/no), pre_score and post_score (0-100).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from audit import log as audit
from directory.choices import OrganisationType
from directory.exchange import FALSE, TRUE, ImportRefused, RowError, read_rows
from directory.models import Agency
from prevention.choices import ParticipantSex
from prevention.models import Participant, TrainingSession
from utilities.spreadsheet import csv_line, csv_lines, defuse

COLUMNS = ["name", "agency", "organisation", "org_type", "sex", "attended", "certificate", "pre_score", "post_score"]

__all__ = ["COLUMNS", "ImportRefused", "RowError", "defuse", "export_csv", "import_participants", "parse_file"]


def export_csv(tables: dict[str, Iterable[list]]) -> Iterator[str]:
    """Every table one after the other, each headed by a row naming it and followed by a blank row."""
    for name, rows in tables.items():
        yield csv_line([name])
        yield from csv_lines(rows)
        yield csv_line([])


def _score(text: str, column: str, line: int, errors: list[RowError]) -> int | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        errors.append(RowError(line, column, _("Not a number.")))
        return None
    if value != int(value) or not 0 <= value <= 100:
        errors.append(RowError(line, column, _("Write a whole number from 0 to 100.")))
        return None
    return int(value)


def _bool(text: str, column: str, line: int, errors: list[RowError], default: bool) -> bool:
    text = text.lower()
    if text == "":
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    errors.append(RowError(line, column, _("Write yes or no.")))
    return default


def parse_row(line: int, cells: dict[str, str], errors: list[RowError], agencies: dict[str, Agency]) -> dict:
    get = lambda c: (cells.get(c) or "").strip()  # noqa: E731
    fields: dict = {"name": get("name")}
    if not fields["name"]:
        errors.append(RowError(line, "name", _("The participant's name is missing.")))
    elif len(fields["name"]) > 200:
        errors.append(RowError(line, "name", _("At most 200 characters.")))
    agency_name = get("agency")
    if agency_name:
        agency = agencies.get(agency_name.lower())
        if agency is None:
            errors.append(RowError(line, "agency", _("No agency of that name in the directory.")))
        fields["agency"] = agency
    organisation = get("organisation")
    if len(organisation) > 200:
        errors.append(RowError(line, "organisation", _("At most 200 characters.")))
    fields["organisation"] = organisation
    org_type = get("org_type")
    if org_type and org_type not in OrganisationType.values:
        errors.append(RowError(line, "org_type", _("Unknown value %(value)s.") % {"value": org_type}))
    fields["org_type"] = org_type
    sex = get("sex").lower() or ParticipantSex.UNKNOWN
    if sex not in ParticipantSex.values:
        errors.append(RowError(line, "sex", _("Write female, male or unknown.")))
    fields["sex"] = sex
    fields["attended"] = _bool(get("attended"), "attended", line, errors, True)
    fields["certificate_issued"] = _bool(get("certificate"), "certificate", line, errors, False)
    fields["pre_score"] = _score(get("pre_score"), "pre_score", line, errors)
    fields["post_score"] = _score(get("post_score"), "post_score", line, errors)
    return fields


def parse_file(upload, filename: str) -> list[dict]:
    """Check every row; raise ImportRefused with every problem found, or return the rows' fields."""
    errors: list[RowError] = []
    parsed: list[dict] = []
    agencies: dict[str, Agency] = {}
    for agency in Agency.objects.all():
        agencies[agency.name.lower()] = agency
        if agency.short_name:
            agencies.setdefault(agency.short_name.lower(), agency)
    header: list[str] | None = None
    for line, cells in read_rows(upload, filename):
        if header is None:
            header = [c.strip().lower() for c in cells]
            if "name" not in header:
                raise ImportRefused(
                    [RowError(line, "name", _("The first row must name the columns; a name column is required."))]
                )
            unknown = [c for c in header if c and c not in COLUMNS]
            if unknown:
                raise ImportRefused([RowError(line, c, _("Unknown column.")) for c in unknown])
            continue
        if not any(c.strip() for c in cells):
            continue
        row = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h}
        parsed.append(parse_row(line, row, errors, agencies))
    if header is None:
        errors.append(RowError(1, "", _("The file is empty.")))
    if errors:
        raise ImportRefused(errors)
    return parsed


@transaction.atomic
def import_participants(session: TrainingSession, upload, filename: str, *, actor) -> dict:
    """Add a sheet's participants to ``session``: all rows or none (raises ImportRefused with the row errors)."""
    if not actor.has_perm("prevention.record"):
        raise PermissionDenied
    rows = parse_file(upload, filename)
    Participant.objects.bulk_create([Participant(session=session, **fields) for fields in rows])
    summary = {"rows": len(rows)}
    audit.record("prevention.participants_imported", actor=actor, obj=session, details=summary)
    return summary
