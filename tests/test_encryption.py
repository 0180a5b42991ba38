"""Identities encrypted at rest (issue #4): no name, phone, document number or narrative in the raw SQLite file
(nor its WAL) or in a PostgreSQL dump; keys rotate with ``manage.py reencrypt``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import unicodedata
import uuid
from pathlib import Path
from unittest import SkipTest

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings

from audit.models import AuditEvent
from cases import actions
from cases.management.commands.reencrypt import encrypted_models
from cases.models import Case, CaseAttachment, Identifier, Person
from tests.base import BeaconTestCase
from tests.test_people_search import open_case
from utilities.storage import read_encrypted, store_encrypted

ROOT = Path(__file__).resolve().parent.parent

# Distinctive values no code, fixture or translation contains, so finding one means it leaked.
SECRETS = {
    "given": "Yessenia Marisól",
    "family": "Zambrano Quintéro",
    "alias": "La Flaquita Xochitl",
    "suspect": "Thaddeus Okonkwo-Bramblewood",
    "phone": "+1 (868) 555-0199",
    "document": "TTQ4829175",
    "narrative": "Held in the Moruga cocoa drying shed behind the quarry",
    "reporter": "Philippa Ashbourne-Kettering",
}
# The pseudonym is not an identity and is stored in clear: finding it proves the scan reads the data.
CONTROL = "Survivor-Kingfisher-7"


def seed_sensitive_data() -> None:
    """Seed through the actions, as the pages would (run in a subprocess against a throw-away database)."""
    from accounts.roles import sync_roles
    from cases.choices import IdentifierKind
    from directory.choices import AgencyKind, OrganisationType
    from tests.base import make_agency, make_user

    sync_roles()
    ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, OrganisationType.CENTRAL_GOVERNMENT, home=True)
    hoi = make_user("hoi", ctu, "head_of_investigations")
    investigator = make_user("investigator", ctu, "investigator")
    intake = make_user("intake", ctu, "intake_officer")
    case = open_case(investigator, hoi=hoi, intake=intake, label=CONTROL)
    report = case.report
    report.reporter_name = SECRETS["reporter"]
    report.named_persons = f"{SECRETS['given']} {SECRETS['family']}"
    report.save(update_fields=["reporter_name", "named_persons"])
    link = actions.add_person(case, actor=investigator, role="victim", pseudonym=CONTROL, given_names=SECRETS["given"], family_names=SECRETS["family"], birth_date="1993-07-14")
    actions.add_alias(link, actor=investigator, name=SECRETS["alias"])
    actions.add_identifier(actor=investigator, kind=IdentifierKind.PHONE, value=SECRETS["phone"], case=case, link=link)
    actions.add_identifier(actor=investigator, kind=IdentifierKind.ID_DOCUMENT, value=SECRETS["document"], case=case, link=link)
    first, last = SECRETS["suspect"].split(" ", 1)
    actions.add_person(case, actor=investigator, role="suspect", pseudonym="S-1", given_names=first, family_names=last)
    actions.add_note(case, actor=investigator, text=SECRETS["narrative"])


def forms_of(value: str) -> set[bytes]:
    """The ways a value could sit in a file: as typed, without accents, lower-cased, digits only."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    out = {value.encode(), plain.encode(), value.lower().encode(), plain.lower().encode()}
    for word in plain.replace("-", " ").split():
        if len(word) >= 5:
            out.add(word.lower().encode())
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) >= 7:
        out.add(digits[-7:].encode())
    return out


def leaks(data: bytes) -> list[str]:
    data = data.lower()
    return sorted({name for name, value in SECRETS.items() for form in forms_of(value) if form.lower() in data})


def run_manage(env: dict, *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)  # noqa: S603
    if result.returncode:
        raise AssertionError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")


