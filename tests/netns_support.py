"""Worker "hosts" in network namespaces, for the multi-host test (issue 18).

Each host is a network namespace (``ip netns``) joined to this one by a veth pair: the host
side is 10.77.N.1/24, the namespace side 10.77.N.2/24, and the namespace has nothing else (its
own loopback, no route out). PostgreSQL, Redis and the Retell simulator listen on 127.0.0.1
only; a forwarder process (tests/tcp_forward.py) listens on each 10.77.N.1 and forwards to
them, so a process in the namespace reaches them over its veth, as a worker on another
machine reaches them over the network.

Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2; ``unavailable()`` says why not.
Names carry this process's id (namespaces ``ccmh<pid>-<i>``, links ``mh<pid>h<i>``), so
parallel runs never collide, and a run finds and removes what a killed run left behind.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent

PREFIX = "ccmh"
_NAME = re.compile(rf"^{PREFIX}(\d+)-\d+$")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check,
                          timeout=20)


def unavailable() -> str | None:
    """Why worker hosts cannot be made here (None: they can)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces are Linux only"
    if os.geteuid() != 0:
        return "needs root to create network namespaces (ip netns add)"
    if shutil.which("ip") is None:
        return "iproute2's `ip` command is not installed"
    return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's
        return True
    return True


def remove_leftovers() -> None:
    """Namespaces (and their processes) of earlier runs whose pytest process is gone."""
    listing = _ip("netns", "list", check=False).stdout
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        match = _NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _remove_namespace(name, f"mh{match.group(1)}h{name.rsplit('-', 1)[1]}")


def _remove_namespace(name: str, link: str) -> None:
    pids = _ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    _ip("netns", "del", name, check=False)
    _ip("link", "del", link, check=False)


def _used_subnets() -> set[int]:
    text = _ip("-o", "-4", "addr", "show", check=False).stdout
    return {int(n) for n in re.findall(r"inet 10\.77\.(\d+)\.", text)}


@dataclass
class Host:
    """One namespace: ``ip`` is its own address, ``gateway`` the host side's."""

    name: str
    link: str
    subnet: int
    ip: str = field(init=False)
    gateway: str = field(init=False)

    def __post_init__(self):
        self.ip = f"10.77.{self.subnet}.2"
        self.gateway = f"10.77.{self.subnet}.1"

    def create(self) -> None:
        peer = f"{self.link}n"
        _ip("netns", "add", self.name)
        try:
            _ip("link", "add", self.link, "type", "veth", "peer", "name", peer)
            _ip("link", "set", peer, "netns", self.name)
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.link)
            _ip("link", "set", self.link, "up")
            _ip("netns", "exec", self.name, "ip", "addr", "add", f"{self.ip}/24", "dev", peer)
            _ip("netns", "exec", self.name, "ip", "link", "set", peer, "up")
            _ip("netns", "exec", self.name, "ip", "link", "set", "lo", "up")
        except BaseException:
            self.destroy()
            raise

    def destroy(self) -> None:
        """Kill whatever still runs in the namespace, then remove it and its link."""
        _remove_namespace(self.name, self.link)

    def command(self, args: list[str]) -> list[str]:
        """``args`` run inside the namespace."""
        return ["ip", "netns", "exec", self.name, *args]


def make_hosts(count: int) -> list[Host]:
    """``count`` namespaces on free 10.77.N.0/24 subnets. Raises RuntimeError (with ip's
    message) when namespaces cannot be created here."""
    remove_leftovers()
    used = _used_subnets()
    free = [n for n in range(10, 250) if n not in used]
    pid = os.getpid()
    hosts: list[Host] = []
    try:
        for index in range(count):
            host = Host(name=f"{PREFIX}{pid}-{index}", link=f"mh{pid}h{index}",
                        subnet=free[index])
            try:
                host.create()
            except subprocess.CalledProcessError as exc:
                raise RuntimeError(f"{' '.join(exc.cmd)}: {exc.stderr.strip()}") from exc
            hosts.append(host)
    except BaseException:
        for host in hosts:
            host.destroy()
        raise
    return hosts


class Forwarder:
    """tests/tcp_forward.py in its own process: each (host, target) pair listens on the host
    side of a veth and forwards to a service on 127.0.0.1."""

    def __init__(self, pairs: list[tuple[str, str, int]]):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.tcp_forward",
             *(f"{listen}={host}:{port}" for listen, host, port in pairs)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
        line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("the TCP forwarder did not start")
        self.ports = {(listen, host, port): bound
                      for listen, bound, host, port in json.loads(line)}

    def port(self, listen: str, host: str, port: int) -> int:
        return self.ports[(listen, host, port)]

    def url(self, url: str, listen: str) -> str:
        """``url`` (on 127.0.0.1) as reached from behind ``listen``, through this forwarder."""
        parts = urlsplit(url)
        netloc = f"{listen}:{self.port(listen, parts.hostname, parts.port)}"
        if parts.username:
            auth = parts.username + (f":{parts.password}" if parts.password else "")
            netloc = f"{auth}@{netloc}"
        return urlunsplit(parts._replace(netloc=netloc))

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stdout.close()
