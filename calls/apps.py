from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = _("Calls")

    def ready(self):
        # The Celery app the engine's tasks publish through, created once the settings module
        # is known (so Celery's Django fixup applies); see callcenter/__init__.py.
        import callcenter.celery  # noqa: F401
