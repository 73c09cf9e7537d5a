"""What accounts announces to the apps above it, which it never imports.

Sent inside the transaction that makes it true; a receiver that acts outside the database waits
for the commit (the engine connects its dispatch in ``calls.apps``).
"""

from django.dispatch import Signal

# Balance was added to the account (``account_id``): campaigns waiting for it may dial again.
balance_added = Signal()
