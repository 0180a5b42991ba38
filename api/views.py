"""Version 1 of the REST API (issue #9).

Reads start from ``Model.objects.visible_to(user, action)`` and answer 404 for anything outside it; writes call
the domain's named actions, which check permissions, lock versions and audit. Reads of reports, cases, people,
referrals and investigations are audited exactly as the pages audit them, with ``"via": "api"``."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.views import APIView

from api import filters
from api import serializers as s
from api.rest import ApiViewMixin, Conflict, etag_for, require_if_match
from audit import log as audit
from cases.choices import PersonRole
from cases.models import Case, CasePerson, Person
from directory.models import Agency, Service
from intake import actions as intake_actions
from intake import workflow
from intake.models import Report
from investigations.models import Charge, Hearing
from referrals import actions as referral_actions
from referrals.choices import Side
from referrals.models import Referral, side_of

FILTER_BACKENDS = [DjangoFilterBackend, OrderingFilter]


def _filters_used(request) -> list[str]:
    return sorted(k for k, v in request.query_params.items() if v and k not in {"page", "page_size"})


def _api(request, **details) -> dict:
    return {"via": "api", "token_id": request.auth.pk, **details}


def _with_etag(obj, data, *, status_code: int = 200, location: str = "") -> Response:
    """A record's representation with its ETag (and, for a creation, its Location)."""
    headers = {"ETag": etag_for(obj, data)}
    if location:
        headers["Location"] = location
    return Response(data, status=status_code, headers=headers)


class ReadOnlyViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filter_backends = FILTER_BACKENDS

    def page_of(self, queryset):
        """The page being answered (the audit rows name what was shown)."""
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return page

    def list_response(self, page, serializer_class, **context):
        data = serializer_class(page, many=True, context={**self.get_serializer_context(), **context}).data
        return self.get_paginated_response(data)


# --- reports ------------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Reports you may see", tags=["reports"]),
    retrieve=extend_schema(summary="One report (audited)", tags=["reports"]),
    create=extend_schema(
        summary="Record a report",
        tags=["reports"],
        request=s.ReportWriteSerializer,
        responses={201: s.ReportSerializer},
    ),
    partial_update=extend_schema(
        summary="Edit an open report (If-Match)",
        tags=["reports"],
        request=s.ReportWriteSerializer,
        responses={200: s.ReportSerializer},
    ),  # fmt: skip
)
class ReportViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyViewSet):
    read_scope, write_scope = "reports:read", "reports:write"
    filterset_class = filters.ReportFilter
    ordering_fields = ["received_at", "created_at", "updated_at", "priority", "reference"]
    ordering = ["-received_at", "-id"]
    etag_on_detail = True
    if_match_actions = ("partial_update",)
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Report.objects.visible_to(self.request.user, "view").order_by("-received_at", "-id")

    def get_serializer_class(self):
        if self.action == "list":
            return s.ReportSummarySerializer
        if self.action in {"create", "partial_update"}:
            return s.ReportWriteSerializer
        return s.ReportSerializer

    def list(self, request, *args, **kwargs):
        page = self.page_of(self.get_queryset())
        audit.record(
            "intake.report_list",
            actor=request.user,
            details=_api(request, filters=_filters_used(request), page=self.paginator.page.number, shown=len(page)),
        )
        return self.list_response(page, s.ReportSummarySerializer)

    def retrieve(self, request, *args, **kwargs):
        report = self.get_object()
        audit.record("intake.report_viewed", actor=request.user, obj=report, details=_api(request))
        return _with_etag(report, s.ReportSerializer(report).data)

    def create(self, request, *args, **kwargs):
        data = s.ReportWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = intake_actions.create_report(actor=request.user, **data.validated_data)
        report = Report.objects.get(pk=report.pk)  # as a GET will read it, so the ETags agree
        return _with_etag(
            report,
            s.ReportSerializer(report).data,
            status_code=status.HTTP_201_CREATED,
            location=f"{request.path}{report.pk}/",
        )

    def partial_update(self, request, *args, **kwargs):
        report = self.get_object()
        if not Report.objects.visible_to(request.user, "change").filter(pk=report.pk).exists():
            raise PermissionDenied
        version = require_if_match(request, report, s.ReportSerializer(report).data)
        if report.status not in workflow.OPEN:
            raise Conflict(_("Only open reports can be edited."))
        data = s.ReportWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        report = intake_actions.update_report(report, actor=request.user, version=version, **data.validated_data)
        report = Report.objects.get(pk=report.pk)
        return _with_etag(report, s.ReportSerializer(report).data)


