"""Strings other packages show on our pages without a Simplified Chinese translation of their own.

django-axes ships no zh_Hans catalogue, and Django's admin (5.2) has a few newer strings that its
zh_Hans catalogue lacks. Our catalogue (LOCALE_PATHS, searched before every app's) translates them;
naming them here is what keeps `makemessages` from dropping them as obsolete. Nothing calls this
module: gettext_noop only marks the strings.
"""

from django.utils.translation import gettext_noop

THIRD_PARTY_STRINGS = (
    # django-axes: its models in the admin (the app itself is named in riskops/core/apps.py)
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    # django.contrib.admin 5.2: the app list's hidden column headings
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
)
