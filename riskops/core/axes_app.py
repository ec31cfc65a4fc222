"""django-axes (login lockouts) installed under a name the admin's index shows in the viewer's
language: axes names no app of its own, so the admin would print its label, "Axes"."""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _


class AxesConfig(AxesAppConfig):
    verbose_name = _("Login lockouts")
