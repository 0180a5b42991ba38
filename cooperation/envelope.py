"""The message envelope exchanged between Beacon instances (issue #9; format in docs/cooperation.md).

    {"v": 1, "from": "TT-CTU", "to": "VE-CTU", "msg_id": uuid4, "sent_at": ISO 8601 UTC,
     "eph_pub": b64, "nonce": b64, "ciphertext": b64, "sig": b64}

The inner JSON is encrypted with ChaCha20-Poly1305 under a key derived (HKDF-SHA256) from an X25519 exchange
between a fresh ephemeral key and the recipient's registered key; the associated data binds v, from, to,
msg_id, sent_at and eph_pub. The sender's Ed25519 key signs the canonical bytes of every other field.

Opening checks, in this order: the shape, the recipient is us, the sender is a registered active peer, the
signature against that peer's registered key, the clock window, then decrypts. The replay check (message id
never seen) is the receiving action's, in the same transaction that stores the message.
"""

from __future__ import annotations

import datetime
import json
import os
import uuid
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils import timezone

from cooperation.keys import (
    InstanceKeys,
    b64,
    encryption_public_key,
    instance_keys,
    public_raw,
    signing_public_key,
    unb64,
)

VERSION = 1
FIELDS = frozenset({"v", "from", "to", "msg_id", "sent_at", "eph_pub", "nonce", "ciphertext", "sig"})
_HKDF_INFO = b"beacon-cooperation-v1"
MAX_ENVELOPE_BYTES = 1_000_000


class EnvelopeError(Exception):
    """A refused envelope. ``reason`` is a short code for the audit log; ``status`` the HTTP answer (400
    malformed or undecryptable, 401 unknown sender or bad signature, 409 replayed). The sender is told the
    status only, never the reason."""

    def __init__(self, reason: str, status: int = 400, *, sender: str = "", msg_id: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.sender = sender
        self.msg_id = msg_id


@dataclass(frozen=True)
class Opened:
    peer: object  # cooperation.models.Peer
    msg_id: str
    sent_at: datetime.datetime
    inner: dict


def canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def _aad(envelope: dict) -> bytes:
    return canonical({k: envelope[k] for k in ("v", "from", "to", "msg_id", "sent_at", "eph_pub")})


def _key(shared: bytes, eph_pub: bytes, recipient_pub: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=eph_pub + recipient_pub, info=_HKDF_INFO).derive(shared)


def stamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="seconds")


def seal_with(
    inner: dict,
    *,
    sender_id: str,
    sender_keys: InstanceKeys,
    recipient_id: str,
    recipient_encryption_key: X25519PublicKey,
    msg_id: str | None = None,
    sent_at: datetime.datetime | None = None,
) -> dict:
    """Encrypt ``inner`` to the recipient and sign the envelope (pure: no database, no settings)."""
    eph = X25519PrivateKey.generate()
    eph_pub = public_raw(eph.public_key())
    recipient_pub = public_raw(recipient_encryption_key)
    envelope = {
        "v": VERSION,
        "from": sender_id,
        "to": recipient_id,
        "msg_id": str(msg_id or uuid.uuid4()),
        "sent_at": stamp(sent_at or timezone.now()),
        "eph_pub": b64(eph_pub),
    }
    key = _key(eph.exchange(recipient_encryption_key), eph_pub, recipient_pub)
    nonce = os.urandom(12)
    envelope["nonce"] = b64(nonce)
    envelope["ciphertext"] = b64(ChaCha20Poly1305(key).encrypt(nonce, canonical(inner), _aad(envelope)))
    envelope["sig"] = b64(sender_keys.signing.sign(canonical(envelope)))
    return envelope


