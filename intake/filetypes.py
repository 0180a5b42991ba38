"""Recognising an uploaded file by its first bytes (issue #3).

The file's name and the content type the browser declares are chosen by the sender and prove nothing; only
the content decides. A file that passes is still never served inline: attachments are stored encrypted and
handed to officers as downloads.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# Enough bytes to see every signature below (WebP needs 12).
SNIFF_BYTES = 16

ACCEPTED = {
    "image/jpeg": _("JPEG photo"),
    "image/png": _("PNG image"),
    "image/webp": _("WebP image"),
    "image/gif": _("GIF image"),
    "application/pdf": _("PDF document"),
}


def sniff(head: bytes) -> str | None:
    """The content type of the bytes ``head`` starts with, if it is one Beacon accepts; otherwise None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def sniff_file(upload) -> str | None:
    """Like :func:`sniff`, for an uploaded file; leaves the file at its start."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return sniff(head)
