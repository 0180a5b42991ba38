from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from accounts.permissions import check_code


class RoleBackend(ModelBackend):
    """Authenticates like Django's ModelBackend; answers ``has_perm`` from Beacon's roles only.

    Django's own model permissions and ``is_superuser`` play no part: the catalogue is the only source.
    """

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and getattr(user, "locked_at", None) is None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return set(user_obj.permission_codes)

    def get_user_permissions(self, user_obj, obj=None):
        return set()

    def get_group_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        check_code(perm)
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        return perm in user_obj.permission_codes

    def has_module_perms(self, user_obj, app_label):
        return any(code.startswith(f"{app_label}.") for code in user_obj.permission_codes)
