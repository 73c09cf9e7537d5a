"""``python -m retell_sim``: run the simulator in the foreground until Ctrl-C.

Unset options default to the variables the app itself reads (RETELL_API_KEY,
RETELL_WEBHOOK_URL, RETELL_AGENT_ID, and RETELL_BASE_URL's port when it names this machine),
so one environment configures both sides.
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any
from urllib.parse import urlsplit

from retell_sim import server
from retell_sim.server import RetellSimulator

DEFAULT_PORT = 8055
log = logging.getLogger("retell_sim")


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m retell_sim",
        description=f"{server.__doc__}\n{__doc__}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="use 0.0.0.0 inside containers")
    parser.add_argument("--port", type=int, default=None,
                        help=f"default: RETELL_BASE_URL's port if local, else {DEFAULT_PORT}")
    parser.add_argument("--api-key", default=None, help="default: RETELL_API_KEY")
    parser.add_argument("--webhook-url", default=None, help="default: RETELL_WEBHOOK_URL")
    parser.add_argument("--ring-ms", type=int, default=None)
    parser.add_argument("--talk-ms", type=int, default=None)
    parser.add_argument("--analyzed-delay-ms", type=int, default=None)
    parser.add_argument(
        "--allow-remote-control",
        action="store_true",
        help="accept /_sim/ control requests from non-loopback clients",
    )
    return parser


def simulator_from_options(options: dict[str, Any], **defaults: Any) -> RetellSimulator:
    config = {k: v for k, v in defaults.items() if v is not None}
    for key in ("api_key", "webhook_url", "ring_ms", "talk_ms", "analyzed_delay_ms"):
        if options.get(key) is not None:
            config[key] = options[key]
    return RetellSimulator(
        host=options["host"],
        port=options["port"],
        allow_remote_control=options["allow_remote_control"],
        **config,
    )


def env_port() -> int:
    """The port of RETELL_BASE_URL when it points at this machine, else the default."""
    try:
        parts = urlsplit(os.environ.get("RETELL_BASE_URL") or "")
        if parts.hostname in ("127.0.0.1", "localhost", "0.0.0.0") and parts.port:
            return parts.port
    except ValueError:
        pass
    return DEFAULT_PORT


def main(argv: list[str] | None = None) -> int:
    options = vars(build_arg_parser().parse_args(argv))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if options["port"] is None:
        options["port"] = env_port()
    sim = simulator_from_options(
        options,
        api_key=os.environ.get("RETELL_API_KEY") or None,
        webhook_url=os.environ.get("RETELL_WEBHOOK_URL") or None,
        agent_id=os.environ.get("RETELL_AGENT_ID") or None,
    )
    sim.start()
    config = sim.config()
    log.info("webhooks -> %s, ring %s ms, talk %s ms; Ctrl-C to stop",
             config["webhook_url"] or "none", config["ring_ms"], config["talk_ms"])
    sim.serve_forever()
    return 0
