"""Tests of the Retell simulator, driven through the real ``retell`` SDK (no Django DB)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import retell
from retell.lib import webhook_auth

from retell_sim import RetellSimulator
from retell_sim.cli import build_arg_parser, simulator_from_options

API_KEY = "key_test_simulator"
FROM = "+15550100000"


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


class WebhookReceiver:
    """A local HTTP endpoint recording raw webhook bodies; answers ``status`` after failures."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_first = 0
        self.always_fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")
                with receiver.lock:
                    failing = receiver.always_fail or receiver.fail_first > 0
                    receiver.fail_first = max(0, receiver.fail_first - 1)
                    receiver.records.append(
                        {
                            "raw": raw,
                            "signature": self.headers.get("x-retell-signature"),
                            "event": json.loads(raw)["event"],
                            "call_id": json.loads(raw)["call"]["call_id"],
                            "accepted": not failing,
                        }
                    )
                self.send_response(500 if failing else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/retell"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def accepted(self, call_id: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.records if r["accepted"] and call_id in (None, r["call_id"])]

    def events(self, call_id: str | None = None) -> list[str]:
        return [r["event"] for r in self.accepted(call_id)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


@pytest.fixture
def sim(receiver: WebhookReceiver) -> Iterator[RetellSimulator]:
    with RetellSimulator(
        api_key=API_KEY,
        ring_ms=20,
        talk_ms=30,
        analyzed_delay_ms=10,
        webhook_url=receiver.url,
        webhook_backoff_ms=5,
    ) as s:
        yield s


@pytest.fixture
def api(sim: RetellSimulator) -> retell.Retell:
    return retell.Retell(api_key=API_KEY, base_url=sim.base_url, max_retries=0, timeout=5)


def create(api: retell.Retell, to_number: str, **kw: Any) -> Any:
    return api.call.create_phone_call(from_number=FROM, to_number=to_number, **kw)


def wait_final(api: retell.Retell, call_id: str, analyzed: bool = True) -> Any:
    def done() -> Any:
        call = api.call.retrieve(call_id)
        final = call.call_status in ("ended", "not_connected", "error")
        return call if final and (call.call_analysis or not analyzed) else None

    return wait_until(done, what=f"{call_id} to finish")


HTTP = httpx.Client(timeout=5, trust_env=False)  # shared: each new client builds an SSL context


def control(sim: RetellSimulator, method: str, path: str, body: Any = None) -> httpx.Response:
    return HTTP.request(method, sim.base_url + path, json=body)


# ---------------------------------------------------------------------------- API shape
def test_create_phone_call_returns_registered_call(api: retell.Retell) -> None:
    call = create(
        api,
        "+15551230001",
        override_agent_id="agent_collections_v2",
        agent_override={"agent": {"ring_duration_ms": 30_000, "max_call_duration_ms": 600_000}},
        metadata={"account_id": "acme", "debtor_id": 42},
        retell_llm_dynamic_variables={"customer_name": "Zoë", "amount_due": "120.50"},
        idempotency_key="job-1-attempt",
    )
    assert isinstance(call, retell.types.PhoneCallResponse)
    assert call.call_id.startswith("call_")
    assert call.call_type == "phone_call"
    assert call.call_status == "registered"
    assert call.direction == "outbound"
    assert call.agent_id == "agent_collections_v2"
    assert (call.from_number, call.to_number) == (FROM, "+15551230001")
    assert call.metadata == {"account_id": "acme", "debtor_id": 42}
    assert call.retell_llm_dynamic_variables == {"customer_name": "Zoë", "amount_due": "120.50"}
    assert call.start_timestamp is None and call.disconnection_reason is None


def test_get_call_and_unknown_call(api: retell.Retell, sim: RetellSimulator) -> None:
    call = create(api, "+15551230002")
    fetched = api.call.retrieve(call.call_id)
    assert fetched.call_id == call.call_id and fetched.call_type == "phone_call"
    with pytest.raises(retell.NotFoundError):
        api.call.retrieve("call_does_not_exist")
    sim.configure(unknown_call_status=422)  # what Retell's OpenAPI documents
    with pytest.raises(retell.UnprocessableEntityError):
        api.call.retrieve("call_does_not_exist")


def test_list_calls_v3_filters_and_pages(api: retell.Retell, sim: RetellSimulator) -> None:
    ids = [
        create(api, f"+1555123010{i}", metadata={"account_id": acct}).call_id
        for i, acct in enumerate(["a", "b", "a"])
    ]
    for call_id in ids:
        wait_final(api, call_id, analyzed=False)
    by_account = {"metadata": [{"key": "account_id", "op": "eq", "type": "string", "value": "a"}]}
    page = api.call.list(filter_criteria=by_account, sort_order="ascending", limit=1)
    assert [c.call_id for c in page.items] == [ids[0]] and page.has_more
    page2 = api.call.list(
        filter_criteria=by_account, sort_order="ascending", pagination_key=page.pagination_key
    )
    assert [c.call_id for c in page2.items] == [ids[2]] and not page2.has_more
    assert "transcript" not in page2.items[0].to_dict()  # v3 items omit transcript, recording
    ended = {"call_status": {"op": "in", "type": "enum", "value": ["ended"]}}
    assert len(api.call.list(filter_criteria=ended, include_total=True).items) == 3
    legacy = HTTP.post(
        sim.base_url + "/v2/list-calls",
        json={"filter_criteria": {"to_number": ["+15551230101"]}, "limit": 10},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    assert legacy.status_code == 200
    assert [c["call_id"] for c in legacy.json()] == [ids[1]]


def test_idempotent_create_returns_same_call(api: retell.Retell, sim: RetellSimulator) -> None:
    first = create(api, "+15551230003", idempotency_key="reminder-77-1")
    again = create(api, "+15551230003", idempotency_key="reminder-77-1")
    other = create(api, "+15551230003", idempotency_key="reminder-77-2")
    assert again.call_id == first.call_id != other.call_id
    stats = sim.stats()
    assert stats["calls_created"] == 2 and stats["create_requests"] == 3
    assert stats["idempotent_replays"] == 1
    assert stats["by_idempotency_key"] == {"reminder-77-1": 1, "reminder-77-2": 1}
    assert stats["by_number"] == {"+15551230003": 2}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"to_number": "5551230004"},
        {"to_number": "+1 555 123 0004"},
        {"from_number": "+0555"},
        {"retell_llm_dynamic_variables": {"amount_due": 120}},
        {"metadata": ["not", "an", "object"]},
        {"agent_override": {"agent": {"ring_duration_ms": 10}}},
        {"agent_override": {"agent": {"voice_speed": 2.5}}},
        {"agent_override": {"agent": {"volume": -1}}},
        {"agent_override": {"retell_llm": {"begin_message": 3}}},
    ],
)
def test_invalid_create_is_rejected(
    api: retell.Retell, sim: RetellSimulator, kwargs: dict[str, Any]
) -> None:
    params = {"from_number": FROM, "to_number": "+15551230004", **kwargs}
    with pytest.raises(retell.BadRequestError):
        api.call.create_phone_call(**params)
    assert sim.stats()["calls_created"] == 0


