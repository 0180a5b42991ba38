from __future__ import annotations

from dataclasses import dataclass

from audit.chain import HASHED_FIELDS, compute_hash
from audit.models import AuditEvent


@dataclass
class VerifyResult:
    ok: bool
    checked: int
    bad_id: int | None = None
    reason: str = ""


def verify_chain(batch_size: int = 5000) -> VerifyResult:
    """Walk the chain in insertion order; report the first row that was edited, deleted or reordered."""
    prev_hash = ""
    checked = 0
    last_id = 0
    fields = ("id", "prev_hash", "hash", *HASHED_FIELDS)
    while True:
        rows = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id").values(*fields)[:batch_size])
        if not rows:
            return VerifyResult(ok=True, checked=checked)
        for row in rows:
            if row["prev_hash"] != prev_hash:
                return VerifyResult(
                    False,
                    checked,
                    row["id"],
                    "does not follow the row before it: a row was deleted, inserted or reordered here",
                )
            if compute_hash(prev_hash, row) != row["hash"]:
                return VerifyResult(False, checked, row["id"], "its content no longer matches its hash: edited")
            prev_hash = row["hash"]
            last_id = row["id"]
            checked += 1
