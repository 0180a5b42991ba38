"""Writing audit rows. Every action calls ``record`` inside its own transaction (issue #2)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from audit.chain import compute_hash
from audit.models import AuditEvent
from utilities import context

# Any constant will do: it names the advisory lock that serialises writers of the chain on PostgreSQL.
_PG_CHAIN_LOCK = 0x6265_6163  # "beac"


def object_label(obj: Model) -> tuple[str, str]:
    return f"{obj._meta.app_label}.{obj._meta.model_name}", str(obj.pk)


def record(
    action: str,
    *,
    actor=None,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    changed_fields: Iterable[str] = (),
    details: dict | None = None,
) -> AuditEvent:
    """Append one row to the audit log, chained to the previous one.

    ``details`` must never carry personal data or sensitive values: ids, counts, names of filters and
    fields, codes. Callers pass field *names* in ``changed_fields``, never their values.
    """
    if obj is not None:
        object_type, object_id = object_label(obj)
    ctx = context.current()
    actor = actor if (actor is not None and getattr(actor, "is_authenticated", False)) else None
    agency = getattr(actor, "agency", None) if actor else None
    row = {
        "at": timezone.now(),
        "actor_id": actor.pk if actor else None,
        "actor_name": actor.get_username() if actor else "",
        "agency_id": agency.pk if agency else None,
        "agency_name": agency.name if agency else "",
        "roles": ",".join(sorted(actor.role_codes)) if actor else "",
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id) if object_id != "" else "",
        "request_id": ctx.request_id if ctx else "",
        "client_ip": (ctx.client_ip or None) if ctx else None,
        "changed_fields": sorted(set(changed_fields)),
        "details": details or {},
    }
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_PG_CHAIN_LOCK])
        # On SQLite every transaction begins IMMEDIATE (settings), so this transaction already holds the
        # database's single write lock and no other writer can slip a row in between read and insert.
        prev_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or ""
        return AuditEvent.objects.create(prev_hash=prev_hash, hash=compute_hash(prev_hash, row), **row)


def changed(instance: Model, before: dict, fields: Iterable[str]) -> list[str]:
    """Names of ``fields`` whose value on ``instance`` differs from ``before`` (values never leave here)."""
    return [name for name in fields if before.get(name) != getattr(instance, name)]


def snapshot(instance: Model, fields: Iterable[str]) -> dict:
    return {name: getattr(instance, name) for name in fields}
