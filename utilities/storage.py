"""Encrypted file storage for attachments: generated names, encrypted bytes, never served directly."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from utilities.crypto import decrypt_bytes, encrypt_bytes


def _path(kind: str, name: str) -> Path:
    if not name.isalnum():
        raise ValueError("stored names are generated hex strings")
    return Path(settings.MEDIA_ROOT) / kind / name[:2] / name


def store_encrypted(kind: str, name: str, data: bytes) -> None:
    path = _path(kind, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(encrypt_bytes(data))
    os.replace(tmp, path)


def read_encrypted(kind: str, name: str) -> bytes:
    return decrypt_bytes(_path(kind, name).read_bytes())
