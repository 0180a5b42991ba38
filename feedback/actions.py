"""Recording survivor feedback (issue #13): keyed in from paper by staff, or answered on a tablet with a
one-time code. Audit rows name no response: an actor tied to one answer could tie the answer to a survivor."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from audit import log as audit
from feedback.choices import Channel
from feedback.models import SurveyResponse, TabletToken

TOKEN_LIFETIME = timedelta(hours=2)
ANSWER_FIELDS = ("satisfaction", "respected", "felt_safe", "comments", "sex", "age_band", "area")


def _require(actor, code: str) -> None:
    if actor is not None and not actor.has_perm(code):
        raise PermissionDenied


def _hash(token: str) -> str:
    return hashlib.sha256(token.strip().upper().encode()).hexdigest()


def _create(*, service_type, provider, channel, **answers) -> SurveyResponse:
    answers["area"] = " ".join((answers.get("area") or "").split())
    response = SurveyResponse(
        service_type=service_type, provider=provider, channel=channel, month=timezone.localdate().strftime("%Y-%m"),
        **{k: v for k, v in answers.items() if k in ANSWER_FIELDS},
    )  # fmt: skip
    response.full_clean()
    response.save()
    return response


@transaction.atomic
def record_response(*, actor, service_type, provider, **answers) -> SurveyResponse:
    _require(actor, "feedback.record")
    response = _create(service_type=service_type, provider=provider, channel=Channel.PAPER, **answers)
    audit.record(
        "feedback.response_recorded", actor=actor, object_type="feedback.surveyresponse",
        details={"channel": Channel.PAPER},
    )  # fmt: skip
    return response


@transaction.atomic
def issue_tablet_token(*, actor, service_type, provider) -> str:
    """A one-time code (returned once, stored hashed) that opens one survey on the public tablet page."""
    _require(actor, "feedback.record")
    TabletToken.objects.filter(expires_at__lt=timezone.now()).delete()
    token = "-".join(secrets.token_hex(3).upper() for _ in range(3))
    TabletToken.objects.create(
        token_hash=_hash(token), service_type=service_type, provider=provider,
        expires_at=timezone.now() + TOKEN_LIFETIME,
    )  # fmt: skip
    audit.record("feedback.tablet_code_issued", actor=actor, object_type="feedback.tablettoken")
    return token


def open_token(token: str) -> TabletToken | None:
    """The unused, unexpired code ``token`` names; None otherwise."""
    return (
        TabletToken.objects.filter(token_hash=_hash(token or ""), used=False, expires_at__gte=timezone.now())
        .select_related("provider")
        .first()
    )


@transaction.atomic
def submit_tablet_response(token: str, **answers) -> SurveyResponse | None:
    """Stores the survivor's answers and spends the code; None (nothing stored) if it is spent or unknown."""
    spent = TabletToken.objects.filter(
        token_hash=_hash(token or ""), used=False, expires_at__gte=timezone.now()
    ).update(used=True)
    if spent != 1:
        return None
    tablet = TabletToken.objects.get(token_hash=_hash(token))
    response = _create(service_type=tablet.service_type, provider=tablet.provider, channel=Channel.TABLET, **answers)
    # Spent codes serve no purpose; nothing should tie a code's issuer to the answer it opened.
    tablet.delete()
    audit.record(
        "feedback.response_recorded", object_type="feedback.surveyresponse", details={"channel": Channel.TABLET}
    )
    return response
