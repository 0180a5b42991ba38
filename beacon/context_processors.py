from django.conf import settings

NAV_PERMS = {
    "manage_users": ("accounts.manage_users",),
    "manage_roles": ("accounts.manage_roles",),
    "view_audit": ("audit.view_log",),
    "manage_agencies": ("directory.manage_agencies",),
    "manage_alert_rules": ("alerts.manage_rules",),
    "reports": ("intake.create_report", "intake.view_all_reports", "screening.screen", "screening.screen_any"),
    "cases": ("cases.view_all", "intake.create_report", "screening.screen"),
    "duplicates": ("cases.view_duplicates",),
    "merges": ("cases.merge_persons",),
    "prevention": ("prevention.record", "prevention.view_reports"),
    "interpreters": ("interpreters.manage", "interpreters.book"),
    "feedback": ("feedback.record", "feedback.view_reports"),
    "referrals": ("referrals.send", "referrals.respond", "referrals.view_reports"),
    "statistics": ("stats.view_dashboard", "stats.build_reports", "stats.standard_reports"),
    "stats_dashboard": ("stats.view_dashboard",),
    "stats_builder": ("stats.build_reports",),
    "stats_standard": ("stats.standard_reports",),
    "exchange": ("exchange.import_htcds", "exchange.export_htcds", "exchange.export_anonymised"),
    "webhooks": ("integrations.manage_webhooks",),
    "cooperation": ("cooperation.request", "cooperation.respond", "cooperation.manage_peers"),
    "service_tokens": ("api.manage_service_tokens",),
    "retention": ("retention.manage", "retention.hold"),
}


def beacon(request):
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "COUNTRY_NAME": settings.BEACON_COUNTRY_NAME,
        "nav_perms": {key: signed_in and any(user.has_perm(code) for code in codes) for key, codes in NAV_PERMS.items()},
    }
