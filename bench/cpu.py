"""CPU time per process group, read from /proc, for bench/dispatch.py (Linux only).

``CpuMeter`` takes a snapshot of the CPU seconds (user + system, all threads) of named groups
of processes — the Celery workers, the web servers, the PostgreSQL backends of the bench's
database, the bench process itself (the Retell simulator runs in it) — and of the whole
machine, and gives the difference between two snapshots: what each part of the system spent
while a measurement ran, so that a rate can be read as CPU milliseconds per call, and the
machine's idle share says whether the run was bound by the CPU.
"""

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat(pid: int) -> tuple[int, int, float] | None:
    """(ppid, process group, CPU seconds) of a process, None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) "
    # fields[0] is the state: ppid, pgrp, ..., utime and stime are the 4th, 5th, 14th, 15th.
    return int(fields[1]), int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK


def _processes() -> dict[int, tuple[int, int, float]]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


def _tree(processes, roots) -> set[int]:
    """The roots and all their descendants (gunicorn's forked workers)."""
    pids, children = set(), {}
    for pid, (ppid, _, _) in processes.items():
        children.setdefault(ppid, []).append(pid)
    stack = [pid for pid in roots if pid in processes]
    while stack:
        pid = stack.pop()
        if pid not in pids:
            pids.add(pid)
            stack.extend(children.get(pid, ()))
    return pids


def machine() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot (all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values[:8]) - idle) / TICK, idle / TICK


class ProcessTracker:
    """Processes that come and go (PostgreSQL backends: a connection closed after
    CONN_MAX_AGE, another opened): sampled every ``interval`` seconds in a thread, each
    process's last CPU figure kept after it ended, so that its time is not lost (at most
    ``interval`` of it)."""

    def __init__(self, pids, interval: float = 0.5):
        import threading

        self.pids, self.interval = pids, interval
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "ProcessTracker":
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def sample(self) -> dict[int, float]:
        found = {}
        for pid in self.pids():
            stat = _stat(pid)
            if stat is not None:
                found[pid] = stat[2]
        with self._lock:
            self.seen.update(found)
            return dict(self.seen)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - a measurement thread never stops the bench
                pass


class CpuMeter:
    """``groups``: {name: (callable returning the pids of that group now, whether their
    descendants count too), or a ProcessTracker}. A process counts in the first group that
    names it."""

    def __init__(self, groups: dict):
        self.groups = groups

    def snapshot(self) -> dict:
        processes = _processes()
        per_pid = {}
        for name, group in self.groups.items():
            if isinstance(group, ProcessTracker):
                for pid, seconds in group.sample().items():
                    per_pid.setdefault(pid, (name, seconds))
                continue
            roots, descendants = group
            pids = _tree(processes, roots()) if descendants else \
                [pid for pid in roots() if pid in processes]
            for pid in pids:
                per_pid.setdefault(pid, (name, processes[pid][2]))
        return {"pids": per_pid, "machine": machine()}

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        """{group: CPU seconds spent between the snapshots}, plus "machine busy" and
        "machine idle". A process that appeared in between counts from zero; one that ended
        in between is lost (the groups' processes live through a measurement)."""
        spent: dict[str, float] = {}
        for pid, (name, seconds) in after["pids"].items():
            _, earlier = before["pids"].get(pid, (name, 0.0))
            spent[name] = spent.get(name, 0.0) + max(0.0, seconds - earlier)
        (busy0, idle0), (busy1, idle1) = before["machine"], after["machine"]
        spent["machine busy"], spent["machine idle"] = busy1 - busy0, idle1 - idle0
        return spent


def cpu_per_call(spent: dict, calls: int) -> float:
    """CPU milliseconds per call of the measured groups (not the rest of the machine)."""
    return sum(v for k, v in spent.items() if not k.startswith("machine")) * 1000 / calls


def describe(spent: dict, calls: int) -> str:
    """One line: CPU ms per call of each group, the rest of the machine, and its idle share."""
    ours = {k: v for k, v in spent.items() if not k.startswith("machine")}
    parts = [f"{name} {seconds * 1000 / calls:.1f}" for name, seconds in ours.items()]
    others = spent["machine busy"] - sum(ours.values())
    total = spent["machine busy"] + spent["machine idle"]
    idle = spent["machine idle"] / total if total else 0.0
    return (f"CPU ms per call: {', '.join(parts)}; total {sum(ours.values()) * 1000 / calls:.1f} "
            f"(the rest of the machine: {max(others, 0) * 1000 / calls:.1f}; idle {idle:.0%})")
