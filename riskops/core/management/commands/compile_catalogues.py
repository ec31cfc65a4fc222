"""Compile locale/*/LC_MESSAGES/django.po to .mo, with or without GNU gettext.

Django's `compilemessages` needs GNU gettext's `msgfmt`, which a fresh machine may not have (and
pip cannot install). When it is there we use it; otherwise polib (a pure-Python .po/.mo library)
writes the same binary catalogue, so `make demo` needs nothing but python3.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Compile the translation catalogues (msgfmt when installed, polib otherwise)."

    def handle(self, *args, **options):
        if shutil.which("msgfmt"):
            call_command("compilemessages", ignore_patterns=[".venv", "staticfiles"], verbosity=0)
            return
        import polib

        compiled = 0
        for locale_dir in settings.LOCALE_PATHS:
            for po_path in Path(locale_dir).glob("*/LC_MESSAGES/*.po"):
                polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
                compiled += 1
        self.stdout.write(f"Compiled {compiled} catalogue(s) with polib (GNU gettext's msgfmt not found).")
