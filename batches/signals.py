"""What batches announces to the engine above it, which it never imports.

Sent inside the transaction that makes it true; the engine connects its dispatch in
``calls.apps`` and publishes after the commit.
"""

from django.dispatch import Signal

# Jobs of the account (``account_id``) may be dialled now: a campaign was created or resumed,
# failed jobs were retried or made due, or a job gave its call slot back.
jobs_ready = Signal()
