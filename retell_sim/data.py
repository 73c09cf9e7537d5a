"""Static rules of the Retell simulator: config schema, outcome rules, call content, list filters.

See :mod:`retell_sim.server` for the documented behaviour. No HTTP, no shared state.
"""

from __future__ import annotations

import copy
from typing import Any

from retell_sim.records import CallRecord

# Disconnection reasons by resulting call_status (Retell "debug call disconnect" table).
NOT_CONNECTED_REASONS = frozenset(
    {
        "dial_busy",
        "dial_failed",
        "dial_no_answer",
        "invalid_destination",
        "telephony_provider_permission_denied",
        "telephony_provider_unavailable",
        "sip_routing_error",
        "marked_as_spam",
        "network_blocked",
        "user_declined",
    }
)
ERROR_REASONS = frozenset(
    {
        "concurrency_limit_reached",
        "no_concurrency_fallback",
        "no_valid_payment",
        "credit_exhausted",
        "budget_reached",
        "scam_detected",
        "registered_call_timeout",
        "error_llm_websocket_open",
        "error_llm_websocket_lost_connection",
        "error_llm_websocket_runtime",
        "error_llm_websocket_corrupt_payload",
        "error_no_audio_received",
        "error_asr",
        "error_retell",
        "error_unknown",
        "error_user_not_joined",
    }
)
ENDED_REASONS = frozenset(
    {
        "user_hangup",
        "agent_hangup",
        "user_requested_dnc",
        "user_requested_callback",
        "call_transfer",
        "voicemail_reached",
        "ivr_reached",
        "inactivity",
        "max_duration_reached",
        "transfer_bridged",
        "transfer_cancelled",
        "manual_stopped",
        "call_take_over",
    }
)
ALL_REASONS = NOT_CONNECTED_REASONS | ERROR_REASONS | ENDED_REASONS
APOS = "\u2019"  # typographic apostrophe: non-ASCII on purpose (verify signatures on raw bodies)

SPECIAL_SUFFIXES = (
    ("0000", "invalid_destination"),
    ("0001", "user_requested_dnc"),
    ("0002", "dial_failed"),
)
LAST_DIGIT_REASONS = {
    **dict.fromkeys("012345", "user_hangup"),
    "6": "dial_no_answer",
    "7": "dial_busy",
    "8": "voicemail_reached",
    "9": "user_hangup",
}

ERROR_MESSAGES = {
    400: "Invalid request format, please check API reference.",
    401: "API key is missing or invalid.",
    402: "Trial has ended, please add payment method.",
    403: "Forbidden.",
    404: "Not found.",
    409: "Conflict.",
    422: "Cannot find requested asset under given api key.",
    429: "Account rate limited, please throttle your requests.",
    500: "An unexpected server error occurred.",
    502: "Bad gateway.",
    503: "Service temporarily unavailable.",
}

DEFAULT_CONFIG: dict[str, Any] = {
    "api_key": "key_simulator",
    "webhook_url": None,
    "agent_id": "agent_simulator",
    "ring_ms": 300,
    "talk_ms": 1500,
    "analyzed_delay_ms": 200,
    "outcomes": {},
    "fail_next": [],
    "create_delay_ms": 0,
    "create_delay_count": None,
    "accept_then_timeout": False,
    "drop_webhooks": False,
    "duplicate_webhooks": False,
    "reorder_webhooks": False,
    "never_end": False,
    "webhook_retries": 3,
    "webhook_backoff_ms": 200,
    "webhook_timeout_ms": 10_000,
    "concurrency_limit": None,
    "unknown_call_status": 404,
    "strict_agent_override": True,
}
_INT_KEYS = {
    "ring_ms",
    "talk_ms",
    "analyzed_delay_ms",
    "create_delay_ms",
    "webhook_retries",
    "webhook_backoff_ms",
    "webhook_timeout_ms",
}
_OPTIONAL_INT_KEYS = {"create_delay_count", "concurrency_limit"}
_BOOL_KEYS = {
    "accept_then_timeout",
    "drop_webhooks",
    "duplicate_webhooks",
    "reorder_webhooks",
    "never_end",
    "strict_agent_override",
}
_FAULT_STATUSES = {400, 401, 402, 403, 404, 409, 422, 429, 500, 502, 503, "reset"}
_OUTCOME_KEYS = {"reason", "ring_ms", "talk_ms", "call_successful", "user_sentiment", "summary"}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    text = message or ERROR_MESSAGES.get(status, "Error")
    return {"status": "error", "message": text, "error_message": text}


