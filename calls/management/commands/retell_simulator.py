"""``python manage.py retell_simulator``: run the local Retell API simulator in the foreground."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

from calls.simulator import DEFAULT_PORT, add_arguments, simulator_from_options


def _settings_port() -> int:
    """The port of RETELL_BASE_URL when it points at this machine, else the default."""
    base_url = getattr(settings, "RETELL_BASE_URL", "") or ""
    try:
        parts = urlsplit(base_url)
        if parts.hostname in ("127.0.0.1", "localhost", "0.0.0.0") and parts.port:
            return parts.port
    except ValueError:
        pass
    return DEFAULT_PORT


class Command(BaseCommand):
    help = (
        "Run the Retell API simulator (create-phone-call, get-call, list-calls, signed "
        "webhooks, fault injection under /_sim/) until Ctrl-C. Defaults come from the "
        "RETELL_API_KEY, RETELL_WEBHOOK_URL, RETELL_AGENT_ID and RETELL_BASE_URL settings."
    )

    def add_arguments(self, parser):
        add_arguments(parser, port_default=None)

    def handle(self, *args, **options):
        if options["port"] is None:
            options["port"] = _settings_port()
        sim = simulator_from_options(
            options,
            api_key=getattr(settings, "RETELL_API_KEY", None),
            webhook_url=getattr(settings, "RETELL_WEBHOOK_URL", None),
            agent_id=getattr(settings, "RETELL_AGENT_ID", None),
        )
        sim.start()
        config = sim.config()
        self.stdout.write(
            f"Retell simulator on {sim.base_url} (webhooks -> {config['webhook_url'] or 'none'}, "
            f"ring {config['ring_ms']} ms, talk {config['talk_ms']} ms). Ctrl-C to stop."
        )
        sim.serve_forever()
