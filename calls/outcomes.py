"""How Retell's disconnection reasons map to what happens to a job."""

from calls.models import CallAttempt

Outcome = CallAttempt.Outcome

# A human conversation took place: the job is done.
CONTACT_REASONS = frozenset({
    "user_hangup", "agent_hangup", "call_transfer", "inactivity", "max_duration_reached",
    "user_requested_callback", "transfer_bridged", "transfer_cancelled",
})
# Nobody (human) answered: retry after retry_delay_hours with the next phone.
NO_CONTACT_REASONS = frozenset({
    "dial_no_answer", "dial_busy", "voicemail_reached", "ivr_reached", "user_declined",
    "marked_as_spam",
})
# The number itself is bad: mark it invalid and go on with the next phone.
INVALID_NUMBER_REASONS = frozenset({"invalid_destination", "dial_failed"})
# The debtor asked never to be called again.
DO_NOT_CALL_REASONS = frozenset({"user_requested_dnc"})
# Everything else (concurrency_limit_reached, error_*, registered_call_timeout, scam_detected,
# ...) is the provider's problem: retried soon with backoff, not counted against the debtor.


def classify_reason(reason: str | None) -> str:
    reason = reason or ""
    if reason in CONTACT_REASONS:
        return Outcome.CONTACT
    if reason in NO_CONTACT_REASONS:
        return Outcome.NO_CONTACT
    if reason in INVALID_NUMBER_REASONS:
        return Outcome.INVALID_NUMBER
    if reason in DO_NOT_CALL_REASONS:
        return Outcome.DO_NOT_CALL
    return Outcome.PROVIDER_ERROR


def is_answered(outcome: str) -> bool:
    """Answered calls pay per minute; the rest pay only the setup fee."""
    return outcome in (Outcome.CONTACT, Outcome.DO_NOT_CALL)
