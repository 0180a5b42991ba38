from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

# How long a request waits for a decision, and how long an approval stays usable once given (issue #10).
LIFETIME = timedelta(hours=72)


class Kind(models.TextChoices):
    BULK_EXPORT_HTCDS = "bulk_export_htcds", _("Bulk export of identifiable records (HTCDS)")
    COURT_FILE_REVEAL = "court_file_reveal", _("Reveal victims' identities in a court file")
    CONSENT_OVERRIDE = "consent_override", _("Send a referral without recorded consent")
    PRIMERO_CONSENT_OVERRIDE = "primero_consent_override", _("Send a referral to Primero without recorded consent")
    MERGE_PERSONS = "merge_persons", _("Merge two person records")


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    USED = "used", _("Used")
    EXPIRED = "expired", _("Expired")
    CANCELLED = "cancelled", _("Cancelled")


# The permission a requester must hold for each kind: asking for a second pair of eyes never widens what the
# requester may do. The court file's own check (a member of the case team) is made by investigations.
REQUESTER_PERMISSION = {
    Kind.BULK_EXPORT_HTCDS: "exchange.export_htcds",
    Kind.CONSENT_OVERRIDE: "referrals.override_consent",
    Kind.PRIMERO_CONSENT_OVERRIDE: "referrals.override_consent",
    Kind.MERGE_PERSONS: "cases.merge_persons",
}

OPEN = (Status.PENDING, Status.APPROVED)
