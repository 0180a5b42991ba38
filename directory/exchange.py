"""Exporting and importing the service directory as CSV or XLSX (issue #5).

One row per agency, with stable English column names so a file exported here imports again unchanged.
Import is all or nothing: every row is checked first and the file is refused with a report of each bad cell
(line, column, reason) when any row is wrong; otherwise every row is applied in one transaction. Rows are
matched to agencies by name, so importing the same file twice changes nothing the second time.

Cell formats: booleans ``yes``/``no``; code lists separated by commas; ``capacity`` as
``service=free/total`` separated by semicolons (``shelter=3/12``); ``contacts`` one per line as
``name | role | phone | email``; ``pathways`` as ``need:step`` separated by semicolons (``shelter:1``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit import log as audit
from care.choices import NeedType
from directory.choices import AgencyKind, OrganisationType
from directory.forms import SEX_CHOICES, parse_countries, parse_languages, split_codes
from directory.models import Agency, Contact, Pathway, PathwayStep, Service
from geo.assign import refresh_area
from utilities.spreadsheet import csv_lines, xlsx_bytes

COLUMNS = [
    "name", "short_name", "org_type", "kind", "country", "phone", "email", "address", "is_active",
    "authorised_for_referrals", "services", "serves_adults", "serves_children", "sexes", "nationalities",
    "languages", "opening_hours", "open_24_7", "latitude", "longitude", "capacity", "contacts", "pathways",
]  # fmt: skip

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TRUE, FALSE = {"yes", "y", "true", "1", "x"}, {"no", "n", "false", "0", ""}
SEXES = {value for value, _label in SEX_CHOICES}


# --- export ----------------------------------------------------------------------------------------------


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _decimal(value) -> str:
    return "" if value is None else format(value.normalize(), "f")


def agency_row(agency: Agency, steps: dict[int, list[tuple[str, int]]]) -> list[str]:
    services = list(agency.services.all())
    capacity = "; ".join(
        f"{s.service_type}={'' if s.capacity_free is None else s.capacity_free}/{'' if s.capacity_total is None else s.capacity_total}"
        for s in services if s.has_capacity
    )  # fmt: skip
    contacts = "\n".join(" | ".join((c.name, c.role, c.phone, c.email)) for c in agency.contacts.all())
    row = {
        "name": agency.name, "short_name": agency.short_name, "org_type": agency.org_type, "kind": agency.kind,
        "country": agency.country, "phone": agency.phone, "email": agency.email, "address": agency.address,
        "is_active": _yes(agency.is_active), "authorised_for_referrals": _yes(agency.authorised_for_referrals),
        "services": ", ".join(s.service_type for s in services), "serves_adults": _yes(agency.serves_adults),
        "serves_children": _yes(agency.serves_children), "sexes": ", ".join(agency.sexes or []),
        "nationalities": ", ".join(agency.nationalities or []), "languages": ", ".join(agency.languages or []),
        "opening_hours": agency.opening_hours, "open_24_7": _yes(agency.open_24_7),
        "latitude": _decimal(agency.latitude), "longitude": _decimal(agency.longitude), "capacity": capacity,
        "contacts": contacts, "pathways": "; ".join(f"{need}:{step}" for need, step in sorted(steps.get(agency.pk, []))),
    }  # fmt: skip
    return [row[c] for c in COLUMNS]


def export_rows(queryset=None) -> Iterator[list[str]]:
    queryset = Agency.objects.all() if queryset is None else queryset
    steps: dict[int, list[tuple[str, int]]] = {}
    for agency_id, need, step in PathwayStep.objects.values_list("agency_id", "pathway__need_type", "step"):
        steps.setdefault(agency_id, []).append((need, step))
    yield list(COLUMNS)
    for agency in queryset.order_by("name").prefetch_related("services", "contacts"):
        yield agency_row(agency, steps)


def export_csv(rows: Iterable[list[str]]) -> Iterator[str]:
    """Rows as CSV text, one line at a time (for a streaming response). Cells that a spreadsheet would run
    as a formula are prefixed with a quote; coordinates such as "-61.45" stay readable numbers."""
    return csv_lines(rows, numeric_text_is_safe=True)


def export_xlsx(rows: Iterable[list[str]]) -> bytes:
    return xlsx_bytes(rows, sheet="directory", numeric_text_is_safe=True)


def record_export(*, actor, fmt: str, count: int) -> None:
    with transaction.atomic():
        audit.record(
            "directory.exported", actor=actor, object_type="directory.agency", details={"format": fmt, "rows": count}
        )


# --- import ----------------------------------------------------------------------------------------------


@dataclass
class RowError:
    line: int
    column: str
    reason: str


@dataclass
class ParsedRow:
    line: int
    fields: dict
    services: list[str]
    capacity: dict[str, tuple[int | None, int | None]]
    contacts: list[dict]
    pathways: list[tuple[str, int]]
    present: set[str] = field(default_factory=set)


class ImportRefused(Exception):
    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


def read_rows(upload, filename: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of a CSV or XLSX upload, read as a stream."""
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(upload, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the same error to the user
            raise ImportRefused([RowError(0, "", _("The file is not a readable XLSX workbook."))]) from exc
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else str(v) for v in values]
        workbook.close()
        return
    text = io.TextIOWrapper(getattr(upload, "file", upload), encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    number = 0
    try:
        # Rows are numbered as a spreadsheet shows them (a cell may hold several lines).
        for number, cells in enumerate(reader, start=1):  # noqa: B007 - used in the error below
            yield number, cells
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportRefused([RowError(number + 1, "", _("The file is not UTF-8 CSV."))]) from exc


def _undefuse(cell: str) -> str:
    cell = cell.strip()
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "@", "-") else cell


