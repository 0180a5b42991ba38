"""Encrypted file storage for attachments: generated names, encrypted bytes, never served directly.

Two backends, chosen by ``settings.BEACON_STORAGE`` (issue #11):

- ``local`` (the default): files under ``MEDIA_ROOT/<kind>/<xx>/<name>``.
- ``s3``: objects keyed ``<prefix><kind>/<xx>/<name>`` in one bucket of an S3-compatible object store, through
  boto3. Beacon encrypts every file before it leaves the process, so the store only ever holds ciphertext; no
  ACL is sent (objects stay private to the bucket owner), and every upload carries a Content-MD5 the server checks.

Callers use the four functions below and never see which backend is in use. A file the database names but the
store does not hold raises ``StoredFileMissing`` (a ``FileNotFoundError``) with a message naming the kind and
the generated name only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from utilities.crypto import decrypt_bytes, encrypt_bytes


class StoredFileMissing(FileNotFoundError):
    """The store does not hold a file Beacon expects (deleted outside Beacon, or restored without its media)."""


class StorageUnavailable(OSError):
    """The configured object store cannot be used: unreachable, no such bucket, or access refused."""


def backend() -> str:
    return getattr(settings, "BEACON_STORAGE", "local")


def _relative(kind: str, name: str) -> str:
    if not name.isalnum():
        raise ValueError("stored names are generated hex strings")
    return f"{kind}/{name[:2]}/{name}"


def _path(kind: str, name: str) -> Path:
    return Path(settings.MEDIA_ROOT) / _relative(kind, name)


# --- the S3 backend ----------------------------------------------------------------------------------------

_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()


def _s3_settings() -> dict:
    return settings.BEACON_S3


def s3_client():
    """A boto3 S3 client for the configured store, made once per configuration (clients are thread-safe)."""
    cfg = _s3_settings()
    identity = (cfg["ENDPOINT_URL"], cfg["REGION"], cfg["ACCESS_KEY_ID"], cfg["SECRET_ACCESS_KEY"], cfg["CA_BUNDLE"])
    with _clients_lock:
        client = _clients.get(identity)
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=60,
                retries={"max_attempts": 3, "mode": "standard"},
                # Path-style requests work on every S3-compatible server (MinIO, Ceph) without wildcard DNS.
                s3={"addressing_style": "path" if cfg["ENDPOINT_URL"] else "auto"},
                # Only the checksums every S3-compatible server understands; uploads carry Content-MD5 instead,
                # and each file's Fernet token authenticates its own bytes when read.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=cfg["ENDPOINT_URL"] or None,
                region_name=cfg["REGION"] or None,
                aws_access_key_id=cfg["ACCESS_KEY_ID"] or None,
                aws_secret_access_key=cfg["SECRET_ACCESS_KEY"] or None,
                verify=cfg["CA_BUNDLE"] or None,
                config=config,
            )
            _clients[identity] = client
    return client


def _s3_key(relative: str) -> str:
    return _s3_settings()["PREFIX"] + relative


def _error_code(exc) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _unavailable(exc) -> StorageUnavailable:
    bucket = _s3_settings()["BUCKET"]
    code = _error_code(exc)
    if code in {"NoSuchBucket", "404"}:
        return StorageUnavailable(f"The object store has no bucket {bucket!r} (BEACON_S3_BUCKET).")
    if code in {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return StorageUnavailable(
            f"The object store refused access to bucket {bucket!r} ({code}): check BEACON_S3_ACCESS_KEY_ID, "
            "BEACON_S3_SECRET_ACCESS_KEY and the bucket policy."
        )
    return StorageUnavailable(
        f"The object store holding bucket {bucket!r} cannot be used ({code or type(exc).__name__})."
    )


def _put_object(key: str, body, md5: bytes, length: int) -> None:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3_client().put_object(
            Bucket=_s3_settings()["BUCKET"],
            Key=key,
            Body=body,
            ContentLength=length,
            ContentMD5=base64.b64encode(md5).decode("ascii"),
            ContentType="application/octet-stream",
        )
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(exc) from exc


# --- the four functions every caller uses ------------------------------------------------------------------


def store_encrypted(kind: str, name: str, data: bytes) -> None:
    write_token(kind, name, encrypt_bytes(data))


def read_encrypted(kind: str, name: str) -> bytes:
    return decrypt_bytes(read_token(kind, name))


def delete_encrypted(kind: str, name: str) -> None:
    """Remove a stored file; a file already gone is not an error."""
    relative = _relative(kind, name)
    if backend() == "s3":
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            # S3 answers 204 whether or not the key existed.
            s3_client().delete_object(Bucket=_s3_settings()["BUCKET"], Key=_s3_key(relative))
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        return
    _path(kind, name).unlink(missing_ok=True)


# --- readiness, backup and restore -------------------------------------------------------------------------


def check_available() -> None:
    """Raise unless files can be stored: MEDIA_ROOT is writable, or the bucket answers a HEAD request."""
    if backend() == "s3":
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            s3_client().head_bucket(Bucket=_s3_settings()["BUCKET"])
        except (BotoCoreError, ClientError) as exc:
            raise _unavailable(exc) from exc
        return
    with tempfile.NamedTemporaryFile(dir=settings.MEDIA_ROOT, prefix=".readyz-"):
        pass


@dataclass
class StoredObject:
    """One encrypted object in the S3 backend, named relative to the prefix (``<kind>/<xx>/<name>``)."""

    relative: str
    size: int
    modified: datetime

    def open(self) -> BinaryIO:
        """The object's bytes as a stream (read in pieces; never all in memory). ``size`` and ``modified`` are
        updated from the answer, so they describe exactly the bytes the stream gives even if the object changed
        since it was listed."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = s3_client().get_object(Bucket=_s3_settings()["BUCKET"], Key=_s3_key(self.relative))
            self.size, self.modified = answer["ContentLength"], answer["LastModified"]
            return answer["Body"]
        except ClientError as exc:
            if _error_code(exc) in {"NoSuchKey", "404"}:
                raise StoredFileMissing(f"Stored file {self.relative} is not in the object store.") from exc
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc


