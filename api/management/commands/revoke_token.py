"""``manage.py revoke_token PREFIX``: revoke a token by the public prefix shown in the token lists (the part
after ``bcn_``), for an operator answering an incident from the server (issue #9)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from api import actions
from api.models import ApiToken


class Command(BaseCommand):
    help = "Revoke an API token by its prefix."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, prefix, **options):
        token = ApiToken.objects.filter(prefix=prefix.removeprefix(actions.TOKEN_PREFIX).split("_")[0]).first()
        if token is None:
            raise CommandError(f"No token with prefix {prefix!r}.")
        was_active = token.revoked_at is None
        actions.revoke_token(token, actor=None)
        self.stdout.write(
            f"Token {token.prefix} of {token.user.username} {'revoked' if was_active else 'was already revoked'}."
        )
