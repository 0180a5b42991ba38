"""The IOM Human Trafficking Case Data Standard 2.0 as a flat file (issue #8): reading, checking and writing rows.

One row per person in a case (a victim, or a perpetrator: HTCDS ``per_``), with the HTCDS field names and value
names exactly as the standard writes them (``prs_Gender`` = ``Feminine``...), multiselect values separated by
``;``. Beacon adds extension columns, prefixed ``x_`` (docs/htcds.md):

- ``x_ExternalId``: the row's id in the source system; importing the same id again updates, never duplicates;
- ``x_RegistrationDate``: the date the victim was registered/identified (statistics' year of detection);
- ``x_CaseId``: rows with the same value are people of one case (without it, each row is a case of its own);
- ``x_PersonType``: ``Victim`` or ``Perpetrator`` (without it: a row with ``per_`` values and no ``vic_`` value
  is a perpetrator).

This module knows the format only; exchange/actions.py writes the records. Error reasons never repeat a cell's
text, only picklist codes, because they are stored with the import job and shown on screen.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.choices import (
    CaseStatus,
    ControlMethod,
    ExploitationType,
    ForcedLabourIndustry,
    Gender,
    PerpetratorRole,
    PlaceKind,
    RecruitmentMethod,
    RelationshipToTrafficker,
    SexExploitationType,
    TraffickingStatus,
    Vulnerability,
    WebsiteOrApp,
)
from directory.isocodes import COUNTRIES, language_code
from screening.choices import DecidingOrganisation
from utilities.spreadsheet import csv_lines, xlsx_bytes

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"

VICTIM, PERPETRATOR = "Victim", "Perpetrator"

# Every field of HTCDS 2.0 (htcds_fields_2.0.csv), so a file from another system is accepted whole: fields
# Beacon does not hold are ignored (and named in the result), a column that is not HTCDS at all is an error.
HTCDS_FIELDS = frozenset(
    """
    org_Name org_ShippingCity org_ShippingCountry org_ShippingState org_ShippingStreet org_ShippingPostalCode
    org_ShippingLongitude org_ShippingLatitude org_Phone org_Type
    prs_Salutation prs_FirstName prs_MiddleName prs_SecondName prs_Birthdate prs_Gender prs_Deceased
    prs_MaritalStatus prs_NumberOfChildren prs_PrimaryLanguage prs_SecondaryLanguage prs_HighestLevelOfEducation
    prs_Citizenship prs_IdentityNumber prs_Title prs_Email prs_HomePhone prs_MobilePhone prs_MailingCity
    prs_MailingCountry prs_MailingState prs_MailingStreet prs_MailingPostalCode prs_MailingLongitude
    prs_MailingLatitude
    vic_AgreementToManagePersonalData vic_TraffickingStatus vic_TraffickingStatusDecisionMakingOrg
    vic_RelationshipToTrafficker vic_AgeWhenTrafficked vic_RecruitmentWebsitesAndApps vic_MethodOfRecruitment
    vic_LocationOfRecruitment vic_MethodsOfControl vic_TypeOfExploitation vic_ForcedLabourIndustry
    vic_TypeOfSexExploitation vic_LocationOfExploitation vic_ExploitationWebsitesAndApps vic_Vulnerabilities
    vic_DetailsOfVulnerabilities
    per_RoleInProcess per_RoleDetails
    cas_Status cas_ReasonForCaseClosure cas_CaseOwner cas_ReferringOrganisation cas_IncomingReferralDate
    cas_ReferringPrimaryCaseWorker cas_ReasonForIncomingReferral cas_IncomingReferralDetails
    cas_ReferredOrganisation cas_ReferredPrimaryCaseWorker cas_ReasonForOutgoingReferral cas_OutgoingReferralDate
    cas_OutgoingReferralDetails
    cco_CaseComment
    hte_Longitude hte_Latitude hte_City hte_Country hte_State hte_Street hte_PostalCode hte_Date hte_Type
    hte_Description
    spl_Objectives spl_ActionPlan spl_PlannedEndDate spl_ActualEndDate spl_Type
    con_Consent
    """.split()
)
EXTENSIONS = ("x_ExternalId", "x_CaseId", "x_PersonType", "x_RegistrationDate")
# IOM's own spreadsheet template (HTCDS Excel Spreadsheet v2.0.xlsx) spells this column without the g.
ALIASES = {"vic_TraffickinStatusDecisionMakingOrg": "vic_TraffickingStatusDecisionMakingOrg"}

# The columns Beacon writes, in this order; every one is read back.
COLUMNS = [
    "x_ExternalId", "x_CaseId", "x_PersonType", "x_RegistrationDate",
    "prs_FirstName", "prs_MiddleName", "prs_SecondName", "prs_Birthdate", "prs_Gender", "prs_Citizenship",
    "prs_PrimaryLanguage", "prs_SecondaryLanguage", "prs_IdentityNumber", "prs_Email", "prs_MobilePhone",
    "prs_HomePhone",
    "vic_TraffickingStatus", "vic_TraffickingStatusDecisionMakingOrg", "vic_TypeOfExploitation",
    "vic_ForcedLabourIndustry", "vic_TypeOfSexExploitation", "vic_MethodsOfControl", "vic_MethodOfRecruitment",
    "vic_RecruitmentWebsitesAndApps", "vic_ExploitationWebsitesAndApps", "vic_RelationshipToTrafficker",
    "vic_AgeWhenTrafficked", "vic_Vulnerabilities", "vic_DetailsOfVulnerabilities",
    "per_RoleInProcess", "per_RoleDetails",
    "cas_Status", "cas_ReasonForCaseClosure",
    "hte_Type", "hte_City", "hte_Country", "hte_Latitude", "hte_Longitude", "hte_Date", "hte_Description",
]  # fmt: skip
MAPPED = frozenset(COLUMNS)

PICKLISTS: dict[str, tuple[str, ...]] = {
    "x_PersonType": (VICTIM, PERPETRATOR),
    "prs_Gender": tuple(Gender.values),
    "vic_TraffickingStatus": tuple(TraffickingStatus.values),
    "vic_TraffickingStatusDecisionMakingOrg": tuple(DecidingOrganisation.values),
    "vic_RelationshipToTrafficker": tuple(RelationshipToTrafficker.values),
    "vic_ForcedLabourIndustry": tuple(ForcedLabourIndustry.values),
    "cas_Status": tuple(CaseStatus.values),
    "hte_Type": tuple(PlaceKind.values),
}
MULTISELECTS: dict[str, tuple[str, ...]] = {
    "vic_TypeOfExploitation": tuple(ExploitationType.values),
    "vic_TypeOfSexExploitation": tuple(SexExploitationType.values),
    "vic_MethodsOfControl": tuple(ControlMethod.values),
    "vic_MethodOfRecruitment": tuple(RecruitmentMethod.values),
    "vic_RecruitmentWebsitesAndApps": tuple(WebsiteOrApp.values),
    "vic_ExploitationWebsitesAndApps": tuple(WebsiteOrApp.values),
    "vic_Vulnerabilities": tuple(Vulnerability.values),
    "per_RoleInProcess": tuple(PerpetratorRole.values),
}
# Free text: the longest Beacon keeps (identity fields are encrypted, so no database limit applies to them).
TEXT_LIMITS = {
    "x_ExternalId": 200, "x_CaseId": 200, "prs_FirstName": 200, "prs_MiddleName": 200, "prs_SecondName": 200,
    "prs_IdentityNumber": 100, "prs_Email": 254, "prs_MobilePhone": 40, "prs_HomePhone": 40,
    "vic_DetailsOfVulnerabilities": 5000, "per_RoleDetails": 5000, "cas_ReasonForCaseClosure": 5000,
    "hte_City": 120, "hte_Description": 5000,
}  # fmt: skip
# Person sex derived from the HTCDS gender on import (issue #8); the export falls back the other way.
SEX_FROM_GENDER = {Gender.FEMININE: "female", Gender.MASCULINE: "male"}
GENDER_FROM_SEX = {"female": Gender.FEMININE, "male": Gender.MASCULINE}
HOME_PHONE_NOTE = "home"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
PHONE = re.compile(r"^\+?[0-9 ()./-]{7,25}$")


@dataclass
class RowError:
    line: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "reason": str(self.reason)}


class ImportRefused(Exception):
    """The file cannot be imported; ``errors`` lists every problem. Nothing was written."""

    def __init__(self, errors: list[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = errors


@dataclass
class Row:
    """One checked row: the values of the columns the file has (a column the file lacks leaves the record's
    value alone on update; a present but empty cell clears it)."""

    line: int
    external_id: str
    case_key: str
    person_type: str
    person: dict = field(default_factory=dict)
    identifiers: dict = field(default_factory=dict)  # national_id, email, mobile, home -> value ("" = none)
    victim: dict = field(default_factory=dict)
    suspect: dict = field(default_factory=dict)
    case: dict = field(default_factory=dict)
    place: dict | None = None
    place_present: bool = False


# --- reading files ---------------------------------------------------------------------------------------


def sniff_format(head: bytes) -> str | None:
    """``xlsx`` or ``csv`` from the file's first bytes (the name and declared type prove nothing), else None."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if b"\x00" in head or not head.strip():
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still UTF-8.
        if exc.start < len(head) - 3:
            return None
    return "csv"


