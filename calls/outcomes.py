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


# Human-readable reasons stored in Job.last_error (shown to Spanish-speaking operators).
WAIT_PAUSED = "campaña pausada"
WAIT_SCHEDULED = "campaña programada"
WAIT_ACCOUNT = "cuenta suspendida"
WAIT_WINDOW = "fuera de horario permitido"
WAIT_WEEKLY_CONTACT = "contactado en los últimos 7 días"
WAIT_WEEKLY_ATTEMPTS = "máximo de intentos semanales"
WAIT_BALANCE = "saldo insuficiente"
WAIT_SLOT = "esperando cupo de llamadas"
WAIT_PROVIDER = "error del proveedor, reintento"
FAIL_MAX_ATTEMPTS = "máximo de intentos"
FAIL_NO_PHONE = "sin teléfono válido"
FAIL_DO_NOT_CALL = "en lista de no llamar"
FAIL_SETTINGS = "configuración de horario inválida"
CANCELLED = "campaña cancelada"
