"""The API against its own OpenAPI schema (issue #9), with schemathesis over WSGI, for two identities of
different agencies: a CTU investigator and a shelter's service account; and a care officer for the unit's
referral writes, which an investigator may not make. For every operation: no server
error, only documented status codes, bodies matching the documented schemas, and no body that names an object
only the other identity may see. Deterministic (derandomize) and bounded, so CI stays stable and quick."""

from __future__ import annotations

import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.models import TokenKind
from tests.test_api import FAMILY, GIVEN, OTHER_VICTIM, SUSPECT, ApiWorld

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and identity: random ones, then a few per known record id. About 700 requests in all:
# some 15 s on an idle machine, well under 90 s on a busy CI runner.
EXAMPLES = 8
FIXED_ID_EXAMPLES = 3


class SchemathesisTests(ApiWorld):
    def setUp(self):
        super().setUp()
        # schemathesis calls the WSGI application directly, so Django's request signals fire: their
        # close_old_connections would close the test's connection inside its transaction (PostgreSQL). The test
        # client disconnects them the same way.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        self.addCleanup(request_started.connect, close_old_connections)
        self.addCleanup(request_finished.connect, close_old_connections)

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # High budgets: this test is about conformance, not about the rate limit (tests/test_api.py is).
        investigator_scopes = [
            "reports:read",
            "reports:write",
            "cases:read",
            "persons:read",
            "referrals:read",
            "directory:read",
            "investigations:read",
        ]
        cls.identities = {
            "investigator": cls._secret(cls.investigator, investigator_scopes, TokenKind.PERSONAL),
            "shelter": cls._secret(
                cls.shelter, ["referrals:read", "referrals:write", "directory:read"], TokenKind.SERVICE
            ),
            "care": cls._secret(cls.care, ["referrals:read", "referrals:write"], TokenKind.PERSONAL),
        }
        # The care officer runs only the unit's referral operations (the rest is the investigator's).
        cls.only = {"care": "/api/v1/referrals/"}

    @classmethod
    def _secret(cls, user, scopes, kind) -> str:
        from api import actions

        _token, secret = actions.create_token(
            actor=None, user=user, name="schemathesis", scopes=scopes, days=5, kind=kind, rate_per_minute=100_000
        )
        return secret

    def forbidden_for(self, identity: str) -> list[str]:
        """Strings naming objects only the *other* identity may see."""
        if identity == "shelter":
            return [GIVEN, FAMILY, *SUSPECT, *OTHER_VICTIM, self.case.reference, self.case_b.reference, self.case.report.reference,
                    self.other_referral.reference, "Trafficking in persons", "CR-9"]  # fmt: skip
        # The investigator sees the unit's side of its own referrals, never the provider portal's snapshot view
        # of another team's case; the care officer does not see the suspect either.
        unit = [*OTHER_VICTIM, self.case_b.reference, self.case_b.report.reference]
        return [*unit, *SUSPECT] if identity == "care" else unit

    def ids_for(self, path: str) -> list[int]:
        """Ids worth trying besides random ones: records one identity may see and the other may not."""
        ids = {
            "/reports/": [self.case.report_id, self.case_b.report_id],
            "/cases/": [self.case.pk, self.case_b.pk],
            "/persons/": [self.victim.person_id, self.suspect.person_id, self.victim_b.person_id],
            "/referrals/": [self.referral.pk, self.other_referral.pk],
            "/agencies/": [self.safe_harbour.pk, self.blue_basin.pk],
            "/services/": [],
            "/charges/": [self.charge.pk],
            "/hearings/": [self.hearing.pk],
        }
        return next((v for k, v in ids.items() if k in path), [])

    def valid_referral(self) -> dict:
        return {"case_person": self.victim.pk, "provider": self.safe_harbour.pk, "needs": ["shelter"],
                "shared_fields": ["age"], "send": False}  # fmt: skip

    def test_every_operation_honours_the_schema_for_both_identities(self):
        app = get_wsgi_application()
        schema = schemathesis.openapi.from_wsgi(
            "/api/schema/?format=json", app, headers={"Authorization": f"Bearer {self.identities['shelter']}"}
        )
        operations = [result.ok() for result in schema.get_all_operations()]
        self.assertGreaterEqual(len(operations), 25)
        seen_by: dict[str, set[int]] = {}
        for identity, secret in self.identities.items():
            headers = {"Authorization": f"Bearer {secret}"}
            forbidden = self.forbidden_for(identity)
            for operation in operations:
                if not operation.path.startswith(self.only.get(identity, "/")):
                    continue
                # Random data first, then the known records (fewer examples: only the rest of the request varies).
                runs = [(operation.as_strategy(), EXAMPLES)]
                if "{id}" in operation.path:
                    runs += [
                        (operation.as_strategy(path_parameters={"id": pk}), FIXED_ID_EXAMPLES)
                        for pk in self.ids_for(operation.path)
                    ]
                if identity == "care" and operation.method.upper() == "POST" and operation.path == "/api/v1/referrals/":
                    # A valid referral too, so the created answer is held to the schema as well.
                    runs.append((operation.as_strategy(body=self.valid_referral()), FIXED_ID_EXAMPLES))
                for strategy, examples in runs:
                    statuses = seen_by.setdefault(identity, set())
                    self._run(strategy, examples, headers, forbidden, identity, statuses)
        seen_statuses = set().union(*seen_by.values())
        # Reads, created reports, refused input, missing scopes, hidden records and stale ETags were all exercised.
        self.assertLessEqual({200, 201, 400, 403, 404, 412}, seen_statuses)
        # The care officer's referral writes ran: created, refused, hidden and stale.
        self.assertLessEqual({201, 400, 404, 412}, seen_by["care"])

    def _run(self, strategy, examples, headers, forbidden, identity, seen_statuses):
        @settings(
            max_examples=examples, derandomize=True, deadline=None, database=None, print_blob=False,
            suppress_health_check=list(HealthCheck),
        )  # fmt: skip
        @given(case=strategy)
        def check(case):
            response = case.call(headers=headers)
            seen_statuses.add(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=headers)
            body = response.text
            for secret in forbidden:
                assert secret not in body, f"{identity} got {secret!r} from {case.method} {case.formatted_path}"

        check()