def estimate_rows(data: bytes, fmt: str) -> int:
    """Roughly how many rows a file has, for the progress bar."""
    if fmt == "csv":
        return data.count(b"\n")
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True)
        rows = workbook.worksheets[0].max_row or 0
        workbook.close()
    except Exception:  # noqa: BLE001 - the import itself reports an unreadable file
        return 0
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if (value.hour, value.minute, value.second) == (0, 0, 0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_rows(data: bytes, fmt: str) -> Iterator[tuple[int, list[str]]]:
    """(line number as a spreadsheet shows it, cells) of a CSV or XLSX file."""
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            sheet = workbook.worksheets[0]
        except Exception as exc:  # noqa: BLE001 - any unreadable workbook is the same error to the user
            raise ImportRefused([RowError(0, "", _("The file is not a readable XLSX workbook."))]) from exc
        try:
            for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, [_cell(v) for v in values]
        finally:
            workbook.close()
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused([RowError(0, "", _("The file is not UTF-8 CSV."))]) from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for cells in reader:
            yield reader.line_num, cells
    except csv.Error as exc:
        raise ImportRefused([RowError(reader.line_num + 1, "", _("The file is not valid CSV."))]) from exc


def _undefuse(cell: str) -> str:
    """Cells Beacon's exports protected from spreadsheets (utilities.spreadsheet.defuse) read back as written."""
    cell = cell.strip()
    return cell[1:] if cell[:1] == "'" and cell[1:2] in ("=", "+", "@", "-") else cell


# --- checking rows ---------------------------------------------------------------------------------------


def read_header(line: int, cells: list[str]) -> tuple[list[str], list[str], list[RowError]]:
    """(column of each cell, known HTCDS columns Beacon ignores, errors)."""
    header, ignored, errors, seen = [], [], [], set()
    for raw in cells:
        name = ALIASES.get(raw.strip(), raw.strip())
        header.append(name)
        if not name:
            continue
        if name in seen:
            errors.append(RowError(line, name, _("This column appears twice.")))
        seen.add(name)
        if name not in MAPPED:
            if name in HTCDS_FIELDS:
                ignored.append(name)
            else:
                errors.append(RowError(line, name, _("Not an HTCDS 2.0 field or a Beacon extension (x_) column.")))
    if "x_ExternalId" not in seen:
        errors.append(
            RowError(line, "x_ExternalId", _("The x_ExternalId column is required: it identifies each record."))
        )
    return header, ignored, errors


class _Checker:
    def __init__(self, line: int, cells: dict[str, str], today: date | None = None):
        self.line, self.errors = line, []
        self.cells = {name: _undefuse(value or "") for name, value in cells.items()}
        self.today = today or timezone.localdate()

    def has(self, column: str) -> bool:
        return column in self.cells

    def get(self, column: str) -> str:
        return self.cells.get(column, "")

    def error(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.line, column, reason))

    def text(self, column: str) -> str:
        value = self.get(column)
        limit = TEXT_LIMITS.get(column)
        if limit and len(value) > limit:
            self.error(column, _("At most %(n)d characters.") % {"n": limit})
            return value[:limit]
        return value

    def pick(self, column: str) -> str:
        value = self.get(column)
        if value and value not in PICKLISTS[column]:
            self.error(column, _unknown_value(value, PICKLISTS[column]))
            return ""
        return value

    def multi(self, column: str) -> list[str]:
        values = list(dict.fromkeys(v.strip() for v in self.get(column).split(";") if v.strip()))
        bad = [v for v in values if v not in MULTISELECTS[column]]
        for value in bad:
            self.error(column, _unknown_value(value, MULTISELECTS[column]))
        return [v for v in values if v not in bad]

    def day(self, column: str, *, past: bool = False) -> date | None:
        value = self.get(column)
        if not value:
            return None
        if ISO_DATE.match(value[:10]) and (len(value) == 10 or value[10] in "T "):
            try:
                parsed = date.fromisoformat(value[:10])
            except ValueError:
                parsed = None
            if parsed is not None:
                if parsed.year < 1900 or (past and parsed > self.today):
                    self.error(column, _("The date is not plausible (before 1900 or in the future)."))
                    return None
                return parsed
        self.error(column, _("Not a date: write it as YYYY-MM-DD (ISO 8601)."))
        return None

    def number(self, column: str, *, low: int, high: int) -> int | None:
        value = self.get(column)
        if not value:
            return None
        try:
            number = int(Decimal(value))
            if Decimal(value) != number:
                raise ValueError(value)
        except (InvalidOperation, ValueError):
            self.error(column, _("Not a whole number."))
            return None
        if not low <= number <= high:
            self.error(column, _("Must be between %(low)d and %(high)d.") % {"low": low, "high": high})
            return None
        return number

    def coordinate(self, column: str, limit: int) -> Decimal | None:
        value = self.get(column)
        if not value:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.error(column, _("Not a number."))
            return None
        if not number.is_finite() or abs(number) > limit:
            self.error(column, _("Must be between -%(limit)d and %(limit)d.") % {"limit": limit})
            return None
        return number.quantize(Decimal("0.000001"))

    def country(self, column: str) -> str:
        value = self.get(column).upper()
        if value and value not in COUNTRIES:
            self.error(
                column, _("Unknown country code %(code)s: use ISO 3166-1 alpha-2 (TT, VE...).") % {"code": value[:3]}
            )
            return ""
        return value

    def countries(self, column: str) -> list[str]:
        codes = list(dict.fromkeys(v.strip().upper() for v in self.get(column).split(";") if v.strip()))
        bad = [c for c in codes if c not in COUNTRIES]
        for code in bad:
            self.error(
                column, _("Unknown country code %(code)s: use ISO 3166-1 alpha-2 (TT, VE...).") % {"code": code[:3]}
            )
        return [c for c in codes if c not in bad]

    def language(self, column: str) -> str:
        value = self.get(column)
        if not value:
            return ""
        code = language_code(value)
        if code is None:
            self.error(column, _("Unknown language code %(code)s: use ISO 639 (en, es, hin...).") % {"code": value[:3]})
            return ""
        return code


