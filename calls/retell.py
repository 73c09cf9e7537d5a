"""The Retell client: the official SDK pointed at RETELL_BASE_URL, and error classification."""

import hashlib
import hmac
import re
import time
from functools import lru_cache

from django.conf import settings

# The SDK (pydantic models) takes seconds to import: it is imported where first used, so that
# the web process and the test suite do not pay for it on every start.


@lru_cache(maxsize=4)
def _client(api_key: str, base_url: str, timeout: int):
    import retell

    # Retries are ours (with the same idempotency key), never the SDK's hidden ones.
    return retell.Retell(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=0)


def get_client():
    return _client(settings.RETELL_API_KEY, settings.RETELL_BASE_URL,
                   settings.RETELL_TIMEOUT_SECONDS)


class ProviderError(Exception):
    """A failed request to Retell, classified.

    kind: "transient" (429, 5xx, timeout, connection: retry the same attempt later),
    "invalid" (400/422: permanent for this phone), "account" (401/402/403: the account's
    campaigns must pause), "not_found" (404).
    """

    def __init__(self, kind: str, status: int | None, message: str):
        super().__init__(kind, status, message)
        self.kind, self.status, self.message = kind, status, message

    def __str__(self):
        return f"{self.kind} ({self.status}): {self.message}"


def classify(exc: Exception) -> ProviderError:
    import retell

    if isinstance(exc, retell.APITimeoutError | retell.APIConnectionError):
        return ProviderError("transient", None, str(exc)[:300])
    if isinstance(exc, retell.APIStatusError):
        status = exc.status_code
        if status == 429 or status >= 500:
            kind = "transient"
        elif status in (401, 402, 403):
            kind = "account"
        elif status == 404:
            kind = "not_found"
        else:
            kind = "invalid"
        return ProviderError(kind, status, str(exc)[:300])
    return ProviderError("transient", None, repr(exc)[:300])


def create_phone_call(**params) -> dict:
    """POST /v2/create-phone-call. Returns the call object as a dict; raises ProviderError."""
    import httpx
    import retell

    try:
        # The SDK client's own request path (auth, timeout, error classes), without the typed
        # wrapper: that one walks our body against its TypedDicts to change nothing, and
        # builds a pydantic model we would only dump back into a dict. Together they cost a
        # third of a dial's CPU. The call object is the JSON Retell sent.
        response = get_client().post("/v2/create-phone-call", body=params,
                                     cast_to=httpx.Response)
        call = response.json()
    except retell.RetellError as exc:
        raise classify(exc) from exc
    except ValueError as exc:  # a 2xx whose body is not JSON
        raise ProviderError("transient", None, f"invalid JSON from Retell: {exc}"[:300]) from exc
    if not isinstance(call, dict) or not isinstance(call.get("call_id"), str):
        raise ProviderError("transient", None, "Retell answered without a call_id")
    return call


def get_call(call_id: str) -> dict:
    """GET /v2/get-call/{call_id}. Raises ProviderError (kind "not_found" when unknown)."""
    import retell

    try:
        return get_client().call.retrieve(call_id).model_dump()
    except retell.RetellError as exc:
        raise classify(exc) from exc


# Retell's webhook signature, "v=<ms>,d=<hex HMAC-SHA256 of body + ms keyed with the API key>",
# accepted within five minutes of its time. Checked here as retell.lib.webhook_auth checks it:
# importing that module imports the whole SDK (over a second of CPU), which the first webhook
# of every web process paid, and the call slot that webhook freed was refilled that late.
_SIGNATURE = re.compile(r"v=(\d+),d=([0-9a-f]{64})")
SIGNATURE_TOLERANCE_MS = 5 * 60 * 1000


def verify_signature(body: str, signature: str) -> bool:
    """Whether ``signature`` (the x-retell-signature header) signs ``body`` (the raw text)."""
    match = _SIGNATURE.fullmatch(signature or "")
    if match is None:
        return False
    stamp = match.group(1)
    if abs(time.time() * 1000 - int(stamp)) > SIGNATURE_TOLERANCE_MS:
        return False
    try:
        signed = (body + stamp).encode()
    except UnicodeEncodeError:  # a lone surrogate: not what Retell signs
        return False
    digest = hmac.new(settings.RETELL_API_KEY.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(digest, match.group(2))