class ApiError(Exception):
    """An HTTP error answer of the simulated API."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message)


def status_for_reason(reason: str) -> str:
    if reason in NOT_CONNECTED_REASONS:
        return "not_connected"
    if reason in ERROR_REASONS:
        return "error"
    return "ended"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_outcome(number: str, spec: Any) -> dict[str, Any]:
    if isinstance(spec, str):
        spec = {"reason": spec}
    if not isinstance(spec, dict) or not set(spec) <= _OUTCOME_KEYS:
        raise ValueError(f"outcomes[{number!r}] must be a reason or an object of {_OUTCOME_KEYS}")
    if spec.get("reason") not in ALL_REASONS:
        reason = spec.get("reason")
        raise ValueError(f"outcomes[{number!r}]: unknown disconnection_reason {reason!r}")
    for key in ("ring_ms", "talk_ms"):
        if key in spec and (not _is_int(spec[key]) or spec[key] < 0):
            raise ValueError(f"outcomes[{number!r}].{key} must be a non-negative integer")
    return dict(spec)


def _check_fault(entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict) or entry.get("status") not in _FAULT_STATUSES:
        raise ValueError(f"fail_next entries need a status in {sorted(map(str, _FAULT_STATUSES))}")
    count = entry.get("count", 1)
    endpoint = entry.get("endpoint", "create")
    if not _is_int(count) or count < 1 or endpoint not in ("create", "get", "list", "any"):
        raise ValueError("fail_next: count must be >= 1, endpoint one of create|get|list|any")
    retry_after = entry.get("retry_after", 1 if entry["status"] == 429 else None)
    return {
        "status": entry["status"],
        "count": count,
        "endpoint": endpoint,
        "retry_after": retry_after,
        "message": entry.get("message"),
    }


def validate_config_patch(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Return ``current`` merged with ``patch``; raise ValueError on unknown keys or bad types.

    ``outcomes`` is merged key by key (a null value removes a number, ``"outcomes": null``
    clears them all); every other key is replaced.
    """
    if not isinstance(patch, dict):
        raise ValueError("config must be a JSON object")
    unknown = set(patch) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(f"unknown config keys: {sorted(unknown)}")
    new = copy.deepcopy(current)
    for key, value in patch.items():
        if key in _INT_KEYS and (not _is_int(value) or value < 0):
            raise ValueError(f"{key} must be a non-negative integer")
        if key in _OPTIONAL_INT_KEYS and value is not None and (not _is_int(value) or value < 1):
            raise ValueError(f"{key} must be null or a positive integer")
        if key in _BOOL_KEYS and not isinstance(value, bool):
            raise ValueError(f"{key} must be a boolean")
        if key in ("api_key", "agent_id") and (not isinstance(value, str) or not value):
            raise ValueError(f"{key} must be a non-empty string")
        if key == "webhook_url" and value is not None and not isinstance(value, str):
            raise ValueError("webhook_url must be a string or null")
        if key == "unknown_call_status" and value not in (400, 404, 422):
            raise ValueError("unknown_call_status must be 400, 404 or 422")
        if key == "outcomes":
            if value is None:
                new["outcomes"] = {}
                continue
            if not isinstance(value, dict):
                raise ValueError("outcomes must be an object")
            for number, spec in value.items():
                if spec is None:
                    new["outcomes"].pop(number, None)
                else:
                    new["outcomes"][number] = _check_outcome(number, spec)
            continue
        if key == "fail_next":
            if not isinstance(value, list):
                raise ValueError("fail_next must be a list")
            value = [_check_fault(entry) for entry in value]
        new[key] = value
    return new


