"""``manage.py create_token USER --scope referrals:read [--scope ...] [--days 90] [--service] [--name ...]``

Prints the token once; only its SHA-256 is stored (issue #9). For operators setting up a system integration
from the server; the pages at /api/tokens/ do the same for users and administrators."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from api import actions
from api.models import TokenKind
from api.scopes import SCOPES


class Command(BaseCommand):
    help = "Create an API token for USER and print it once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--scope", action="append", dest="scopes", default=[], choices=list(SCOPES), help="Repeat for each scope."
        )
        parser.add_argument(
            "--days", type=int, default=actions.DEFAULT_DAYS, help=f"Validity in days (1-{actions.MAX_DAYS})."
        )
        parser.add_argument(
            "--service", action="store_true", help="A service token (for a system), not a personal one."
        )
        parser.add_argument("--name", default="", help="What the token is for.")
        parser.add_argument(
            "--rate", type=int, default=None, help="Requests per minute (default: BEACON_API_RATE_PER_MINUTE)."
        )

    def handle(self, *args, username, scopes, days, service, name, rate, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        kind = TokenKind.SERVICE if service else TokenKind.PERSONAL
        try:
            token, secret = actions.create_token(
                actor=None, user=user, name=name or f"{kind} token (command line)", scopes=scopes, days=days, kind=kind,
                rate_per_minute=rate,
            )  # fmt: skip
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
        self.stderr.write(
            f"{kind} token {token.prefix} for {user.username}, scopes {', '.join(token.scopes)}, expires "
            f"{token.expires_at:%Y-%m-%d}. It is shown once: store it now."
        )
        self.stdout.write(secret)
