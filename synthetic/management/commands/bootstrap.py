from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from django.db import transaction

from api.services import DEMO_SERVICE_CLIENT, demo_api_token
from riskops.core.services import DemoCredential, demo_users_bootstrap


class Command(BaseCommand):
    help = "Create one demo user per role (and an API service token) and print the credentials. Demo only."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even when DEBUG is off")

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("bootstrap creates users with known passwords; refusing with DEBUG off (use --force)")
        with transaction.atomic():
            token = DemoCredential(DEMO_SERVICE_CLIENT, "(token only)", "service client", demo_api_token())
            credentials = demo_users_bootstrap(extra=(token,))
        self.stdout.write("Demo users (log in at /login/):")
        for c in credentials:
            line = f"  {c.role:<15} {c.username:<13} {c.password}"
            if c.token:
                line += f"   API token: {c.token}"
            self.stdout.write(line)