# --- cases and people ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Cases you may see", tags=["cases"]),
    retrieve=extend_schema(summary="One case (audited)", tags=["cases"]),
)
class CaseViewSet(ReadOnlyViewSet):
    read_scope = "cases:read"
    filterset_class = filters.CaseFilter
    ordering_fields = ["opened_at", "reference", "status"]
    ordering = ["-opened_at", "-id"]
    etag_on_detail = True

    def get_queryset(self):
        return (
            Case.objects.visible_to(self.request.user, "view")
            .select_related("report", "owner")
            .order_by("-opened_at", "-id")
        )

    def get_serializer_class(self):
        return s.CaseSummarySerializer if self.action == "list" else s.CaseSerializer

    def list(self, request, *args, **kwargs):
        page = self.page_of(self.get_queryset())
        audit.record(
            "cases.case_list",
            actor=request.user,
            details=_api(request, filters=_filters_used(request), page=self.paginator.page.number),
        )
        return self.list_response(page, s.CaseSummarySerializer)

    def retrieve(self, request, *args, **kwargs):
        case = self.get_object()
        audit.record("cases.case_viewed", actor=request.user, obj=case, details=_api(request))
        return _with_etag(case, s.CaseSerializer(case).data)


@extend_schema_view(
    list=extend_schema(summary="People on cases you may see (no identity fields)", tags=["persons"]),
    retrieve=extend_schema(summary="One person's identity and case links (audited)", tags=["persons"]),
)
class PersonViewSet(ReadOnlyViewSet):
    """People as the case pages show them: only through a case link the user may see, in a role they may see."""

    read_scope = "persons:read"
    filterset_class = filters.PersonFilter
    ordering_fields = ["id"]
    ordering = ["id"]
    etag_on_detail = True

    def get_queryset(self):
        return Person.objects.visible_to(self.request.user, "view").order_by("id")

    def get_serializer_class(self):
        return s.PersonSummarySerializer if self.action == "list" else s.PersonSerializer

    def _links(self, person_ids) -> dict[int, list]:
        links: dict[int, list] = {}
        visible = CasePerson.objects.visible_to(self.request.user).filter(person_id__in=person_ids)
        for link in visible.select_related("case").order_by("case__opened_at", "pk"):
            links.setdefault(link.person_id, []).append(link)
        return links

    def list(self, request, *args, **kwargs):
        page = self.page_of(self.get_queryset())
        links = self._links([p.pk for p in page])
        audit.record(
            "people.list_viewed",
            actor=request.user,
            details=_api(request, filters=_filters_used(request), shown=len(page)),
        )
        return self.list_response(page, s.PersonSummarySerializer, links=links)

    def retrieve(self, request, *args, **kwargs):
        person = self.get_object()
        links = self._links([person.pk])
        for link in links.get(person.pk, []):
            audit.record(
                "cases.person_viewed",
                actor=request.user,
                obj=person,
                details=_api(request, case_id=link.case_id, case_person_id=link.pk),
            )
        data = s.PersonSerializer(person, context={**self.get_serializer_context(), "links": links}).data
        return _with_etag(person, data)


# --- referrals ----------------------------------------------------------------------------------------------


UNIT_ACTIONS = {
    "send": (s.EmptySerializer, referral_actions.send_referral, lambda d: {}),
    "withdraw": (s.ReferralReasonSerializer, referral_actions.withdraw_referral, lambda d: {"reason": d["reason"]}),
}


