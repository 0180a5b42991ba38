"""Recognising an uploaded file by its first bytes (issue #3), and scanning it for viruses (issue #10).

The file's name and the content type the browser declares are chosen by the sender and prove nothing; only
the content decides. A file that passes is still never served inline: attachments are stored encrypted and
handed to officers as downloads.

Every form that accepts a file calls :func:`check_upload` from its ``clean_<field>`` method, so no upload
reaches an action (and storage) without having been scanned when a scanner is in use.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from django.core.exceptions import ValidationError
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from audit.log import record
from utilities import antivirus, context

logger = logging.getLogger(__name__)

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


def check_upload(upload, *, where: str, obj: Model | None = None, actor=None, anonymous: bool = False) -> None:
    """Scan an uploaded file with clamd when a scanner is in use (``BEACON_CLAMAV``); raise ValidationError
    when it carries a virus or cannot be scanned, so that nothing of it is stored (fail closed).

    ``where`` names the upload path in the audit row and the log (a code such as ``cases.attachment``);
    ``obj`` is the record the file was meant for and ``actor`` the user sending it, when the form knows them.
    ``anonymous`` uploads (the public report form) are audited without the sender's address (issue #3).
    Neither the log nor the audit row ever holds the file's name or content: only the upload path, the
    object and the signature's name.
    """
    scanner = antivirus.configured_scanner()
    if scanner is None:
        return
    try:
        signature = scanner.scan(upload)
    except antivirus.TooLargeToScan:
        logger.warning("upload refused: larger than clamd's StreamMaxLength (%s)", where)
        raise ValidationError(
            _("This file is too large to be checked for viruses, so it was not accepted."), code="scan_too_large"
        ) from None
    except antivirus.ScannerError as exc:
        logger.warning("upload refused: the virus scanner did not answer (%s): %s", where, exc)
        raise ValidationError(
            _("Files cannot be accepted right now because the virus scanner is not answering. Please try again later."),
            code="scanner_unavailable",
        ) from None
    if signature is None:
        return
    logger.warning("upload refused: virus scanner found %s (%s)", signature, where)
    with context.without_client_details() if anonymous else nullcontext():
        record("security.upload_infected", actor=actor, obj=obj, details={"signature": signature, "upload": where})
    raise ValidationError(
        _("This file was not accepted: the virus scanner found malware in it (%(signature)s)."),
        code="infected",
        params={"signature": signature},
    )