def _unknown_value(value: str, allowed: Iterable[str]) -> str:
    # The value is a picklist code from the file, shown so the user can find it; it is cut short in case a
    # cell in the wrong column holds something personal.
    shown = value[:40]
    for candidate in allowed:
        if candidate.lower() == value.lower():
            return _("Unknown value %(value)s: value names are case-sensitive, write %(right)s.") % {
                "value": shown,
                "right": candidate,
            }
    return _("Unknown value %(value)s: not an HTCDS 2.0 value name for this field.") % {"value": shown}


def check_row(line: int, cells: dict[str, str], today: date | None = None) -> tuple[Row | None, list[RowError]]:
    c = _Checker(line, cells, today)
    # Control characters never belong in a record (and PostgreSQL refuses NUL in text): refuse, never store.
    for column, value in cells.items():
        if value and CONTROL.search(value):
            c.error(column, _("Contains a control character (such as NUL); remove it."))
    external_id = c.text("x_ExternalId")
    if not external_id:
        c.error("x_ExternalId", _("Every row needs its x_ExternalId."))
    vic_given = any(c.get(col) for col in cells if col.startswith("vic_"))
    per_given = any(c.get(col) for col in cells if col.startswith("per_"))
    person_type = c.pick("x_PersonType") if c.has("x_PersonType") else ""
    if not person_type:
        person_type = PERPETRATOR if per_given and not vic_given else VICTIM
    if person_type == PERPETRATOR and vic_given:
        c.error("x_PersonType", _("A perpetrator's row cannot carry vic_ values."))
    if person_type == VICTIM and per_given:
        c.error("x_PersonType", _("A victim's row cannot carry per_ values."))
    row = Row(line=line, external_id=external_id, case_key=c.text("x_CaseId"), person_type=person_type)

    p = row.person
    if c.has("prs_FirstName") or c.has("prs_MiddleName"):
        p["given_names"] = " ".join(x for x in (c.text("prs_FirstName"), c.text("prs_MiddleName")) if x)
    if c.has("prs_SecondName"):
        p["family_names"] = c.text("prs_SecondName")
    if c.has("prs_Birthdate"):
        born = c.day("prs_Birthdate", past=True)
        p["birth_date"] = born.isoformat() if born else ""
        if born:  # an empty cell leaves a year of birth known otherwise (an estimate) alone
            p["birth_year"] = born.year
    if c.has("prs_Gender"):
        p["gender"] = c.pick("prs_Gender") or Gender.UNKNOWN
        p["sex"] = SEX_FROM_GENDER.get(p["gender"], "unknown")
    if c.has("prs_Citizenship"):
        p["nationalities"] = c.countries("prs_Citizenship")
    if c.has("prs_PrimaryLanguage") or c.has("prs_SecondaryLanguage"):
        langs = [c.language("prs_PrimaryLanguage"), c.language("prs_SecondaryLanguage")]
        p["languages"] = list(dict.fromkeys(x for x in langs if x))

    ids = row.identifiers
    if c.has("prs_IdentityNumber"):
        ids["national_id"] = c.text("prs_IdentityNumber")
    if c.has("prs_Email"):
        ids["email"] = c.text("prs_Email")
        if ids["email"]:
            try:
                validate_email(ids["email"])
            except ValidationError:
                c.error("prs_Email", _("Not an email address."))
    for column, key in (("prs_MobilePhone", "mobile"), ("prs_HomePhone", "home")):
        if c.has(column):
            ids[key] = c.text(column)
            if ids[key] and not (PHONE.match(ids[key]) and sum(ch.isdigit() for ch in ids[key]) >= 7):
                c.error(column, _("Not a phone number (E.164: +, country code and number)."))

    if person_type == VICTIM:
        v = row.victim
        if c.has("x_RegistrationDate"):
            v["registered_on"] = c.day("x_RegistrationDate", past=True)
        if c.has("vic_TraffickingStatus"):
            v["trafficking_status"] = c.pick("vic_TraffickingStatus")
        for column, name in (
            ("vic_TypeOfExploitation", "exploitation_types"),
            ("vic_TypeOfSexExploitation", "sexual_exploitation_types"),
            ("vic_MethodsOfControl", "methods_of_control"),
            ("vic_MethodOfRecruitment", "recruitment_methods"),
            ("vic_RecruitmentWebsitesAndApps", "recruitment_websites"),
            ("vic_ExploitationWebsitesAndApps", "exploitation_websites"),
            ("vic_Vulnerabilities", "vulnerabilities"),
        ):
            if c.has(column):
                v[name] = c.multi(column)
        if c.has("vic_ForcedLabourIndustry"):
            v["forced_labour_industry"] = c.pick("vic_ForcedLabourIndustry")
        if c.has("vic_RelationshipToTrafficker"):
            v["relationship_to_trafficker"] = c.pick("vic_RelationshipToTrafficker")
        if c.has("vic_AgeWhenTrafficked"):
            v["age_when_trafficked"] = c.number("vic_AgeWhenTrafficked", low=0, high=120)
        if c.has("vic_DetailsOfVulnerabilities"):
            v["vulnerability_details"] = c.text("vic_DetailsOfVulnerabilities")
        if c.get("vic_TraffickingStatusDecisionMakingOrg"):
            row.case["deciding_org"] = c.pick("vic_TraffickingStatusDecisionMakingOrg")
    else:
        if c.has("per_RoleInProcess"):
            row.suspect["roles_in_process"] = c.multi("per_RoleInProcess")
        if c.has("per_RoleDetails"):
            row.suspect["role_details"] = c.text("per_RoleDetails")

    if c.get("cas_Status"):
        row.case["status"] = c.pick("cas_Status")
    if c.has("cas_ReasonForCaseClosure"):
        row.case["closure_reason"] = c.text("cas_ReasonForCaseClosure")

    place_columns = (
        "hte_Type",
        "hte_City",
        "hte_Country",
        "hte_Latitude",
        "hte_Longitude",
        "hte_Date",
        "hte_Description",
    )
    row.place_present = any(c.has(col) for col in place_columns)
    if any(c.get(col) for col in place_columns):
        place = {
            "kind": c.pick("hte_Type"), "city": c.text("hte_City"), "country": c.country("hte_Country"),
            "latitude": c.coordinate("hte_Latitude", 90), "longitude": c.coordinate("hte_Longitude", 180),
            "date_from": c.day("hte_Date"), "description": c.text("hte_Description"),
        }  # fmt: skip
        if not c.get("hte_Type"):
            c.error("hte_Type", _("Say which kind of place this is (Recruitment, Transit or Exploitation)."))
        if (place["latitude"] is None) != (place["longitude"] is None) and not any(
            e.column in ("hte_Latitude", "hte_Longitude") for e in c.errors
        ):
            c.error("hte_Longitude", _("Give both latitude and longitude, or neither."))
        row.place = place
    return (None if c.errors else row), c.errors


