"""Routes of the batches API, under /api/v1/ (see callcenter/urls.py).

The contract's paths have no trailing slash (``/api/v1/batches/{batch_id}/status``); one is
accepted too. ``(?:/)?`` keeps the slash out of the OpenAPI paths.
"""

from django.urls import re_path

from batches.api import campaigns, excel, jobs

BATCH = r"^batches/(?P<batch_id>[A-Za-z0-9_.:-]+)"
SLASH = r"(?:/)?$"

urlpatterns = [
    re_path(r"^batches" + SLASH, campaigns.BatchListCreateView.as_view(), name="batch-list"),
    re_path(
        r"^batches/excel/preview" + SLASH,
        excel.ExcelPreviewView.as_view(),
        name="batch-excel-preview",
    ),
    re_path(
        r"^batches/excel/create" + SLASH, excel.ExcelCreateView.as_view(), name="batch-excel-create"
    ),
    re_path(BATCH + SLASH, campaigns.BatchDetailView.as_view(), name="batch-detail"),
    re_path(BATCH + r"/cancel" + SLASH, campaigns.BatchCancelView.as_view(), name="batch-cancel"),
    re_path(BATCH + r"/status" + SLASH, campaigns.BatchStatusView.as_view(), name="batch-status"),
    re_path(BATCH + r"/jobs" + SLASH, jobs.BatchJobsView.as_view(), name="batch-jobs"),
    re_path(BATCH + r"/logs" + SLASH, campaigns.BatchLogsView.as_view(), name="batch-logs"),
]
