"""The Chinese catalogue: every message translated, placeholders kept, Chinese punctuation in
Chinese sentences (，。：；？！（） next to Chinese characters, not their ASCII forms)."""

import re

import polib
import pytest
from django.conf import settings

CATALOGUE = settings.BASE_DIR / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
CJK = r"[\u4e00-\u9fff]"
# An ASCII , : ; ? ! ( right after a Chinese character, or ( ) around one: "角色:", "（天)" typed wrong.
ASCII_BESIDE_CHINESE = re.compile(rf"{CJK}[,:;?!()]|[(]{CJK}|{CJK}[)]")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sdfr]|%\([a-z_]+\)\.\d+f|\{[a-z_]+\}|__N__")


def _messages():
    return [e for e in polib.pofile(str(CATALOGUE)) if not e.obsolete]


def _translations(entry) -> list[str]:
    return [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())


def test_every_message_is_translated_and_none_is_fuzzy():
    missing = [e.msgid for e in _messages() if "fuzzy" in e.flags or not all(_translations(e))]
    assert not missing, missing[:20]


def test_placeholders_are_kept():
    broken = []
    for entry in _messages():
        wanted = sorted(set(PLACEHOLDER.findall(entry.msgid + (entry.msgid_plural or ""))))
        for text in _translations(entry):
            if sorted(set(PLACEHOLDER.findall(text))) != wanted:
                broken.append((entry.msgid, text))
    assert not broken, broken[:10]


@pytest.mark.parametrize("bad", ["角色:", "天(1–90)", "（天)", "你好,世界"])
def test_the_check_sees_ascii_punctuation_beside_chinese(bad):
    assert ASCII_BESIDE_CHINESE.search(bad)


def test_chinese_sentences_use_chinese_punctuation():
    wrong = [(e.msgid, text) for e in _messages() for text in _translations(e) if ASCII_BESIDE_CHINESE.search(text)]
    assert not wrong, wrong[:10]
