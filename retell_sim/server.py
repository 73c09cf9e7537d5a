"""A local simulator of Retell AI's phone-call API (v2 shape), for tests and development.

A real HTTP server (stdlib ``ThreadingHTTPServer``, no Django) that the real ``retell`` SDK can
talk to (``Retell(api_key=..., base_url=sim.base_url)``). Run stand-alone with
``python -m retell_sim --port 8055`` (``--help`` lists the options).

Retell API (``Authorization: Bearer <api_key>``, otherwise 401)
    ``POST /v2/create-phone-call``  201 + call object (``call_status`` "registered").
        from_number/to_number must be E.164, retell_llm_dynamic_variables values strings,
        metadata an object, agent_override.agent ring_duration_ms in [5000, 300000] and
        max_call_duration_ms in [60000, 7200000] (unless ``strict_agent_override`` is off),
        voice_speed in [0.5, 2], volume in [0, 2], retell_llm.begin_message a string;
        otherwise 400. An ``idempotency_key`` seen before returns the SAME call (current state,
        201) without creating or counting a new one. agent_override.agent.webhook_url /
        webhook_events / webhook_timeout_ms are honoured per call.
    ``GET /v2/get-call/{call_id}``  call object; unknown id -> 404 (``unknown_call_status``:
        Retell's OpenAPI documents 422 "Cannot find requested asset under given api key.").
    ``POST /v3/list-calls``  (used by retell-sdk 6.x ``client.call.list``) ->
        ``{"items", "has_more", "pagination_key"[, "total"]}``; filter_criteria in the v3 form
        (``{"call_status": {"op": "in", "type": "enum", "value": [...]}}``, ``"metadata":
        [{"key", "op", "type", "value"}]``, ...); items omit transcript and recording_url.
    ``POST /v2/list-calls``  legacy: a JSON array; filter_criteria ``{field: [values]}``,
        ``{field: {"lower_threshold", "upper_threshold"}}``, ``metadata: {k: v}`` (subset).
    Both: ``sort_order`` (default descending by start_timestamp), ``limit``, ``skip``,
        ``pagination_key`` (the last call_id of the previous page).
    Errors are ``{"status": "error", "message": ..., "error_message": ...}``.

Lifecycle (scheduler thread, ms resolution)
    registered --ring_ms--> ongoing (``call_started``) --talk_ms--> ended (``call_ended``)
    --analyzed_delay_ms--> ``call_analyzed`` (adds ``call_analysis``). Outcomes that never
    connect go from registered straight to ``not_connected`` (dial_*, invalid_destination, ...)
    or ``error`` (concurrency_limit_reached, error_*, ...): no call_started, duration_ms 0,
    no recording_url, empty transcript; call_ended and call_analyzed are still sent.
    ``call_ended`` carries every field except call_analysis. Ended calls carry start/end
    timestamps (ms epoch), duration_ms, disconnection_reason, transcript (with a typographic
    apostrophe: verify signatures on the RAW body), transcript_object, recording_url,
    public_log_url, call_cost {combined_cost, product_costs, ...}.

Outcomes by to_number (first match wins)
    1. config ``outcomes`` exact number: ``{"+15550001234": "dial_busy"}`` or an object
       ``{"reason", "ring_ms", "talk_ms", "call_successful", "user_sentiment", "summary"}``;
    2. config ``outcomes`` suffix rules, keys starting with ``*`` (longest first): ``"*42"``;
    3. built-in suffixes: ``0000`` invalid_destination, ``0001`` user_requested_dnc (answered),
       ``0002`` dial_failed;
    4. last digit: 0-5 user_hangup (successful, Positive), 6 dial_no_answer, 7 dial_busy,
       8 voicemail_reached (in_voicemail), 9 user_hangup (short call, unsuccessful, Negative).
    agent_override ring_duration_ms caps the ring time; max_call_duration_ms caps the talk
    time (reason becomes max_duration_reached).

Webhooks: ``POST webhook_url`` with ``{"event", "call"}`` serialised once (compact, UTF-8),
    header ``x-retell-signature`` = ``retell.lib.webhook_auth.symmetric["sign"](body, api_key)``.
    Non-2xx/timeouts are retried ``webhook_retries`` times with exponential backoff from
    ``webhook_backoff_ms``, then counted in ``webhook_failures``. Events of one call are
    delivered in order (per-call worker sharding) unless ``reorder_webhooks``.

Control API (loopback clients only, no auth)
    ``GET|POST /_sim/config`` read / merge config: ring_ms, talk_ms, analyzed_delay_ms,
        webhook_url, api_key, agent_id, outcomes (merged per number; null removes), fail_next
        ``[{"status": 429|500|400|401|402|422|503|"reset", "count": n, "endpoint":
        "create"|"get"|"list"|"any", "retry_after": s}]`` ("reset" closes the connection
        without answering), create_delay_ms (+ create_delay_count: only the next n creates;
        + accept_then_timeout: the call is created BEFORE the delay), drop_webhooks,
        duplicate_webhooks, reorder_webhooks (call_ended before call_started), never_end
        (calls stay ongoing, no automatic webhooks), concurrency_limit (calls beyond it end at
        once with status error / concurrency_limit_reached), webhook_retries,
        webhook_backoff_ms, webhook_timeout_ms, unknown_call_status, strict_agent_override.
    ``GET /_sim/stats``; ``POST /_sim/reset`` clears calls, stats and pending timers/webhooks
    (``{"config": true}`` also restores the config the simulator was built with);
    ``POST /_sim/end/{call_id}`` ``{"reason": ...}`` ends a call now (409 if already final;
    the way to finish never_end calls); ``GET /_sim/calls``; ``GET /_sim/calls/{call_id}``
    ``{"call", "request"}`` (the create request's body as received: agent_override with
    voice and begin_message, dynamic variables); ``GET /_sim/health``.

Python: ``RetellSimulator(host, port, **config)`` with start() -> base_url, stop(), context
manager, configure(**kw), config(), stats(), reset(config=False), get_call(id), calls(),
create_request(id),
end_call(id, reason), wait_idle(timeout) (no live call, no lifecycle step scheduled, no
webhook pending).
"""

