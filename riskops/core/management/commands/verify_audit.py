from django.core.management.base import BaseCommand, CommandError

from riskops.core.audit import verify_chain


class Command(BaseCommand):
    help = "Walk the audit hash chain and report the first broken link (exit 1 if any)."

    def handle(self, *args, **options):
        checked, broken = verify_chain()
        if broken:
            raise CommandError(
                f"Audit chain BROKEN at event #{broken.event_id}: {broken.reason} "
                f"({checked} events before it verified)"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain OK: {checked} events verified"))
