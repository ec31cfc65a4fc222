"""The Chinese catalogue compiles on a machine without GNU gettext (polib), as `make demo` needs."""

import gettext
import shutil
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_without_msgfmt_polib_writes_a_catalogue_gettext_can_read(tmp_path, settings, monkeypatch):
    # given a copy of the repository's Chinese .po and no msgfmt on the PATH
    target = tmp_path / "zh_Hans" / "LC_MESSAGES"
    target.mkdir(parents=True)
    shutil.copy(ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po", target / "django.po")
    settings.LOCALE_PATHS = [tmp_path]
    monkeypatch.setattr("shutil.which", lambda name: None)

    call_command("compile_catalogues")

    # then the .mo exists and translates what the .po translates
    with open(target / "django.mo", "rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    import polib

    entry = next(e for e in polib.pofile(str(target / "django.po")) if e.msgstr and not e.msgid_plural and not e.msgctxt)
    assert catalogue.gettext(entry.msgid) == entry.msgstr