def subprocess_env(tmp: str, database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEACON_") and k not in {"DATABASE_URL", "MEDIA_ROOT"}}
    env.update(BEACON_ENV="test", DATABASE_URL=database_url, BEACON_VAR_DIR=tmp, MEDIA_ROOT=str(Path(tmp) / "media"))
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


SEED = "from django.core.management import call_command; call_command('migrate', verbosity=0); from tests.test_encryption import seed_sensitive_data; seed_sensitive_data()"


# While the seeding process still has the database open, its latest writes sit in the write-ahead log: keep a copy.
KEEP_WAL = (
    "; import shutil; from pathlib import Path; from django.db import connection; "
    "db = Path(connection.settings_dict['NAME']); shutil.copy(db.with_name(db.name + '-wal'), db.with_name('wal-copy'))"
)


class RawDatabaseTests(BeaconTestCase):
    def test_the_scan_finds_what_it_looks_for(self):
        self.assertEqual(leaks(b"..quintero.."), ["family"])
        self.assertEqual(leaks(b"x Marisol x"), ["given"])
        self.assertEqual(leaks(b"tel 5550199"), ["phone"])
        self.assertEqual(leaks(b"nothing to see"), [])

    def test_sqlite_file_and_wal_hold_no_identity(self):
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "beacon.sqlite3"
            run_manage(subprocess_env(tmp, f"sqlite:///{db}"), "shell", "-c", SEED + KEEP_WAL)
            wal = (Path(tmp) / "wal-copy").read_bytes()
            self.assertIn(CONTROL.encode(), wal, "the write-ahead log copy must hold the last writes")
            self.assertEqual(leaks(wal), [])
            import sqlite3

            reader = sqlite3.connect(db)
            try:
                # Read what is in the WAL before and after it is folded into the main file.
                before = b"".join(p.read_bytes() for p in Path(tmp).glob("beacon.sqlite3*"))
                reader.execute("PRAGMA wal_checkpoint(FULL)")
                after = b"".join(p.read_bytes() for p in Path(tmp).glob("beacon.sqlite3*"))
                self.assertEqual(reader.execute("SELECT count(*) FROM cases_person").fetchone()[0], 3)
            finally:
                reader.close()
            for data in (before, after):
                self.assertIn(CONTROL.encode(), data, "the scan must see the database's contents")
                self.assertEqual(leaks(data), [])

    def test_pg_dump_holds_no_identity(self):
        if connection.vendor != "postgresql":
            raise SkipTest("runs when the suite runs on PostgreSQL (DATABASE_URL=postgres://...)")
        import psycopg

        conf = connection.settings_dict
        name = f"beacon_enc_{uuid.uuid4().hex[:10]}"
        auth = {"user": conf["USER"] or None, "password": conf["PASSWORD"] or None, "host": conf["HOST"] or None, "port": conf["PORT"] or None}
        admin = psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in auth.items() if v})
        try:
            admin.execute(f'CREATE DATABASE "{name}"')
            url = f"postgres://{conf['USER']}{':' + conf['PASSWORD'] if conf['PASSWORD'] else ''}@{conf['HOST'] or 'localhost'}:{conf['PORT'] or 5432}/{name}"
            with tempfile.TemporaryDirectory() as tmp:
                run_manage(subprocess_env(tmp, url), "shell", "-c", SEED)
            env = {**os.environ, "PGPASSWORD": conf["PASSWORD"] or ""}
            command = ["/usr/bin/pg_dump", "--no-owner", "-h", conf["HOST"] or "localhost", "-p", str(conf["PORT"] or 5432), "-U", conf["USER"], name]
            dump = subprocess.run(command, env=env, capture_output=True, check=True, timeout=120).stdout  # noqa: S603
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()
        self.assertIn(CONTROL.encode(), dump, "the dump must hold the seeded data")
        self.assertIn(b"cases_person", dump)
        self.assertEqual(leaks(dump), [])


KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()


