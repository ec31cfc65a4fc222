from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "riskops.core"
    label = "core"
    verbose_name = _("RiskOps core")

    def ready(self) -> None:
        from .roles import sync_role_groups_after_migrate

        # Role groups follow riskops/core/roles.py after every migrate and every test flush, as
        # django.contrib.auth's permissions do; sender=self runs it once per migrate, not per app.
        post_migrate.connect(sync_role_groups_after_migrate, sender=self, dispatch_uid="riskops.core.sync_role_groups")

        from .session_expiry import session_stamp_login

        # A login starts the session's idle and absolute clocks (riskops/core/session_expiry.py).
        user_logged_in.connect(session_stamp_login, dispatch_uid="riskops.core.session_stamp_login")

        from .request_ids import install_celery_worker_step

        # A worker binds each task's request id from its message (riskops/core/structured_logs.py).
        install_celery_worker_step()

        from .oncall_admin import register as register_incident_admin

        # On-call incidents (riskops/core/oncall.py): a read-only list in the admin for risk admins.
        register_incident_admin()

        from .task_metrics import connect_task_metrics

        # Celery task durations and failures for Prometheus, served by the worker (docs/operations.md, "Metrics").
        connect_task_metrics()
