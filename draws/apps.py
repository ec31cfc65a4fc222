from django.apps import AppConfig


class DrawsConfig(AppConfig):
    """Real-time draw interception: may this customer draw this amount now?"""

    name = "draws"
    default_auto_field = "django.db.models.BigAutoField"
