"""The Celery queues and which task goes to which (issue 18: workers on several hosts).

Three queues, so that a slow export or retention run never delays a dial:

==============  =================================================  ===========================
queue           tasks                                              docker-compose.yml service
==============  =================================================  ===========================
dial            calls.tasks.process_job (claim a job, hold its     ``worker`` (scale it:
                cost, place its call)                              ``--scale worker=N``)
sweep           calls.tasks.sweep (beat: due jobs, expired         ``worker-sweep``
                leases, stale calls, lost nudges re-published)
housekeeping    calls.tasks.purge_expired_records (retention) and  ``worker-housekeeping``
                any task without a route
==============  =================================================  ===========================

Tasks are routed by name (settings ``CELERY_TASK_ROUTES``); a worker consumes the queues it is
given with ``-Q``. Every worker started by dev.py, the tests and the benches takes all three
(``-Q dial,sweep,housekeeping``). A task with no route lands on the housekeeping queue, never
in front of the dials: one that belongs on the dial path must be routed on purpose
(tests/calls/test_routing.py checks every task of the project has a route).

Plain constants, no imports: settings, dev.py-spawned commands and the tests read them.
"""

DIAL = "dial"
SWEEP = "sweep"
HOUSEKEEPING = "housekeeping"
ALL = (DIAL, SWEEP, HOUSEKEEPING)
# For a worker's -Q option: every queue (a single worker serving everything).
ALL_OPTION = ",".join(ALL)
DEFAULT = HOUSEKEEPING

ROUTES = {
    "calls.tasks.process_job": {"queue": DIAL},
    "calls.tasks.sweep": {"queue": SWEEP},
    "calls.tasks.purge_expired_records": {"queue": HOUSEKEEPING},
}