def test_the_create_request_is_recorded_as_received(
    api: retell.Retell, sim: RetellSimulator
) -> None:
    override = {"agent": {"voice_id": "v1", "voice_speed": 1.5, "volume": 0.5},
                "retell_llm": {"begin_message": "Hola {{nombre}}"}}
    call = create(api, "+15551230004", agent_override=override,
                  retell_llm_dynamic_variables={"nombre": "Ana"})
    request = sim.create_request(call.call_id)
    assert request["agent_override"] == override
    assert request["retell_llm_dynamic_variables"] == {"nombre": "Ana"}
    shown = control(sim, "GET", f"/_sim/calls/{call.call_id}").json()
    assert shown["request"] == request and shown["call"]["call_id"] == call.call_id
    assert control(sim, "GET", "/_sim/calls/call_unknown").status_code == 404


def test_wrong_or_missing_api_key_is_401(sim: RetellSimulator) -> None:
    bad = retell.Retell(api_key="wrong", base_url=sim.base_url, max_retries=0)
    with pytest.raises(retell.AuthenticationError):
        bad.call.create_phone_call(from_number=FROM, to_number="+15551230005")
    with pytest.raises(retell.AuthenticationError):
        bad.call.retrieve("call_x")
    assert HTTP.post(sim.base_url + "/v2/create-phone-call", json={}).status_code == 401
    assert sim.stats()["calls_created"] == 0