@extend_schema_view(
    list=extend_schema(summary="Referrals of the unit's survivors you may see", tags=["referrals"]),
    retrieve=extend_schema(summary="One referral, the unit's side (audited)", tags=["referrals"]),
    create=extend_schema(
        summary="Refer a survivor to an authorised provider (sent at once unless send is false)",
        description="As the referral form: the survivor must be a victim on a case the token's user may change, "
        "the provider authorised for referrals, and sending needs the survivor's recorded consent to share with "
        "that provider (400 no_consent otherwise; nothing is created). A draft (send false) needs no consent "
        "yet. Sending without consent (the four-eyes override) is done on the referral's page, not here.",
        tags=["referrals"],
        request=s.ReferralCreateSerializer,
        responses={
            201: s.UnitReferralSerializer,
            404: OpenApiResponse(
                s.ErrorSerializer,
                description="No such survivor, or one on a case this token's user may not see (the same answer).",
            ),
        },
    ),
)
class UnitReferralViewSet(mixins.CreateModelMixin, ReadOnlyViewSet):
    """The unit's side: its survivors' referrals. Writes go through the same actions as the referral pages
    (``referrals.actions``), which check the consent, the provider and the user's rights, and audit."""

    read_scope, write_scope = "referrals:read", "referrals:write"
    filterset_class = filters.ReferralFilter
    ordering_fields = ["created_at", "sent_at", "status"]
    ordering = ["-created_at", "-id"]
    serializer_class = s.UnitReferralSerializer
    etag_on_detail = True
    if_match_actions = tuple(UNIT_ACTIONS)
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        if side_of(self.request.user) != Side.UNIT:
            return Referral.objects.none()
        return (
            Referral.objects.visible_to(self.request.user, "view")
            .select_related("provider", "case_person")
            .order_by("-created_at", "-id")
        )

    def get_serializer_class(self):
        return s.ReferralCreateSerializer if self.action == "create" else s.UnitReferralSerializer

    def list(self, request, *args, **kwargs):
        page = self.page_of(self.get_queryset())
        audit.record(
            "referrals.list_viewed",
            actor=request.user,
            details=_api(request, count=len(page), side="unit", filters=_filters_used(request)),
        )
        return self.list_response(page, s.UnitReferralSerializer)

    def retrieve(self, request, *args, **kwargs):
        referral = self.get_object()
        audit.record(
            "referrals.viewed", actor=request.user, obj=referral, details=_api(request, page="detail", side="unit")
        )
        return _with_etag(referral, s.UnitReferralSerializer(referral).data)

    def _may_refer(self, request, link: CasePerson) -> None:
        # As the referral form's page (referrals.views.referral_create): seen but not changeable is 403.
        if (
            not request.user.has_perm("referrals.send")
            or not CasePerson.objects.visible_to(request.user, "change").filter(pk=link.pk).exists()
        ):
            raise exceptions.PermissionDenied(_("You may not send or withdraw referrals for this survivor."))

    def create(self, request, *args, **kwargs):
        data = s.ReferralCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        # The survivor as the referral form finds it: a victim link the user may see, else 404.
        link = None
        if side_of(request.user) == Side.UNIT:
            link = (
                CasePerson.objects.visible_to(request.user, "view")
                .filter(role=PersonRole.VICTIM, pk=d["case_person"])
                .select_related("person")
                .first()
            )
        if link is None:
            raise exceptions.NotFound(_("No such survivor on a case you may see."))
        self._may_refer(request, link)
        fields = s.ReferralCreateSerializer.action_fields(d, link)
        with transaction.atomic():
            referral = referral_actions.create_referral(link, actor=request.user, **fields)
            if d["send"]:
                # Without recorded consent this refuses (400 no_consent) and the draft is rolled back with it.
                referral_actions.send_referral(referral, actor=request.user, version=referral.version)
        referral = self.get_queryset().get(pk=referral.pk)
        return _with_etag(
            referral,
            s.UnitReferralSerializer(referral).data,
            status_code=status.HTTP_201_CREATED,
            location=f"{request.path}{referral.pk}/",
        )

    def _act(self, request, name: str):
        referral = self.get_object()
        if not Referral.objects.visible_to(request.user, "change").filter(pk=referral.pk).exists():
            raise exceptions.PermissionDenied(_("You may not send or withdraw referrals for this survivor."))
        version = require_if_match(request, referral, s.UnitReferralSerializer(referral).data)
        form_class, do, fields = UNIT_ACTIONS[name]
        data = form_class(data=request.data if request.data is not None else {})
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            do(referral, actor=request.user, version=version, **fields(data.validated_data))
        referral = self.get_queryset().get(pk=referral.pk)
        return _with_etag(referral, s.UnitReferralSerializer(referral).data)

    @extend_schema(
        summary="Send a draft (If-Match); needs the survivor's recorded consent to share with the provider",
        tags=["referrals"],
        request=s.EmptySerializer,
        responses={200: s.UnitReferralSerializer},
    )
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        return self._act(request, "send")

    @extend_schema(
        summary="Withdraw the referral, with a reason (If-Match)",
        tags=["referrals"],
        request=s.ReferralReasonSerializer,
        responses={200: s.UnitReferralSerializer},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._act(request, "withdraw")


PROVIDER_ACTIONS = {
    "acknowledge": (s.EmptySerializer, referral_actions.acknowledge_referral, lambda d: {}),
    "accept": (s.ReferralNoteSerializer, referral_actions.accept_referral, lambda d: {"note": d.get("note", "")}),
    "decline": (s.ReferralReasonSerializer, referral_actions.decline_referral, lambda d: {"reason": d["reason"]}),
    "start": (s.EmptySerializer, referral_actions.start_referral, lambda d: {}),
    "complete": (s.ReferralOutcomeSerializer, referral_actions.complete_referral, lambda d: {"outcome": d["outcome"]}),
    "updates": (s.ReferralUpdateSerializer, referral_actions.post_update, lambda d: {"text": d["text"]}),
    "services": (s.ReferralServiceSerializer, referral_actions.record_service, lambda d: d),
}
# Lifecycle steps take the version (the action locks it); updates and services add to the timeline (a service
# may start the referral). Every POST on a referral needs If-Match all the same: one rule for partners.
VERSIONED = {"acknowledge", "accept", "decline", "start", "complete"}


def _provider_action_schema(name: str, summary: str):
    return extend_schema(
        summary=summary,
        tags=["provider"],
        request=PROVIDER_ACTIONS[name][0],
        responses={200: s.ProviderReferralDetailSerializer},
    )


@extend_schema_view(
    list=extend_schema(summary="Referrals addressed to your organisation", tags=["provider"]),
    retrieve=extend_schema(
        summary="One referral: what the unit shared, and its timeline (audited)",
        tags=["provider"],
        responses={200: s.ProviderReferralDetailSerializer},
    ),
)
class ProviderReferralViewSet(ReadOnlyViewSet):
    """The provider's side: only referrals sent to the token user's agency, only the shared snapshot."""

    read_scope, write_scope = "referrals:read", "referrals:write"
    filterset_class = filters.ReferralFilter
    ordering_fields = ["sent_at", "status"]
    ordering = ["-sent_at", "-id"]
    serializer_class = s.ProviderReferralSerializer
    etag_on_detail = True
    if_match_actions = tuple(PROVIDER_ACTIONS)

    def get_queryset(self):
        if side_of(self.request.user) != Side.PROVIDER:
            return Referral.objects.none()
        return (
            Referral.objects.visible_to(self.request.user, "view")
            .select_related("provider")
            .order_by("-sent_at", "-id")
        )

    def list(self, request, *args, **kwargs):
        page = self.page_of(self.get_queryset())
        audit.record(
            "referrals.list_viewed", actor=request.user, details=_api(request, count=len(page), side="provider")
        )
        return self.list_response(page, s.ProviderReferralSerializer)

    def retrieve(self, request, *args, **kwargs):
        referral = self.get_object()
        audit.record(
            "referrals.viewed",
            actor=request.user,
            obj=referral,
            details=_api(request, page="portal_detail", side="provider"),
        )
        return self._detail(referral)

    def _act(self, request, name: str):
        referral = self.get_object()
        if not Referral.objects.visible_to(request.user, "respond").filter(pk=referral.pk).exists():
            raise PermissionDenied
        version = require_if_match(request, referral, self._data(referral))
        form_class, do, fields = PROVIDER_ACTIONS[name]
        data = form_class(data=request.data if request.data is not None else {})
        data.is_valid(raise_exception=True)
        extra = {"version": version} if name in VERSIONED else {}
        do(referral, actor=request.user, **extra, **fields(data.validated_data))
        referral = Referral.objects.get(pk=referral.pk)
        return self._detail(referral)

    def _data(self, referral):
        return s.ProviderReferralDetailSerializer(referral, context=self.get_serializer_context()).data

    def _detail(self, referral):
        return _with_etag(referral, self._data(referral))

    @_provider_action_schema("acknowledge", "Acknowledge receipt (If-Match)")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request, pk=None):
        return self._act(request, "acknowledge")

    @_provider_action_schema("accept", "Accept the referral (If-Match)")
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        return self._act(request, "accept")

    @_provider_action_schema("decline", "Decline, with a reason (If-Match)")
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        return self._act(request, "decline")

    @_provider_action_schema("start", "Start providing the service (If-Match)")
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(request, "start")

    @_provider_action_schema("complete", "Complete, with the outcome (If-Match)")
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        return self._act(request, "complete")

    @_provider_action_schema("updates", "Post a progress update to the timeline (If-Match)")
    @action(detail=True, methods=["post"])
    def updates(self, request, pk=None):
        return self._act(request, "updates")

    @_provider_action_schema("services", "Report a service delivered (If-Match)")
    @action(detail=True, methods=["post"])
    def services(self, request, pk=None):
        return self._act(request, "services")


