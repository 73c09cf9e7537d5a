"""The campaign jobs list's search (``GET /batches/{id}/jobs?search=``) in the 100,000-job
campaign of the database ``bench/scale.py`` built (cc_scale_bench_large): a RUT, the same RUT
with dots, a phone and part of a name, p50/p95 over 50 requests each.

    .venv/bin/python bench/scale_job_search.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DJANGO_SETTINGS_MODULE"] = "callcenter.settings.test"
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cc_scale_bench_large")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from batches.models import Batch, Job  # noqa: E402


def main() -> None:
    settings.ALLOWED_HOSTS = ["*"]
    export = Batch.objects.get(batch_id="scale-export-100k")
    client = Client()
    client.force_login(get_user_model().objects.filter(account_id=export.account_id).first())
    last = Job.objects.filter(batch=export).exclude(rut="").order_by("-id").first()
    body, digit = last.rut.split("-")
    terms = [("a RUT", last.rut), ("the RUT with dots", f"{int(body):,}".replace(",", ".") +
                                    f"-{digit}"),
             ("a phone", last.contact["phones"][0]), ("part of a name", "Gonz")]
    print(f"load average {os.getloadavg()}")
    for name, term in terms:
        times = []
        for _ in range(50):
            started = time.perf_counter()
            response = client.get(f"/api/v1/batches/{export.batch_id}/jobs",
                                  {"page_size": 100, "search": term})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.content[:200]
        times.sort()
        print(f"search by {name} ({term!r}): {response.json()['count']} found, "
              f"p50 {statistics.median(times):.1f} ms, p95 {times[47]:.1f} ms")


if __name__ == "__main__":
    main()
