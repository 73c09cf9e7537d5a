"""``python -m retell_sim``: the entry point dev.py up starts, configured like the app."""

import os
import signal
import socket
import subprocess
import sys

import httpx

from tests.queue_support import ROOT, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_python_m_retell_sim_reads_the_apps_retell_variables() -> None:
    """Unset options come from the variables the app reads, so one environment serves both."""
    port = free_port()
    env = {**os.environ, "RETELL_BASE_URL": f"http://127.0.0.1:{port}",
           "RETELL_API_KEY": "key-shared", "RETELL_WEBHOOK_URL": "http://127.0.0.1:9/hook",
           "RETELL_AGENT_ID": "agent-shared"}
    process = subprocess.Popen([sys.executable, "-m", "retell_sim", "--ring-ms", "7"], cwd=ROOT,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:

            def config():
                try:
                    return http.get("/_sim/config").json()
                except httpx.TransportError:
                    return None

            found = wait_for(config, timeout=15, message="the simulator to listen")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
    assert (found["api_key"], found["webhook_url"], found["agent_id"], found["ring_ms"]) == (
        "key-shared", "http://127.0.0.1:9/hook", "agent-shared", 7)
    assert process.returncode == 0  # Ctrl-C is a clean stop