def _bool(value: str, column: str, errors: list, line: int, default: bool | None = None):
    text = value.strip().lower()
    if text == "" and default is not None:
        return default
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    errors.append(RowError(line, column, _("Write yes or no.")))
    return default


def _coordinate(value: str, column: str, limit: int, errors: list, line: int):
    if not value.strip():
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        errors.append(RowError(line, column, _("Not a number.")))
        return None
    if not number.is_finite() or abs(number) > limit:
        errors.append(RowError(line, column, _("Must be between -%(limit)d and %(limit)d.") % {"limit": limit}))
        return None
    return number.quantize(Decimal("0.000001"))


def _int_or_none(text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    number = int(text)
    if number < 0:
        raise ValueError(text)
    return number


def parse_row(
    line: int, cells: dict[str, str], errors: list[RowError], existing: dict[str, Agency]
) -> ParsedRow | None:
    start = len(errors)
    get = lambda c: _undefuse(cells.get(c, "") or "")  # noqa: E731
    name = get("name")
    if not name:
        errors.append(RowError(line, "name", _("The agency's name is missing.")))
    elif len(name) > 200:
        errors.append(RowError(line, "name", _("At most 200 characters.")))
    agency = existing.get(name)
    fields: dict = {"name": name}
    present = {c for c in COLUMNS if c in cells}

    for column, choices in (("org_type", OrganisationType), ("kind", AgencyKind)):
        value = get(column)
        if value:
            if value not in choices.values:
                errors.append(RowError(line, column, _("Unknown value %(value)s.") % {"value": value}))
            fields[column] = value
        elif agency is None and column == "org_type":
            errors.append(RowError(line, column, _("Required for a new agency.")))
    country = get("country").upper()
    if country:
        if country not in parse_countries(country)[0]:
            errors.append(RowError(line, "country", _("Not an ISO 3166-1 country code.")))
        fields["country"] = country
    for column, limit in (("short_name", 40), ("phone", 40), ("address", 300), ("opening_hours", 300)):
        if column in present:
            value = get(column)
            if len(value) > limit:
                errors.append(RowError(line, column, _("At most %(n)d characters.") % {"n": limit}))
            fields[column] = value
    if "email" in present:
        fields["email"] = get("email")
        if fields["email"]:
            try:
                validate_email(fields["email"])
            except ValidationError:
                errors.append(RowError(line, "email", _("Not an email address.")))
    for column, default in (
        ("is_active", True),
        ("authorised_for_referrals", False),
        ("serves_adults", True),
        ("serves_children", False),
        ("open_24_7", False),
    ):
        if column in present:
            fields[column] = _bool(get(column), column, errors, line, default)

    services = []
    for code in split_codes(get("services")):
        if code not in NeedType.values:
            errors.append(RowError(line, "services", _("Unknown service type %(code)s.") % {"code": code}))
        else:
            services.append(code)
    services = list(dict.fromkeys(services))
    if "services" not in present and agency is not None:
        services = agency.service_types()
    if "sexes" in present:
        sexes = [c.lower() for c in split_codes(get("sexes"))]
        bad = [c for c in sexes if c not in SEXES]
        if bad:
            errors.append(RowError(line, "sexes", _("Unknown sex %(codes)s.") % {"codes": ", ".join(bad)}))
        fields["sexes"] = list(dict.fromkeys(sexes))
    if "nationalities" in present:
        codes, bad = parse_countries(get("nationalities"))
        if bad:
            errors.append(
                RowError(
                    line, "nationalities", _("Not ISO 3166-1 country codes: %(codes)s.") % {"codes": ", ".join(bad)}
                )
            )
        fields["nationalities"] = codes
    if "languages" in present:
        codes, bad = parse_languages(get("languages"))
        if bad:
            errors.append(
                RowError(line, "languages", _("Not ISO 639 language codes: %(codes)s.") % {"codes": ", ".join(bad)})
            )
        fields["languages"] = codes
    if "latitude" in present or "longitude" in present:
        fields["latitude"] = _coordinate(get("latitude"), "latitude", 90, errors, line)
        fields["longitude"] = _coordinate(get("longitude"), "longitude", 180, errors, line)
        if (get("latitude") == "") != (get("longitude") == ""):
            errors.append(RowError(line, "longitude", _("Give both latitude and longitude, or neither.")))
    if fields.get("serves_adults") is False and fields.get("serves_children") is False:
        errors.append(RowError(line, "serves_children", _("A provider serves adults, children or both.")))

    capacity: dict[str, tuple[int | None, int | None]] = {}
    for part in [p.strip() for p in get("capacity").split(";") if p.strip()]:
        service, _sep, numbers = part.partition("=")
        service = service.strip()
        free_text, slash, total_text = numbers.partition("/")
        try:
            free, total = _int_or_none(free_text), _int_or_none(total_text)
            if not slash:
                raise ValueError(part)
        except ValueError:
            errors.append(RowError(line, "capacity", _("Write service=free/total, for example shelter=3/12.")))
            continue
        if service not in services:
            errors.append(
                RowError(line, "capacity", _("Capacity for %(code)s, a service not offered.") % {"code": service})
            )
        elif free is not None and total is not None and free > total:
            errors.append(
                RowError(line, "capacity", _("More places free than in total for %(code)s.") % {"code": service})
            )
        else:
            capacity[service] = (total, free)

    contacts = []
    for text in [t for t in get("contacts").splitlines() if t.strip()]:
        parts = [p.strip() for p in text.split("|")]
        if len(parts) > 4 or not parts[0]:
            errors.append(
                RowError(line, "contacts", _("Write each contact on its own line as name | role | phone | email."))
            )
            continue
        parts += [""] * (4 - len(parts))
        contact = dict(zip(("name", "role", "phone", "email"), parts, strict=True))
        if contact["email"]:
            try:
                validate_email(contact["email"])
            except ValidationError:
                errors.append(
                    RowError(line, "contacts", _("Not an email address: %(value)s.") % {"value": contact["email"]})
                )
        contacts.append(contact)

    pathways = []
    for part in [p.strip() for p in get("pathways").split(";") if p.strip()]:
        need, _sep, step_text = part.partition(":")
        need = need.strip()
        try:
            step = int(step_text)
            if step < 1:
                raise ValueError(step_text)
        except ValueError:
            errors.append(RowError(line, "pathways", _("Write need:step, for example shelter:1.")))
            continue
        if need not in services:
            errors.append(
                RowError(line, "pathways", _("In the pathway for %(code)s, a service not offered.") % {"code": need})
            )
        pathways.append((need, step))
    authorised = fields.get("authorised_for_referrals", agency.authorised_for_referrals if agency else False)
    active = fields.get("is_active", agency.is_active if agency else True)
    if pathways and not (authorised and active):
        errors.append(
            RowError(line, "pathways", _("Only active providers authorised for referrals can be in a pathway."))
        )
    if len(errors) > start:
        return None
    return ParsedRow(line, fields, services, capacity, contacts, pathways, present)


def parse_file(upload, filename: str) -> list[ParsedRow]:
    """Check every row; raise ImportRefused with every problem found, or return the parsed rows."""
    errors: list[RowError] = []
    parsed: list[ParsedRow] = []
    existing = {a.name: a for a in Agency.objects.all()}
    header: list[str] | None = None
    seen: dict[str, int] = {}
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
        result = parse_row(line, row, errors, existing)
        if result is not None:
            if result.fields["name"] in seen:
                errors.append(
                    RowError(
                        line, "name", _("The same agency is on line %(line)d.") % {"line": seen[result.fields["name"]]}
                    )
                )
            seen[result.fields["name"]] = line
            parsed.append(result)
    if header is None:
        errors.append(RowError(1, "", _("The file is empty.")))
    if errors:
        raise ImportRefused(errors)
    return parsed


@transaction.atomic
def import_directory(upload, filename: str, *, actor) -> dict:
    """Apply a directory file: all rows or none (raises ImportRefused with the row errors)."""
    if actor is not None and not actor.has_perm("directory.manage_services"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    rows = parse_file(upload, filename)
    created = updated = 0
    pathways: dict[str, Pathway] = {}
    for row in rows:
        agency = Agency.objects.filter(name=row.fields["name"]).first()
        if agency is None:
            agency = Agency(**row.fields)
            created += 1
        else:
            before = audit.snapshot(agency, row.fields)
            for key, value in row.fields.items():
                setattr(agency, key, value)
            if audit.changed(agency, before, row.fields):
                agency.version += 1
            updated += 1
        try:
            agency.full_clean()
        except ValidationError as exc:
            raise ImportRefused(
                [RowError(row.line, key, "; ".join(msgs)) for key, msgs in exc.message_dict.items()]
            ) from exc
        agency.save()
        refresh_area(agency)
        if "services" in row.present:
            agency.services.exclude(service_type__in=row.services).delete()
            for service_type in row.services:
                Service.objects.get_or_create(agency=agency, service_type=service_type)
        if "capacity" in row.present:
            for service in agency.services.all():
                total, free = row.capacity.get(service.service_type, (None, None))
                if (service.capacity_total, service.capacity_free) != (total, free):
                    service.capacity_total, service.capacity_free = total, free
                    service.capacity_updated_at = timezone.now()
                    service.capacity_updated_by = actor if actor is not None and actor.is_authenticated else None
                    service.version += 1
                    service.save()
        if "contacts" in row.present:
            current = [(c.name, c.role, c.phone, c.email) for c in agency.contacts.all()]
            wanted = [(c["name"], c["role"], c["phone"], c["email"]) for c in row.contacts]
            if current != wanted:
                agency.contacts.all().delete()
                Contact.objects.bulk_create([Contact(agency=agency, **c) for c in row.contacts])
        if "pathways" in row.present:
            wanted_steps = dict(row.pathways)
            for entry in PathwayStep.objects.filter(agency=agency).select_related("pathway"):
                if entry.pathway.need_type not in wanted_steps:
                    entry.delete()
                    pathways[entry.pathway.need_type] = entry.pathway
            for need, step in row.pathways:
                pathway = pathways.get(need) or Pathway.objects.get_or_create(need_type=need)[0]
                pathways[need] = pathway
                PathwayStep.objects.update_or_create(pathway=pathway, agency=agency, defaults={"step": step})
    for pathway in pathways.values():
        from directory.actions import _renumber

        _renumber(pathway)
        pathway.version += 1
        pathway.save()
    summary = {"rows": len(rows), "created": created, "updated": updated}
    audit.record("directory.imported", actor=actor, object_type="directory.agency", details=summary)
    return summary
