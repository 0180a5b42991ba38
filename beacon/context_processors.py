from django.conf import settings


def beacon(request):
    user = getattr(request, "user", None)
    return {
        "DEMO_MODE": settings.DEMO_MODE,
        "COUNTRY_NAME": settings.BEACON_COUNTRY_NAME,
        "nav_perms": {
            "manage_users": bool(user and user.is_authenticated and user.has_perm("accounts.manage_users")),
            "manage_roles": bool(user and user.is_authenticated and user.has_perm("accounts.manage_roles")),
            "view_audit": bool(user and user.is_authenticated and user.has_perm("audit.view_log")),
            "manage_agencies": bool(user and user.is_authenticated and user.has_perm("directory.manage_agencies")),
        },
    }