from __future__ import annotations

import json
import logging
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from retell_sim.data import ApiError
from retell_sim.records import Delivery
from retell_sim.state import SimState
from retell_sim.workers import Scheduler, WebhookDispatcher

__all__ = ["RetellSimulator"]

log = logging.getLogger("retell_sim")


class _Reply:
    def __init__(
        self,
        status: int,
        payload: Any = None,
        headers: dict[str, str] | None = None,
        *,
        raw: bytes | None = None,
        reset: bool = False,
    ) -> None:
        self.status, self.payload, self.headers = status, payload, headers or {}
        self.raw, self.reset = raw, reset


def _error(exc: ApiError, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(exc.status, exc.body, headers)


def _fault_reply(fault: dict[str, Any]) -> _Reply:
    if fault["status"] == "reset":
        return _Reply(0, reset=True)
    headers = {}
    if fault.get("retry_after") is not None:
        headers["Retry-After"] = str(fault["retry_after"])
    return _error(ApiError(fault["status"], fault.get("message")), headers)


def _silent_wav() -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, 8000, 16000, 2, 16)  # PCM mono 8 kHz 16-bit
    return (
        b"RIFF"
        + struct.pack("<I", 36)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data\0\0\0\0"
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "RetellSimulator/1.0"
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("%s - %s", self.address_string(), format % args)

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: avoid Nagle + delayed-ACK 40 ms stalls
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        sim = self.server.simulator
        try:
            try:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = unquote(urlsplit(self.path).path).rstrip("/") or "/"
                if path.startswith("/_sim/"):
                    reply = sim._control(method, path, raw, self.client_address[0])
                else:
                    reply = sim._api(method, path, raw, self.headers.get("Authorization"))
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                raise
            except Exception:
                log.exception("simulator failed on %s %s", method, self.path)
                reply = _error(ApiError(500))
                self.close_connection = True
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            log.debug("client went away before the answer (%s %s)", method, self.path)
            self.close_connection = True

    def _send(self, reply: _Reply) -> None:
        if reply.reset:
            self.close_connection = True
            return
        if reply.raw is not None:
            data, ctype = reply.raw, reply.headers.pop("Content-Type", "application/octet-stream")
        else:
            data, ctype = json.dumps(reply.payload).encode(), "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    simulator: RetellSimulator

    def handle_error(self, request, client_address) -> None:
        # A client dropping its keep-alive connection (a worker stopping) is routine.
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            log.debug("client %s closed its connection", client_address)
            return
        super().handle_error(request, client_address)


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, f"Body is not valid JSON: {exc}") from exc