def parse(raw: bytes | str | dict) -> dict:
    """The envelope's shape: exactly the expected fields, of the expected types."""
    if isinstance(raw, (bytes, str)):
        if len(raw) > MAX_ENVELOPE_BYTES:
            raise EnvelopeError("too_large")
        try:
            raw = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise EnvelopeError("not_json") from None
    if not isinstance(raw, dict) or set(raw) != FIELDS:
        raise EnvelopeError("bad_fields")
    if raw["v"] != VERSION or type(raw["v"]) is not int:
        raise EnvelopeError("bad_version")
    if not all(isinstance(raw[k], str) for k in FIELDS - {"v"}):
        raise EnvelopeError("bad_fields")
    # Only the canonical form: a re-cased or re-braced copy of an id must not pass as a new message.
    try:
        canonical_id = str(uuid.UUID(raw["msg_id"]))
    except ValueError:
        canonical_id = ""
    if canonical_id != raw["msg_id"]:
        raise EnvelopeError("bad_msg_id")
    return raw


def verify_signature(envelope: dict, signing_key: Ed25519PublicKey) -> None:
    body = {k: v for k, v in envelope.items() if k != "sig"}
    try:
        signing_key.verify(unb64(envelope["sig"], 64), canonical(body))
    except (InvalidSignature, ValueError):
        raise EnvelopeError("bad_signature", 401, sender=envelope["from"], msg_id=envelope["msg_id"]) from None


def check_clock(envelope: dict, now: datetime.datetime | None = None) -> datetime.datetime:
    try:
        sent_at = datetime.datetime.fromisoformat(envelope["sent_at"])
    except ValueError:
        sent_at = None
    if sent_at is None or sent_at.tzinfo is None:
        raise EnvelopeError("bad_timestamp", sender=envelope["from"], msg_id=envelope["msg_id"])
    skew = abs(((now or timezone.now()) - sent_at).total_seconds())
    if skew > settings.COOP_CLOCK_WINDOW_SECONDS:
        raise EnvelopeError("outside_clock_window", sender=envelope["from"], msg_id=envelope["msg_id"])
    return sent_at


def decrypt_with(envelope: dict, recipient_keys: InstanceKeys) -> dict:
    try:
        eph_pub = unb64(envelope["eph_pub"], 32)
        nonce = unb64(envelope["nonce"], 12)
        ciphertext = unb64(envelope["ciphertext"])
        recipient_pub = public_raw(recipient_keys.encryption.public_key())
        shared = recipient_keys.encryption.exchange(X25519PublicKey.from_public_bytes(eph_pub))
        plain = ChaCha20Poly1305(_key(shared, eph_pub, recipient_pub)).decrypt(nonce, ciphertext, _aad(envelope))
        inner = json.loads(plain)
    except (ValueError, InvalidTag):
        raise EnvelopeError("undecryptable", sender=envelope["from"], msg_id=envelope["msg_id"]) from None
    if not isinstance(inner, dict):
        raise EnvelopeError("bad_inner", sender=envelope["from"], msg_id=envelope["msg_id"])
    return inner


def seal(inner: dict, *, peer, msg_id: str, sent_at: datetime.datetime | None = None) -> dict:
    """Seal a message from this instance to a registered peer."""
    return seal_with(
        inner,
        sender_id=settings.BEACON_INSTANCE_ID,
        sender_keys=instance_keys(),
        recipient_id=peer.instance_id,
        recipient_encryption_key=encryption_public_key(peer.encryption_key),
        msg_id=msg_id,
        sent_at=sent_at,
    )


def open_envelope(raw: bytes | str | dict, *, now: datetime.datetime | None = None) -> Opened:
    """Verify and decrypt an envelope addressed to this instance (the replay check is the caller's)."""
    from cooperation.models import Peer

    envelope = parse(raw)
    sender, msg_id = envelope["from"], envelope["msg_id"]
    if envelope["to"] != settings.BEACON_INSTANCE_ID:
        raise EnvelopeError("not_for_us", sender=sender, msg_id=msg_id)
    peer = Peer.objects.filter(instance_id=sender, active=True).first()
    if peer is None:
        raise EnvelopeError("unknown_sender", 401, msg_id=msg_id)
    try:
        key = signing_public_key(peer.signing_key)
    except ValueError:
        raise EnvelopeError("peer_key_invalid", 401, sender=sender, msg_id=msg_id) from None
    verify_signature(envelope, key)
    sent_at = check_clock(envelope, now)
    inner = decrypt_with(envelope, instance_keys())
    return Opened(peer=peer, msg_id=msg_id, sent_at=sent_at, inner=inner)
