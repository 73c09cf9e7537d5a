"""Why a job waits, failed or moved: stable codes with a label in the reader's language.

The code is stored (``Job.last_error``, ``JobEvent.reason``) and the label shown at display
time (admin, API, exports), so the operator reads it in the admin's language. The engine writes
them; ``batches`` reads them too (retrying failed jobs skips those that would fail again at
once), so they live in the lowest app that stores them.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class JobReason(models.TextChoices):
    WAIT_PAUSED = "campaign_paused", _("campaign paused")
    WAIT_SCHEDULED = "campaign_scheduled", _("campaign scheduled")
    WAIT_ACCOUNT = "account_suspended", _("account suspended")
    WAIT_WINDOW = "outside_window", _("outside the allowed hours")
    WAIT_WEEKLY_CONTACT = "weekly_contact_limit", _("contacted in the last 7 days")
    WAIT_WEEKLY_ATTEMPTS = "weekly_attempt_limit", _("weekly attempt limit reached")
    WAIT_BALANCE = "insufficient_balance", _("insufficient balance")
    WAIT_SLOT = "waiting_for_slot", _("waiting for a free call slot")
    WAIT_PROVIDER = "provider_error", _("provider error, retrying")
    WAIT_DATABASE = "database_error", _("database error, retrying")
    INVALID_PHONE = "invalid_phone", _("invalid number")
    RECOVERED = "recovered", _(
        "Recovered: the worker holding it stopped answering (its lease expired).")
    RETRIED = "retried", _("Retried by an operator.")
    FAIL_MAX_ATTEMPTS = "max_attempts", _("maximum attempts reached")
    FAIL_NO_PHONE = "no_valid_phone", _("no valid phone")
    FAIL_DO_NOT_CALL = "do_not_call", _("on the do-not-call list")
    FAIL_SETTINGS = "invalid_window_settings", _("invalid calling-window settings")
    CANCELLED = "campaign_cancelled", _("campaign cancelled")


def reason_label(code: str) -> str:
    """The label of a reason code in the active language; text stored before codes (or a
    reason the caller made up) as it is."""
    try:
        return str(JobReason(code).label)
    except ValueError:
        return code
