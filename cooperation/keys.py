"""This instance's cooperation keys (issue #9): an Ed25519 key signs every message it sends, an X25519 key
lets other units encrypt messages to it. Both private keys live in one file named by
``BEACON_COOP_KEY_FILE``; outside production the file is generated on first use (like var/dev-secrets.json).
Only the public halves ever leave the machine (``manage.py coop_keys``)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_RAW = {"encoding": serialization.Encoding.Raw, "format": serialization.PublicFormat.Raw}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str, length: int | None = None) -> bytes:
    """Strict base64; raises ValueError on anything else (or on the wrong length)."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError) as exc:
        raise ValueError("not base64") from exc
    if length is not None and len(data) != length:
        raise ValueError("wrong length")
    return data


def public_raw(key: Ed25519PublicKey | X25519PublicKey) -> bytes:
    return key.public_bytes(**_RAW)


def signing_public_key(text: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(unb64(text, 32))


def encryption_public_key(text: str) -> X25519PublicKey:
    return X25519PublicKey.from_public_bytes(unb64(text, 32))


@dataclass(frozen=True)
class InstanceKeys:
    signing: Ed25519PrivateKey
    encryption: X25519PrivateKey

    @classmethod
    def generate(cls) -> InstanceKeys:
        return cls(Ed25519PrivateKey.generate(), X25519PrivateKey.generate())

    @property
    def signing_public(self) -> str:
        return b64(public_raw(self.signing.public_key()))

    @property
    def encryption_public(self) -> str:
        return b64(public_raw(self.encryption.public_key()))

    def to_json(self) -> str:
        raw = {"encoding": serialization.Encoding.Raw, "format": serialization.PrivateFormat.Raw,
               "encryption_algorithm": serialization.NoEncryption()}  # fmt: skip
        return json.dumps(
            {"ed25519": b64(self.signing.private_bytes(**raw)), "x25519": b64(self.encryption.private_bytes(**raw))},
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> InstanceKeys:
        data = json.loads(text)
        return cls(
            Ed25519PrivateKey.from_private_bytes(unb64(data["ed25519"], 32)),
            X25519PrivateKey.from_private_bytes(unb64(data["x25519"], 32)),
        )


def write_key_file(path: Path) -> InstanceKeys:
    """Create a new key file readable by its owner only; refuses to overwrite an existing one."""
    keys = InstanceKeys.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole to a private temporary file, then linked into place: the link fails if the file exists, and
    # a process starting at the same moment never reads it half-written.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(keys.to_json())
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return keys


@lru_cache(maxsize=4)
def _load(path_text: str, create: bool) -> InstanceKeys:
    path = Path(path_text)
    if not path.exists() and create:
        try:
            return write_key_file(path)
        except FileExistsError:  # another process created it meanwhile: read theirs
            pass
    try:
        return InstanceKeys.from_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImproperlyConfigured(
            f"BEACON_COOP_KEY_FILE ({path_text}) cannot be read: {exc.strerror}. "
            "Create it with `manage.py coop_keys --generate` (see docs/cooperation.md)."
        ) from exc
    except (ValueError, KeyError) as exc:
        raise ImproperlyConfigured(
            f"BEACON_COOP_KEY_FILE ({path_text}) does not hold Beacon cooperation keys."
        ) from exc


def instance_keys() -> InstanceKeys:
    """This instance's private keys. In production the file must exist already (an operator's decision)."""
    path = settings.BEACON_COOP_KEY_FILE
    if not path:
        raise ImproperlyConfigured(
            "Cooperation between countries needs BEACON_COOP_KEY_FILE in production (see docs/cooperation.md)."
        )
    return _load(str(path), not settings.PRODUCTION)
