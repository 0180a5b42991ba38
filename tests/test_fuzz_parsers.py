"""Fuzzing every importer and parser that takes outside input (issue #10): the directory CSV/XLSX import, the
HTCDS import and the anonymous public report form.

Hypothesis drives each with generated input (derandomized, a bounded number of examples, so the module runs in
well under a minute). What must hold for every input:
- no crash: the only exception an importer may raise is its own ImportRefused; the form never answers 500;
- no partial write: when the input is refused, not one row was added or changed anywhere it writes.
Each example runs in its own transaction (hypothesis.extra.django), so examples do not see each other's writes.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile

from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from audit.models import AuditEvent
from cases.models import Case, CasePerson, Person
from directory import exchange as directory_exchange
from directory.models import Agency, Contact, PathwayStep, Service
from exchange import actions as htcds_actions
from exchange import htcds
from intake.models import Report, ReportAddition, ReportAttachment
from tests.base import BeaconTestCase

FUZZ = settings(
    derandomize=True,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
    database=None,
)

# Cells that have broken parsers before: formulas, quotes, separators, line breaks, odd Unicode, numbers.
NASTY = [
    "", " ", "=1+1", "'=cmd|' /C calc'!A0", "+1", "-1", "@SUM(A1)", "\t=1", '"', '""', ",", ";", "\n", "\r\n",
    "yes", "no", "x", "1", "0", "-61.5", "10.65", "999999999999999999999", "1e308", "NaN", "2025-02-30",
    "2020-01-01", "01/02/2020", "TT", "VE", "ZZ", "female", "male", "unknown", "Victim", "Suspect", "Female",
    "shelter:3/1", "shelter:x", "a|b", "Ana <ana@example.invalid>", "\x00", "\u202e", "ç日本語", "<script>",
]  # fmt: skip
cell = st.one_of(st.sampled_from(NASTY), st.text(max_size=30))


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        # openpyxl refuses control characters in cells; the fuzzing of those is done through CSV.
        sheet.append(["".join(ch for ch in value if ch >= " " or ch in "\t\n\r") for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def table(columns: list[str], *, required: tuple[str, ...] = ()):
    """A header drawn from ``columns`` (always holding ``required``) and up to 4 rows of nasty cells."""

    @st.composite
    def build(draw):
        header = list(required) + draw(st.lists(st.sampled_from(columns), max_size=8, unique=True))
        if draw(st.booleans()):
            header.append(draw(st.sampled_from(["", "unknown_column", "NAME", " name "])))
        rows = draw(st.lists(st.lists(cell, min_size=0, max_size=len(header) + 1), max_size=4))
        return [header, *rows]

    return build()


class DirectoryImportFuzzTests(HypothesisTestCase, BeaconTestCase):
    def counts(self) -> tuple:
        return (Agency.objects.count(), Service.objects.count(), Contact.objects.count(), PathwayStep.objects.count(),
                AuditEvent.objects.count(), list(Agency.objects.order_by("pk").values_list("pk", "version")))  # fmt: skip

    def run_import(self, data: bytes, filename: str) -> None:
        before = self.counts()
        try:
            directory_exchange.import_directory(io.BytesIO(data), filename, actor=self.director)
        except directory_exchange.ImportRefused as refused:
            self.assertTrue(refused.errors)
            self.assertEqual(self.counts(), before, "a refused directory import wrote something")

    @FUZZ
    @given(rows=table(directory_exchange.COLUMNS, required=("name",)))
    def test_directory_csv_never_crashes_nor_writes_half(self, rows):
        self.run_import(csv_bytes(rows), "directory.csv")

    @settings(FUZZ, max_examples=15)
    @given(rows=table(directory_exchange.COLUMNS, required=("name",)))
    def test_directory_xlsx_never_crashes_nor_writes_half(self, rows):
        self.run_import(xlsx_bytes(rows), "directory.xlsx")

    @settings(FUZZ, max_examples=30)
    @given(data=st.binary(max_size=300), name=st.sampled_from(["directory.csv", "directory.xlsx", "d.CSV"]))
    def test_directory_import_of_arbitrary_bytes(self, data, name):
        self.run_import(data, name)


class HtcdsImportFuzzTests(HypothesisTestCase, BeaconTestCase):
    def counts(self) -> tuple:
        return (Case.objects.count(), Person.objects.count(), CasePerson.objects.count(), Report.objects.count(),
                AuditEvent.objects.filter(action="exchange.htcds_imported").count())  # fmt: skip

    def run_import(self, data: bytes, fmt: str | None) -> None:
        before = self.counts()
        try:
            htcds_actions.import_htcds(data, actor=self.director, fmt=fmt)
        except htcds.ImportRefused as refused:
            self.assertTrue(refused.errors)
            self.assertEqual(self.counts(), before, "a refused HTCDS import wrote something")

    @FUZZ
    @given(rows=table(htcds.COLUMNS, required=("x_ExternalId", "x_PersonType")))
    def test_htcds_csv_never_crashes_nor_writes_half(self, rows):
        self.run_import(csv_bytes(rows), "csv")

    @settings(FUZZ, max_examples=10)
    @given(rows=table(htcds.COLUMNS, required=("x_ExternalId", "x_PersonType")))
    def test_htcds_xlsx_never_crashes_nor_writes_half(self, rows):
        self.run_import(xlsx_bytes(rows), "xlsx")

    @settings(FUZZ, max_examples=30)
    @given(data=st.binary(max_size=300))
    def test_htcds_import_of_arbitrary_bytes(self, data):
        self.run_import(data, None)


text_value = st.one_of(st.sampled_from(NASTY), st.text(max_size=80))
public_report = st.fixed_dictionaries(
    {},
    optional={
        "narrative": text_value,
        "location_text": text_value,
        "incident_from": st.one_of(
            st.sampled_from(["2025-01-10", "2099-01-01", "1800-01-01", "2025-02-30"]), text_value
        ),
        "incident_to": text_value,
        "victim_count": st.one_of(st.integers(-(10**12), 10**12).map(str), text_value),
        "victim_sex": st.one_of(st.sampled_from(["female", "male", "unknown"]), text_value),
        "victim_age_group": st.one_of(st.sampled_from(["adult", "child", "unknown"]), text_value),
        "victim_nationality": text_value,
        "victim_language": text_value,
        "exploitation": st.lists(st.one_of(st.sampled_from(["sexual", "forced_labour"]), text_value), max_size=3),
        "child_involved": st.sampled_from(["on", "", "off", "1"]),
        "immediate_danger": st.sampled_from(["on", "", "x"]),
        "named_persons": text_value,
        "contact_me": st.sampled_from(["on", ""]),
        "reporter_name": text_value,
        "reporter_phone": text_value,
        "reporter_email": st.one_of(st.emails(), text_value),
        "website": st.sampled_from(["", "http://spam.example"]),
        "file_1": st.binary(max_size=64),
    },
)


@override_settings(PUBLIC_FORM_MAX_PER_HOUR=10**6)
class PublicFormFuzzTests(HypothesisTestCase, BeaconTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.media = tempfile.mkdtemp(prefix="beacon-fuzz-")
        cls.media_override = override_settings(MEDIA_ROOT=cls.media)
        cls.media_override.enable()

    @classmethod
    def tearDownClass(cls):
        cls.media_override.disable()
        shutil.rmtree(cls.media, ignore_errors=True)
        super().tearDownClass()

    def counts(self) -> tuple:
        return (Report.objects.count(), ReportAttachment.objects.count(), ReportAddition.objects.count(),
                AuditEvent.objects.count())  # fmt: skip

    @FUZZ
    @given(data=public_report)
    def test_public_report_never_fails_and_refusals_write_nothing(self, data):
        if "file_1" in data:
            upload = io.BytesIO(data["file_1"])
            upload.name = "photo.jpg"
            data = {**data, "file_1": upload}
        before = self.counts()
        response = Client(REMOTE_ADDR="198.51.100.7").post("/report/", data)
        self.assertLess(response.status_code, 500, data)
        after = self.counts()
        if after[0] == before[0]:
            self.assertEqual(after[:3], before[:3], "a refused report left rows behind")
        else:
            self.assertEqual(after[0], before[0] + 1)
            self.assertEqual(response.status_code, 200)

    @settings(FUZZ, max_examples=25)
    @given(code=text_value, text=text_value)
    def test_public_addition_never_fails(self, code, text):
        before = self.counts()
        response = Client(REMOTE_ADDR="198.51.100.8").post("/report/add/", {"code": code, "text": text})
        self.assertLess(response.status_code, 500)
        self.assertEqual(self.counts()[:2], before[:2])  # no report or attachment from an addition