def check_file(data: bytes, fmt: str, *, progress=None) -> tuple[list[Row], list[str], list[RowError]]:
    """Every row checked on its own (cross-row and database checks are exchange.actions'): (rows, ignored
    columns, errors). Raises ImportRefused when the file cannot be read at all."""
    rows: list[Row] = []
    errors: list[RowError] = []
    header: list[str] | None = None
    mapped: list[tuple[int, str]] = []  # (cell index, column) of the columns Beacon reads
    ignored: list[str] = []
    seen: dict[str, int] = {}
    today = timezone.localdate()
    for line, cells in read_rows(data, fmt):
        if header is None:
            if not any(cell.strip() for cell in cells):
                continue
            header, ignored, header_errors = read_header(line, cells)
            if header_errors:
                raise ImportRefused(header_errors)
            mapped = [(i, name) for i, name in enumerate(header) if name in MAPPED]
            continue
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i] if i < len(cells) else "") for i, name in mapped}
        row, row_errors = check_row(line, values, today)
        errors += row_errors
        external_id = _undefuse(values.get("x_ExternalId", ""))
        if external_id:
            if external_id in seen:
                errors.append(
                    RowError(
                        line,
                        "x_ExternalId",
                        _("The same x_ExternalId is on line %(line)d.") % {"line": seen[external_id]},
                    )
                )
            seen.setdefault(external_id, line)
        if row is not None:
            rows.append(row)
        if progress and line % 1000 == 0:
            progress(len(seen))
    if header is None:
        raise ImportRefused([RowError(1, "", _("The file is empty."))])
    if not seen and not errors:
        raise ImportRefused([RowError(2, "", _("The file has a header but no records."))])
    return rows, ignored, errors


