"""The whole journey in a real browser (issue #12).

Debian's Chromium (never a downloaded browser) drives a live server started by the test, from an anonymous
report in Spanish on a phone-sized screen to the court file and the GLOTIP report. Every user signs in with
their own password and TOTP code. On every page of the journey axe-core (vendored for the tests under
tests/vendor/axe-core/) must find no serious or critical violation; the public form and the sign-in form are
filled and sent with the keyboard only. At each step users who should not see something are checked to get
nothing (404, or no personal data). Screenshots go to test-artifacts/journey/ and, with
BEACON_SCREENSHOTS_TO_DOCS=1, to docs/user-guide/img/ too; page timings to test-artifacts/journey/timings.txt.
"""

from __future__ import annotations

import os
import re
import threading
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.contrib.staticfiles.testing import StaticLiveServerTestCase
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from accounts.roles import sync_roles
from audit import triggers
from directory.choices import AgencyKind, OrganisationType
from directory.models import Agency, Service
from tests.base import (
    PASSWORD,
    ROLE_USERS,
    current_code,
    give_totp,
    make_agency,
    make_user,
    restore_reference_data,
    sign_in,
)

CHROMIUM = "/usr/bin/chromium"
AXE = settings.BASE_DIR / "tests/vendor/axe-core/axe.min.js"
ARTIFACTS = settings.BASE_DIR / "test-artifacts/journey"
DOCS_IMG = settings.BASE_DIR / "docs/user-guide/img"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
NARRATIVE = "Mi prima de 16 años fue traída de Venezuela y la tienen trabajando en un bar en San Fernando."
SUSPECT_NAME = ("Rudolfo", "Quintero")


class SerialStaticFilesHandler(StaticFilesHandler):
    """One request at a time: the live server shares SQLite's in-memory connection between its threads (the
    referral thread polls while other pages load). The test thread takes the same lock for its own DB work."""

    lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            return super().__call__(environ, start_response)