# --- directory ----------------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Agencies and service providers", tags=["directory"]),
    retrieve=extend_schema(summary="One agency", tags=["directory"]),
)
class AgencyViewSet(ReadOnlyViewSet):
    read_scope = "directory:read"
    filterset_class = filters.AgencyFilter
    ordering_fields = ["name", "id"]
    ordering = ["name"]
    serializer_class = s.AgencySerializer
    etag_on_detail = True

    def get_queryset(self):
        return (
            Agency.objects.visible_to(self.request.user, "view")
            .prefetch_related(Prefetch("services", queryset=Service.objects.order_by("service_type")))
            .order_by("name")
        )


@extend_schema_view(
    list=extend_schema(summary="Services and their capacity", tags=["directory"]),
    retrieve=extend_schema(summary="One service", tags=["directory"]),
)
class ServiceViewSet(ReadOnlyViewSet):
    read_scope = "directory:read"
    filterset_class = filters.ServiceFilter
    ordering_fields = ["id", "service_type", "capacity_free"]
    ordering = ["id"]
    serializer_class = s.ServiceSerializer
    etag_on_detail = True

    def get_queryset(self):
        agencies = Agency.objects.visible_to(self.request.user, "view")
        return Service.objects.filter(agency__in=agencies).order_by("id")