# --- writing rows ----------------------------------------------------------------------------------------


def _join(values) -> str:
    return ";".join(values or [])


def _decimal(value) -> str:
    return "" if value is None else format(value.normalize(), "f")


def export_row(link, *, external_id: str, case_id: str) -> list:
    """The HTCDS row of one person in a case (``link``: a CasePerson with person, case, profiles, identifiers
    and places prefetched)."""
    from cases.choices import DocumentType, IdentifierKind, PersonRole

    person, case = link.person, link.case
    gender = person.gender if person.gender != Gender.UNKNOWN else GENDER_FROM_SEX.get(person.sex, Gender.UNKNOWN)
    identifiers = sorted(person.identifiers.all(), key=lambda i: i.pk)

    def first(kind, test=lambda i: True) -> str:
        return next((i.value for i in identifiers if i.kind == kind and test(i)), "")

    languages = list(person.languages or [])
    places = [p for p in case.places.all() if p.case_person_id == link.pk]
    place = places[0] if places else None
    victim = link.role == PersonRole.VICTIM
    profile = getattr(link, "victim_profile", None) if victim else None
    suspect = getattr(link, "suspect_profile", None) if not victim else None
    deciding_org = case.deciding_org if case.deciding_org in DecidingOrganisation.values else ""
    row = {
        "x_ExternalId": external_id, "x_CaseId": case_id, "x_PersonType": VICTIM if victim else PERPETRATOR,
        "x_RegistrationDate": profile.registered_on.isoformat() if profile and profile.registered_on else "",
        "prs_FirstName": person.given_names, "prs_MiddleName": "", "prs_SecondName": person.family_names,
        "prs_Birthdate": person.birth_date, "prs_Gender": gender, "prs_Citizenship": _join(person.nationalities),
        "prs_PrimaryLanguage": languages[0] if languages else "",
        "prs_SecondaryLanguage": languages[1] if len(languages) > 1 else "",
        "prs_IdentityNumber": first(IdentifierKind.ID_DOCUMENT, lambda i: i.document_type == DocumentType.NATIONAL_ID),
        "prs_Email": first(IdentifierKind.EMAIL),
        "prs_MobilePhone": first(IdentifierKind.PHONE, lambda i: i.note != HOME_PHONE_NOTE),
        "prs_HomePhone": first(IdentifierKind.PHONE, lambda i: i.note == HOME_PHONE_NOTE),
        "cas_Status": case.status, "cas_ReasonForCaseClosure": case.closure_reason,
        "hte_Type": place.kind if place else "", "hte_City": place.city if place else "",
        "hte_Country": place.country if place else "", "hte_Latitude": _decimal(place.latitude) if place else "",
        "hte_Longitude": _decimal(place.longitude) if place else "",
        "hte_Date": place.date_from.isoformat() if place and place.date_from else "",
        "hte_Description": place.description if place else "",
    }  # fmt: skip
    if profile is not None:
        row.update({
            "vic_TraffickingStatus": profile.trafficking_status, "vic_TraffickingStatusDecisionMakingOrg": deciding_org,
            "vic_TypeOfExploitation": _join(profile.exploitation_types),
            "vic_ForcedLabourIndustry": profile.forced_labour_industry,
            "vic_TypeOfSexExploitation": _join(profile.sexual_exploitation_types),
            "vic_MethodsOfControl": _join(profile.methods_of_control),
            "vic_MethodOfRecruitment": _join(profile.recruitment_methods),
            "vic_RecruitmentWebsitesAndApps": _join(profile.recruitment_websites),
            "vic_ExploitationWebsitesAndApps": _join(profile.exploitation_websites),
            "vic_RelationshipToTrafficker": profile.relationship_to_trafficker,
            "vic_AgeWhenTrafficked": profile.age_when_trafficked if profile.age_when_trafficked is not None else "",
            "vic_Vulnerabilities": _join(profile.vulnerabilities), "vic_DetailsOfVulnerabilities": profile.vulnerability_details,
        })  # fmt: skip
    if suspect is not None:
        row.update({"per_RoleInProcess": _join(suspect.roles_in_process), "per_RoleDetails": suspect.role_details})
    return [row.get(column, "") for column in COLUMNS]


def to_csv(rows: Iterable[list]) -> Iterator[str]:
    """CSV lines (formula-like text defused; coordinates such as -61.5 stay numbers)."""
    return csv_lines(rows, numeric_text_is_safe=True)


def to_xlsx(rows: Iterable[list]) -> bytes:
    return xlsx_bytes(rows, sheet="HTCDS", numeric_text_is_safe=True)
