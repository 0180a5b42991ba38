"""The REST plumbing every endpoint shares (issue #9): scopes, per-token rate limits, ETag / If-Match,
Idempotency-Key, errors. Endpoints read through ``visible_to`` and write through actions; nothing here
knows a domain rule."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.http import parse_etags
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination, permissions, serializers, status, throttling
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler as drf_exception_handler

from api.authentication import BearerTokenAuthentication
from api.models import ApiToken, IdempotencyRecord

IDEMPOTENCY_TTL = timedelta(hours=24)


# --- errors -------------------------------------------------------------------------------------------------


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = _("Send the If-Match header with the ETag you last read.")
    default_code = "precondition_required"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _("The record changed since you read it. Fetch it again, then retry with its new ETag.")
    default_code = "precondition_failed"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("This cannot be done in the record's current state.")
    default_code = "conflict"


class Refused(exceptions.APIException):
    """A domain rule refused the request as a whole (not one field): 400 with the action's own message and code,
    e.g. ``no_consent`` when a referral is sent without the survivor's recorded consent."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = _("This request was refused.")
    default_code = "refused"


class IdempotencyMismatch(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was already used with a different request.")
    default_code = "idempotency_key_reused"


class Replay(Exception):
    """Raised to answer a retried POST with the stored response."""

    def __init__(self, response: Response):
        self.response = response


def _messages(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if k == "__all__" else k): [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    """Domain errors from actions, in HTTP: stale version 412, a refused transition 409, invalid input 400,
    not allowed 403, not visible 404. Bodies are ``{"detail": ..., "code": ...}`` or field errors."""
    if isinstance(exc, Replay):
        return exc.response
    if isinstance(exc, DjangoValidationError):
        code = getattr(exc, "code", "") or ""
        if code == "stale":
            exc = PreconditionFailed()
        elif code == "invalid_transition":
            exc = Conflict(" ".join(str(m) for m in exc.messages))
        elif code and not hasattr(exc, "error_dict"):
            exc = Refused(" ".join(str(m) for m in exc.messages), code=code)
        else:
            exc = exceptions.ValidationError(_messages(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"detail": str(response.data["detail"]), "code": getattr(exc, "default_code", "error")}
        if isinstance(exc, exceptions.APIException):
            codes = exc.get_codes()
            if isinstance(codes, str):
                response.data["code"] = codes
    return response


# --- scopes and rate limits ---------------------------------------------------------------------------------


class HasScope(permissions.BasePermission):
    """The token carries the endpoint's scope: ``read_scope`` for GET, ``write_scope`` for anything else."""

    message = _("This token does not carry the scope this request needs.")

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        needed = view.read_scope if request.method in permissions.SAFE_METHODS else view.write_scope
        if not needed or needed not in token.scopes:
            self.message = _("This token does not carry the scope %(scope)s.") % {"scope": needed or "-"}
            return False
        return True


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """A budget of requests per minute for each token (its own, else BEACON_API_RATE_PER_MINUTE), counted in the
    ``api`` cache so every worker process shares it."""

    cache = caches["api"]
    scope = "token"

    def get_rate(self):
        return f"{settings.API_RATE_PER_MINUTE}/min"

    def allow_request(self, request, view):
        token = request.auth
        if isinstance(token, ApiToken) and token.rate_per_minute:
            self.num_requests, self.duration = token.rate_per_minute, 60
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        token = request.auth
        return f"beacon-api-throttle-{token.pk}" if isinstance(token, ApiToken) else None


# --- pagination ---------------------------------------------------------------------------------------------


class Pagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# --- ETag, If-Match and If-None-Match -----------------------------------------------------------------------


def etag_for(obj, data) -> str:
    """A strong ETag of the representation the client is shown: the record's optimistic-locking version and the
    serialized body itself (issue #9). The body is part of it because some details carry more than the record's
    own row (a referral's timeline, a person's case links, an agency's services): a new timeline entry changes
    the ETag even though the referral's version does not move, so If-None-Match never hides it and If-Match
    refuses a write based on a view that is no longer current."""
    digest = hashlib.sha256(f"{obj._meta.label_lower}:{obj.pk}:{obj.version}\n".encode())
    digest.update(json.dumps(data, cls=JSONEncoder, sort_keys=True, ensure_ascii=False).encode())
    return '"' + digest.hexdigest()[:32] + '"'


def _opaque(tag: str) -> str:
    return tag.removeprefix("W/")


def require_if_match(request, obj, data) -> int:
    """The version the client read, from If-Match: 428 without it, 412 when the record has moved on.

    Strong comparison (RFC 9110, 13.1.1): a weak tag (``W/"..."``) never matches, Beacon's ETags are strong.
    ``If-Match: *`` is not enough: the point of the header here is to name the state the client saw, so it
    answers 428 like a missing header (issue #9)."""
    header = request.headers.get("If-Match", "").strip()
    offered = parse_etags(header) if header else []
    if not header or offered == ["*"]:
        raise PreconditionRequired()
    if etag_for(obj, data) not in offered:
        raise PreconditionFailed()
    return obj.version


def if_none_match_hits(header: str, etag: str) -> bool:
    """Whether If-None-Match names the current representation: weak comparison (RFC 9110, 13.1.2), so
    ``W/"x"`` matches ``"x"``; ``*`` matches any current representation."""
    offered = parse_etags(header)
    return offered == ["*"] or _opaque(etag) in {_opaque(tag) for tag in offered}


def not_modified(request, response):
    """304 Not Modified, without a body, for a GET or HEAD whose If-None-Match names the ETag of the 200 the view
    just built (RFC 9110, 13.2.2 and 15.4.5). The view ran in full, so the read is audited exactly as a 200 is:
    the client is shown the record again, from its own copy. The 304 keeps the 200's ETag, Vary and Allow."""
    header = request.headers.get("If-None-Match", "")
    if (
        request.method in {"GET", "HEAD"}
        and response.status_code == status.HTTP_200_OK
        and header
        and response.has_header("ETag")
        and if_none_match_hits(header, response["ETag"])
    ):
        response.status_code = status.HTTP_304_NOT_MODIFIED
        response.data = None  # renders empty; DRF then drops the Content-Type
    return response


# --- the base of every endpoint -----------------------------------------------------------------------------


class ApiViewMixin:
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [TokenRateThrottle]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    pagination_class = Pagination
    read_scope = ""
    write_scope = ""
    etag_on_detail = False

    # Idempotency-Key (issue #9): the first POST with a key stores its successful answer; a retry with the same
    # key and body gets that answer again, a different body with the same key gets 422.
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency = None
        key = request.headers.get("Idempotency-Key", "").strip()
        if request.method != "POST" or not key:
            return
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": [_("At most 255 characters.")]})
        token = request.auth
        digest = hashlib.sha256(
            request.method.encode() + b" " + request.path.encode() + b"\n" + request.body
        ).hexdigest()
        IdempotencyRecord.objects.filter(token=token, created_at__lt=timezone.now() - IDEMPOTENCY_TTL).delete()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    token=token, key=key, method=request.method, path=request.path, request_hash=digest
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.filter(token=token, key=key).first()
            if record is None:  # pragma: no cover - removed between the two queries
                raise Conflict(_("Retry this request.")) from None
            if record.request_hash != digest:
                raise IdempotencyMismatch() from None
            if record.status_code is None:
                raise Conflict(_("A request with this Idempotency-Key is still being processed.")) from None
            response = Response(json.loads(record.response_body or "null"), status=record.status_code)
            for name, value in record.response_headers.items():
                response[name] = value
            response["Idempotent-Replayed"] = "true"
            raise Replay(response) from None
        self._idempotency = record

    def dispatch(self, request, *args, **kwargs):
        try:
            return super().dispatch(request, *args, **kwargs)
        except Exception:
            # A server error: forget the pending key so the client's retry runs the request again.
            record = getattr(self, "_idempotency", None)
            if record is not None:
                record.delete()
            raise

    def handle_exception(self, exc):
        if isinstance(exc, Replay):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency", None)
        if record is not None:
            self._idempotency = None
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.response_body = json.dumps(response.data, cls=JSONEncoder)
                record.response_headers = {h: response[h] for h in ("ETag", "Location") if response.has_header(h)}
                record.save(update_fields=["status_code", "response_body", "response_headers"])
            else:
                # Nothing was done: the client may retry with the same key after fixing the request.
                record.delete()
        return not_modified(request, response)

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        if self.etag_on_detail:
            response["ETag"] = etag_for(self._object, response.data)
        return response

    def get_object(self):
        self._object = super().get_object()
        return self._object


class StrictSerializer(serializers.Serializer):
    """Refuses keys it does not accept (read-only or unknown) instead of silently ignoring them (issue #9)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            writable = {name for name, f in self.fields.items() if not f.read_only}
            refused = sorted(set(data) - writable)
            if refused:
                raise exceptions.ValidationError({name: [_("This field cannot be written.")] for name in refused})
        return super().to_internal_value(data)


class StrictModelSerializer(StrictSerializer, serializers.ModelSerializer):
    pass
