"""The permission catalogue: every permission Beacon checks is declared here, once (issue #2).

Roles map to these codes (the mapping lives in the database so an administrator can adjust it on the
permission matrix page; ``DEFAULT_ROLE_PERMISSIONS`` is what a new installation starts with). Code checks
``user.has_perm(code)``. A code not in the catalogue is a programming error and raises.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

PERMISSIONS: dict[str, object] = {
    # accounts and directory
    "accounts.manage_users": _("Create and edit users, assign roles, unlock accounts, reset MFA"),
    "accounts.manage_roles": _("Change which permissions each role holds"),
    "accounts.view_all_users": _("See users of every agency (others see their own agency's)"),
    "directory.manage_agencies": _("Create and edit agencies"),
    # audit
    "audit.view_log": _("Browse and filter the whole audit log"),
    # intake (issue #3)
    "intake.create_report": _("Record reports from any channel"),
    "intake.view_all_reports": _("See every report (others see what they recorded or were assigned)"),
    "intake.triage": _("Triage reports: priority, target dates, link duplicates, close"),
    "intake.assign": _("Assign reports to investigators"),
    # screening (issue #3)
    "screening.screen": _("Screen reports assigned to you"),
    "screening.screen_any": _("Screen any report"),
    "screening.decide": _("Record the identification decision (authorised officer)"),
    # cases (issue #4)
    "cases.view_all": _("See every case (leadership)"),
    "cases.manage_team": _("Add and remove case team members, share cases (besides the case owner)"),
    "cases.break_glass": _("Use emergency access to a case you are not on (reason required, Director alerted)"),
    "cases.merge_persons": _("Merge duplicate person records and undo merges"),
    "cases.view_duplicates": _("See the report of probable duplicate people across the database"),
    # directory and referrals (issue #5)
    "directory.manage_services": _("Edit the service directory, capacity and referral pathways; import and export it"),
    "referrals.send": _("Refer survivors to service providers"),
    "referrals.override_consent": _("Send a referral without recorded consent, with a reason (the Director is alerted)"),
    "referrals.respond": _("Answer referrals addressed to your organisation (service provider staff)"),
    "referrals.view_reports": _("See referral statistics per provider"),
    # victim care (issue #4)
    "care.record": _("Record needs, risks, care and transition plans, services, permits and consent"),
    # alerts
    "alerts.manage_rules": _("Change who is alerted on which event"),
    # prevention (issue #13)
    "prevention.record": _("Record outreach and trainings"),
    "prevention.view_reports": _("See prevention reports"),
    # interpreters and survivor feedback (issue #13)
    "interpreters.manage": _("Keep the interpreter roster and share it with the region"),
    "interpreters.book": _("Book interpreters for interviews and court dates"),
    "feedback.record": _("Key in survivor feedback surveys and open tablet surveys"),
    "feedback.view_reports": _("See survivor feedback results"),
    # statistics and data standards (issue #8)
    "stats.view_dashboard": _("See the statistics dashboard and emerging patterns (counts only, no personal data)"),
    "stats.build_reports": _("Build statistical reports and export them"),
    "stats.standard_reports": _("Produce the standard outputs: UNODC GLOTIP, SDG 16.2.2, TIP report data call"),
    "stats.manage_population": _("Enter the population figures used for rates per 100,000"),
    "exchange.import_htcds": _("Import case records in the IOM HTCDS format"),
    "exchange.export_htcds": _("Export identifiable case records in the IOM HTCDS format"),
    "exchange.export_anonymised": _("Export the anonymised (k-anonymous) data set for the regional network"),
    # API, integrations and cooperation between countries (issue #9)
    "api.manage_service_tokens": _("Create and revoke service tokens for other systems"),
    "integrations.manage_webhooks": _("Register outgoing webhooks and see their delivery log"),
    "integrations.send_primero": _("Send referrals to Primero (CPIMS+/GBVIMS+) instances"),
    "cooperation.manage_peers": _("Keep the registry of other countries' Beacon instances and their keys"),
    "cooperation.request": _("Send requests for information or assistance to another country's unit"),
    "cooperation.respond": _("Review requests from other countries' units and decide what to disclose"),
    # retention and access transparency (issue #10)
    "retention.manage": _("Set retention periods, see retention runs and the weekly access digest"),
    "retention.hold": _("Place and lift legal holds that stop retention for a case"),
    # four-eyes approval (issue #10)
    "approvals.approve": _("Approve or reject other people's requests for the riskiest actions (never one's own)"),
}

# Permissions a user outside the home unit (a partner agency's staff) may hold. Every other permission takes
# effect only for members of the home unit, whatever roles an administrator hands out: a role given to the
# wrong person at a shelter or police station never opens the unit's records (issue #2).
PARTNER_PERMISSIONS: set[str] = {"referrals.respond"}

# Roles, in the order the permission matrix shows them.
ROLES: dict[str, object] = {
    "director": _("Director"),
    "deputy_director": _("Deputy Director"),
    "head_of_investigations": _("Head of Investigations"),
    "investigator": _("Investigator"),
    "victim_care_officer": _("Victim Care Officer"),
    "intake_officer": _("Intake Officer"),
    "analyst": _("Analyst"),
    "service_provider_staff": _("Service Provider Staff"),
    "system_administrator": _("System Administrator"),
    "auditor": _("Auditor"),
}

LEADERSHIP = {"director", "deputy_director", "head_of_investigations"}

_LEADERS = {
    "accounts.view_all_users",
    "intake.create_report",
    "intake.view_all_reports",
    "intake.triage",
    "intake.assign",
    "screening.screen_any",
    "screening.decide",
    "cases.view_all",
    "cases.manage_team",
    "cases.merge_persons",
    "cases.view_duplicates",
    "care.record",
    "referrals.send",
    "referrals.override_consent",
    "referrals.view_reports",
    "directory.manage_services",
}

DEFAULT_ROLE_PERMISSIONS: dict[str, set[str]] = {
    # The SOP: the Head of Investigations triages, assigns and decides; the Director and Deputy can do all
    # of it; investigators screen what they are assigned; intake officers record reports and see them all.
    "director": _LEADERS | {"audit.view_log", "alerts.manage_rules"} | {"prevention.record", "prevention.view_reports"},
    "deputy_director": set(_LEADERS) | {"prevention.record", "prevention.view_reports"},
    "head_of_investigations": _LEADERS - {"accounts.view_all_users"} | {"prevention.record"},
    "investigator": {"intake.create_report", "screening.screen", "cases.break_glass"},
    "victim_care_officer": {"intake.create_report", "cases.break_glass", "care.record", "referrals.send"},
    "intake_officer": {"intake.create_report", "intake.view_all_reports"},
    "analyst": {"referrals.view_reports", "prevention.record", "prevention.view_reports"},
    "service_provider_staff": {"referrals.respond"},
    "system_administrator": {
        "accounts.manage_users",
        "accounts.manage_roles",
        "accounts.view_all_users",
        "directory.manage_agencies",
        "directory.manage_services",
        "audit.view_log",
        "alerts.manage_rules",
    },
    "auditor": {"audit.view_log", "accounts.view_all_users"},
}
# Issue #13: interpreters and survivor feedback.
for _role in ("director", "deputy_director", "head_of_investigations"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("interpreters.manage")
for _role in ("investigator", "victim_care_officer", "head_of_investigations", "director", "deputy_director"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("interpreters.book")
for _role in ("victim_care_officer", "director", "deputy_director"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("feedback.record")
for _role in ("director", "deputy_director", "analyst"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("feedback.view_reports")
# Issue #8: statistics (aggregates only) for leadership and analysts; identifiable exchange for the Director.
for _role in ("director", "deputy_director", "head_of_investigations", "analyst"):
    DEFAULT_ROLE_PERMISSIONS[_role] |= {"stats.view_dashboard", "stats.build_reports"}
for _role in ("director", "deputy_director", "analyst"):
    DEFAULT_ROLE_PERMISSIONS[_role] |= {"stats.standard_reports", "stats.manage_population", "exchange.export_anonymised"}
for _role in ("director", "deputy_director"):
    DEFAULT_ROLE_PERMISSIONS[_role] |= {"exchange.import_htcds", "exchange.export_htcds"}
# Issue #9: integrations are the system administrator's; cooperation requests follow the investigation chain.
DEFAULT_ROLE_PERMISSIONS["system_administrator"] |= {
    "api.manage_service_tokens",
    "integrations.manage_webhooks",
    "cooperation.manage_peers",
}
for _role in ("director", "deputy_director", "head_of_investigations", "investigator"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("cooperation.request")
for _role in ("director", "deputy_director", "head_of_investigations"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("cooperation.respond")
for _role in ("director", "deputy_director", "victim_care_officer"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("integrations.send_primero")
# Issue #10: retention is the Director's and the system administrator's; legal holds follow the court work.
for _role in ("director", "system_administrator"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("retention.manage")
for _role in ("director", "deputy_director", "head_of_investigations"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("retention.hold")
# Issue #10: a second pair of eyes on bulk exports, identity reveals, consent overrides and merges.
for _role in ("director", "deputy_director", "head_of_investigations"):
    DEFAULT_ROLE_PERMISSIONS[_role].add("approvals.approve")


def check_code(code: str) -> str:
    if code not in PERMISSIONS:
        raise KeyError(f"Permission {code!r} is not in the catalogue (accounts/permissions.py)")
    return code


def effective(codes, *, in_home_unit: bool) -> frozenset[str]:
    return frozenset(codes if in_home_unit else (c for c in codes if c in PARTNER_PERMISSIONS))


def _check_catalogue() -> None:
    for code in PARTNER_PERMISSIONS:
        check_code(code)
    for role, codes in DEFAULT_ROLE_PERMISSIONS.items():
        assert role in ROLES, role
        for code in codes:
            check_code(code)


_check_catalogue()