@pytest.mark.browser
@pytest.mark.slow
class JourneyTests(StaticLiveServerTestCase):
    static_handler = SerialStaticFilesHandler

    def _fixture_teardown(self):
        # The audit table refuses DELETE/TRUNCATE (triggers): lift them for the flush, then put them back.
        triggers.remove(connection)
        try:
            super()._fixture_teardown()
        finally:
            triggers.install(connection)
            restore_reference_data()  # the flush took the data migrations' rows too

    def setUp(self):
        if not os.path.exists(CHROMIUM):
            self.skipTest(f"{CHROMIUM} is not installed")
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        sync_roles()
        ctu = make_agency(
            "Counter Trafficking Unit", "CTU", AgencyKind.CTU, OrganisationType.CENTRAL_GOVERNMENT, home=True
        )
        police = make_agency("Police Service", "TTPS", AgencyKind.POLICE, OrganisationType.LAW_ENFORCEMENT)
        self.shelter_agency = make_agency("Safe Harbour Shelter", "Safe Harbour", AgencyKind.SHELTER)
        self.refuge_agency = make_agency("Blue Basin Refuge", "Blue Basin", AgencyKind.SHELTER)
        Agency.objects.filter(pk__in=[self.shelter_agency.pk, self.refuge_agency.pk]).update(
            authorised_for_referrals=True, latitude=10.64, longitude=-61.40, phone="555-0100"
        )
        Service.objects.create(agency=self.shelter_agency, service_type="shelter", capacity_total=10, capacity_free=3)
        self.users = {}
        for name in ("director", "hoi", "investigator", "care", "intake", "analyst"):
            self.users[name] = make_user(name, ctu, ROLE_USERS[name])
        self.users["investigator2"] = make_user("investigator2", ctu, "investigator")
        self.users["other_director"] = make_user("other_director", police, "director")
        self.users["shelter"] = make_user("shelter", self.shelter_agency, "service_provider_staff")
        self.users["refuge"] = make_user("refuge", self.refuge_agency, "service_provider_staff")
        self.devices = {name: give_totp(user) for name, user in self.users.items()}
        self.timings: list[tuple[float, str, str]] = []
        self.violations: list[str] = []
        self.to_docs = os.environ.get("BEACON_SCREENSHOTS_TO_DOCS") == "1"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        if self.to_docs:
            DOCS_IMG.mkdir(parents=True, exist_ok=True)

    # --- helpers ----------------------------------------------------------------------------------------

    def url(self, name: str, *args) -> str:
        return self.live_server_url + reverse(name, args=args)

    def measured(self, page, label: str) -> None:
        """Server response and full load time of the page just loaded (Navigation Timing), then axe-core."""
        from playwright.sync_api import Error

        for attempt in range(3):
            page.wait_for_load_state("load")
            if attempt:
                page.wait_for_load_state("networkidle")
            try:
                nav = page.evaluate(
                    "() => { const n = performance.getEntriesByType('navigation')[0];"
                    " return n ? [n.responseEnd - n.startTime, n.loadEventEnd - n.startTime] : [0, 0]; }"
                )
                break
            except Error:  # a redirect was still under way
                if attempt == 2:
                    raise
        self.timings.append(
            (round(nav[1]), f"{round(nav[0])} ms response", f"{label} {page.url.replace(self.live_server_url, '')}")
        )
        self.axe(page, label)

    def axe(self, page, label: str) -> None:
        from playwright.sync_api import Error

        for attempt in range(3):
            try:
                if not page.evaluate("() => typeof window.axe !== 'undefined'"):
                    page.add_script_tag(path=str(AXE))
                result = page.evaluate(
                    "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
                )
                break
            except Error:  # a second navigation was under way (see sign_in)
                if attempt == 2:
                    raise
                page.wait_for_load_state("networkidle")
        for v in result:
            if v["impact"] in ("serious", "critical"):
                where = "; ".join(
                    f"{n['target']} {(n.get('any') or [{}])[0].get('message', '')}" for n in v["nodes"][:5]
                )
                self.violations.append(f"{label} ({page.url}): {v['id']} ({v['impact']}) {v['help']}: {where}")

    def goto(self, page, url: str, label: str, status: int = 200):
        response = page.goto(url)
        self.assertEqual(response.status, status, f"{label}: {url}")
        self.measured(page, label)
        return response

    def shot(self, page, name: str, *, full_page: bool = False) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)
        if self.to_docs:
            page.screenshot(path=str(DOCS_IMG / f"{name}.png"), full_page=full_page)

    def fill(self, scope, name: str, value) -> None:
        field = scope.locator(f"[name='{name}']")
        if not field.count():  # a prefixed form
            field = scope.locator(f"[name$='-{name}']")
            name = field.first.get_attribute("name") if field.count() else name
        self.assertGreater(field.count(), 0, f"no field {name!r}")
        first = field.first
        tag = first.evaluate("e => e.tagName.toLowerCase()")
        kind = (first.get_attribute("type") or "").lower()
        if tag == "select":
            first.select_option(value)
        elif kind in ("checkbox", "radio"):
            boxes = (
                [first]
                if field.count() == 1 and value in (True, "on")
                else [
                    scope.locator(f"[name='{name}'][value='{v}']")
                    for v in (value if isinstance(value, list) else [value])
                ]
            )
            for box in boxes:
                if not box.is_checked():
                    label = scope.locator(f"label[for='{box.get_attribute('id')}']")
                    target = label if label.count() and label.is_visible() else box
                    try:
                        target.click(timeout=2_000)
                    except PlaywrightError:  # overlapped by other text (referral form layout, see the issue note)
                        box.check(force=True)
                self.assertTrue(box.is_checked(), f"{name} not ticked")
        elif kind == "file":
            first.set_input_files(value)
        elif kind == "hidden":
            first.evaluate("(e, v) => { e.value = v; }", str(value))
        else:
            first.fill(str(value))

    def submit(
        self, page, url: str | None, fields: dict, label: str, *, form: str | None = None, button: str | None = None
    ):
        """Open ``url`` (or stay), fill the form holding the first field (or ``form``), press its button."""
        if url:
            self.goto(page, url, label)
        scope = (
            page.locator(form).first if form else page.locator(f"main form:has([name='{next(iter(fields))}'])").first
        )
        for name, value in fields.items():
            try:
                self.fill(scope, name, value)
            except (AssertionError, PlaywrightError):
                page.screenshot(path=str(ARTIFACTS / "failure.png"), full_page=True)
                raise
        button_locator = scope.locator(button or "button[type=submit], button:not([type])").first
        with page.expect_navigation():
            button_locator.click()
        self.measured(page, label + " (sent)")
        errors = page.locator(".invalid-feedback, .alert-danger").all_inner_texts()
        self.assertEqual([e for e in errors if e.strip()], [], f"{label}: the form was refused")

    def context(self, browser, *, phone: bool = False, locale: str = "en-GB"):
        ctx = browser.new_context(
            viewport=PHONE if phone else DESKTOP, locale=locale, bypass_csp=True, accept_downloads=True
        )
        ctx.set_default_timeout(10_000)
        return ctx

    def sign_in(self, browser, name: str, *, keyboard: bool = False):
        """A fresh browser that signs ``name`` in with password and current TOTP code."""
        ctx = self.context(browser)
        page = ctx.new_page()
        self.goto(page, self.url("accounts:login"), f"sign-in ({name})")
        if keyboard:
            self.tab_to(page, "[name=username]")
            page.keyboard.type(name)
            page.keyboard.press("Tab")
            page.keyboard.type(PASSWORD)
            with page.expect_navigation():
                page.keyboard.press("Enter")
        else:
            page.fill("[name=username]", name)
            page.fill("[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("main button[type=submit]")
        self.assertIn(reverse("accounts:mfa_verify"), page.url)
        self.measured(page, f"two-factor step ({name})")
        if keyboard:
            self.tab_to(page, "[name=code]")
            page.keyboard.type(current_code(self.devices[name]))
            with page.expect_navigation():
                page.keyboard.press("Enter")
        else:
            page.fill("[name=code]", current_code(self.devices[name]))
            with page.expect_navigation():
                page.click("main button[type=submit]")
        self.assertNotIn("/accounts/", page.url, f"{name} did not get past MFA")
        self.measured(page, f"home ({name})")
        return ctx, page

    def outsider(self, browser, name: str):
        """A signed-in browser for a bystander, set up without the journey's own screens."""
        with SerialStaticFilesHandler.lock:
            client = sign_in(Client(), self.users[name])
        ctx = self.context(browser)
        ctx.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": self.live_server_url,
                }
            ]
        )
        return ctx

    def status(self, ctx, url: str) -> int:
        return ctx.request.get(url, max_redirects=0).status

    def assert_hidden(self, url: str, *contexts, expected: tuple[int, ...] = (404,)) -> None:
        for name, ctx in contexts:
            self.assertIn(self.status(ctx, url), expected, f"{name} on {url}")

    # --- the journey ------------------------------------------------------------------------------------

    def test_the_whole_journey(self):
        from playwright.sync_api import sync_playwright

        from cases.models import Case
        from intake.models import Report
        from investigations.models import CourtCase, CourtFile
        from referrals.models import Referral

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            try:
                others = {n: self.outsider(browser, n) for n in ("investigator2", "refuge", "other_director")}
                anonymous = self.context(browser)

                # 1. A member of the public reports, in Spanish, on a phone, with the keyboard only.
                public = self.context(browser, phone=True, locale="es-ES").new_page()
                self.goto(public, self.url("public:report"), "public report form")
                self.assertEqual(public.locator("html").get_attribute("lang"), "es")
                self.assertNotEqual(public.locator("h1").inner_text(), "Report human trafficking")  # in Spanish
                self.assertLessEqual(public.evaluate("document.documentElement.scrollWidth"), PHONE["width"])
                self.shot(public, "01-public-report-es-phone", full_page=True)
                self.tab_to(public, "[name=narrative]")
                public.keyboard.type(NARRATIVE)
                public.keyboard.press("Tab")
                public.keyboard.type("San Fernando")
                self.keyboard_submit(public, "button[type=submit].btn-lg")
                self.measured(public, "public report sent")
                body = public.locator("main").inner_text()
                code = re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b", body)
                self.assertIsNotNone(code, body)
                self.shot(public, "02-public-report-sent-es-phone", full_page=True)
                with SerialStaticFilesHandler.lock:
                    report = Report.objects.get()
                self.assertNotIn(code.group(0), public.url)
                # The public can see nothing inside: the report page sends them to sign in.
                report_url = self.url("intake:report_detail", report.pk)
                self.assertEqual(self.status(anonymous, report_url), 302)
                self.assertNotIn("San Fernando", anonymous.request.get(report_url).text())

                # 2. Intake officer reads and notes; HoI triages and assigns; investigator screens; Director decides.
                _intake_ctx, intake = self.sign_in(browser, "intake", keyboard=True)
                self.goto(intake, self.url("intake:report_list"), "report list (intake)")
                self.assertIn(report.reference, intake.locator("main").inner_text())
                self.goto(intake, report_url, "report (intake)")
                self.assertIn("San Fernando", intake.locator("main").inner_text())
                self.submit(intake, None, {"text": "Caller's cousin, 16; bar in San Fernando. Urgent."}, "report note",
                            form=f"form[action='{reverse('intake:report_note', args=[report.pk])}']")  # fmt: skip
                self.shot(intake, "03-intake-report")

                _hoi_ctx, hoi = self.sign_in(browser, "hoi")
                self.goto(hoi, report_url, "report (HoI)")
                triage = f"form[action='{reverse('intake:report_triage', args=[report.pk])}']"
                self.submit(hoi, None, {"priority": "1", "urgency": "urgent"}, "triage", form=triage)
                assign = f"form[action='{reverse('intake:report_assign', args=[report.pk])}']"
                self.submit(hoi, None, {"investigator": str(self.users["investigator"].pk)}, "assign", form=assign)
                self.assertIn("investigator", hoi.locator("main").inner_text().lower())
                self.shot(hoi, "04-hoi-triage-assign")
                self.assert_hidden(report_url, ("investigator2", others["investigator2"]), ("refuge", others["refuge"]),
                                   ("other_director", others["other_director"]))  # fmt: skip

                inv_ctx, inv = self.sign_in(browser, "investigator")
                self.goto(inv, report_url, "report (investigator)")
                self.submit(inv, None, {}, "acknowledge",
                            form=f"form[action='{reverse('intake:report_acknowledge', args=[report.pk])}']")  # fmt: skip
                self.submit(inv, self.url("screening:screen", report.pk), {
                    "person_label": "Victim A", "person_age": "16", "age_basis": "stated",
                    "ind_recruitment": "on", "ev_recruitment": "Offered a job as a waitress on social media.",
                    "ind_harbouring": "on", "ev_harbouring": "Kept in rooms above the bar.",
                    "ind_sexual": "on", "ev_sexual": "Made to have sex with customers.",
                }, "screening")  # fmt: skip
                self.shot(inv, "05-investigator-screening")
                screening_url = inv.url
                self.assertIn("/screening/", screening_url)

                _dir_ctx, director = self.sign_in(browser, "director")
                self.submit(director, screening_url, {
                    "outcome": "victim_identified", "rationale": "All elements established; a child.",
                    "deciding_org": "NonPoliceGovernmentalOrganization",
                }, "decision")  # fmt: skip
                with SerialStaticFilesHandler.lock:
                    case = Case.objects.get(report=report)
                    victim = case.persons.get(role="victim")
                case_url = self.url("cases:case_detail", case.pk)
                self.assertEqual(director.url, case_url)
                self.assertIn(case.reference, director.locator("main").inner_text())
                self.shot(director, "06-director-decision-case")
                self.assert_hidden(case_url, ("investigator2", others["investigator2"]), ("refuge", others["refuge"]),
                                   ("other_director", others["other_director"]))  # fmt: skip

                # 3. Care officer (put on the team by the Director): needs, consent, referral to the shelter.
                self.submit(director, self.url("cases:case_team", case.pk),
                            {"member-user": str(self.users["care"].pk), "member-role": "care"}, "team",
                            form=f"form[action='{reverse('cases:team_add', args=[case.pk])}']")  # fmt: skip
                _care_ctx, care = self.sign_in(browser, "care")
                self.goto(care, self.url("care:case_care", case.pk), "care (care officer)")
                today = timezone.localdate().isoformat()
                self.submit(care, self.url("care:add", victim.pk, "need"), {
                    "need_type": "shelter", "priority": "urgent", "status": "identified", "identified_on": today,
                    "notes": "Needs a safe place tonight.",
                }, "care need")  # fmt: skip
                self.submit(care, self.url("care:add", victim.pk, "consent"), {
                    "purpose": "sharing", "agency": str(self.shelter_agency.pk), "given_on": today, "method": "written",
                }, "consent")  # fmt: skip
                self.shot(care, "07-care-needs-consent")
                self.submit(care, self.url("referrals:referral_create", victim.pk), {
                    "needs": ["shelter"], "urgency": "urgent", "provider": str(self.shelter_agency.pk),
                    "shared_fields": ["age", "sex"], "safety_notes": "Do not accept visitors asking for her.",
                }, "referral", button="button[name=intent][value=send]")  # fmt: skip
                with SerialStaticFilesHandler.lock:
                    referral = Referral.objects.get()
                self.assertEqual(referral.status, "sent")
                self.assertIn(referral.reference, care.locator("main").inner_text())
                self.shot(care, "08-care-referral-sent")
                portal_url = self.url("referrals:portal_detail", referral.pk)
                self.assert_hidden(portal_url, ("refuge", others["refuge"]))

                # 4. The shelter: signs in, accepts, exchanges messages, records a service.
                shelter_ctx, shelter = self.sign_in(browser, "shelter")
                self.goto(shelter, self.url("referrals:portal_list"), "portal list")
                self.assertIn(referral.reference, shelter.locator("main").inner_text())
                self.goto(shelter, portal_url, "portal referral")
                self.assertNotIn(SUSPECT_NAME[0], shelter.locator("main").inner_text())
                for action, extra in (("acknowledge", {}), ("accept", {"note": "A bed is ready."})):
                    form = f"form[action='{reverse('referrals:portal_action', args=[referral.pk, action])}']"
                    self.submit(shelter, None, extra, f"portal {action}", form=form)
                self.submit(shelter, None, {"text": "What time will she arrive?"}, "shelter message",
                            form=f"form[action='{reverse('referrals:message_post', args=[referral.pk])}']")  # fmt: skip
                self.shot(shelter, "09-shelter-accepts")
                self.assertEqual(self.status(shelter_ctx, case_url), 404)  # the shelter never sees the case
                self.assertEqual(self.status(shelter_ctx, report_url), 404)

                self.goto(care, self.url("referrals:referral_detail", referral.pk), "referral (care)")
                care.wait_for_selector("text=What time will she arrive?", timeout=10_000)
                self.submit(care, None, {"text": "Around 18:00, with an officer."}, "care message",
                            form=f"form[action='{reverse('referrals:message_post', args=[referral.pk])}']")  # fmt: skip
                self.shot(care, "10-care-messages")
                self.goto(shelter, portal_url, "portal referral (again)")
                shelter.wait_for_selector("text=Around 18:00, with an officer.", timeout=10_000)
                self.submit(shelter, None, {"service_type": "accommodation", "delivered_on": today}, "portal service",
                            form=f"form[action='{reverse('referrals:portal_service', args=[referral.pk])}']")  # fmt: skip
                self.assertIn("Accommodation", shelter.locator("main").inner_text())
                self.shot(shelter, "11-shelter-service")

                # 5. The investigator: suspect, evidence, charge, hearing, court file.
                self.submit(inv, self.url("cases:person_add", case.pk), {
                    "role": "suspect", "pseudonym": "Suspect 1", "given_names": SUSPECT_NAME[0],
                    "family_names": SUSPECT_NAME[1],
                }, "add suspect")  # fmt: skip
                if inv.locator("[name=create_new]").count():  # likely duplicates proposed: create a new person
                    self.submit(inv, None, {}, "add suspect (new)", form="main form:has([name=create_new])")
                with SerialStaticFilesHandler.lock:
                    suspect = case.persons.get(role="suspect")
                exhibit = ARTIFACTS / "ledger.txt"
                exhibit.write_text("Wages ledger, page 3\n")
                now = timezone.localtime()
                self.submit(inv, self.url("investigations:add", case.pk, "evidence"), {
                    "item": "Ledger photo", "description": "Wages ledger", "found_at": "Back office",
                    "seized_by": str(self.users["investigator"].pk), "seized_at": now.strftime("%Y-%m-%dT%H:%M"),
                    "storage_location": "Locker 4", "upload": str(exhibit),
                }, "evidence")  # fmt: skip
                self.submit(inv, self.url("investigations:add", case.pk, "court_case"), {
                    "court": "Port of Spain Magistrates' Court", "number": "POS-123/2026", "prosecutor": "DPP",
                }, "court case")  # fmt: skip
                with SerialStaticFilesHandler.lock:
                    court_case = CourtCase.objects.get(case=case)
                self.submit(inv, self.url("investigations:add", case.pk, "charge"), {
                    "suspect": str(suspect.pk), "offence": "Trafficking in persons",
                    "statute": "Trafficking in Persons Act 2011, s.16", "laid_on": today, "prosecutor": "DPP",
                    "court_case": str(court_case.pk),
                }, "charge")  # fmt: skip
                starts = (now + timezone.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M")
                self.submit(inv, self.url("investigations:add", case.pk, "hearing"),
                            {"court_case": str(court_case.pk), "starts_at": starts, "purpose": "Trial"}, "hearing")  # fmt: skip
                self.goto(inv, self.url("investigations:overview", case.pk), "investigation overview")
                self.shot(inv, "12-investigator-overview")
                self.goto(inv, self.url("investigations:court_file", case.pk), "court file")
                with inv.expect_navigation():
                    inv.locator("main form button[type=submit]").first.click()
                self.measured(inv, "court file requested")
                with SerialStaticFilesHandler.lock:
                    call_command("beacon_worker", "--once", stdout=StringIO())
                    item = CourtFile.objects.latest("id")
                self.assertEqual(item.status, "ready", item.error)
                self.goto(inv, self.url("investigations:court_file", case.pk), "court file ready")
                self.shot(inv, "13-investigator-court-file")
                download = self.url("investigations:court_file_download", case.pk, item.pk)
                self.assertEqual(self.status(inv_ctx, download), 200)
                self.assert_hidden(download, ("investigator2", others["investigator2"]), ("shelter", shelter_ctx))
                self.assert_hidden(self.url("investigations:overview", case.pk), ("shelter", shelter_ctx),
                                   ("investigator2", others["investigator2"]))  # fmt: skip

                # 6. The analyst: GLOTIP and a chart; aggregates only.
                an_ctx, analyst = self.sign_in(browser, "analyst")
                self.goto(analyst, self.url("stats:standard"), "standard outputs")
                main = analyst.locator("main")
                chart = main.locator("svg[role=img][aria-labelledby='chart-forms-title']")
                self.assertEqual(chart.count(), 1)
                self.assertGreater(chart.locator("rect").count(), 0)
                self.shot(analyst, "14-analyst-glotip", full_page=False)
                link = main.locator(f"a[href^='{reverse('stats:standard_download', args=['glotip', 'csv'])}']")
                with analyst.expect_download() as info:
                    link.click()
                csv_text = open(info.value.path(), encoding="utf-8-sig").read()
                self.assertIn("Detected trafficking victims", csv_text)
                for secret in (SUSPECT_NAME[0], "San Fernando", "Victim A"):
                    self.assertNotIn(secret, csv_text)
                self.assert_hidden(case_url, ("analyst", an_ctx))
                self.assert_hidden(report_url, ("analyst", an_ctx), expected=(403, 404))
                self.assertIn(self.status(shelter_ctx, self.url("stats:standard")), (403, 404))
            finally:
                browser.close()
        self.write_timings()
        self.assertEqual(
            self.violations, [], "serious or critical accessibility violations:\n" + "\n".join(self.violations)
        )

    def tab_to(self, page, selector: str) -> None:
        """Press Tab (no mouse) until ``selector`` has the focus."""
        for _ in range(80):
            if page.evaluate("(sel) => !!document.activeElement && document.activeElement.matches(sel)", selector):
                return
            page.keyboard.press("Tab")
        self.fail(f"{selector} cannot be reached with Tab")

    def keyboard_submit(self, page, button: str) -> None:
        """Tab to the form's send button and press Enter on it."""
        self.tab_to(page, button)
        with page.expect_navigation():
            page.keyboard.press("Enter")

    def write_timings(self) -> None:
        lines = [
            f"{load:6d} ms load  {response:>16}  {label}"
            for load, response, label in sorted(self.timings, reverse=True)
        ]
        (ARTIFACTS / "timings.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
