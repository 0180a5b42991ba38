"""The keyed hash chain that makes the audit log tamper-evident (issue #2).

Each row's hash is HMAC-SHA256(key, previous row's hash + canonical form of this row). The key comes from
configuration (BEACON_AUDIT_KEY), so someone who can write to the database but does not hold the key cannot
recompute the chain after editing, deleting or reordering rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

from django.conf import settings

HASHED_FIELDS = (
    "at",
    "actor_id",
    "actor_name",
    "agency_id",
    "agency_name",
    "roles",
    "action",
    "object_type",
    "object_id",
    "request_id",
    "client_ip",
    "changed_fields",
    "details",
)


def canonical(row: dict) -> bytes:
    values = {}
    for name in HASHED_FIELDS:
        value = row.get(name)
        if isinstance(value, datetime):
            value = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        values[name] = value
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def compute_hash(prev_hash: str, row: dict) -> str:
    mac = hmac.new(settings.AUDIT_HASH_KEY.encode(), digestmod=hashlib.sha256)
    mac.update(prev_hash.encode())
    mac.update(b"\x00")
    mac.update(canonical(row))
    return mac.hexdigest()