class KeyRotationTests(BeaconTestCase):
    def setUp(self):
        self.media = tempfile.TemporaryDirectory()
        self.addCleanup(self.media.cleanup)

    def keys(self, *keys: str):
        return override_settings(FIELD_ENCRYPTION_KEYS=list(keys), MEDIA_ROOT=self.media.name)

    def raw_values(self) -> list[str]:
        values = []
        with connection.cursor() as cursor:
            for model, fields in encrypted_models():
                cols = ", ".join(connection.ops.quote_name(f.column) for f in fields)
                cursor.execute(f"SELECT {cols} FROM {connection.ops.quote_name(model._meta.db_table)}")  # noqa: S608
                values += [v for row in cursor.fetchall() for v in row if v]
        return values

    def read_everything(self) -> int:
        """Decrypt every encrypted value of every model and every attachment; returns how many values."""
        count = 0
        for model, fields in encrypted_models():
            for obj in model._base_manager.all():
                for f in fields:
                    getattr(obj, f.attname)
                    count += 1
        self.assertEqual(read_encrypted("attachments", "ab" * 16), b"%PDF-1.4 public tip")
        for attachment in CaseAttachment.objects.all():
            self.assertEqual(read_encrypted("case-attachments", attachment.stored_name), b"statement of the survivor")
        return count

    def test_reencrypt_moves_everything_to_the_new_key(self):
        with self.keys(KEY_A):
            case = open_case(self.investigator, hoi=self.hoi, intake=self.intake)
            link = actions.add_person(case, actor=self.investigator, role="victim", pseudonym="V", given_names="Rosa", family_names="Lindo", birth_date="2001-02-03")
            actions.add_alias(link, actor=self.investigator, name="Rosita")
            actions.add_identifier(actor=self.investigator, kind="phone", value="868 555 0100", case=case, link=link)
            actions.add_note(case, actor=self.investigator, text="A note.")
            actions.add_attachment(case, actor=self.investigator, upload=SimpleUploadedFile("s.txt", b"statement of the survivor"), kind="statement", link=link)
            store_encrypted("attachments", "ab" * 16, b"%PDF-1.4 public tip")
            self.read_everything()
        values = self.raw_values()
        self.assertTrue(values)
        self.assertTrue(all(Fernet(KEY_A.encode()).decrypt(v.encode()) is not None for v in values))

        out = io.StringIO()
        with self.keys(KEY_B, KEY_A):
            call_command("reencrypt", "--batch-size", "2", stdout=out)
        self.assertIn("rows read", out.getvalue())
        event = AuditEvent.objects.filter(action="crypto.reencrypted").latest("id")
        self.assertEqual(event.details["files"], 2)
        self.assertGreaterEqual(event.details["rows"], 8)
        self.assertEqual(event.details["failed"], 0)
        new_values = self.raw_values()
        self.assertEqual(len(new_values), len(values))
        self.assertTrue(all(Fernet(KEY_B.encode()).decrypt(v.encode()) is not None for v in new_values))

        # Idempotent: a second run finds nothing left to do.
        with self.keys(KEY_B, KEY_A):
            call_command("reencrypt", stdout=io.StringIO())
        self.assertEqual(AuditEvent.objects.filter(action="crypto.reencrypted").latest("id").details, {"rows": 0, "files": 0, "failed": 0})
        self.assertEqual(self.raw_values(), new_values)

        # The old key can go: everything still decrypts with the new key alone.
        with self.keys(KEY_B):
            self.assertGreaterEqual(self.read_everything(), len(values))
            person = Person.objects.get(pk=link.person_id)
            self.assertEqual((person.given_names, person.family_names, person.birth_date), ("Rosa", "Lindo", "2001-02-03"))
            self.assertEqual(Identifier.objects.get(person=person).value, "868 555 0100")
            self.assertEqual(Case.objects.get(pk=case.pk).notes.get().text, "A note.")
        self.assertNotEqual(settings.FIELD_ENCRYPTION_KEYS, [KEY_B])

    def test_values_no_key_can_open_are_reported_and_left_alone(self):
        with self.keys(KEY_A):
            case = open_case(self.investigator, hoi=self.hoi, intake=self.intake)
            actions.add_note(case, actor=self.investigator, text="Under key A.")
        err = io.StringIO()
        with self.keys(KEY_B), self.assertRaises(CommandError):
            call_command("reencrypt", stdout=io.StringIO(), stderr=err)
        self.assertIn("cases.CaseNote.text", err.getvalue())
        with self.keys(KEY_A):
            self.assertEqual(Case.objects.get(pk=case.pk).notes.get().text, "Under key A.")