class RetellSimulator:
    """In-process Retell API simulator. ``with RetellSimulator(ring_ms=10) as sim: ...``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_remote_control: bool = False,
        webhook_workers: int = 8,
        **config: Any,
    ) -> None:
        self.host, self.port = host, port
        self.allow_remote_control = allow_remote_control
        self._webhook_workers = webhook_workers
        self.state = SimState(config, self._schedule, self._submit, lambda: self.base_url)
        self._scheduler = Scheduler(self._run_action)
        self._webhooks = WebhookDispatcher(self.state, webhook_workers)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> str:
        if self._server is not None:
            return self.base_url
        if self._scheduler.started:  # restarted after stop(): fresh worker threads
            self._scheduler = Scheduler(self._run_action)
            self._webhooks = WebhookDispatcher(self.state, self._webhook_workers)
        self._server = _Server((self.host, self.port), _Handler)
        self._server.simulator = self
        self.port = self._server.server_address[1]
        self._scheduler.start()
        self._webhooks.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="retell-sim-http",
            daemon=True,
        )
        self._thread.start()
        log.info("Retell simulator listening on %s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._scheduler.stop()
        self._webhooks.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None

    def serve_forever(self) -> None:
        """Start and block until KeyboardInterrupt (for ``python -m retell_sim``)."""
        self.start()
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            log.info("stopping Retell simulator")
        finally:
            self.stop()

    def __enter__(self) -> RetellSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ python API
    def configure(self, **kw: Any) -> dict[str, Any]:
        return self.state.configure(kw)

    def config(self) -> dict[str, Any]:
        return self.state.config_snapshot()

    def stats(self) -> dict[str, Any]:
        out = self.state.stats_snapshot()
        out["webhooks_pending"] = self._webhooks.pending
        return out

    def reset(self, config: bool = False) -> None:
        self.state.reset(config=config)

    def get_call(self, call_id: str) -> dict[str, Any]:
        return self.state.get_call(call_id)

    def calls(self) -> list[dict[str, Any]]:
        return self.state.all_calls()

    def create_request(self, call_id: str) -> dict[str, Any]:
        """The body of the create request that made ``call_id``, as received."""
        return self.state.call_and_request(call_id)[1]

    def end_call(self, call_id: str, reason: str | None = None) -> dict[str, Any]:
        return self.state.end_call(call_id, reason)[1]

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no call is live, no lifecycle step is scheduled (an ended call's
        call_analyzed comes ``analyzed_delay_ms`` later) and no webhook is pending (True), or
        ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            stats = self.stats()
            if stats["live_total"] == 0 and stats["webhooks_pending"] == 0 \
                    and self._scheduler.pending == 0:
                return True
            time.sleep(0.005)
        return False

    # ------------------------------------------------------------------ internals
    def _run_action(self, action: str, call_id: str, epoch: int) -> None:
        self.state.run_action(action, call_id, epoch)

    def _schedule(self, delay_ms: int, action: str, call_id: str, epoch: int) -> None:
        self._scheduler.schedule(delay_ms, action, call_id, epoch)

    def _submit(self, delivery: Delivery) -> None:
        self._webhooks.submit(delivery)

    def _api(self, method: str, path: str, raw: bytes, auth: str | None) -> _Reply:
        try:
            return self._route_api(method, path, raw, auth)
        except ApiError as exc:
            return _error(exc)

    def _route_api(self, method: str, path: str, raw: bytes, auth: str | None) -> _Reply:
        state = self.state
        if method == "POST" and path == "/v2/create-phone-call":
            state.count("create_requests")
            state.check_auth(auth)
            fault = state.take_fault("create")
            if fault is not None:
                return _fault_reply(fault)
            body = _parse_json(raw)
            delay, accept_first = state.take_create_delay()
            if delay and accept_first:
                status, obj = state.create_call(body, raw)
                time.sleep(delay)
                return _Reply(status, obj)
            if delay:
                time.sleep(delay)
            return _Reply(*state.create_call(body, raw))
        if method == "GET" and path.startswith("/v2/get-call/"):
            state.check_auth(auth)
            fault = state.take_fault("get")
            if fault is not None:
                return _fault_reply(fault)
            return _Reply(200, state.get_call(path.rsplit("/", 1)[1]))
        if method == "POST" and path in ("/v2/list-calls", "/v3/list-calls"):
            state.check_auth(auth)
            fault = state.take_fault("list")
            if fault is not None:
                return _fault_reply(fault)
            version = 3 if path.startswith("/v3") else 2
            return _Reply(200, state.list_calls(_parse_json(raw), version))
        raise ApiError(404, f"No route for {method} {path}")

    def _control(self, method: str, path: str, raw: bytes, client: str) -> _Reply:
        if not self.allow_remote_control and client not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            return _Reply(403, {"status": "error", "message": "control API is loopback-only"})
        try:
            body = _parse_json(raw) or {}
            if path == "/_sim/health":
                return _Reply(200, {"ok": True})
            if path == "/_sim/stats" and method == "GET":
                return _Reply(200, self.stats())
            if path == "/_sim/config" and method == "GET":
                return _Reply(200, self.config())
            if path == "/_sim/config" and method == "POST":
                try:
                    return _Reply(200, self.state.configure(body))
                except ValueError as exc:
                    raise ApiError(400, str(exc)) from exc
            if path == "/_sim/reset" and method == "POST":
                self.reset(config=bool(body.get("config")))
                return _Reply(200, {"ok": True})
            if path.startswith("/_sim/end/") and method == "POST":
                return _Reply(*self.state.end_call(path.rsplit("/", 1)[1], body.get("reason")))
            if path == "/_sim/calls" and method == "GET":
                return _Reply(200, self.calls())
            if path.startswith("/_sim/calls/") and method == "GET":
                call, request = self.state.call_and_request(path.rsplit("/", 1)[1])
                return _Reply(200, {"call": call, "request": request})
            if path.startswith("/_sim/recordings/") and method == "GET":
                return _Reply(200, raw=_silent_wav(), headers={"Content-Type": "audio/wav"})
            if path.startswith("/_sim/logs/") and method == "GET":
                log_text = b"simulated call log\n"
                return _Reply(200, raw=log_text, headers={"Content-Type": "text/plain"})
            raise ApiError(404, f"No route for {method} {path}")
        except ApiError as exc:
            return _error(exc)
