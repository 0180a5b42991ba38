"""Cooperation between countries' units (issue #9): the registry of other Beacon instances, the requests
exchanged with them and every message of each exchange.

Both sides of an exchange hold their own copy: the requesting unit an outgoing ``CoopRequest``, the answering
unit an incoming one, tied by the ``exchange_id`` the requesting unit chose. What was asked, answered and
declined is stored encrypted; the audit log keeps ids only.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cooperation.choices import OPEN_STATUSES, AskedItem, Delivery, Direction, MessageKind, Status, Urgency
from utilities.crypto import EncryptedTextField
from utilities.querysets import RestrictedQuerySet

instance_id_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{1,39}$", _("Use 2 to 40 letters, digits, dots, dashes or underscores.")
)


class Peer(models.Model):
    """Another country's Beacon instance, registered by an administrator after exchanging public keys out of
    band. Only active peers are accepted as senders or addressed as recipients."""

    instance_id = models.CharField(_("instance id"), max_length=40, unique=True, validators=[instance_id_validator])
    name = models.CharField(_("unit name"), max_length=200)
    country = models.CharField(
        _("country (ISO 3166-1 alpha-2)"),
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$", _("Two capital letters, e.g. VE."))],
    )
    inbox_url = models.URLField(_("inbox URL"), max_length=300, help_text=_("Ends in /cooperation/inbox/"))
    signing_key = models.CharField(_("signing public key (Ed25519, base64)"), max_length=64)
    encryption_key = models.CharField(_("encryption public key (X25519, base64)"), max_length=64)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("peer instance")
        verbose_name_plural = _("peer instances")
        ordering = ["country", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.instance_id})"


class CoopRequestQuerySet(RestrictedQuerySet):
    """Who sees which request (issue #9): requesters their own outgoing requests, responders every incoming
    one, leadership (``cases.view_all``) with either cooperation permission all of them."""

    def _restrict(self, user, action):
        can_request = user.has_perm("cooperation.request")
        can_respond = user.has_perm("cooperation.respond")
        leader = user.has_perm("cases.view_all")
        own_outgoing = models.Q(direction=Direction.OUTGOING, created_by=user)
        incoming = models.Q(direction=Direction.INCOMING)
        if action == "view":
            if leader and (can_request or can_respond):
                return self
            visible = models.Q(pk__in=[])
            if can_request:
                visible |= own_outgoing
            if can_respond:
                visible |= incoming
            return self.filter(visible)
        if action == "respond":
            return self.filter(incoming) if can_respond else self.none()
        if action == "manage":  # send a draft, close, retry a delivery of an outgoing request
            if not can_request:
                return self.none()
            return self.filter(direction=Direction.OUTGOING) if leader else self.filter(own_outgoing)
        return self.none()


class CoopRequest(models.Model):
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    peer = models.ForeignKey(Peer, verbose_name=_("other unit"), on_delete=models.PROTECT, related_name="requests")
    exchange_id = models.UUIDField(_("exchange id"), default=uuid.uuid4, help_text=_("Shared by both units."))
    case = models.ForeignKey(
        "cases.Case", verbose_name=_("our case"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case_reference = models.CharField(_("case reference of the requesting unit"), max_length=60)
    asked = EncryptedTextField(_("what is asked"))
    asked_items = models.JSONField(_("items asked for"), default=list, blank=True)
    legal_basis = models.CharField(_("legal basis"), max_length=500)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    due_on = models.DateField(_("answer needed by"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=14, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("review started at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = CoopRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("cooperation request")
        verbose_name_plural = _("cooperation requests")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["peer", "direction", "exchange_id"], name="coop_request_one_per_exchange")
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("cooperation:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        return f"COOP-{self.pk or 0:05d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def waiting_since(self):
        """When the wait began: sending (outgoing) or receipt (incoming). None once answered or closed."""
        if not self.is_open:
            return None
        return self.sent_at if self.direction == Direction.OUTGOING else self.received_at

    @property
    def waiting_days(self) -> int | None:
        since = self.waiting_since
        return None if since is None else (timezone.now() - since).days

    @property
    def answered_in_days(self) -> int | None:
        start = self.sent_at if self.direction == Direction.OUTGOING else self.received_at
        return (self.answered_at - start).days if self.answered_at and start else None

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_on is not None and self.due_on < timezone.localdate()

    def asked_item_labels(self) -> list[str]:
        labels = dict(AskedItem.choices)
        return [str(labels.get(code, code)) for code in self.asked_items or []]


class CoopMessage(models.Model):
    """One signed, encrypted message of an exchange, as sent or as received. ``body`` keeps the inner JSON
    (encrypted at rest): outgoing messages are sealed afresh from it at each delivery attempt."""

    request = models.ForeignKey(CoopRequest, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(_("direction"), max_length=10, choices=Direction.choices)
    kind = models.CharField(_("kind"), max_length=16, choices=MessageKind.choices)
    msg_id = models.UUIDField(_("message id"), default=uuid.uuid4)
    body = EncryptedTextField(_("content"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    delivery = models.CharField(_("delivery"), max_length=10, choices=Delivery.choices, default=Delivery.PENDING)
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    last_error = models.CharField(_("last delivery error"), max_length=60, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("cooperation message")
        verbose_name_plural = _("cooperation messages")
        ordering = ["created_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["direction", "msg_id"], name="coop_message_unique_id")]


class SeenMessage(models.Model):
    """Every message id ever accepted from a peer: a second envelope with the same id is a replay."""

    msg_id = models.UUIDField(unique=True)
    sender = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("message id seen")
        verbose_name_plural = _("message ids seen")