# --- investigations -----------------------------------------------------------------------------------------


class InvestigationViewSet(ReadOnlyViewSet):
    read_scope = "investigations:read"
    etag_on_detail = True
    page_name = ""

    def _audit(self, request, case_ids) -> None:
        # As the investigation pages: one "investigations.viewed" row per case whose records were shown.
        for case_id in sorted(set(case_ids)):
            audit.record(
                "investigations.viewed",
                actor=request.user,
                object_type="cases.case",
                object_id=case_id,
                details=_api(request, page=self.page_name),
            )

    def list(self, request, *args, **kwargs):
        page = self.page_of(self.get_queryset())
        self._audit(request, [self.case_of(obj) for obj in page])
        return self.list_response(page, self.get_serializer_class())

    def retrieve(self, request, *args, **kwargs):
        obj = self.get_object()
        self._audit(request, [self.case_of(obj)])
        return _with_etag(obj, self.get_serializer(obj).data)


@extend_schema_view(
    list=extend_schema(summary="Charges laid (filter by case)", tags=["investigations"]),
    retrieve=extend_schema(summary="One charge", tags=["investigations"]),
)
class ChargeViewSet(InvestigationViewSet):
    filterset_class = filters.ChargeFilter
    ordering_fields = ["laid_on", "id"]
    ordering = ["laid_on", "id"]
    serializer_class = s.ChargeSerializer
    page_name = "api.charges"

    def get_queryset(self):
        return Charge.objects.visible_to(self.request.user, "view").order_by("laid_on", "id")

    @staticmethod
    def case_of(charge) -> int:
        return charge.case_id


