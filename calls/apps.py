from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls")

    def ready(self):
        # The Celery app the engine's tasks publish through, created once the settings module
        # is known (so Celery's Django fixup applies); see callcenter/__init__.py.
        import callcenter.celery  # noqa: F401
        from accounts.signals import balance_added
        from batches.signals import jobs_ready
        from calls.dispatch import dispatch_when_ready

        # The apps below the engine never import it: they announce, the engine dispatches.
        jobs_ready.connect(dispatch_when_ready, dispatch_uid="calls.dispatch.jobs_ready")
        balance_added.connect(dispatch_when_ready, dispatch_uid="calls.dispatch.balance_added")
