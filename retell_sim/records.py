"""The simulator's records: a call it holds and a webhook it is to deliver (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallRecord:
    obj: dict[str, Any]
    seq: int
    created_ms: int
    plan: dict[str, Any]
    account: str | None
    webhook_url: str | None
    webhook_events: tuple[str, ...] | None
    webhook_timeout_ms: int | None
    stashed_started: str | None = None
    request: bytes = b""  # the create request's body, as received
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Delivery:
    epoch: int
    call_id: str
    event: str
    url: str
    body: str
    api_key: str
    timeout_s: float
    retries: int
    backoff_ms: int
