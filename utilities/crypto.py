"""Encryption at rest for identity fields, narratives and attachments (issues #3, #4).

Values are encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under ``settings.FIELD_ENCRYPTION_KEYS``;
MultiFernet decrypts with any listed key and encrypts with the first, so keys rotate without downtime.
Searchable equality uses keyed blind indexes (HMAC-SHA256 under ``BLIND_INDEX_KEY``), never plaintext.
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_bytes(data: bytes) -> bytes:
    return fernet().encrypt(data)


def decrypt_bytes(token: bytes) -> bytes:
    return fernet().decrypt(token)


def encrypt_text(value: str) -> str:
    return fernet().encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken as exc:
        raise InvalidToken("An encrypted value could not be decrypted: is BEACON_FIELD_KEYS complete?") from exc


def normalise(value: str) -> str:
    """Case-, accent- and space-insensitive form used before blind indexing ("Pérez " -> "perez")."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def blind_index(value: str, purpose: str) -> str:
    """Keyed hash of a normalised value; equal inputs give equal indexes, nothing else can be learned."""
    key = hmac.new(settings.BLIND_INDEX_KEY.encode(), purpose.encode(), hashlib.sha256).digest()
    return hmac.new(key, normalise(value).encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def phone_index(value: str) -> str:
    digits = "".join(ch for ch in value or "" if ch.isdigit())
    # The last 7 digits identify a number in the region whether or not the country code was given.
    return blind_index(digits[-7:], "phone") if len(digits) >= 7 else ""


def name_token_indexes(value: str) -> list[str]:
    """Blind indexes of each word of a name, so "Perez Maria" and "María Pérez" share their tokens."""
    tokens = sorted({t for t in normalise(value).replace(",", " ").split() if len(t) > 1})
    return [blind_index(t, "name-token") for t in tokens]


class EncryptedTextField(models.TextField):
    """A text field stored encrypted. It cannot be filtered or ordered on: use a blind index for that."""

    description = "Encrypted text"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt_text(str(value))

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt_text(value)

    def get_lookup(self, lookup_name):
        if lookup_name not in {"isnull", "exact"}:
            return None
        return super().get_lookup(lookup_name)
