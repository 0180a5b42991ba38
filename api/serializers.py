"""What each endpoint shows and accepts (issue #9). Every serializer lists its fields; lists carry summaries,
details carry what the page shows to the same user. The provider's side reads the referral's snapshot only,
never the case, as the portal does."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.rest import StrictSerializer
from care.choices import NEED_CLOSED, NeedType, ServiceType
from care.models import Need
from cases.models import Case, CasePerson, Person
from directory.models import Agency, Service
from directory.visibility import can_see_location
from intake.choices import AgeGroup, Channel, Exploitation, ReporterRelationship, Sex, Urgency
from intake.models import Report
from investigations.models import Charge, Hearing
from referrals.choices import SharedField, Side
from referrals.choices import Urgency as ReferralUrgency
from referrals.models import Referral
from referrals.snapshot import name_options

# Channels an officer may record (the public form has its own page).
OFFICER_CHANNELS = [c for c in Channel.values if c != Channel.PUBLIC_FORM]

# --- errors (documentation only) ----------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()


# --- reports ------------------------------------------------------------------------------------------------


class ReportSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Report
        fields = ["id", "reference", "channel", "received_at", "status", "priority", "urgency", "child_involved",
                  "immediate_danger", "victim_count", "exploitation", "created_at", "updated_at"]  # fmt: skip
        read_only_fields = fields


class ReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = Report
        fields = [
            "id", "reference", "channel", "received_at", "referring_agency", "referring_other", "reporter_anonymous",
            "reporter_name", "reporter_phone", "reporter_email", "reporter_relationship", "victim_count", "victim_sex",
            "victim_age_group", "victim_approx_age", "victim_nationality", "victim_language", "exploitation",
            "named_persons", "location_text", "latitude", "longitude", "incident_from", "incident_to", "urgency",
            "child_involved", "immediate_danger", "medical_need", "narrative", "status", "priority", "assignee",
            "closed_reason", "created_at", "updated_at", "version",
        ]  # fmt: skip
        read_only_fields = fields


class ReportWriteSerializer(StrictSerializer):
    """The fields an officer types on the report form (``intake.actions.REPORT_FIELDS``)."""

    channel = serializers.ChoiceField(OFFICER_CHANNELS)
    received_at = serializers.DateTimeField(required=False, help_text="Default: now.")
    referring_agency = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), required=False, allow_null=True
    )
    referring_other = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reporter_anonymous = serializers.BooleanField(required=False)
    reporter_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reporter_phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    reporter_email = serializers.EmailField(required=False, allow_blank=True)
    reporter_relationship = serializers.ChoiceField(ReporterRelationship.choices, required=False)
    victim_count = serializers.IntegerField(min_value=0, max_value=32767, required=False, allow_null=True)
    victim_sex = serializers.ChoiceField(Sex.choices, required=False)
    victim_age_group = serializers.ChoiceField(AgeGroup.choices, required=False)
    victim_approx_age = serializers.IntegerField(min_value=0, max_value=120, required=False, allow_null=True)
    victim_nationality = serializers.CharField(max_length=60, required=False, allow_blank=True)
    victim_language = serializers.CharField(max_length=60, required=False, allow_blank=True)
    exploitation = serializers.ListField(
        child=serializers.ChoiceField(Exploitation.choices), required=False, max_length=20
    )
    named_persons = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    location_text = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False, allow_null=True
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False, allow_null=True
    )
    incident_from = serializers.DateField(required=False, allow_null=True)
    incident_to = serializers.DateField(required=False, allow_null=True)
    urgency = serializers.ChoiceField(Urgency.choices, required=False)
    child_involved = serializers.BooleanField(required=False)
    immediate_danger = serializers.BooleanField(required=False)
    medical_need = serializers.BooleanField(required=False)
    narrative = serializers.CharField(max_length=50000, required=False, allow_blank=True)

    def validate_received_at(self, value):
        if not 1900 <= value.year <= 2200:
            raise serializers.ValidationError(_("Give a date between 1900 and 2200."))
        return value

    def validate(self, attrs):
        if "exploitation" in attrs:
            attrs["exploitation"] = list(dict.fromkeys(attrs["exploitation"]))
        if not self.partial and "received_at" not in attrs:
            attrs["received_at"] = timezone.now()
        return attrs


# --- cases and people ---------------------------------------------------------------------------------------


class CaseSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Case
        fields = ["id", "reference", "status", "trafficking_status", "opened_at", "closed_at"]
        read_only_fields = fields


class CaseSerializer(serializers.ModelSerializer):
    report = serializers.SerializerMethodField()
    owner = serializers.SerializerMethodField()

    class Meta:
        model = Case
        fields = ["id", "reference", "status", "trafficking_status", "deciding_org", "report", "owner", "opened_at",
                  "closed_at", "follow_up_due", "version"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_report(self, case) -> str:
        return case.report.reference or ""

    @extend_schema_field(OpenApiTypes.STR)
    def get_owner(self, case) -> str:
        return case.owner.display_name


class CaseLinkSerializer(serializers.ModelSerializer):
    """A person's place on one case (what the case page lists)."""

    case_reference = serializers.CharField(source="case.reference", read_only=True)

    class Meta:
        model = CasePerson
        fields = ["id", "case", "case_reference", "role", "pseudonym"]
        read_only_fields = fields


