"""The inner messages carried by envelopes (issue #9): what each kind holds, built from our records and
checked when they arrive. Anything unexpected is refused as a whole: a peer running a newer version must
not have part of its message silently dropped."""

from __future__ import annotations

import datetime
import uuid

from cooperation.choices import AskedItem, MessageKind, Urgency
from cooperation.envelope import EnvelopeError

LIMITS = {"case_reference": 60, "asked": 20_000, "legal_basis": 500, "text": 50_000, "reason": 5_000}
SHAPES = {
    MessageKind.REQUEST: {
        "kind",
        "exchange_id",
        "case_reference",
        "asked",
        "asked_items",
        "legal_basis",
        "urgency",
        "due_on",
    },
    MessageKind.ACKNOWLEDGEMENT: {"kind", "exchange_id"},
    MessageKind.REPLY: {"kind", "exchange_id", "disclosed_items", "text"},
    MessageKind.DECLINE: {"kind", "exchange_id", "reason"},
}


def request_body(req) -> dict:
    return {
        "kind": MessageKind.REQUEST.value,
        "exchange_id": str(req.exchange_id),
        "case_reference": req.case_reference,
        "asked": req.asked,
        "asked_items": list(req.asked_items or []),
        "legal_basis": req.legal_basis,
        "urgency": req.urgency,
        "due_on": req.due_on.isoformat() if req.due_on else None,
    }


def acknowledgement_body(req) -> dict:
    return {"kind": MessageKind.ACKNOWLEDGEMENT.value, "exchange_id": str(req.exchange_id)}


def reply_body(req, *, disclosed_items: list[str], text: str) -> dict:
    return {
        "kind": MessageKind.REPLY.value,
        "exchange_id": str(req.exchange_id),
        "disclosed_items": list(disclosed_items),
        "text": text,
    }


def decline_body(req, *, reason: str) -> dict:
    return {"kind": MessageKind.DECLINE.value, "exchange_id": str(req.exchange_id), "reason": reason}


def _text(inner: dict, name: str, *, required: bool = True) -> str:
    value = inner.get(name)
    if not isinstance(value, str) or len(value) > LIMITS[name] or (required and not value.strip()):
        raise ValueError(name)
    return value


def _items(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v in AskedItem.values for v in value):
        raise ValueError("items")
    return list(dict.fromkeys(value))


def validate(inner: dict, *, sender: str = "", msg_id: str = "") -> dict:
    """The inner message, checked and normalised; EnvelopeError("bad_inner") otherwise."""
    try:
        kind = MessageKind(inner.get("kind"))
        if set(inner) != SHAPES[kind]:
            raise ValueError("fields")
        clean = {"kind": kind.value, "exchange_id": str(uuid.UUID(str(inner["exchange_id"])))}
        if kind == MessageKind.REQUEST:
            due_on = inner["due_on"]
            clean.update(
                case_reference=_text(inner, "case_reference"),
                asked=_text(inner, "asked"),
                asked_items=_items(inner["asked_items"]),
                legal_basis=_text(inner, "legal_basis"),
                urgency=Urgency(inner["urgency"]).value,
                due_on=datetime.date.fromisoformat(due_on) if due_on is not None else None,
            )
        elif kind == MessageKind.REPLY:
            clean.update(disclosed_items=_items(inner["disclosed_items"]), text=_text(inner, "text"))
        elif kind == MessageKind.DECLINE:
            clean.update(reason=_text(inner, "reason"))
    except (ValueError, TypeError, KeyError):
        raise EnvelopeError("bad_inner", sender=sender, msg_id=msg_id) from None
    return clean
