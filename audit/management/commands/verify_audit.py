from django.core.management.base import BaseCommand, CommandError

from audit.verify import verify_chain


class Command(BaseCommand):
    help = "Walk the audit log's hash chain; exit non-zero naming the first row that was tampered with."

    def handle(self, *args, **options):
        result = verify_chain()
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at row {result.bad_id} ({result.reason}); "
                f"{result.checked} rows before it are intact."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.checked} rows verified."))
