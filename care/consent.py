"""The consent query API (issue #4). Ask it before sharing, referring, contacting or putting anything about a
victim before a court:

    from care.consent import has_consent
    if not has_consent(link, "sharing", agency=shelter):
        ...refuse...

A consent is in force on a day when it was given on or before that day, has not been withdrawn on or before
it, and has not run out (``valid_until``). Consent to share always names one agency and covers that agency
only. These functions answer about the data only: callers must already have checked that the acting user
may see the victim (``CasePerson.objects.visible_to``).
"""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet
from django.utils import timezone

from care.choices import ConsentPurpose
from care.models import Consent


def _pk(value) -> int | None:
    return getattr(value, "pk", value)


def _in_force(case_person, on: date | None) -> QuerySet[Consent]:
    on = on or timezone.localdate()
    return Consent.objects.filter(case_person=_pk(case_person), given_on__lte=on).filter(
        Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gt=on),
        Q(valid_until__isnull=True) | Q(valid_until__gte=on),
    )


def has_consent(case_person, purpose: str, agency=None, on: date | None = None) -> bool:
    """True when ``case_person`` (a victim's ``CasePerson`` or its pk) has a consent in force on ``on``
    (default today) for ``purpose``. For ``"sharing"`` the consent must name ``agency``: without an agency
    the answer is always False. For other purposes, a consent that names an agency covers that agency only;
    one that names none covers any."""
    if purpose not in ConsentPurpose.values:
        raise ValueError(f"unknown consent purpose {purpose!r}; use care.choices.ConsentPurpose")
    consents = _in_force(case_person, on).filter(purpose=purpose)
    if purpose == ConsentPurpose.SHARING:
        if agency is None:
            return False
        consents = consents.filter(agency=_pk(agency))
    elif agency is not None:
        consents = consents.filter(Q(agency__isnull=True) | Q(agency=_pk(agency)))
    return consents.exists()


def active_consents(case_person, on: date | None = None) -> QuerySet[Consent]:
    """The consents of ``case_person`` in force on ``on`` (default today), by purpose."""
    return _in_force(case_person, on).select_related("agency").order_by("purpose", "-given_on", "-id")
