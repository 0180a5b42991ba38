"""Posting an envelope to a peer's inbox (issue #9). Plain HTTP(S) POST of the JSON envelope; the inbox answers
202 when it accepted the message. Kept apart so tests can stand in for the other unit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from django.conf import settings


def post_envelope(url: str, envelope: dict) -> int:
    """POST ``envelope`` to ``url``; the HTTP status, or 0 when the peer could not be reached."""
    if not url.lower().startswith(("https://", "http://")):
        return 0  # only web addresses: never file: or custom schemes
    data = json.dumps(envelope).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 - the URL is an administrator-registered peer inbox
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "Beacon-cooperation/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.COOP_SEND_TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310 - scheme checked above
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, OSError, ValueError):
        return 0
