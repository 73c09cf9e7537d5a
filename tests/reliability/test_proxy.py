"""Slow clients against the production web stack (issue 13 finding 5).

gunicorn (deploy/gunicorn.conf.py: 3 sync workers) with production settings, behind nginx
running deploy/nginx/default.conf.template, the file docker-compose.yml gives the nginx image.
Clients that announce a 4 MB body and never send it stall gunicorn when they reach it
directly; through nginx, which reads whole requests before it takes a worker, they cost
nothing and everyone else is answered at once.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from string import Template

import httpx
import pytest

from tests.queue_support import ROOT, wait_for

NGINX = shutil.which("nginx") or next(
    (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
OPENSSL = shutil.which("openssl")
TEMPLATE = ROOT / "deploy" / "nginx" / "default.conf.template"
GUNICORN_CONF = ROOT / "deploy" / "gunicorn.conf.py"
WORKERS = 3
SLOW_BODY = 4 * 1024 * 1024
WEBHOOK = "/api/v1/calls/retell/webhook"  # reads its whole body (to check the signature)
PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "callcenter.settings.production",
    "DJANGO_SECRET_KEY": "proxy-test-" + "s3cr3t-" * 8,
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    "RETELL_API_KEY": "key_proxy_test",
}

# What the nginx image's default nginx.conf does around conf.d, with this test's paths.
MAIN_CONF = """{user}
worker_processes 1;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log logs/access.log;
    client_body_temp_path temp/body;
    proxy_temp_path temp/proxy;
    fastcgi_temp_path temp/fastcgi;
    uwsgi_temp_path temp/uwsgi;
    scgi_temp_path temp/scgi;
    include default.conf;
}}
"""

pytestmark = [
    pytest.mark.reliability,
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed (.ci/run installs it)"),
    pytest.mark.skipif(OPENSSL is None, reason="openssl is not installed (.ci/run installs it)"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.gunicorn_port, self.http_port, self.https_port = free_port(), free_port(), free_port()
        self.processes: list[subprocess.Popen] = []

    def start(self) -> Stack:
        env = {**os.environ, **PRODUCTION}
        with open(self.tmp / "gunicorn.log", "w") as log:
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "callcenter.wsgi:application",
                 "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{self.gunicorn_port}",
                 "--forwarded-allow-ips", "127.0.0.1"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        prefix = self.tmp / "nginx"
        for sub in ("certs", "logs", "temp"):
            (prefix / sub).mkdir(parents=True)
        subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", str(prefix / "certs" / "privkey.pem"),
                        "-out", str(prefix / "certs" / "fullchain.pem")],
                       check=True, capture_output=True)
        server = Template(TEMPLATE.read_text()).safe_substitute(
            CALLCENTER_UPSTREAM=f"127.0.0.1:{self.gunicorn_port}",
            CALLCENTER_HTTP_PORT=str(self.http_port), CALLCENTER_HTTPS_PORT=str(self.https_port))
        assert "${" not in server, "a variable of the template is not filled in"
        (prefix / "default.conf").write_text(server)
        # As root, nginx's workers would otherwise switch to a user who cannot use the temp dir.
        user = "user root;" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(MAIN_CONF.format(user=user))
        self.processes.append(subprocess.Popen(
            [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", "logs/error.log",
             "-g", f"daemon off; pid {prefix / 'nginx.pid'};"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        for port in (self.gunicorn_port, self.http_port, self.https_port):
            wait_for(lambda p=port: listening(p) or self.died(), timeout=30,
                     message=f"port {port} to listen")
        assert not self.died(), self.logs()
        return self

    def died(self) -> bool:
        return any(p.poll() is not None for p in self.processes)

    def logs(self) -> str:
        return "\n".join(path.read_text(errors="replace") for path in (
            self.tmp / "gunicorn.log", self.tmp / "nginx" / "logs" / "error.log") if path.exists())

    def stop(self) -> None:
        for process in self.processes:
            stop(process)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("proxy"))
    try:
        yield stack.start()
    finally:
        stack.stop()


def slow_clients(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that each send a POST's headers announcing a 4 MB body, then
    nothing. (Claiming HTTPS gets them past Django's redirect when they reach gunicorn.)"""
    head = (f"POST {WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"X-Forwarded-Proto: https\r\nContent-Length: {SLOW_BODY}\r\n\r\n{{").encode()
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(head)
        clients.append(client)
    time.sleep(0.5)  # let the server take them in
    return clients


def unanswered(client: socket.socket) -> bool:
    """The server neither answered nor closed this connection: it is still waiting for the
    body."""
    client.setblocking(False)
    try:
        client.recv(1)  # an answer, or b"" when closed
    except BlockingIOError:
        return True
    return False


def timed_get(url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = httpx.get(url, verify=False, **kwargs)
    return response, time.perf_counter() - started


def test_slow_clients_do_not_hold_gunicorn_behind_nginx(stack):
    login = f"https://127.0.0.1:{stack.https_port}/admin/login/"
    timed_get(login, timeout=30)  # the workers' first request loads the admin

    # Fifty slow clients (three took the site down) at nginx; normal requests are answered.
    clients = slow_clients(stack.http_port, 50)
    try:
        times = []
        for _ in range(10):
            response, seconds = timed_get(login, timeout=5)
            assert response.status_code == 200, stack.logs()
            times.append(seconds)
        api, seconds = timed_get(f"https://127.0.0.1:{stack.https_port}/api/v1/batches/",
                                 timeout=5)
        assert api.status_code in (401, 403)  # answered: not logged in
        print(f"\nthrough nginx, 50 slow clients: GET /admin/login/ median "
              f"{statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms")
        assert max(times) < 2.0
        # Still held by nginx (client_body_timeout is 20 s), never passed to gunicorn.
        assert all(unanswered(client) for client in clients), "nginx gave up on them too soon"
    finally:
        for client in clients:
            client.close()

    # The same clients straight at gunicorn: as many as its workers, and nothing else is served.
    direct = f"http://127.0.0.1:{stack.gunicorn_port}/admin/login/"
    clients = slow_clients(stack.gunicorn_port, WORKERS)
    try:
        started = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(direct, headers={"X-Forwarded-Proto": "https"}, timeout=3)
        print(f"straight at gunicorn, {WORKERS} slow clients: no answer in "
              f"{time.perf_counter() - started:.1f} s")
    finally:
        for client in clients:
            client.close()


def test_nginx_sets_the_scheme_and_refuses_oversized_bodies(stack):
    # A client claiming HTTPS over plain HTTP is not believed: Django sees http and redirects.
    response = httpx.get(f"http://127.0.0.1:{stack.http_port}/admin/login/",
                         headers={"X-Forwarded-Proto": "https", "X-Forwarded-Ssl": "on"},
                         timeout=30)
    assert response.status_code == 301
    assert response.headers["location"].startswith("https://")
    response, _ = timed_get(f"https://127.0.0.1:{stack.https_port}/admin/login/", timeout=30)
    assert response.status_code == 200

    # A body over the upload limit (50 MB spreadsheet) is refused on its headers alone.
    with socket.create_connection(("127.0.0.1", stack.http_port), timeout=5) as client:
        client.sendall(f"POST {WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       f"Content-Length: {60 * 1024 * 1024}\r\n\r\n".encode())
        assert client.recv(64).startswith(b"HTTP/1.1 413")
