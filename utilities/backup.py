"""Encrypted, consistent backups of the database and the attachments, and their restore (issue #10).

An archive is one file: a gzip'd tar holding the database (a SQLite online-backup copy, or a ``pg_dump
--format=custom`` taken in one snapshot), every stored file (attachments are already encrypted one by one: the
files under MEDIA_ROOT, or with ``BEACON_STORAGE=s3`` every object under the configured prefix, streamed from the
bucket) and ``manifest.json``, encrypted with AES-256-GCM in 1 MiB chunks. The manifest holds no personal
data: versions, the database vendor, table row counts, the SHA-256 of every file and the audit chain's head.

Stream format: MAGIC, a 16-byte random salt, then frames of [1-byte final flag][4-byte length][ciphertext+tag].
Each archive gets its own AES key, HKDF-SHA256(BEACON_BACKUP_KEY, salt); frame ``i`` uses the nonce
``i (11 bytes) || final flag``, and the header is authenticated with every frame, so frames cannot be
reordered, dropped, truncated or spliced from another archive without decryption failing.

For production PostgreSQL, base backups plus WAL archiving give point-in-time recovery; see "Back up and
restore" in docs/operator-guide.md. This module is the whole-installation copy and the restore drill.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404 - pg_dump, pg_restore and git with fixed arguments, no shell
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import connection, transaction

from utilities import storage

MAGIC = b"BEACON-BACKUP-1\n"
SALT_BYTES = 16
CHUNK = 1024 * 1024
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database.sqlite3"
POSTGRES_MEMBER = "database.pgdump"
MEDIA_PREFIX = "media/"
MIN_KEY_CHARS = 32


class BackupError(Exception):
    """Anything that makes a backup or restore unusable; the message never holds personal data."""


# --- encryption --------------------------------------------------------------------------------------------


def _key(secret: str | None = None) -> str:
    secret = secret if secret is not None else settings.BACKUP_KEY
    if not secret or len(secret) < MIN_KEY_CHARS:
        raise BackupError(
            f"BEACON_BACKUP_KEY must be set to a secret of at least {MIN_KEY_CHARS} characters "
            "(or BEACON_BACKUP_KEY_FILE naming a file that holds it)."
        )
    return secret


def _aead(secret: str, salt: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"beacon backup v1").derive(secret.encode())
    return AESGCM(derived)


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if final else b"\x00")


class EncryptingWriter(io.RawIOBase):
    """A write-only file object that encrypts what it is given into ``out`` (tarfile writes into it)."""

    def __init__(self, out, secret: str):
        self.out = out
        salt = os.urandom(SALT_BYTES)
        self.header = MAGIC + salt
        self.aead = _aead(secret, salt)
        self.buffer = bytearray()
        self.index = 0
        out.write(self.header)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.buffer.extend(data)
        while len(self.buffer) > CHUNK:
            self._frame(bytes(self.buffer[:CHUNK]), final=False)
            del self.buffer[:CHUNK]
        return len(data)

    def _frame(self, plain: bytes, *, final: bool) -> None:
        sealed = self.aead.encrypt(_nonce(self.index, final), plain, self.header)
        self.out.write((b"\x01" if final else b"\x00") + len(sealed).to_bytes(4, "big") + sealed)
        self.index += 1

    def close(self) -> None:
        if not self.closed:
            self._frame(bytes(self.buffer), final=True)
            self.buffer.clear()
        super().close()


def decrypt_stream(src, dst, secret: str) -> None:
    """Decrypt an archive from ``src`` into ``dst``; raise BackupError on a wrong key or any tampering."""
    header = src.read(len(MAGIC) + SALT_BYTES)
    if len(header) != len(MAGIC) + SALT_BYTES or not header.startswith(MAGIC):
        raise BackupError("This file is not a Beacon backup archive.")
    aead = _aead(secret, header[len(MAGIC) :])
    index = 0
    while True:
        head = src.read(5)
        if len(head) < 5:
            raise BackupError("The archive is truncated: its last part is missing.")
        final = head[0] == 1
        sealed = src.read(int.from_bytes(head[1:], "big"))
        try:
            dst.write(aead.decrypt(_nonce(index, final), sealed, header))
        except InvalidTag as exc:
            raise BackupError(
                "The archive cannot be decrypted: wrong BEACON_BACKUP_KEY, or the file was altered."
            ) from exc
        index += 1
        if final:
            if src.read(1):
                raise BackupError("The archive has data after its end: the file was altered.")
            return


# --- what a backup holds -----------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def _beacon_version() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    info = {"django": version("django")}
    try:
        info["beacon"] = version("beacon")
    except PackageNotFoundError:
        pass
    try:
        commit = subprocess.run(  # noqa: S603  # nosec B603 B607 - fixed arguments, no shell
            [_tool("git"), "rev-parse", "HEAD"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError, BackupError):
        commit = ""
    if commit:
        info["git_commit"] = commit
    return info


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"{name} is not installed or not on PATH.")
    return path


def _pg_env(db: dict) -> dict:
    """libpq settings for pg_dump/pg_restore: the password goes in the environment, never on the command line."""
    environ = dict(os.environ)
    for key, var in (
        ("HOST", "PGHOST"),
        ("PORT", "PGPORT"),
        ("USER", "PGUSER"),
        ("PASSWORD", "PGPASSWORD"),
        ("NAME", "PGDATABASE"),
    ):
        if db.get(key):
            environ[var] = str(db[key])
    options = db.get("OPTIONS") or {}
    if options.get("sslmode"):
        environ["PGSSLMODE"] = options["sslmode"]
    return environ


def _audit_head(cursor) -> dict:
    cursor.execute("SELECT id, hash FROM audit_auditevent ORDER BY id DESC LIMIT 1")
    row = cursor.fetchone()
    return {"last_id": row[0], "hash": row[1]} if row else {"last_id": None, "hash": ""}


def _counts(cursor, tables: list[str], quote) -> dict[str, int]:
    counts = {}
    for table in sorted(tables):
        cursor.execute(f"SELECT COUNT(*) FROM {quote(table)}")  # noqa: S608  # nosec B608 - names come from the catalogue
        counts[table] = cursor.fetchone()[0]
    return counts


def _snapshot_sqlite(target: Path) -> tuple[dict[str, int], dict]:
    """Copy the live database with SQLite's online backup API (consistent even while others write)."""
    connection.ensure_connection()
    dest = sqlite3.connect(target)
    try:
        connection.connection.backup(dest)
        # The copy is what gets restored, so count and read the chain head from the copy itself.
        cursor = dest.cursor()
        tables = [
            r[0]
            for r in cursor.execute("SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")
        ]
        counts = _counts(cursor, tables, lambda n: '"' + n.replace('"', '""') + '"')
        head = _audit_head(cursor)
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    return counts, head