def test_fail_next_faults(api: retell.Retell, sim: RetellSimulator) -> None:
    sim.configure(
        fail_next=[
            {"status": 429, "count": 1, "retry_after": 2},
            {"status": 500, "count": 1},
            {"status": 402, "count": 1},
            {"status": "reset", "count": 1},
        ]
    )
    with pytest.raises(retell.RateLimitError) as rate_limited:
        create(api, "+15551230006")
    assert rate_limited.value.response.headers["retry-after"] == "2"
    with pytest.raises(retell.InternalServerError):
        create(api, "+15551230006")
    with pytest.raises(retell.APIStatusError) as payment:
        create(api, "+15551230006")
    assert payment.value.status_code == 402
    with pytest.raises(retell.APIConnectionError):
        create(api, "+15551230006")
    assert create(api, "+15551230006").call_status == "registered"
    stats = sim.stats()
    assert (stats["create_requests"], stats["calls_created"], stats["faults_injected"]) == (5, 1, 4)
    assert sim.config()["fail_next"] == []


def test_accept_then_timeout_then_idempotent_retry(
    api: retell.Retell, sim: RetellSimulator
) -> None:
    sim.configure(create_delay_ms=400, create_delay_count=1, accept_then_timeout=True)
    with pytest.raises(retell.APITimeoutError):
        create(api, "+15551230007", idempotency_key="k-timeout", timeout=0.1)
    retried = create(api, "+15551230007", idempotency_key="k-timeout")
    assert [c["call_id"] for c in sim.calls()] == [retried.call_id]
    stats = sim.stats()
    assert (stats["create_requests"], stats["calls_created"]) == (2, 1)
    assert stats["by_idempotency_key"] == {"k-timeout": 1}