class PersonSummarySerializer(serializers.ModelSerializer):
    """No identity fields in lists: names and dates of birth come with the audited detail only."""

    cases = serializers.SerializerMethodField()

    class Meta:
        model = Person
        fields = ["id", "sex", "cases"]
        read_only_fields = fields

    @extend_schema_field(CaseLinkSerializer(many=True))
    def get_cases(self, person):
        return CaseLinkSerializer(self.context["links"].get(person.pk, []), many=True).data


class PersonSerializer(PersonSummarySerializer):
    class Meta:
        model = Person
        fields = ["id", "given_names", "family_names", "birth_date", "birth_year", "estimated_age", "age_estimated_on",
                  "age_estimation", "sex", "gender", "nationalities", "languages", "interpreter_needed", "cases",
                  "version"]  # fmt: skip
        read_only_fields = fields


# --- referrals ----------------------------------------------------------------------------------------------


class ProviderRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Agency
        fields = ["id", "name"]
        read_only_fields = fields


class UnitReferralSerializer(serializers.ModelSerializer):
    """The unit's side: the survivor's link and case are the unit's own records."""

    provider = ProviderRefSerializer(read_only=True)
    case = serializers.IntegerField(source="case_person.case_id", read_only=True)

    class Meta:
        model = Referral
        fields = ["id", "reference", "case", "case_person", "provider", "needs", "urgency", "status", "shared_fields",
                  "consent_overridden", "created_at", "sent_at", "acknowledged_at", "accepted_at", "declined_at",
                  "started_at", "completed_at", "withdrawn_at", "decline_reason", "outcome", "version"]  # fmt: skip
        read_only_fields = fields


class ProviderReferralSerializer(serializers.ModelSerializer):
    """The provider's side: exactly the snapshot the unit chose to share, never the case or its people."""

    shared = serializers.SerializerMethodField(help_text="The fields the unit shared, as frozen when it was sent.")
    ack_due_at = serializers.DateTimeField(read_only=True)
    answer_due_at = serializers.DateTimeField(read_only=True)

    class Meta:
        model = Referral
        fields = ["id", "reference", "needs", "urgency", "status", "shared", "sent_at", "ack_due_at", "answer_due_at",
                  "acknowledged_at", "accepted_at", "declined_at", "started_at", "completed_at", "withdrawn_at",
                  "decline_reason", "outcome", "version"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_shared(self, referral) -> dict:
        return referral.snapshot


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    label = serializers.CharField()
    who = serializers.CharField()
    note = serializers.CharField(allow_blank=True)


class ProviderReferralDetailSerializer(ProviderReferralSerializer):
    """The detail adds the timeline as the portal shows it (the unit's officers are not named to partners)."""

    timeline = serializers.SerializerMethodField()

    class Meta(ProviderReferralSerializer.Meta):
        fields = [*ProviderReferralSerializer.Meta.fields, "timeline"]
        read_only_fields = fields

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, referral):
        from referrals.views import _timeline  # the portal's own rule for what a provider sees

        rows = [
            {**row, "label": str(row["label"]), "who": str(row["who"])} for row in _timeline(referral, Side.PROVIDER)
        ]
        return TimelineEntrySerializer(rows, many=True).data


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "enum": list(NeedType.values), "x-spec-enum-id": "referral-needs"},
        "minItems": 1,
        "maxItems": 20,
    }
)
class NeedListField(serializers.ListField):
    """The needs a referral answers. Documented as its own enum (``NeedsEnum``): the same choices are already
    named twice in the schema (services and service types), and a third name would make the enum naming
    ambiguous."""


