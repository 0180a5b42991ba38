"""Query filters of the list endpoints (issue #9). Every filter narrows a queryset that already went through
``visible_to``; a filter on a related record goes through that record's ``visible_to`` too, so it never tells
a client anything about what it may not see."""

from __future__ import annotations

import django_filters as df
from django import forms

from care.choices import NeedType
from cases.choices import CaseStatus, PersonRole, TraffickingStatus
from cases.models import Case, CasePerson, Person
from directory.choices import AgencyKind, OrganisationType
from directory.models import Agency, Service
from intake.choices import Channel, Status, Urgency
from intake.models import Report
from investigations.models import Charge, Hearing
from referrals.choices import ReferralStatus
from referrals.choices import Urgency as ReferralUrgency
from referrals.models import Referral


class _SaneDateTimeField(df.fields.IsoDateTimeField):
    def clean(self, value):
        value = super().clean(value)
        if value is not None and not 1900 <= value.year <= 2200:
            raise forms.ValidationError("Give a date between 1900 and 2200.", code="out_of_range")
        return value


class DateTimeFilter(df.IsoDateTimeFilter):
    """An ISO 8601 date and time within 1900-2200 (the far ends overflow when converted to UTC)."""

    field_class = _SaneDateTimeField


class IdFilter(df.NumberFilter):
    """A record id: a whole number in the database's range (anything else is a 400, not a server error)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**31 - 1)
        super().__init__(*args, **kwargs)


class ReportFilter(df.FilterSet):
    status = df.ChoiceFilter(choices=Status.choices)
    channel = df.ChoiceFilter(choices=Channel.choices)
    urgency = df.ChoiceFilter(choices=Urgency.choices)
    received_after = DateTimeFilter(field_name="received_at", lookup_expr="gte")
    received_before = DateTimeFilter(field_name="received_at", lookup_expr="lt")
    updated_after = DateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Report
        fields = ["status", "channel", "urgency", "received_after", "received_before", "updated_after"]


class CaseFilter(df.FilterSet):
    status = df.ChoiceFilter(choices=CaseStatus.choices)
    trafficking_status = df.ChoiceFilter(choices=TraffickingStatus.choices)
    opened_after = DateTimeFilter(field_name="opened_at", lookup_expr="gte")

    class Meta:
        model = Case
        fields = ["status", "trafficking_status", "opened_after"]


class PersonFilter(df.FilterSet):
    case = IdFilter(method="filter_case", label="Case id")
    role = df.ChoiceFilter(choices=PersonRole.choices, method="filter_role")

    class Meta:
        model = Person
        fields = ["case", "role"]

    def _links(self):
        return CasePerson.objects.visible_to(self.request.user)

    def filter_case(self, queryset, name, value):
        return queryset.filter(pk__in=self._links().filter(case_id=value).values("person_id"))

    def filter_role(self, queryset, name, value):
        return queryset.filter(pk__in=self._links().filter(role=value).values("person_id"))


class ReferralFilter(df.FilterSet):
    status = df.ChoiceFilter(choices=ReferralStatus.choices)
    urgency = df.ChoiceFilter(choices=ReferralUrgency.choices)
    sent_after = DateTimeFilter(field_name="sent_at", lookup_expr="gte")

    class Meta:
        model = Referral
        fields = ["status", "urgency", "sent_after"]


class AgencyFilter(df.FilterSet):
    kind = df.ChoiceFilter(choices=AgencyKind.choices)
    org_type = df.ChoiceFilter(choices=OrganisationType.choices)
    authorised_for_referrals = df.BooleanFilter()
    is_active = df.BooleanFilter()
    service = df.ChoiceFilter(choices=NeedType.choices, field_name="services__service_type", distinct=True)

    class Meta:
        model = Agency
        fields = ["kind", "org_type", "authorised_for_referrals", "is_active", "service"]


class ServiceFilter(df.FilterSet):
    agency = IdFilter(field_name="agency_id")
    service_type = df.ChoiceFilter(choices=NeedType.choices)

    class Meta:
        model = Service
        fields = ["agency", "service_type"]


class ChargeFilter(df.FilterSet):
    case = IdFilter(field_name="case_id")

    class Meta:
        model = Charge
        fields = ["case"]


class HearingFilter(df.FilterSet):
    case = IdFilter(field_name="court_case__case_id")
    starts_after = DateTimeFilter(field_name="starts_at", lookup_expr="gte")

    class Meta:
        model = Hearing
        fields = ["case", "starts_after"]
