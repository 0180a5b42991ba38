from __future__ import annotations

from accounts.permissions import DEFAULT_ROLE_PERMISSIONS, PERMISSIONS, ROLES


def sync_roles(role_model=None, seen_model=None) -> None:
    """Create missing roles and grant each catalogue code to its default roles the first time it is seen.

    Runs after every ``migrate`` (as Django creates its own permissions) so that a new catalogue entry
    reaches existing installations without a hand-written data migration.
    """
    if role_model is None:
        from accounts.models import Role as role_model
        from accounts.models import SeenPermission as seen_model
    roles = {}
    for code in ROLES:
        role, _created = role_model.objects.get_or_create(code=code)
        roles[code] = role
    seen = set(seen_model.objects.values_list("code", flat=True))
    new_codes = [code for code in PERMISSIONS if code not in seen]
    if not new_codes:
        return
    for code, role in roles.items():
        grant = [c for c in new_codes if c in DEFAULT_ROLE_PERMISSIONS.get(code, set())]
        if grant:
            role.permissions = sorted(set(role.permissions or []) | set(grant))
            role.save(update_fields=["permissions"])
    seen_model.objects.bulk_create([seen_model(code=c) for c in new_codes], ignore_conflicts=True)