@extend_schema_view(
    list=extend_schema(summary="Court hearings (filter by case)", tags=["investigations"]),
    retrieve=extend_schema(summary="One hearing", tags=["investigations"]),
)
class HearingViewSet(InvestigationViewSet):
    filterset_class = filters.HearingFilter
    ordering_fields = ["starts_at", "id"]
    ordering = ["starts_at", "id"]
    serializer_class = s.HearingSerializer
    page_name = "api.hearings"

    def get_queryset(self):
        return (
            Hearing.objects.visible_to(self.request.user, "view")
            .select_related("court_case")
            .order_by("starts_at", "id")
        )

    @staticmethod
    def case_of(hearing) -> int:
        return hearing.court_case.case_id


# --- statistics ---------------------------------------------------------------------------------------------


class StatisticsQuerySerializer(serializers.Serializer):
    measure = serializers.CharField(help_text="A measure key from /api/v1/statistics/measures/.")
    dims = serializers.ListField(
        child=serializers.CharField(), required=False, max_length=3, help_text="Up to three dimensions."
    )
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)


class _StatisticsBase(ApiViewMixin, APIView):
    read_scope = "stats:read"

    def check_permissions(self, request):
        super().check_permissions(request)
        if not request.user.has_perm("stats.view_dashboard"):
            self.permission_denied(request)


class StatisticsMeasuresView(_StatisticsBase):
    @extend_schema(
        summary="What can be counted, and by what", tags=["statistics"], responses={200: s.MeasureSerializer(many=True)}
    )
    def get(self, request):
        from stats import dataset

        rows = [
            {"key": key, "label": str(m.label), "description": str(m.description), "dimensions": m.dimensions}
            for key, m in dataset.MEASURES.items()
        ]
        return Response(s.MeasureSerializer(rows, many=True).data)


class StatisticsView(_StatisticsBase):
    """Aggregate counts only, through the statistics engine (``stats.dataset.count``). Cells below the
    small-cell threshold are withheld: what leaves the unit by API is treated as published (issue #8)."""

    query_serializer = StatisticsQuerySerializer

    @extend_schema(
        summary="Counts of a measure broken down by dimensions", tags=["statistics"],
        parameters=[
            OpenApiParameter("measure", str, required=True, description="A measure key from /api/v1/statistics/measures/."),
            OpenApiParameter("dims", str, many=True, explode=True, description="Up to three dimensions (repeat the parameter)."),
            OpenApiParameter("date_from", OpenApiTypes.DATE, required=False),
            OpenApiParameter("date_to", OpenApiTypes.DATE, required=False),
        ],
        responses={200: s.StatisticsSerializer},
    )  # fmt: skip
    def get(self, request):
        from stats import dataset

        query = StatisticsQuerySerializer(
            data={**request.query_params.dict(), "dims": request.query_params.getlist("dims")}
        )
        query.is_valid(raise_exception=True)
        q = query.validated_data
        dims = list(dict.fromkeys(q.get("dims", [])))
        if q["measure"] not in dataset.MEASURES:
            raise exceptions.ValidationError({"measure": [_("Unknown measure.")]})
        allowed = dataset.MEASURES[q["measure"]].dimensions
        unknown = [d for d in dims if d not in allowed]
        if unknown:
            raise exceptions.ValidationError(
                {"dims": [_("Not a dimension of this measure: %(dims)s.") % {"dims": ", ".join(unknown)}]}
            )
        rows = dataset.count(q["measure"], dims, date_from=q.get("date_from"), date_to=q.get("date_to"))
        threshold = settings.STATS_SMALL_CELL
        out = []
        for row in rows:
            n = row["n"]
            hidden = 0 < n < threshold
            out.append(
                {
                    "values": {d: (None if row[d] is None else str(row[d])) for d in dims},
                    "n": None if hidden else n,
                    "suppressed": hidden,
                }
            )
        audit.record("stats.api_query", actor=request.user, details=_api(request, measure=q["measure"], dims=dims))
        return Response(
            s.StatisticsSerializer(
                {"measure": q["measure"], "dimensions": dims, "small_cell_threshold": threshold, "rows": out}
            ).data
        )
