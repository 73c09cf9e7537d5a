"""State and call lifecycle of the Retell simulator.

Pure Python (no HTTP): :mod:`retell_sim.server` wraps this in an HTTP server, a scheduler
thread and webhook workers. Everything here is guarded by ``SimState.lock``.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from retell_sim.data import (
    ALL_REASONS,
    DEFAULT_CONFIG,
    ApiError,
    build_analysis,
    build_cost,
    build_transcript,
    list_calls_response,
    resolve_outcome,
    status_for_reason,
    validate_config_patch,
)
from retell_sim.records import CallRecord, Delivery

E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")
FINAL_STATUSES = frozenset({"ended", "not_connected", "error"})
LIVE_STATUSES = frozenset({"registered", "ongoing"})


def now_ms() -> int:
    return int(time.time() * 1000)


def _empty_stats() -> dict[str, Any]:
    return {
        "calls_created": 0,
        "create_requests": 0,
        "idempotent_replays": 0,
        "faults_injected": 0,
        "get_requests": 0,
        "list_requests": 0,
        "by_number": {},
        "by_idempotency_key": {},
        "by_status": {},
        "by_reason": {},
        "live_total": 0,
        "max_live_total": 0,
        "live_by_account": {},
        "max_live_by_account": {},
        "webhooks_sent": 0,
        "webhook_attempts": 0,
        "webhook_failures": 0,
        "webhooks_dropped": 0,
        "webhooks_by_event": {},
    }


class SimState:
    """All simulator state. ``schedule`` and ``deliver`` must not block (queue puts only)."""

    def __init__(
        self,
        config: dict[str, Any],
        schedule: Callable[[int, str, str, int], None],
        deliver: Callable[[Delivery], None],
        base_url: Callable[[], str],
    ) -> None:
        self.lock = threading.RLock()
        self.initial_config = validate_config_patch(DEFAULT_CONFIG, config)
        self.config = copy.deepcopy(self.initial_config)
        self._schedule = schedule
        self._deliver = deliver
        self._base_url = base_url
        self.epoch = 0
        self._seq = 0
        self._clear()

    # ------------------------------------------------------------------ config/stats
    def _clear(self) -> None:
        self.calls: dict[str, CallRecord] = {}
        self.idempotency: dict[str, str] = {}
        self.stats = _empty_stats()

    def configure(self, patch: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.config = validate_config_patch(self.config, patch)
            return copy.deepcopy(self.config)

    def config_snapshot(self) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.config)

    def stats_snapshot(self) -> dict[str, Any]:
        with self.lock:  # values are ints or flat {str: int} dicts
            return {k: dict(v) if isinstance(v, dict) else v for k, v in self.stats.items()}

    def reset(self, config: bool = False) -> None:
        with self.lock:
            self.epoch += 1
            self._clear()
            if config:  # back to the configuration the simulator was created with
                self.config = copy.deepcopy(self.initial_config)

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.stats[key] += n

    def take_fault(self, endpoint: str) -> dict[str, Any] | None:
        """Pop one injected fault for ``endpoint`` from ``fail_next`` (None when none is due)."""
        with self.lock:
            for entry in self.config["fail_next"]:
                if entry["endpoint"] in (endpoint, "any"):
                    entry["count"] -= 1
                    if entry["count"] <= 0:
                        self.config["fail_next"].remove(entry)
                    self.stats["faults_injected"] += 1
                    return dict(entry)
            return None

    def take_create_delay(self) -> tuple[float, bool]:
        """Seconds to delay this create and whether the call is created before the delay."""
        with self.lock:
            cfg = self.config
            if cfg["create_delay_ms"] <= 0:
                return 0.0, False
            if cfg["create_delay_count"] is not None:
                cfg["create_delay_count"] -= 1
                if cfg["create_delay_count"] <= 0:
                    cfg["create_delay_count"] = None
                    delay = cfg["create_delay_ms"]
                    cfg["create_delay_ms"] = 0
                    return delay / 1000, cfg["accept_then_timeout"]
            return cfg["create_delay_ms"] / 1000, cfg["accept_then_timeout"]

    def check_auth(self, header: str | None) -> None:
        expected = self.config["api_key"]
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or token.strip() != expected:
            raise ApiError(401)

    # ------------------------------------------------------------------ API operations
    def create_call(self, body: Any, raw: bytes = b"") -> tuple[int, dict[str, Any]]:
        req = _validate_create(body, self.config["strict_agent_override"])
        with self.lock:
            key = req["idempotency_key"]
            if key is not None and key in self.idempotency:
                self.stats["idempotent_replays"] += 1
                return 201, copy.deepcopy(self.calls[self.idempotency[key]].obj)
            rec = self._new_record(req)
            rec.request = raw  # kept as the bytes received: a 100k-call run holds them all
            return 201, copy.deepcopy(rec.obj)

    def get_call(self, call_id: str) -> dict[str, Any]:
        with self.lock:
            self.stats["get_requests"] += 1
            rec = self.calls.get(call_id)
            if rec is None:
                raise ApiError(self.config["unknown_call_status"])
            return copy.deepcopy(rec.obj)

    def list_calls(self, body: Any, version: int) -> Any:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise ApiError(400)
        with self.lock:
            self.stats["list_requests"] += 1
            recs = list(self.calls.values())
            return list_calls_response(recs, body, version)

    def end_call(self, call_id: str, reason: str | None) -> tuple[int, dict[str, Any]]:
        with self.lock:
            rec = self.calls.get(call_id)
            if rec is None:
                raise ApiError(404, "Unknown call_id")
            obj = rec.obj
            if obj["call_status"] in FINAL_STATUSES:
                return 409, copy.deepcopy(obj)
            if reason is None:
                reason = "user_hangup" if obj["call_status"] == "ongoing" else "dial_no_answer"
            if reason not in ALL_REASONS:
                raise ApiError(400, f"Unknown disconnection_reason {reason!r}")
            rec.plan["reason"] = reason
            if obj["call_status"] == "registered" and status_for_reason(reason) == "ended":
                self._answer(rec, emit=True)
            self._finalize(rec, reason)
            return 200, copy.deepcopy(obj)

    def call_and_request(self, call_id: str) -> tuple[dict[str, Any], Any]:
        """The call ``call_id`` and the body of the create request that made it."""
        with self.lock:
            rec = self.calls.get(call_id)
            if rec is None:
                raise ApiError(404, "Unknown call_id")
            obj, raw = copy.deepcopy(rec.obj), rec.request
        return obj, json.loads(raw) if raw else None

    def all_calls(self) -> list[dict[str, Any]]:
        with self.lock:
            return [copy.deepcopy(rec.obj) for rec in self.calls.values()]

    # ------------------------------------------------------------------ lifecycle
    def run_action(self, action: str, call_id: str, epoch: int) -> None:
        with self.lock:
            rec = self.calls.get(call_id)
            if epoch != self.epoch or rec is None:
                return
            status = rec.obj["call_status"]
            if action == "answer" and status == "registered":
                self._on_answer(rec)
            elif action == "hangup" and status == "ongoing" and not self.config["never_end"]:
                self._finalize(rec, rec.plan["reason"])
            elif action == "analyze" and "call_analysis" not in rec.obj:
                rec.obj["call_analysis"] = build_analysis(rec.obj, rec.plan)
                self._emit(rec, "call_analyzed")

    def _new_record(self, req: dict[str, Any]) -> CallRecord:
        cfg = self.config
        agent = req["agent"]
        call_id = "call_" + uuid.uuid4().hex
        plan = resolve_outcome(req["to_number"], cfg["outcomes"])
        ring = plan.get("ring_ms", cfg["ring_ms"])
        if "ring_duration_ms" in agent:
            ring = min(ring, agent["ring_duration_ms"])
        talk = plan.get("talk_ms", cfg["talk_ms"])
        if "max_call_duration_ms" in agent and talk > agent["max_call_duration_ms"]:
            talk = agent["max_call_duration_ms"]
            if status_for_reason(plan["reason"]) == "ended":
                plan["reason"] = "max_duration_reached"
        plan["ring_ms"], plan["talk_ms"] = ring, talk
        metadata = req["metadata"]
        account = metadata.get("account_id") if isinstance(metadata, dict) else None
        obj: dict[str, Any] = {
            "call_type": "phone_call",
            "call_id": call_id,
            "agent_id": req["override_agent_id"] or cfg["agent_id"],
            "agent_version": 1,
            "agent_name": agent.get("agent_name") or "Simulated Collections Agent",
            "call_status": "registered",
            "from_number": req["from_number"],
            "to_number": req["to_number"],
            "direction": "outbound",
            "metadata": metadata if metadata is not None else {},
            "retell_llm_dynamic_variables": req["dynamic_variables"],
            "data_storage_setting": "everything",
            "opt_in_signed_url": False,
            "start_timestamp": None,
        }
        if req["custom_sip_headers"]:
            obj["custom_sip_headers"] = req["custom_sip_headers"]
        self._seq += 1
        rec = CallRecord(
            obj=obj,
            seq=self._seq,
            created_ms=now_ms(),
            plan=plan,
            account=None if account is None else str(account),
            webhook_url=agent.get("webhook_url"),
            webhook_events=tuple(agent["webhook_events"]) if agent.get("webhook_events") else None,
            webhook_timeout_ms=agent.get("webhook_timeout_ms"),
        )
        self.calls[call_id] = rec
        st = self.stats
        st["calls_created"] += 1
        st["by_number"][req["to_number"]] = st["by_number"].get(req["to_number"], 0) + 1
        if req["idempotency_key"] is not None:
            self.idempotency[req["idempotency_key"]] = call_id
            st["by_idempotency_key"][req["idempotency_key"]] = 1
        limit = cfg["concurrency_limit"]
        if limit is not None and st["live_total"] >= limit:
            rec.extra["never_live"] = True
            self._bump("by_status", "registered")
            rec.plan["reason"] = "concurrency_limit_reached"
            self._finalize(rec, "concurrency_limit_reached")
            return rec
        self._bump("by_status", "registered")
        self._live(rec, +1)
        self._schedule(ring, "answer", call_id, self.epoch)
        return rec

    def _on_answer(self, rec: CallRecord) -> None:
        if self.config["never_end"]:
            self._answer(rec, emit=False)
            return
        if status_for_reason(rec.plan["reason"]) != "ended":
            self._finalize(rec, rec.plan["reason"])
            return
        self._answer(rec, emit=True)
        self._schedule(rec.plan["talk_ms"], "hangup", rec.obj["call_id"], self.epoch)

    def _answer(self, rec: CallRecord, emit: bool) -> None:
        self._move(rec, "ongoing")
        rec.obj["start_timestamp"] = now_ms()
        rec.obj["telephony_identifier"] = {"twilio_call_sid": "CA" + uuid.uuid4().hex}
        if not emit:
            return
        if self.config["reorder_webhooks"]:
            rec.stashed_started = "call_started"
        else:
            self._emit(rec, "call_started")

    def _finalize(self, rec: CallRecord, reason: str) -> None:
        obj = rec.obj
        connected = obj["call_status"] == "ongoing"
        end = now_ms()
        if obj["start_timestamp"] is None:
            obj["start_timestamp"] = rec.created_ms
        self._move(rec, status_for_reason(reason) if not connected else "ended")
        obj["end_timestamp"] = max(end, obj["start_timestamp"])
        obj["duration_ms"] = obj["end_timestamp"] - obj["start_timestamp"] if connected else 0
        obj["disconnection_reason"] = reason
        obj["transcript"], obj["transcript_object"] = build_transcript(obj, rec.plan, connected)
        obj["collected_dynamic_variables"] = {}
        base = self._base_url()
        if connected:
            obj["recording_url"] = f"{base}/_sim/recordings/{obj['call_id']}.wav"
        obj["public_log_url"] = f"{base}/_sim/logs/{obj['call_id']}.txt"
        obj["call_cost"] = build_cost(obj["duration_ms"])
        self._bump("by_reason", reason)
        self._emit(rec, "call_ended")
        if rec.stashed_started:
            rec.stashed_started = None
            self._emit(rec, "call_started")
        self._schedule(self.config["analyzed_delay_ms"], "analyze", obj["call_id"], self.epoch)

    def _move(self, rec: CallRecord, status: str) -> None:
        old = rec.obj["call_status"]
        rec.obj["call_status"] = status
        self._bump("by_status", old, -1)
        self._bump("by_status", status)
        if old in LIVE_STATUSES and status in FINAL_STATUSES:
            self._live(rec, -1)

    def _bump(self, key: str, name: str, n: int = 1) -> None:
        bucket = self.stats[key]
        bucket[name] = bucket.get(name, 0) + n
        if bucket[name] == 0:
            del bucket[name]

    def _live(self, rec: CallRecord, delta: int) -> None:
        if rec.extra.get("never_live"):
            return
        st = self.stats
        st["live_total"] += delta
        st["max_live_total"] = max(st["max_live_total"], st["live_total"])
        if rec.account is None:
            return
        live = st["live_by_account"].get(rec.account, 0) + delta
        st["live_by_account"][rec.account] = live
        best = st["max_live_by_account"].get(rec.account, 0)
        st["max_live_by_account"][rec.account] = max(best, live)

    def _emit(self, rec: CallRecord, event: str) -> None:
        cfg = self.config
        url = rec.webhook_url or cfg["webhook_url"]
        if not url or (rec.webhook_events is not None and event not in rec.webhook_events):
            return
        if cfg["drop_webhooks"]:
            self.stats["webhooks_dropped"] += 1
            return
        call = copy.deepcopy(rec.obj)
        if event != "call_analyzed":
            call.pop("call_analysis", None)
        body = json.dumps({"event": event, "call": call}, ensure_ascii=False, separators=(",", ":"))
        timeout_ms = rec.webhook_timeout_ms or cfg["webhook_timeout_ms"]
        delivery = Delivery(
            epoch=self.epoch,
            call_id=rec.obj["call_id"],
            event=event,
            url=url,
            body=body,
            api_key=cfg["api_key"],
            timeout_s=timeout_ms / 1000,
            retries=cfg["webhook_retries"],
            backoff_ms=cfg["webhook_backoff_ms"],
        )
        for _ in range(2 if cfg["duplicate_webhooks"] else 1):
            self._deliver(delivery)

    def webhook_result(self, delivery: Delivery, ok: bool, attempts: int) -> None:
        with self.lock:
            if delivery.epoch != self.epoch:
                return
            self.stats["webhook_attempts"] += attempts
            if ok:
                self.stats["webhooks_sent"] += 1
                self._bump("webhooks_by_event", delivery.event)
            else:
                self.stats["webhook_failures"] += 1


def _validate_create(body: Any, strict: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.")
    out: dict[str, Any] = {}
    for name in ("from_number", "to_number"):
        value = body.get(name)
        if not isinstance(value, str) or not E164_RE.match(value):
            raise ApiError(400, f"{name} must be a phone number in E.164 format, got {value!r}.")
        out[name] = value
    dyn = body.get("retell_llm_dynamic_variables") or {}
    if not isinstance(dyn, dict) or not all(isinstance(v, str) for v in dyn.values()):
        raise ApiError(400, "retell_llm_dynamic_variables must be an object of string values.")
    out["dynamic_variables"] = dict(dyn)
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise ApiError(400, "metadata must be an object.")
    out["metadata"] = metadata
    for name in ("override_agent_id", "idempotency_key"):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not value):
            raise ApiError(400, f"{name} must be a non-empty string.")
        out[name] = value
    sip = body.get("custom_sip_headers") or {}
    if not isinstance(sip, dict):
        raise ApiError(400, "custom_sip_headers must be an object.")
    out["custom_sip_headers"] = sip
    override = body.get("agent_override") or {}
    agent = override.get("agent") if isinstance(override, dict) else None
    if not isinstance(override, dict) or not isinstance(agent or {}, dict):
        raise ApiError(400, "agent_override.agent must be an object.")
    agent = {k: v for k, v in (agent or {}).items() if v is not None}  # null = not overridden
    for name, low, high in (
        ("ring_duration_ms", 5_000, 300_000),
        ("max_call_duration_ms", 60_000, 7_200_000),
        ("webhook_timeout_ms", 1, 600_000),
    ):
        if name in agent:
            value = agent[name]
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ApiError(400, f"agent_override.agent.{name} must be a positive integer.")
            if strict and not low <= value <= high:
                raise ApiError(400, f"agent_override.agent.{name} must be in [{low}, {high}].")
    for name, low, high in (("voice_speed", 0.5, 2.0), ("volume", 0.0, 2.0)):
        value = agent.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not low <= value <= high):
            raise ApiError(400, f"agent_override.agent.{name} must be in [{low}, {high}].")
    llm = override.get("retell_llm") or {}
    if not isinstance(llm, dict) or not isinstance(llm.get("begin_message", ""), str | None):
        raise ApiError(400, "agent_override.retell_llm.begin_message must be a string.")
    events = agent.get("webhook_events")
    if events is not None and (
        not isinstance(events, list) or not all(isinstance(e, str) for e in events)
    ):
        raise ApiError(400, "agent_override.agent.webhook_events must be a list of strings.")
    out["agent"] = agent
    return out
