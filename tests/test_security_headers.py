"""Security headers on every URL of the project (issue #10), and no inline script in rendered pages.

The URL list is not written by hand: it is walked from the project's resolver, so a view added tomorrow (the
REST API, the public form, anything) is checked without touching this file. Each pattern is filled with a
plausible value (1 for ids, "x" for slugs, a UUID for uuids) and requested with GET, anonymously and as a
signed-in director. Whatever the status (200, 302, 401, 403, 404, 405), the response must carry the headers.
"""

from __future__ import annotations

import re
import uuid
from html.parser import HTMLParser

from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter, UUIDConverter
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern

from api import actions as api_actions
from api import scopes
from tests import factories
from tests.base import BeaconTestCase

SAMPLE_UUID = str(uuid.UUID(int=1))
# Names whose value the view reads as a choice: a real choice reaches the view instead of a 404 at the door.
NAMED_VALUES = {"fmt": "csv", "kind": "x", "action": "x", "need_type": "x", "operation": "x"}


def _fill_route(route: str, converters: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group("name")
        converter = converters.get(name)
        if isinstance(converter, IntConverter):
            return "1"
        if isinstance(converter, UUIDConverter):
            return SAMPLE_UUID
        if name in NAMED_VALUES:
            return NAMED_VALUES[name]
        if isinstance(converter, SlugConverter | StringConverter | PathConverter):
            return "x"
        return "1"

    return re.sub(r"<(?:(?P<conv>[^>:]+):)?(?P<name>\w+)>", value, route)


def _fill_regex(regex: str) -> str:
    text = regex.removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    text = re.sub(r"\(\?P<(?P<name>\w+)>[^)]*\)", lambda m: NAMED_VALUES.get(m.group("name"), "1"), text)
    text = re.sub(r"\(\?:[^)]*\)\??", "", text)  # optional groups (format suffixes) left out
    return text.replace("\\.", ".").replace("\\", "")


def _fill(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _fill_route(str(pattern._route), pattern.converters)
    if isinstance(pattern, RegexPattern):
        return _fill_regex(pattern._regex)
    raise AssertionError(f"unknown pattern type {type(pattern)!r}")  # pragma: no cover


def every_url() -> list[str]:
    """One concrete URL per URL pattern of the project, walked recursively from the root resolver."""
    urls: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + _fill(entry.pattern))
            elif isinstance(entry, URLPattern):
                urls.append("/" + prefix + _fill(entry.pattern))

    walk(get_resolver().url_patterns, "")
    return urls


def csp_directives(header: str) -> dict[str, str]:
    directives = {}
    for part in header.split(";"):
        words = part.strip().split(None, 1)
        if words:
            directives[words[0].lower()] = words[1] if len(words) > 1 else ""
    return directives


def header_problems(response, *, signed_in: bool) -> list[str]:
    problems = []
    csp = response.get("Content-Security-Policy", "")
    directives = csp_directives(csp)
    if not csp:
        problems.append("no Content-Security-Policy")
    else:
        if directives.get("frame-ancestors") != "'none'":
            problems.append("CSP without frame-ancestors 'none'")
        scripts = directives.get("script-src", directives.get("default-src"))
        if scripts is None:
            problems.append("CSP without script-src or default-src")
        elif "'unsafe-inline'" in scripts or "'unsafe-eval'" in scripts or "*" in scripts.split():
            problems.append(f"CSP script sources too wide: {scripts}")
        styles = directives.get("style-src", directives.get("default-src", ""))
        if "'unsafe-inline'" in styles:
            problems.append("CSP allows inline styles")
        if (
            directives.get("object-src", directives.get("default-src")) not in ("'none'",)
            and "object-src" not in directives
        ):
            problems.append("CSP without object-src 'none'")
        if directives.get("base-uri") != "'none'":
            problems.append("CSP without base-uri 'none'")
    if response.get("X-Content-Type-Options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if response.get("Referrer-Policy") not in ("same-origin", "no-referrer", "strict-origin"):
        problems.append(f"Referrer-Policy {response.get('Referrer-Policy')!r}")
    if response.get("X-Frame-Options") != "DENY":
        problems.append(f"X-Frame-Options {response.get('X-Frame-Options')!r}")
    if response.get("Cross-Origin-Opener-Policy") != "same-origin":
        problems.append("no Cross-Origin-Opener-Policy: same-origin")
    if "camera=()" not in response.get("Permissions-Policy", ""):
        problems.append("no Permissions-Policy denying the camera")
    if signed_in and "no-store" not in response.get("Cache-Control", ""):
        problems.append(f"signed in but Cache-Control {response.get('Cache-Control')!r}")
    if response.status_code >= 500:
        problems.append(f"status {response.status_code}")
    return problems


class EveryUrlHasSecurityHeadersTests(BeaconTestCase):
    """ASVS 5.0 V3.4.1 (HSTS), V3.4.2/V3.4.3 (CSP), V3.4.4 (nosniff), V3.4.5 (Referrer-Policy),
    V3.4.6 (frame-ancestors), V14.3.2 / V8 (no-store on authenticated responses)."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        # Objects with id 1 exist for the most common ids, so many detail pages answer 200 rather than 404.
        cls.case = factories.make_case(owner=cls.investigator)
        factories.add_victim(cls.case)

    def _check_all(self, client: Client, *, signed_in: bool, prefix: str = "/") -> tuple[list[str], int]:
        failures = []
        urls = [url for url in every_url() if url.startswith(prefix)]
        for url in urls:
            try:
                resolve(url.split("?")[0])
            except Resolver404:
                failures.append(f"{url}: the test built a URL that does not resolve")
                continue
            response = client.get(url)
            # /api/v1/ takes tokens only: to a session it answers 401, as to anyone (checked with a token below).
            session_only_api = url.startswith("/api/v1/") and response.status_code == 401
            problems = header_problems(response, signed_in=signed_in and not session_only_api)
            if problems:
                failures.append(f"{url} [{response.status_code}]: " + "; ".join(problems))
        return failures, len(urls)

    def test_every_url_pattern_is_walked(self):
        urls = every_url()
        # The walk reaches the REST API, the public form and the sign-in page (guards against an empty walk).
        self.assertGreater(len(urls), 150)
        for expected in ("/report/", "/accounts/login/", "/api/v1/cases/", "/api/schema/", "/cases/1/"):
            self.assertIn(expected, urls)

    def test_anonymous_responses_carry_the_headers(self):
        client = Client(raise_request_exception=False)
        failures, count = self._check_all(client, signed_in=False)
        self.assertFalse(failures, f"{len(failures)} of {count} URLs miss something:\n" + "\n".join(failures))

    def test_signed_in_responses_carry_the_headers_and_no_store(self):
        client = self.client_for("director")
        client.raise_request_exception = False
        failures, count = self._check_all(client, signed_in=True)
        self.assertFalse(failures, f"{len(failures)} of {count} URLs miss something:\n" + "\n".join(failures))

    def test_api_responses_to_a_token_carry_the_headers_and_no_store(self):
        _token, secret = api_actions.create_token(
            actor=None, user=self.director, name="headers", scopes=scopes.available_to(self.director), days=1
        )
        client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}", raise_request_exception=False)
        failures, count = self._check_all(client, signed_in=True, prefix="/api/v1/")
        self.assertGreater(count, 20)
        self.assertFalse(failures, f"{len(failures)} of {count} URLs miss something:\n" + "\n".join(failures))

    def test_public_form_keeps_its_stricter_policy(self):
        response = Client().get("/report/")
        self.assertEqual(response.status_code, 200)
        self.assertIn("default-src 'none'", response["Content-Security-Policy"])
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_application_policy_has_no_inline_script_or_style(self):
        response = self.client_for("director").get("/")
        directives = csp_directives(response["Content-Security-Policy"])
        self.assertEqual(directives["script-src"], "'self'")
        self.assertEqual(directives["style-src"], "'self'")
        self.assertEqual(directives["frame-ancestors"], "'none'")
        self.assertEqual(directives["form-action"], "'self'")
        self.assertEqual(directives["object-src"], "'none'")

    @override_settings(BEACON_TILE_URL="https://tiles.example.org/{z}/{x}/{y}.png")
    def test_map_tile_host_is_allowed_for_images_only(self):
        response = Client().get("/accounts/login/")
        directives = csp_directives(response["Content-Security-Policy"])
        self.assertIn("https://tiles.example.org", directives["img-src"])
        self.assertNotIn("tiles.example.org", directives["script-src"] + directives["connect-src"])

    @override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True)
    def test_hsts_is_sent_over_https(self):
        """ASVS 5.0 V3.4.1: Strict-Transport-Security with max-age of at least a year and includeSubDomains.

        Production sets these settings (beacon/settings.py, PRODUCTION block); Django's SecurityMiddleware sends
        the header only on secure requests, which is what a browser honours anyway.
        """
        response = Client().get("/accounts/login/", secure=True)
        hsts = response["Strict-Transport-Security"]
        max_age = int(re.search(r"max-age=(\d+)", hsts).group(1))
        self.assertGreaterEqual(max_age, 31536000)
        self.assertIn("includeSubDomains", hsts)
        self.assertNotIn("Strict-Transport-Security", Client().get("/accounts/login/", secure=False))


class _InlineScriptFinder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and not names.get("src"):
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("inline <style>")
        for name in names:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> event handler")
            if name == "style":
                self.problems.append(f"<{tag} style=...> attribute")
        href = names.get("href") or ""
        if href.strip().lower().startswith("javascript:"):
            self.problems.append(f"<{tag} href=javascript:...>")


def inline_script_problems(html: str) -> list[str]:
    finder = _InlineScriptFinder()
    finder.feed(html)
    return finder.problems


class NoInlineScriptTests(BeaconTestCase):
    """ASVS 5.0 V3.4.3: the CSP forbids inline script, so no page may depend on one."""

    MAIN_PAGES = {
        "director": [
            "/",
            "/cases/",
            "/reports/",
            "/reports/new/",
            "/referrals/",
            "/directory/services/",
            "/directory/agencies/",
            "/map/",
            "/statistics/",
            "/statistics/builder/",
            "/prevention/",
            "/interpreters/",
            "/feedback/",
            "/notifications/",
            "/accounts/profile/",
            "/accounts/users/",
            "/people/search/",
            "/investigations/hearings/",
            "/exchange/",
            "/cooperation/",
            "/integrations/",
            "/api/tokens/",
            "/api/docs/",
        ],
        "auditor": ["/audit/"],
        "shelter": ["/referrals/portal/"],
    }

    def test_the_finder_finds_what_it_looks_for(self):
        self.assertEqual(len(inline_script_problems('<script>alert(1)</script><a onclick="x()" style="a">')), 3)
        self.assertEqual(inline_script_problems('<script src="/static/js/beacon.js" defer></script>'), [])

    def test_main_pages_have_no_inline_script_handler_or_style(self):
        failures = []
        pages = [(None, url) for url in ("/accounts/login/", "/report/", "/report/add/")]
        pages += [(user, url) for user, urls in self.MAIN_PAGES.items() for url in urls]
        for user, url in pages:
            client = self.client_for(user) if user else Client()
            response = client.get(url)
            if response.status_code != 200:
                failures.append(f"{url} as {user or 'anonymous'}: status {response.status_code}")
                continue
            problems = inline_script_problems(response.content.decode())
            if problems:
                failures.append(f"{url} as {user or 'anonymous'}: " + ", ".join(sorted(set(problems))))
        self.assertFalse(failures, "\n".join(failures))

    def test_case_and_person_pages_have_no_inline_script(self):
        case = factories.make_case(owner=self.investigator)
        factories.add_victim(case)
        response = self.client_for("investigator").get(f"/cases/{case.pk}/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(inline_script_problems(response.content.decode()), [])