class ReferralCreateSerializer(StrictSerializer):
    """The referral form's fields (``referrals.forms.ReferralForm``), by id. The survivor, provider and needs are
    checked again by ``referrals.actions.create_referral``; what depends on the survivor is checked here."""

    case_person = serializers.IntegerField(
        min_value=1, help_text="The survivor's link to a case (a person's `cases[].id` in /api/v1/persons/)."
    )
    provider = serializers.PrimaryKeyRelatedField(
        queryset=Agency.objects.all(), help_text="An agency authorised for referrals (/api/v1/directory/agencies/)."
    )
    needs = NeedListField(child=serializers.ChoiceField(NeedType.choices), min_length=1, max_length=20)
    urgency = serializers.ChoiceField(ReferralUrgency.choices, required=False, default=ReferralUrgency.ROUTINE)
    shared_fields = serializers.ListField(
        child=serializers.ChoiceField(SharedField.choices),
        max_length=20,
        help_text="What the provider will see, frozen when the referral is sent. Needs and urgency always are.",
    )
    shared_name = serializers.CharField(
        max_length=120,
        required=False,
        default="",
        allow_blank=True,
        help_text="The name shown to the provider: the survivor's first given name or one of their aliases.",
    )
    safety_notes = serializers.CharField(max_length=5000, required=False, default="", allow_blank=True)
    safe_contact = serializers.CharField(max_length=80, required=False, default="", allow_blank=True)
    care_needs = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=50,
        help_text="Ids of the survivor's open needs in the care record that this referral answers.",
    )
    send = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Send at once (needs the survivor's recorded consent to share with the provider), or keep a draft.",
    )

    @staticmethod
    def action_fields(data: dict, link: CasePerson) -> dict:
        """The keyword arguments of ``create_referral``, after the checks that need the survivor."""
        errors = {}
        shared_name = data["shared_name"].strip()
        if shared_name and shared_name not in {value for value, _label in name_options(link.person)}:
            errors["shared_name"] = [
                _("Choose the survivor's first given name or one of their aliases, or leave it empty.")
            ]
        wanted = set(data["care_needs"])
        care_needs = list(
            Need.objects.filter(case_person=link, pk__in=wanted).exclude(status__in=NEED_CLOSED).order_by("pk")
        )
        if len(care_needs) != len(wanted):
            errors["care_needs"] = [_("Only the survivor's open needs can be named.")]
        if errors:
            raise serializers.ValidationError(errors)
        return {
            "provider": data["provider"], "needs": data["needs"], "urgency": data["urgency"],
            "shared_fields": data["shared_fields"], "shared_name": shared_name, "safety_notes": data["safety_notes"],
            "safe_contact": data["safe_contact"], "care_needs": care_needs,
        }  # fmt: skip


class ReferralUpdateSerializer(StrictSerializer):
    text = serializers.CharField(max_length=2000)


class ReferralServiceSerializer(StrictSerializer):
    service_type = serializers.ChoiceField(ServiceType.choices)
    delivered_on = serializers.DateField()
    ended_on = serializers.DateField(required=False, allow_null=True)
    details = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    outcome = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ReferralNoteSerializer(StrictSerializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ReferralReasonSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)


class ReferralOutcomeSerializer(StrictSerializer):
    outcome = serializers.CharField(max_length=2000)


class EmptySerializer(StrictSerializer):
    pass


# --- directory ----------------------------------------------------------------------------------------------


class ServiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Service
        fields = ["id", "agency", "service_type", "capacity_total", "capacity_free", "capacity_updated_at"]
        read_only_fields = fields


class AgencySerializer(serializers.ModelSerializer):
    """A shelter's address and map location only for those the directory pages show them to."""

    services = serializers.SerializerMethodField()
    email = serializers.CharField(read_only=True)  # may be empty: not an "email" format value then
    address = serializers.SerializerMethodField()
    latitude = serializers.SerializerMethodField()
    longitude = serializers.SerializerMethodField()

    class Meta:
        model = Agency
        fields = ["id", "name", "short_name", "org_type", "kind", "country", "phone", "email", "address", "latitude",
                  "longitude", "opening_hours", "is_active", "authorised_for_referrals", "serves_adults",
                  "serves_children", "sexes", "nationalities", "languages", "services"]  # fmt: skip
        read_only_fields = fields

    def _located(self, agency) -> bool:
        return can_see_location(self.context["request"].user, agency)

    @extend_schema_field({"type": "array", "items": {"type": "string", "enum": list(NeedType.values)}})
    def get_services(self, agency) -> list:
        return [s.service_type for s in agency.services.all()]

    @extend_schema_field({"type": "string", "nullable": True})
    def get_address(self, agency):
        return agency.address if self._located(agency) else None

    @extend_schema_field({"type": "string", "format": "decimal", "nullable": True})
    def get_latitude(self, agency):
        return str(agency.latitude) if agency.latitude is not None and self._located(agency) else None

    @extend_schema_field({"type": "string", "format": "decimal", "nullable": True})
    def get_longitude(self, agency):
        return str(agency.longitude) if agency.longitude is not None and self._located(agency) else None


# --- investigations -----------------------------------------------------------------------------------------


class ChargeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Charge
        fields = ["id", "case", "suspect", "court_case", "offence", "statute", "laid_on", "prosecutor", "outcome",
                  "outcome_on", "compensation", "appeal", "version"]  # fmt: skip
        read_only_fields = fields


class HearingSerializer(serializers.ModelSerializer):
    case = serializers.IntegerField(source="court_case.case_id", read_only=True)
    court_case_number = serializers.CharField(source="court_case.number", read_only=True)

    class Meta:
        model = Hearing
        fields = ["id", "case", "court_case", "court_case_number", "starts_at", "court", "purpose", "version"]
        read_only_fields = fields


# --- statistics ---------------------------------------------------------------------------------------------


class MeasureSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    description = serializers.CharField()
    dimensions = serializers.ListField(child=serializers.CharField())


class StatisticsRowSerializer(serializers.Serializer):
    values = serializers.DictField(child=serializers.CharField(allow_null=True))
    n = serializers.IntegerField(allow_null=True, help_text="Null when the count is below the small-cell threshold.")
    suppressed = serializers.BooleanField()


class StatisticsSerializer(serializers.Serializer):
    measure = serializers.CharField()
    dimensions = serializers.ListField(child=serializers.CharField())
    small_cell_threshold = serializers.IntegerField()
    rows = StatisticsRowSerializer(many=True)