def resolve_outcome(to_number: str, outcomes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Plan for a number: exact config entry, then config ``*suffix`` rules (longest first),
    then the built-in special suffixes, then the last-digit rule."""
    if to_number in outcomes:
        return dict(outcomes[to_number])
    suffixes = sorted((k for k in outcomes if k.startswith("*")), key=len, reverse=True)
    for key in suffixes:
        if to_number.endswith(key[1:]):
            return dict(outcomes[key])
    for suffix, reason in SPECIAL_SUFFIXES:
        if to_number.endswith(suffix):
            return {"reason": reason}
    plan: dict[str, Any] = {"reason": LAST_DIGIT_REASONS[to_number[-1]]}
    if to_number.endswith("9"):
        plan.update(call_successful=False, user_sentiment="Negative", short=True)
    return plan


def _name(obj: dict[str, Any]) -> str:
    dyn = obj.get("retell_llm_dynamic_variables") or {}
    for key in ("customer_name", "first_name", "name", "full_name"):
        if dyn.get(key):
            return dyn[key]
    return "there"


def build_transcript(
    obj: dict[str, Any], plan: dict[str, Any], connected: bool
) -> tuple[str, list[dict[str, Any]]]:
    if not connected:
        return "", []
    name = _name(obj)
    reason = obj["disconnection_reason"]
    hello = f"Hi {name}, it{APOS}s Alex calling on behalf of your creditor about your account."
    if reason == "voicemail_reached":
        turns = [("agent", f"{hello} Please call us back at your earliest convenience.")]
    elif reason == "user_requested_dnc":
        turns = [
            ("agent", hello),
            ("user", "Stop calling me. Put me on your do-not-call list."),
            ("agent", "Understood, we will not call you again. Goodbye."),
        ]
    elif plan.get("short"):
        turns = [("agent", hello), ("user", f"I{APOS}m not interested.")]
    else:
        turns = [
            ("agent", hello),
            ("user", f"Yes, I know. I{APOS}ll pay the balance on Friday."),
            ("agent", f"Thank you, I{APOS}ve noted your promise to pay. Have a nice day!"),
        ]
    text = "".join(f"{role.title()}: {content}\n" for role, content in turns)
    objects = [{"role": role, "content": content, "words": []} for role, content in turns]
    return text, objects


def build_analysis(obj: dict[str, Any], plan: dict[str, Any]) -> dict[str, Any]:
    reason = obj["disconnection_reason"]
    connected = obj["call_status"] == "ended"
    voicemail = reason == "voicemail_reached"
    good = connected and reason in ("user_hangup", "agent_hangup") and not plan.get("short")
    if not connected:
        summary, sentiment = f"The call did not connect ({reason}).", "Unknown"
    elif voicemail:
        summary, sentiment = "The agent reached voicemail and left a callback message.", "Unknown"
    elif reason == "user_requested_dnc":
        summary, sentiment = "The user asked not to be called again.", "Negative"
    elif good:
        summary, sentiment = "The user acknowledged the debt and promised to pay.", "Positive"
    else:
        summary, sentiment = f"The call ended ({reason}) without an agreement.", "Negative"
    return {
        "call_summary": plan.get("summary", summary),
        "user_sentiment": plan.get("user_sentiment", sentiment),
        "call_successful": plan.get("call_successful", good),
        "in_voicemail": voicemail,
        "custom_analysis_data": {},
    }


def build_cost(duration_ms: int) -> dict[str, Any]:
    seconds = round(duration_ms / 1000, 3)
    prices = (("retell_platform", 0.1167), ("telephony", 0.0167))
    products = [
        {"product": name, "unit_price": price, "cost": round(price * seconds, 4)}
        for name, price in prices
    ]
    return {
        "product_costs": products,
        "combined_cost": round(sum(p["cost"] for p in products), 4),
        "total_duration_seconds": seconds,
        "total_duration_unit_price": round(sum(price for _, price in prices), 4),
    }


# ---------------------------------------------------------------------------- list-calls
_ANALYSIS_FIELDS = ("user_sentiment", "call_successful", "in_voicemail")
_V3_OMITTED = ("transcript", "transcript_object", "transcript_with_tool_calls", "recording_url")


def _field(obj: dict[str, Any], name: str) -> Any:
    if name in _ANALYSIS_FIELDS:
        return (obj.get("call_analysis") or {}).get(name)
    if name == "combined_cost":
        return (obj.get("call_cost") or {}).get("combined_cost")
    return obj.get(name)


def _match(value: Any, cond: dict[str, Any]) -> bool:
    """One v3 condition ``{"op", "type", "value"}``."""
    op, target = cond.get("op"), cond.get("value")
    if op == "pr":
        return value is not None
    if op == "np":
        return value is None
    if value is None:
        return op == "ne"
    if op == "in":
        return value in (target or [])
    if op == "bt":
        low, high = target
        return low <= value <= high
    if op in ("sw", "ew", "co"):
        text = str(value)
        return {"sw": text.startswith, "ew": text.endswith, "co": text.__contains__}[op](target)
    if op in ("gt", "ge", "lt", "le"):
        return {
            "gt": value > target,
            "ge": value >= target,
            "lt": value < target,
            "le": value <= target,
        }[op]
    if op == "ne":
        return value != target
    return value == target


def _matches_v3(obj: dict[str, Any], criteria: dict[str, Any]) -> bool:
    for key, cond in criteria.items():
        if key in ("metadata", "dynamic_variables", "custom_analysis_data"):
            analysis = obj.get("call_analysis") or {}
            source = {
                "metadata": obj.get("metadata"),
                "dynamic_variables": obj.get("retell_llm_dynamic_variables"),
                "custom_analysis_data": analysis.get("custom_analysis_data"),
            }[key] or {}
            if not all(_match(source.get(c.get("key")), c) for c in cond):
                return False
        elif key == "agent":
            if not any(obj["agent_id"] == a.get("agent_id") for a in cond):
                return False
        elif not _match(_field(obj, key), cond):
            return False
    return True


def _matches_v2(obj: dict[str, Any], criteria: dict[str, Any]) -> bool:
    for key, cond in criteria.items():
        if key == "metadata":  # simulator extension: subset match
            meta = obj.get("metadata") or {}
            if any(meta.get(k) != v for k, v in cond.items()):
                return False
        elif key in ("before_start_timestamp", "after_start_timestamp"):
            start = obj.get("start_timestamp")
            if start is None or (start >= cond if key[0] == "b" else start <= cond):
                return False
        elif isinstance(cond, list):
            if _field(obj, key) not in cond:
                return False
        elif isinstance(cond, dict):
            value = _field(obj, key)
            low, high = cond.get("lower_threshold"), cond.get("upper_threshold")
            if value is None or (low is not None and value < low):
                return False
            if high is not None and value > high:
                return False
        elif _field(obj, key) != cond:
            return False
    return True


def list_calls_response(recs: list[CallRecord], body: dict[str, Any], version: int) -> Any:
    criteria = body.get("filter_criteria") or {}
    matcher = _matches_v3 if version == 3 else _matches_v2
    try:
        found = [rec for rec in recs if matcher(rec.obj, criteria)]
    except (TypeError, ValueError, AttributeError) as exc:
        raise ApiError(400, f"Invalid filter_criteria: {exc}") from exc
    descending = body.get("sort_order", "descending") == "descending"
    found.sort(
        key=lambda r: (r.obj.get("start_timestamp") or r.created_ms, r.seq), reverse=descending
    )
    if body.get("pagination_key"):
        ids = [r.obj["call_id"] for r in found]
        key = body["pagination_key"]
        found = found[ids.index(key) + 1 :] if key in ids else []
    found = found[int(body.get("skip") or 0) :]
    limit = int(body.get("limit") or (50 if version == 3 else 1000))
    page = [copy.deepcopy(r.obj) for r in found[:limit]]
    if version == 2:
        return page
    for obj in page:
        for name in _V3_OMITTED:
            obj.pop(name, None)
    has_more = len(found) > limit
    out: dict[str, Any] = {
        "items": page,
        "has_more": has_more,
        "pagination_key": page[-1]["call_id"] if has_more and page else None,
    }
    if body.get("include_total"):
        out["total"] = len([rec for rec in recs if matcher(rec.obj, criteria)])
    return out
