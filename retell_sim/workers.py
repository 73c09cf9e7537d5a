"""Background workers of the Retell simulator: the lifecycle scheduler and webhook senders."""

from __future__ import annotations

import hashlib
import heapq
import hmac
import http.client
import itertools
import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from urllib.parse import urlsplit

from retell_sim.records import Delivery
from retell_sim.state import SimState

log = logging.getLogger("retell_sim")

try:  # sign exactly as Retell's SDK does when it is installed
    from retell.lib.webhook_auth import symmetric as _retell_symmetric
except ImportError:  # pragma: no cover - same algorithm, for environments without retell
    _retell_symmetric = None


def sign(body: str, api_key: str) -> str:
    """``x-retell-signature`` value for ``body``: ``v=<ms>,d=<hmac-sha256 hex>``."""
    if _retell_symmetric is not None:
        return _retell_symmetric["sign"](body, api_key)
    stamp = int(time.time() * 1000)
    digest = hmac.new(api_key.encode(), (body + str(stamp)).encode(), hashlib.sha256)
    return f"v={stamp},d={digest.hexdigest()}"


class Scheduler:
    """Runs ``fn(action, call_id, epoch)`` at due times (one thread, heap of timers)."""

    def __init__(self, fn: Callable[[str, str, int], None]) -> None:
        self._fn = fn
        self._heap: list[tuple[float, int, str, str, int]] = []
        self._cv = threading.Condition()
        self._seq = itertools.count()
        self._stopped = False
        self._running = 0
        self._thread = threading.Thread(target=self._run, name="retell-sim-scheduler", daemon=True)

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    def start(self) -> None:
        self._thread.start()

    @property
    def pending(self) -> int:
        """Actions not yet run, or running (an analysis whose webhook is still to be sent)."""
        with self._cv:
            return len(self._heap) + self._running

    def schedule(self, delay_ms: int, action: str, call_id: str, epoch: int) -> None:
        with self._cv:
            due = time.monotonic() + delay_ms / 1000
            heapq.heappush(self._heap, (due, next(self._seq), action, call_id, epoch))
            self._cv.notify()

    def stop(self) -> None:
        with self._cv:
            self._stopped = True
            self._cv.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stopped:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        break
                    self._cv.wait(timeout=(self._heap[0][0] - now) if self._heap else None)
                if self._stopped:
                    return
                _, _, action, call_id, epoch = heapq.heappop(self._heap)
                self._running += 1
            try:
                self._fn(action, call_id, epoch)
            except Exception:  # pragma: no cover - keep the lifecycle running
                log.exception("simulator action %s for %s failed", action, call_id)
            finally:
                with self._cv:
                    self._running -= 1


class WebhookDispatcher:
    """Worker threads POSTing webhooks; one call's events always go through one worker."""

    def __init__(self, state: SimState, workers: int = 8) -> None:
        self._state = state
        self._queues: list[queue.Queue[Delivery | None]] = [queue.Queue() for _ in range(workers)]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._work, args=(q,), name=f"retell-sim-webhook-{i}", daemon=True
            )
            for i, q in enumerate(self._queues)
        ]
        # Keep-alive per sender thread, as Retell's: a handshake per event costs more than it.
        self._local = threading.local()
        self._pending = 0
        self._pending_lock = threading.Lock()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)

    def submit(self, delivery: Delivery) -> None:
        with self._pending_lock:
            self._pending += 1
        self._queues[zlib.crc32(delivery.call_id.encode()) % len(self._queues)].put(delivery)

    @property
    def pending(self) -> int:
        with self._pending_lock:
            return self._pending

    def _work(self, q: queue.Queue[Delivery | None]) -> None:
        while (delivery := q.get()) is not None:
            try:
                if delivery.epoch == self._state.epoch and not self._stop.is_set():
                    self._deliver(delivery)
            except Exception:  # pragma: no cover
                log.exception("webhook delivery crashed")
            finally:
                with self._pending_lock:
                    self._pending -= 1

    def _connection(self, url: str, timeout: float, fresh: bool):
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname, parts.port)
        pool = self._local.__dict__.setdefault("connections", {})
        conn = pool.get(key)
        if conn is not None and fresh:
            conn.close()
            conn = None
        if conn is None:
            cls = http.client.HTTPSConnection if parts.scheme == "https" \
                else http.client.HTTPConnection
            conn = pool[key] = cls(parts.hostname, parts.port, timeout=timeout)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        path = parts.path or "/"
        return conn, path + (f"?{parts.query}" if parts.query else "")

    def _post(self, d: Delivery, headers: dict, data: bytes) -> tuple[bool, str]:
        # A kept-alive connection the server closed while idle: retried once on a fresh one.
        for fresh in (False, True):
            conn, path = self._connection(d.url, d.timeout_s, fresh)
            reused = conn.sock is not None
            try:
                conn.request("POST", path, body=data, headers=headers)
                response = conn.getresponse()
                response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                conn.close()
                if reused and not fresh:
                    continue
                return False, repr(exc)
            except (OSError, http.client.HTTPException) as exc:  # timeouts, refused
                conn.close()
                return False, repr(exc)
            if 200 <= response.status < 300:
                return True, str(response.status)
            return False, f"HTTP {response.status}"
        return False, "unreachable"  # pragma: no cover - the loop always returns

    def _deliver(self, d: Delivery) -> None:
        data = d.body.encode("utf-8")
        for attempt in range(1, d.retries + 2):
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "RetellSimulator/1.0",
                "x-retell-signature": sign(d.body, d.api_key),
            }
            ok, detail = self._post(d, headers, data)
            if ok:
                self._state.webhook_result(d, True, attempt)
                return
            backoff_s = d.backoff_ms * 2 ** (attempt - 1) / 1000
            if attempt <= d.retries and not self._stop.wait(backoff_s):
                continue
            log.warning(
                "webhook %s for %s to %s failed after %d attempts (%s)",
                d.event,
                d.call_id,
                d.url,
                attempt,
                detail,
            )
            self._state.webhook_result(d, False, attempt)
            return
