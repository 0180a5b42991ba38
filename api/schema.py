"""The OpenAPI document documents every status an endpoint can answer (issue #9): schemathesis holds the API
to it. Errors, If-Match and Idempotency-Key are added here once rather than on every view."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

ERRORS = {
    "400": "Invalid input: field errors, or {detail, code}.",
    "401": "No token, or an invalid, expired or revoked one.",
    "403": "The token lacks the scope, or its user may see the record but not do this.",
    "404": "No such record, or one this token's user may not see (the same answer).",
    "409": "Not possible in the record's current state, or the same Idempotency-Key is still being processed.",
    "412": "If-Match does not match the record's current ETag: it changed since you read it.",
    "422": "This Idempotency-Key was already used with a different request.",
    "415": "The body is not JSON: send Content-Type: application/json.",
    "428": "If-Match is missing: send the ETag you last read.",
    "429": "Too many requests for this token: wait for the number of seconds in Retry-After.",
}
NOT_MODIFIED = (
    "Not modified: If-None-Match names the current ETag, so the copy you hold is current. No body. The read is "
    "audited all the same, as a 200 is."
)

FIELD_ERRORS_SCHEMA = {"type": "object", "additionalProperties": True}


class BeaconAutoSchema(AutoSchema):
    def _if_match(self) -> bool:
        return getattr(self.view, "action", None) in getattr(self.view, "if_match_actions", ())

    def _conditional_get(self) -> bool:
        """A detail GET that answers an ETag, and so honours If-None-Match with 304."""
        return self.method == "GET" and getattr(self.view, "etag_on_detail", False) and not self._is_list_view()

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self._conditional_get():
            params.append(
                OpenApiParameter(
                    "If-None-Match",
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="The ETag of your copy: 304 Not Modified, with no body, while it is still current (weak comparison).",
                )  # fmt: skip
            )
        if self._if_match():
            params.append(
                OpenApiParameter(
                    "If-Match",
                    str,
                    OpenApiParameter.HEADER,
                    required=True,
                    description="The ETag of the record as you last read it (from its GET).",
                )  # fmt: skip
            )
        if self.method == "POST":
            params.append(
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    required=False,
                    description="Any unique string (a UUID): a retry with the same key and body is answered with the first answer, and the action runs once. Kept 24 hours.",
                )  # fmt: skip
            )
        return params

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "403", "429"]
        is_list = self._is_list_view()
        if "{" in self.path or is_list:
            codes.append("404")
        if is_list or self.method in {"POST", "PATCH", "PUT"} or getattr(self.view, "query_serializer", None):
            codes.append("400")
        if self.method in {"POST", "PATCH", "PUT"}:
            codes.append("415")
        if self.method == "POST":
            codes += ["409", "422"]
        if self._if_match():
            codes += ["409", "412", "428"]
        from api.serializers import ErrorSerializer

        for code in sorted(set(codes)):
            if code in responses:
                continue
            body = FIELD_ERRORS_SCHEMA if code == "400" else ErrorSerializer
            responses[code] = self._get_response_for_code(body, code, direction=direction)
            responses[code]["description"] = ERRORS[code]
        if getattr(self.view, "etag_on_detail", False) and not is_list:
            if self._conditional_get():
                responses["304"] = {"description": NOT_MODIFIED}
            for code in ("200", "201", "304"):
                if code in responses:
                    responses[code]["headers"] = {
                        "ETag": {
                            "schema": {"type": "string"},
                            "description": "Send it back in If-Match to change the record, or in If-None-Match to "
                            "ask whether it changed.",
                        }
                    }
        return responses


def strict_request_bodies(result, generator, request, public):
    """Request bodies refuse unknown and read-only keys (``StrictSerializer``); say so in the schema."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and schema.get("type") == "object":
            schema["additionalProperties"] = False
    return result
