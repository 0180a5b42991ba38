"""Restore drill (issue #10, "Nothing lost"): back up a seeded installation with `manage.py backup`, restore it into
an empty database with `manage.py restore`, and check what an operator would check: record counts, the
attachments' SHA-256 and the audit chain. Every step runs `manage.py` in its own process against its own
database, as an operator would.

The PostgreSQL drill needs a server at 127.0.0.1:5432 (CI has one); it creates and drops its own databases.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"

SEED = r"""
from django.core.files.uploadedfile import SimpleUploadedFile
from accounts.roles import sync_roles
from cases import actions
from directory.choices import AgencyKind, OrganisationType
from tests.base import make_agency, make_user
from tests.factories import add_suspect, add_victim, make_case
sync_roles()
ctu = make_agency("Counter Trafficking Unit", "CTU", AgencyKind.CTU, OrganisationType.CENTRAL_GOVERNMENT, home=True)
hoi = make_user("hoi", ctu, "head_of_investigations")
png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR"
for n in range(3):
    case = make_case(owner=hoi)
    add_victim(case, age=20 + n)
    add_suspect(case)
    actions.add_attachment(case, actor=hoi, kind="photo", upload=SimpleUploadedFile(f"photo{n}.png", png + bytes([n]) * 300))
"""

# Work done after the backup, which a forced restore rolls back.
MORE = r"""
from accounts.models import User
from tests.factories import make_case
make_case(owner=User.objects.get(username="hoi"))
"""

INSPECT = r"""
import hashlib, json
from audit.models import AuditEvent
from audit.verify import verify_chain
from cases.models import Case, CaseAttachment, CasePerson
from utilities.storage import read_encrypted
chain = verify_chain()
print("RESULT" + json.dumps({
    "cases": Case.objects.count(),
    "people": CasePerson.objects.count(),
    "audit": AuditEvent.objects.count(),
    "chain_ok": chain.ok,
    "chain_checked": chain.checked,
    "attachments": sorted(
        [a.sha256, hashlib.sha256(read_encrypted("case-attachments", a.stored_name)).hexdigest()]
        for a in CaseAttachment.objects.all()
    ),
}))
"""


class Site:
    """One installation: a database URL, a media directory and the shared secrets."""

    def __init__(self, root: Path, name: str, database_url: str):
        self.media = root / f"{name}-media"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("BEACON_", "DATABASE_URL", "MEDIA_ROOT"))},
            "BEACON_ENV": "test",
            "BEACON_VAR_DIR": str(root / "var"),  # both sites share the generated secrets, like one deployment
            "DATABASE_URL": database_url,
            "MEDIA_ROOT": str(self.media),
        }

    def manage(self, *args: str, check: bool = True, env: dict | None = None) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=BASE, env={**self.env, **(env or {})},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def inspect(self) -> dict:
        out = self.manage("shell", "-c", INSPECT).stdout
        return json.loads(out[out.index("RESULT") + len("RESULT") :])

    def media_hashes(self) -> dict[str, str]:
        import hashlib

        return {
            p.relative_to(self.media).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in self.media.rglob("*")
            if p.is_file()
        }


def drill(src: Site, dst: Site, archive: Path) -> None:
    src.manage("shell", "-c", SEED)
    before = src.inspect()
    assert before["cases"] == 3 and before["people"] == 6 and len(before["attachments"]) == 3
    assert before["chain_ok"] and before["audit"] >= 3

    backup = src.manage("backup", str(archive))
    assert "Backup written" in backup.stdout
    raw = archive.read_bytes()
    # Encrypted: nothing of the database or the manifest can be read from the file.
    assert b"SQLite format" not in raw and b"PGDMP" not in raw and b"row_counts" not in raw and b"hoi" not in raw

    restored = dst.manage("restore", str(archive))
    assert "row counts match the backup and the audit chain is intact" in restored.stdout
    after = dst.inspect()
    assert after == before
    # Every attachment decrypts to the bytes that were uploaded, and the stored files are bit-identical.
    assert all(expected == actual for expected, actual in after["attachments"])
    assert dst.media_hashes() == src.media_hashes()

    # A second restore into the now non-empty database is refused without --force.
    again = dst.manage("restore", str(archive), check=False)
    assert again.returncode != 0 and "not empty" in again.stderr


def refusals(dst: Site, archive: Path, tmp: Path) -> None:
    wrong_key = dst.manage("restore", str(archive), check=False, env={"BEACON_BACKUP_KEY": secrets.token_urlsafe(40)})
    assert wrong_key.returncode != 0 and "cannot be decrypted" in wrong_key.stderr

    data = bytearray(archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered = tmp / "tampered.beacon-backup"
    tampered.write_bytes(bytes(data))
    altered = dst.manage("restore", str(tampered), check=False)
    assert altered.returncode != 0 and "altered" in altered.stderr

    truncated = tmp / "truncated.beacon-backup"
    truncated.write_bytes(bytes(archive.read_bytes()[: len(data) // 2]))
    cut = dst.manage("restore", str(truncated), check=False)
    assert cut.returncode != 0 and ("truncated" in cut.stderr or "altered" in cut.stderr)


@pytest.mark.slow
def test_sqlite_restore_drill():
    with tempfile.TemporaryDirectory(prefix="beacon-drill-") as tmp:
        root = Path(tmp)
        src = Site(root, "src", f"sqlite:///{root / 'src.sqlite3'}")
        dst = Site(root, "dst", f"sqlite:///{root / 'dst.sqlite3'}")
        src.manage("migrate", "-v0")
        archive = root / "drill.beacon-backup"
        drill(src, dst, archive)
        # --force replaces a database that already holds data (here one case more), and the checks still pass.
        dst.manage("shell", "-c", MORE)
        forced = dst.manage("restore", "--force", str(archive))
        assert "audit chain is intact" in forced.stdout
        refusals(dst, archive, root)
        # The copy refused for being unreadable left the restored data alone.
        assert dst.inspect()["cases"] == 3


def postgres_reachable() -> bool:
    if not shutil.which("psql") or not shutil.which("pg_dump"):
        return False
    result = subprocess.run(
        ["psql", PG_ADMIN, "-tAc", "SELECT 1"], capture_output=True, text=True, timeout=10, check=False
    )
    return result.returncode == 0 and result.stdout.strip() == "1"


def psql(sql: str) -> None:
    subprocess.run(["psql", PG_ADMIN, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True, timeout=60)


@pytest.mark.slow
@pytest.mark.skipif(
    not postgres_reachable(), reason="PostgreSQL is not reachable at 127.0.0.1:5432 as postgres (CI runs this)"
)
def test_postgresql_restore_drill():
    suffix = secrets.token_hex(4)
    names = (f"beacon_drill_src_{suffix}", f"beacon_drill_dst_{suffix}")
    for name in names:
        psql(f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="beacon-drill-") as tmp:
            root = Path(tmp)
            src = Site(root, "src", f"postgres://postgres@127.0.0.1:5432/{names[0]}")
            dst = Site(root, "dst", f"postgres://postgres@127.0.0.1:5432/{names[1]}")
            src.manage("migrate", "-v0")
            archive = root / "drill.beacon-backup"
            drill(src, dst, archive)
            # --force over a live database: pg_restore --clean drops the append-only audit table (its triggers
            # refuse UPDATE, DELETE and TRUNCATE, not DROP) and the restored chain verifies.
            src.manage("shell", "-c", MORE)
            assert src.inspect()["cases"] == 4
            forced = src.manage("restore", "--force", str(archive))
            assert "audit chain is intact" in forced.stdout
            assert src.inspect()["cases"] == 3
            refusals(dst, archive, root)
    finally:
        for name in names:
            psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