def s3_objects() -> Iterator[StoredObject]:
    """Every object under the configured prefix, in key order."""
    return s3_objects_under("")


def s3_objects_under(within: str) -> Iterator[StoredObject]:
    """Every object whose key starts with ``<prefix><within>``, in key order."""
    from botocore.exceptions import BotoCoreError, ClientError

    prefix = _s3_settings()["PREFIX"]
    pages = (
        s3_client().get_paginator("list_objects_v2").paginate(Bucket=_s3_settings()["BUCKET"], Prefix=prefix + within)
    )
    try:
        for page in pages:
            for item in page.get("Contents", ()):
                if item["Key"].endswith("/"):  # a "folder" marker some consoles create
                    continue
                yield StoredObject(item["Key"][len(prefix) :], item["Size"], item["LastModified"])
    except (BotoCoreError, ClientError) as exc:
        raise _unavailable(exc) from exc


def s3_put_file(relative: str, source: Path) -> None:
    """Upload an already-encrypted file (from a backup) to ``<prefix><relative>``, streamed from disk."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(source, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
        length = handle.tell()
        handle.seek(0)
        _put_object(_s3_key(relative), handle, digest.digest(), length)


# --- for maintenance code that walks a kind (key rotation, sweeps), whichever the backend -------------------


def stored_names(kind: str) -> Iterator[tuple[str, datetime]]:
    """(name, last modified) of every file stored under ``kind``; unfinished local ``.tmp`` files are skipped."""
    if backend() == "s3":
        for obj in s3_objects_under(f"{kind}/"):
            yield obj.relative.rsplit("/", 1)[-1], obj.modified
        return
    root = Path(settings.MEDIA_ROOT) / kind
    for path in sorted(root.glob("*/*")) if root.is_dir() else ():
        if not path.name.isalnum():
            continue
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:  # removed since the listing
            continue
        yield path.name, datetime.fromtimestamp(modified, UTC)


def read_token(kind: str, name: str) -> bytes:
    """The stored (encrypted) bytes as they are, for re-encryption under a new key."""
    if backend() == "s3":
        from botocore.exceptions import BotoCoreError

        body = StoredObject(_relative(kind, name), 0, datetime.now(UTC)).open()
        try:
            return body.read()
        except BotoCoreError as exc:  # the connection broke while the body was read
            raise _unavailable(exc) from exc
        finally:
            body.close()
    try:
        return _path(kind, name).read_bytes()
    except FileNotFoundError as exc:
        raise StoredFileMissing(f"Stored file {_relative(kind, name)} is not under MEDIA_ROOT.") from exc


def write_token(kind: str, name: str, token: bytes) -> None:
    """Replace a stored file with already-encrypted bytes (re-encryption under a new key), atomically."""
    relative = _relative(kind, name)
    if backend() == "s3":
        _put_object(_s3_key(relative), token, hashlib.md5(token, usedforsecurity=False).digest(), len(token))
        return
    path = _path(kind, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(token)
    os.replace(tmp, path)
