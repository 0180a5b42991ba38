"""Choices of the integrations domain (issue #9): webhook events, delivery and submission statuses, the retry
schedule."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    REFERRAL_CREATED = "referral.created", _("Referral created")
    REFERRAL_UPDATED = (
        "referral.updated",
        _("Referral updated (sent, acknowledged, accepted, declined, completed, withdrawn)"),
    )
    CASE_OPENED = "case.opened", _("Case opened")
    CASE_STATUS_CHANGED = "case.status_changed", _("Case status changed (closed, reopened)")
    REPORT_CREATED = "report.created", _("Report received")


# The "send test event" button sends this type; no webhook subscribes to it.
TEST_EVENT = "webhook.test"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("Sending")
    RETRYING = "retrying", _("Waiting to retry")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class AttemptOutcome(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    RETRY = "retry", _("Failed, will be retried")
    FAILED = "failed", _("Failed")


# Delays before the 2nd, 3rd... attempt of a webhook delivery; after the last one it is marked failed.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# Automatic retries of a Primero send that failed for a passing reason (no answer, a connection error, HTTP 5xx
# or 429): the delay doubles from 1 minute (1, 2, 4, 8, 16 minutes), then the send is marked failed and the
# officer who sent it is alerted. A referral is often urgent: past about half an hour a person should look.
PRIMERO_RETRY_DELAYS = tuple(timedelta(minutes=2**n) for n in range(5))
PRIMERO_MAX_ATTEMPTS = len(PRIMERO_RETRY_DELAYS) + 1
# One Primero attempt makes up to five calls of at most HTTP_TIMEOUT seconds each.
PRIMERO_ATTEMPT_LEASE = timedelta(minutes=5)
# A delivery being attempted is leased for this long, so a second worker does not send it at the same time.
ATTEMPT_LEASE = timedelta(minutes=2)
# Network time limit of one request, in seconds.
HTTP_TIMEOUT = 10
# Responses are read up to this size (webhook bodies are discarded, Primero's are parsed).
MAX_RESPONSE_BYTES = 1024 * 1024

PRIMERO_MODULES = (
    ("primeroimsmodule-cp", _("CPIMS+ (child protection)")),
    ("primeroimsmodule-gbv", _("GBVIMS+ (gender-based violence)")),
)

# A referral can be sent to Primero once it has been sent (it then has its snapshot) and while it is open.
OPEN_REFERRAL_STATUSES = {"sent", "acknowledged", "accepted", "in_progress"}
