"""The floor of a call, for bench/dispatch.py: only the hops every call of the engine has to make.

A call placed the way issue 4 asks costs at least: one Celery task (consumed, acked), a
claim before the dial and a write after it, Retell's create through the SDK client (over
HTTP, to the simulator), and two signed webhooks received by Django (each verified, parsed
and written), the first of which publishes the next task into the freed slot. This module is
that and nothing more: no rules, no ledger, no history. Its calls/s, measured in the same run
as the engine's and the no-op ceiling, shows how much of the gap between the two is the
engine's own work and how much is the hops themselves.

- ``floor_dial`` is the task; the worker loads it with ``--include bench.floor``.
- ``wsgi()`` is the webhook server: Django without middleware, one URL
  (``gunicorn 'bench.floor:wsgi()'``).

Both write to rows of ``batches_job`` that are already settled (``attempts = attempts``: a
real row lock and WAL record, no change).
"""

import json
import os

from celery import shared_task

from callcenter.queues import DIAL

SLOTS = 50  # concurrent calls: each ended call publishes the job SLOTS ahead of it
TOUCH = "UPDATE batches_job SET attempts = attempts WHERE id = %s"


def request_body(job_id: int, last: int) -> dict:
    """A create request shaped and sized like the engine's (calls.services.call_request)."""
    from calls.services import WEBHOOK_EVENTS  # the models need Django set up first

    return {
        "from_number": "+56229999999",
        "to_number": f"+5699{job_id % 10_000_000:07d}",
        "override_agent_id": "agent_floor",
        "retell_llm_dynamic_variables": {
            "nombre": f"Deudor {job_id}", "empresa": "Bench", "RUT": "20000000-0",
            "monto_total": "1000.00", "fecha_vencimiento": "2025-01-01", "fecha_limite": "",
            "fecha_maxima": "", "cuotas_adeudadas": "1"},
        "metadata": {"job_id": job_id, "last": last, "account_id": "bench-floor",
                     "batch_id": "floor", "attempt": 1},
        "agent_override": {"agent": {"ring_duration_ms": 30_000, "max_call_duration_ms": 300_000,
                                     "webhook_events": list(WEBHOOK_EVENTS)}},
        "idempotency_key": f"floor-{job_id}",
    }


# On the dial queue, as the engine's process_job it is compared with.
@shared_task(acks_late=True, queue=DIAL)
def floor_dial(job_id: int, last: int) -> None:
    from django.db import connection

    from calls import retell

    with connection.cursor() as cursor:
        cursor.execute(TOUCH, [job_id])  # the claim
    retell.create_phone_call(**request_body(job_id, last))
    with connection.cursor() as cursor:
        cursor.execute(TOUCH, [job_id])  # the call placed


def webhook(request):
    from django.db import connection
    from django.http import JsonResponse

    from calls import retell

    raw = request.body.decode("utf-8", errors="replace")
    if not retell.verify_signature(raw, request.headers.get("x-retell-signature", "")):
        return JsonResponse({"detail": "invalid signature"}, status=401)
    body = json.loads(raw)
    metadata = body["call"]["metadata"]
    job_id, last = int(metadata["job_id"]), int(metadata["last"])
    with connection.cursor() as cursor:
        cursor.execute(TOUCH, [job_id])
    if body["event"] == "call_ended" and job_id + SLOTS <= last:
        floor_dial.apply_async((job_id + SLOTS, last))
    return JsonResponse({"status": "ok"})


urlpatterns = []


def wsgi():
    """Django's WSGI handler with this module as the URLconf and no middleware."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings.test")
    import django
    from django.conf import settings

    django.setup(set_prefix=False)
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import path

    urlpatterns.append(path("webhook", webhook))
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = []
    return WSGIHandler()