def _snapshot_postgres(target: Path) -> tuple[dict[str, int], dict]:
    """pg_dump and the row counts read the same exported snapshot, so the manifest describes exactly the dump."""
    db = connection.settings_dict
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot = cursor.fetchone()[0]
        result = subprocess.run(  # noqa: S603  # nosec B603 B607 - fixed arguments, no shell
            [_tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={target}", "--no-password"],
            env=_pg_env(db), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed (exit {result.returncode}): {result.stderr.strip()[:500]}")
        tables = connection.introspection.table_names(cursor)
        counts = _counts(cursor, tables, connection.ops.quote_name)
        head = _audit_head(cursor)
    return counts, head


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.endswith(".tmp"))


@dataclass
class BackupResult:
    path: Path
    manifest: dict = field(default_factory=dict)


class _HashingReader:
    """Hands tarfile an object's stream while hashing exactly the bytes that go into the archive."""

    def __init__(self, stream):
        self.stream = stream
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        # tarfile takes a short read for the end of the data: keep reading until ``size`` bytes or the real end.
        while 0 < size and 0 < len(data) < size:
            more = self.stream.read(size - len(data))
            if not more:
                break
            data += more
        self.digest.update(data)
        return data


def _add_s3_media(tar: tarfile.TarFile, files: dict[str, str]) -> None:
    """Stream every object under the prefix into the archive, one piece at a time (never a whole file in memory)."""
    try:
        for obj in storage.s3_objects():
            try:
                body = obj.open()
            except storage.StoredFileMissing:
                continue  # deleted (by retention) between the listing and now: its row is gone too
            try:
                reader = _HashingReader(body)
                info = tarfile.TarInfo(MEDIA_PREFIX + obj.relative)
                info.size, info.mode, info.mtime = obj.size, 0o600, int(obj.modified.timestamp())
                try:
                    tar.addfile(info, reader)
                except OSError as exc:  # tarfile's "unexpected end of data": the connection broke mid-object
                    raise BackupError(f"Stored object {obj.relative} could not be read completely.") from exc
                files[info.name] = reader.digest.hexdigest()
            finally:
                body.close()
    except storage.StorageUnavailable as exc:
        raise BackupError(str(exc)) from exc


def create_backup(output: Path, *, secret: str | None = None) -> BackupResult:
    """Write one encrypted archive of the configured database and stored files (MEDIA_ROOT or the bucket)."""
    secret = _key(secret)
    vendor = connection.vendor
    if vendor not in {"sqlite", "postgresql"}:
        raise BackupError(f"Backups are written for SQLite and PostgreSQL, not {vendor}.")
    s3 = storage.backend() == "s3"
    if s3:
        _check_store()
    output = Path(output)
    media_root = Path(settings.MEDIA_ROOT)
    with tempfile.TemporaryDirectory(prefix="beacon-backup-") as tmp:
        # The database first, then the files: an attachment is stored before its row commits, so every
        # attachment the snapshot refers to is already on disk when the media are read.
        member = SQLITE_MEMBER if vendor == "sqlite" else POSTGRES_MEMBER
        dump = Path(tmp) / member
        counts, head = (_snapshot_sqlite if vendor == "sqlite" else _snapshot_postgres)(dump)
        files = {member: sha256_file(dump)}
        media = [] if s3 else _media_files(media_root)
        partial = output.with_name(output.name + ".partial")
        with open(partial, "wb") as raw:
            os.chmod(partial, 0o600)
            writer = EncryptingWriter(raw, secret)
            with tarfile.open(fileobj=writer, mode="w|gz") as tar:
                tar.add(dump, arcname=member)
                for path in media:
                    name = MEDIA_PREFIX + path.relative_to(media_root).as_posix()
                    # Hash exactly the bytes that go into the archive (a file may be replaced meanwhile).
                    data = path.read_bytes()
                    files[name] = hashlib.sha256(data).hexdigest()
                    info = tarfile.TarInfo(name)
                    info.size, info.mode, info.mtime = len(data), 0o600, int(path.stat().st_mtime)
                    tar.addfile(info, io.BytesIO(data))
                if s3:
                    _add_s3_media(tar, files)
                manifest = {
                    "format": 1,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "software": _beacon_version(),
                    "database_vendor": vendor,
                    "media_storage": storage.backend(),
                    "database_member": member,
                    "row_counts": counts,
                    "audit_chain_head": head,
                    "files": files,
                }
                body = json.dumps(manifest, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(body), 0o600, int(datetime.now(UTC).timestamp())
                tar.addfile(info, io.BytesIO(body))
            writer.close()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, output)
    return BackupResult(output, manifest)


# --- restore -----------------------------------------------------------------------------------------------


def unpack(archive: Path, into: Path, *, secret: str | None = None) -> dict:
    """Decrypt and unpack ``archive`` into the directory ``into``; verify every file against the manifest."""
    secret = _key(secret)
    plain = into / "archive.tar.gz"
    with open(archive, "rb") as src, open(plain, "wb") as dst:
        os.chmod(plain, 0o600)
        decrypt_stream(src, dst, secret)
    content = into / "content"
    content.mkdir()
    with tarfile.open(plain, "r:gz") as tar:
        tar.extractall(content, filter="data")
    plain.unlink()
    try:
        manifest = json.loads((content / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError("The archive has no readable manifest.") from exc
    present = {p.relative_to(content).as_posix() for p in content.rglob("*") if p.is_file()} - {MANIFEST}
    expected = set(manifest.get("files", {}))
    if present != expected:
        raise BackupError(
            f"The archive's files do not match its manifest ({len(expected - present)} missing, "
            f"{len(present - expected)} unexpected)."
        )
    bad = [name for name, digest in manifest["files"].items() if sha256_file(content / name) != digest]
    if bad:
        raise BackupError(f"{len(bad)} file(s) in the archive do not match their SHA-256 in the manifest.")
    return manifest


def database_is_empty() -> bool:
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def _restore_sqlite(dump: Path) -> None:
    connection.close()
    target = Path(connection.settings_dict["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(dump)
    dest = sqlite3.connect(target)
    try:
        # The backup API writes through SQLite itself, so an existing -wal file cannot resurrect old pages.
        src.backup(dest)
        dest.execute("PRAGMA journal_mode=WAL")
    finally:
        src.close()
        dest.close()


def _restore_postgres(dump: Path) -> None:
    connection.close()
    result = subprocess.run(  # noqa: S603  # nosec B603 B607 - fixed arguments, no shell
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
         "--exit-on-error", "--no-password", f"--dbname={connection.settings_dict['NAME']}", str(dump)],
        env=_pg_env(connection.settings_dict), capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed (exit {result.returncode}): {result.stderr.strip()[:500]}")


def _check_store() -> None:
    try:
        storage.check_available()
    except storage.StorageUnavailable as exc:
        raise BackupError(str(exc)) from exc


def _restore_media(content: Path, files: dict) -> int:
    """Put the archive's stored files back into the configured backend (whichever one wrote the backup)."""
    media_root = Path(settings.MEDIA_ROOT)
    s3 = storage.backend() == "s3"
    restored = 0
    for name in files:
        if not name.startswith(MEDIA_PREFIX):
            continue
        if s3:
            try:
                storage.s3_put_file(name[len(MEDIA_PREFIX) :], content / name)
            except storage.StorageUnavailable as exc:
                raise BackupError(f"{exc} {restored} stored files were restored before it failed.") from exc
            restored += 1
            continue
        target = media_root / name[len(MEDIA_PREFIX) :]
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".restoring")
        shutil.copyfile(content / name, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
        restored += 1
    return restored


@dataclass
class RestoreResult:
    manifest: dict
    media_files: int
    problems: list[str]
    audit_rows: int = 0


def check_restored(manifest: dict) -> tuple[list[str], int]:
    """Compare the live database with the manifest; return the problems found and the audit rows verified."""
    from audit.verify import verify_chain

    problems = []
    connection.close()
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        live = _counts(cursor, [t for t in tables if t in manifest["row_counts"]], connection.ops.quote_name)
        head = _audit_head(cursor)
    for table, expected in sorted(manifest["row_counts"].items()):
        if live.get(table) != expected:
            problems.append(f"table {table}: {live.get(table, 'missing')} rows, the backup had {expected}")
    if head != manifest["audit_chain_head"]:
        problems.append("the audit chain's last row differs from the backup's")
    result = verify_chain()
    if not result.ok:
        problems.append(f"audit chain broken at row {result.bad_id} ({result.reason})")
    return problems, result.checked


def restore_backup(archive: Path, *, force: bool = False, secret: str | None = None) -> RestoreResult:
    """Restore ``archive`` into the configured database and file storage, then check it against its manifest."""
    vendor = connection.vendor
    if storage.backend() == "s3":
        _check_store()  # before the database is touched: a restore that cannot finish should not start
    with tempfile.TemporaryDirectory(prefix="beacon-restore-") as tmp:
        manifest = unpack(Path(archive), Path(tmp), secret=secret)
        if manifest.get("database_vendor") != vendor:
            raise BackupError(
                f"This backup is of a {manifest.get('database_vendor')} database; the configured one is {vendor}."
            )
        if not force and not database_is_empty():
            raise BackupError("The target database is not empty. Restore into an empty database, or pass --force.")
        dump = Path(tmp) / "content" / manifest["database_member"]
        (_restore_sqlite if vendor == "sqlite" else _restore_postgres)(dump)
        media = _restore_media(Path(tmp) / "content", manifest["files"])
    problems, checked = check_restored(manifest)
    return RestoreResult(manifest, media, problems, checked)
