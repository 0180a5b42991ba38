from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import actions as account_actions
from accounts.models import Role, User
from accounts.roles import sync_roles
from beacon import demo
from beacon.demo_directory import seed_directory
from beacon.demo_geo import seed_geo
from beacon.demo_investigations import seed_investigations
from beacon.demo_referrals import seed_referrals
from beacon.demo_reports import seed_case_records, seed_reports
from beacon.demo_stats import seed_statistics
from directory import actions as directory_actions
from directory.models import Agency


class Command(BaseCommand):
    help = "Load Beacon's fictional Trinidad and Tobago demo data. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument("--quiet-logins", action="store_true", help="Do not print the demo logins.")

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("seed_demo creates accounts with a published password; it never runs in production.")
        with transaction.atomic():
            sync_roles()
            created = self.seed_platform()
            created += seed_directory()
            created += seed_geo()
            users = {u.username: u for u in User.objects.all()}
            created += seed_reports(users)
            created += seed_case_records(users)
            created += seed_investigations(users)
            created += seed_referrals(users)
            created += seed_statistics(users)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new records)."))
        if not options["quiet_logins"]:
            self.print_logins()

    def seed_platform(self) -> int:
        created = 0
        agencies = {}
        for name, short, org_type, kind, home in demo.AGENCIES:
            agency = Agency.objects.filter(name=name).first()
            if agency is None:
                agency = directory_actions.create_agency(
                    actor=None, name=name, short_name=short, org_type=org_type, kind=kind, is_home_unit=home
                )
                created += 1
            agencies[short] = agency
        roles = {role.code: role for role in Role.objects.all()}
        for username, first, last, agency, role_codes, title in demo.USERS:
            if User.objects.filter(username=username).exists():
                continue
            account_actions.create_user(
                actor=None,
                username=username,
                agency=agencies[agency],
                roles=[roles[c] for c in role_codes],
                password=demo.DEMO_PASSWORD,
                first_name=first,
                last_name=last,
                email=f"{username}@beacon.invalid",
                job_title=title,
            )
            created += 1
        return created

    def print_logins(self):
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {demo.DEMO_PASSWORD})")
        for username, first, last, agency, role_codes, _title in demo.USERS:
            self.stdout.write(f"  {username:<14} {first + ' ' + last:<20} {agency:<13} {', '.join(role_codes)}")
        self.stdout.write("")
