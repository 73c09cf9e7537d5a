"""The life of a job: every change of its state is written here.

The engine (``calls``) and the campaign services above call these functions; nothing else
updates a job's status.
"""

from django.db import connection
from django.db.models import Q

from accounts.compliance import PHONE_CLASSES, PROFILES
from batches import reasons
from batches.models import Job
from batches.windows import WindowError, campaign_opens, dial_window, next_allowed

# A job whose phones all start with a prefix (%s), and one with no zone of its own.
_ALL_PHONES_LIKE = {
    "postgresql": "NOT EXISTS (SELECT 1 FROM jsonb_array_elements_text(contact -> 'phones') p"
                  " WHERE p NOT LIKE %s)",
    "sqlite": "NOT EXISTS (SELECT 1 FROM json_each(contact, '$.phones') WHERE value NOT LIKE %s)",
}


def batch_defer_to_window(*, batch_pk: int, call_settings: dict, profile: str, now) -> int:
    """When the campaign's window is closed at ``now``, its pending jobs due before it opens
    are made due then, with the reason: set-based, no attempt used, nothing published. Jobs
    whose phones are all of one class (PHONE_CLASSES: a Chilean mobile opens later than a
    landline in Punta Arenas) get their own, exact opening first; the rest the campaign's,
    the earliest possible (process_job defers each exactly). Only ever moves next_try_at
    later; jobs with a zone of their own are left to process_job. Returns how many moved."""
    opens = campaign_opens(call_settings=call_settings, profile=profile, after=now)
    if opens is None or opens <= now:
        return 0
    country = PROFILES[profile].country
    moved = 0
    for prefix, number in PHONE_CLASSES.get(country, ()):
        try:
            class_opens = next_allowed(dial_window(call_settings=call_settings, profile=profile,
                                                   phone=number), now)
        except WindowError:
            continue
        moved += _defer(batch_pk, class_opens, now, (_ALL_PHONES_LIKE[connection.vendor],
                                                     prefix + "%"))
    return moved + _defer(batch_pk, opens, now)


def _defer(batch_pk: int, opens, now, phones_like: tuple[str, str] | None = None) -> int:
    jobs = (Job.objects.filter(batch_id=batch_pk, status=Job.Status.PENDING)
            .filter(Q(next_try_at__isnull=True) | Q(next_try_at__lt=opens))
            .exclude(contact__has_key="timezone"))
    if phones_like is not None:
        jobs = jobs.extra(where=[phones_like[0]], params=[phones_like[1]])
    return jobs.update(next_try_at=opens, last_error=reasons.WAIT_WINDOW, updated_at=now)