# ---------------------------------------------------------------------------- lifecycle
def test_lifecycle_sends_signed_webhooks_in_order(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    call = create(api, "+15551230011", retell_llm_dynamic_variables={"customer_name": "Zoë"})
    wait_until(lambda: len(receiver.events(call.call_id)) == 3, what="3 webhooks")
    records = receiver.accepted(call.call_id)
    assert [r["event"] for r in records] == ["call_started", "call_ended", "call_analyzed"]
    for record in records:
        assert webhook_auth.verify(record["raw"], API_KEY, record["signature"])
        assert api.verify(record["raw"], API_KEY, record["signature"])
        assert not webhook_auth.verify(record["raw"], "other-key", record["signature"])
        reserialised = json.dumps(json.loads(record["raw"]))
        assert not webhook_auth.verify(reserialised, API_KEY, record["signature"])
    ended, analyzed = (json.loads(r["raw"])["call"] for r in records[1:])
    assert "call_analysis" not in ended
    assert analyzed["call_analysis"]["call_successful"] is True
    final = api.call.retrieve(call.call_id)
    assert final.call_status == "ended" and final.disconnection_reason == "user_hangup"
    assert final.start_timestamp and final.end_timestamp >= final.start_timestamp
    assert final.duration_ms == final.end_timestamp - final.start_timestamp
    assert final.recording_url.startswith("http://") and "Zoë" in final.transcript
    assert final.call_cost.combined_cost > 0
    assert final.call_analysis.user_sentiment == "Positive"
    assert HTTP.get(final.recording_url).status_code == 200
    stats = sim.stats()
    assert stats["webhooks_sent"] == 3 and stats["webhook_failures"] == 0
    assert stats["by_status"] == {"ended": 1} and stats["by_reason"] == {"user_hangup": 1}


def test_wait_idle_waits_for_the_analysis_still_to_come(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(analyzed_delay_ms=400)
    call = create(api, "+15551230011")
    wait_until(lambda: len(receiver.events(call.call_id)) == 2, what="started and ended")
    assert sim.stats()["live_total"] == 0  # ended; its call_analyzed is 400 ms away
    assert sim.wait_idle(5)
    assert [r["event"] for r in receiver.accepted(call.call_id)][-1] == "call_analyzed"
    assert sim.stats()["webhooks_sent"] == 3


def test_outcomes_by_number_and_overrides(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(outcomes={"+15551230021": "dial_busy", "*55": {"reason": "agent_hangup"}})
    expected = {
        "+15551230016": ("not_connected", "dial_no_answer"),
        "+15551230017": ("not_connected", "dial_busy"),
        "+15551230018": ("ended", "voicemail_reached"),
        "+15551230019": ("ended", "user_hangup"),
        "+15551230000": ("not_connected", "invalid_destination"),
        "+15551230001": ("ended", "user_requested_dnc"),
        "+15551230002": ("not_connected", "dial_failed"),
        "+15551230021": ("not_connected", "dial_busy"),  # exact override beats last digit
        "+15551230055": ("ended", "agent_hangup"),  # suffix rule
    }
    ids = {number: create(api, number).call_id for number in expected}
    for number, (status, reason) in expected.items():
        call = wait_final(api, ids[number])
        assert (call.call_status, call.disconnection_reason) == (status, reason), number
        events = receiver.events(ids[number])
        if status == "not_connected":
            assert call.duration_ms == 0 and call.recording_url is None and not call.transcript
            assert "call_started" not in events and call.call_analysis.call_successful is False
        else:
            assert call.duration_ms > 0 and call.recording_url and events[0] == "call_started"
    voicemail = api.call.retrieve(ids["+15551230018"]).call_analysis
    assert voicemail.in_voicemail is True
    short = api.call.retrieve(ids["+15551230019"]).call_analysis
    assert short.call_successful is False and short.user_sentiment == "Negative"


def test_agent_override_max_duration_caps_the_call(
    api: retell.Retell, sim: RetellSimulator
) -> None:
    agent = {"max_call_duration_ms": 25}
    with pytest.raises(retell.BadRequestError):  # Retell's minimum is 60 000 ms
        create(api, "+15551230031", agent_override={"agent": agent})
    sim.configure(talk_ms=60_000, strict_agent_override=False)
    call = create(api, "+15551230031", agent_override={"agent": agent})
    final = wait_final(api, call.call_id)
    assert final.disconnection_reason == "max_duration_reached"
    assert final.call_status == "ended" and final.duration_ms < 60_000


def test_drop_webhooks_leaves_polling(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(drop_webhooks=True)
    call = create(api, "+15551230041")
    assert wait_final(api, call.call_id).call_status == "ended"
    assert receiver.events() == []
    assert sim.stats()["webhooks_dropped"] == 3


def test_duplicate_webhooks(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(duplicate_webhooks=True)
    call = create(api, "+15551230042")
    wait_until(lambda: len(receiver.events(call.call_id)) == 6, what="6 webhooks")
    assert sorted(receiver.events(call.call_id)) == sorted(
        ["call_started", "call_ended", "call_analyzed"] * 2
    )


def test_reorder_webhooks_sends_ended_before_started(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(reorder_webhooks=True)
    call = create(api, "+15551230043")
    wait_until(lambda: len(receiver.events(call.call_id)) == 3, what="3 webhooks")
    assert receiver.events(call.call_id) == ["call_ended", "call_started", "call_analyzed"]


def test_webhook_retries_then_gives_up(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(webhook_retries=2, drop_webhooks=False)
    receiver.fail_first = 1
    call = create(api, "+15551230044")
    wait_until(lambda: sim.stats()["webhooks_sent"] == 3, what="3 webhooks")
    assert receiver.events(call.call_id) == ["call_started", "call_ended", "call_analyzed"]
    assert sim.stats()["webhook_attempts"] == 4
    receiver.always_fail = True
    lost = create(api, "+15551230045")
    wait_until(lambda: sim.stats()["webhook_failures"] == 3, what="3 failed webhooks")
    assert len([r for r in receiver.records if r["call_id"] == lost.call_id]) == 9
    assert sim.stats()["webhook_attempts"] == 4 + 9


# ---------------------------------------------------------------------------- accounting
def test_live_calls_per_account_and_manual_end(
    api: retell.Retell, sim: RetellSimulator, receiver: WebhookReceiver
) -> None:
    sim.configure(never_end=True)
    calls = [
        create(api, f"+1555123005{i}", metadata={"account_id": acct})
        for i, acct in enumerate(["a", "a", "a", "b", "b"])
    ]
    wait_until(
        lambda: all(api.call.retrieve(c.call_id).call_status == "ongoing" for c in calls),
        what="calls ongoing",
    )
    stats = sim.stats()
    assert stats["live_by_account"] == {"a": 3, "b": 2} == stats["max_live_by_account"]
    assert receiver.events() == []  # never_end: no automatic webhooks
    reply = control(sim, "POST", f"/_sim/end/{calls[0].call_id}", {"reason": "agent_hangup"})
    assert reply.status_code == 200 and reply.json()["call_status"] == "ended"
    assert control(sim, "POST", f"/_sim/end/{calls[0].call_id}").status_code == 409
    stats = sim.stats()
    assert stats["live_by_account"] == {"a": 2, "b": 2}
    assert stats["max_live_by_account"] == {"a": 3, "b": 2}
    wait_until(lambda: receiver.events(calls[0].call_id) == ["call_ended", "call_analyzed"])
    sim.reset()
    assert sim.stats()["calls_created"] == 0 and sim.calls() == []
    assert sim.config()["never_end"] is True  # reset keeps config unless asked


def test_concurrency_limit_errors_extra_calls(api: retell.Retell, sim: RetellSimulator) -> None:
    sim.configure(never_end=True, concurrency_limit=2)
    calls = [create(api, f"+1555123006{i}") for i in range(3)]
    final = wait_final(api, calls[2].call_id)
    assert (final.call_status, final.disconnection_reason) == ("error", "concurrency_limit_reached")
    assert sim.stats()["max_live_total"] == 2


# ---------------------------------------------------------------------------- control/CLI
def test_control_api(sim: RetellSimulator) -> None:
    assert control(sim, "GET", "/_sim/health").json() == {"ok": True}
    assert control(sim, "POST", "/_sim/config", {"ring_ms": 5}).json()["ring_ms"] == 5
    assert control(sim, "POST", "/_sim/config", {"rign_ms": 5}).status_code == 400
    bad_reason = {"outcomes": {"+15551230099": "hung_up"}}
    assert control(sim, "POST", "/_sim/config", bad_reason).status_code == 400
    assert control(sim, "GET", "/_sim/stats").json()["calls_created"] == 0
    assert control(sim, "POST", "/_sim/reset", {"config": True}).status_code == 200
    config = control(sim, "GET", "/_sim/config").json()
    assert (config["api_key"], config["ring_ms"]) == (API_KEY, 20)  # the construction config


def test_cli_options_build_a_simulator() -> None:
    args = build_arg_parser().parse_args(
        ["--port", "0", "--api-key", "k", "--webhook-url", "http://x/h", "--ring-ms", "7"]
    )
    sim = simulator_from_options(vars(args), talk_ms=9)
    config = sim.config()
    assert (config["api_key"], config["webhook_url"], config["ring_ms"]) == ("k", "http://x/h", 7)
    assert config["talk_ms"] == 9 and sim.port == 0


def test_a_client_resetting_its_connection_is_no_traceback(
        sim: RetellSimulator, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A worker that stops drops its keep-alive connection mid-request: logged at debug
    level, no traceback on stderr (the stdlib server printed one)."""
    import socket
    import struct
    from urllib.parse import urlsplit

    caplog.set_level("DEBUG", logger="retell_sim")
    address = urlsplit(sim.base_url)
    client = socket.create_connection((address.hostname, address.port))
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.sendall(b"GET /v2/get-call/call_x HTTP/1.1\r\n")
    time.sleep(0.05)  # the server is reading the headers when the reset comes
    client.close()  # linger 0: a reset, not a close
    wait_until(lambda: "closed its connection" in caplog.text, what="the reset to be seen")
    assert "Traceback" not in capsys.readouterr().err
