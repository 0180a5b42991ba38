"""Webhook signatures (issue #9): ``X-Beacon-Signature: t=<unix time>,v1=<hex HMAC-SHA256>``.

The HMAC is keyed by the webhook's secret and taken over ``"<t>." + body`` (the raw request body, bytes).
A receiver recomputes it, compares in constant time and refuses a timestamp older than a few minutes
(replays). ``verify`` is the reference implementation; docs/integrations.md has the recipe."""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify(
    secret: str, body: bytes, value: str, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in value.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), parts.get("v1", ""))
