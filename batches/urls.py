"""Routes of the batches API, under /api/v1/ (see callcenter/urls.py).

The contract's paths have no trailing slash (``/api/v1/batches/{batch_id}/status``); one is
accepted too. ``(?:/)?`` keeps the slash out of the OpenAPI paths.
"""

from django.urls import re_path

from batches import api

BATCH = r"^batches/(?P<batch_id>[A-Za-z0-9_.:-]+)"
SLASH = r"(?:/)?$"

urlpatterns = [
    re_path(r"^batches" + SLASH, api.BatchListCreateView.as_view(), name="batch-list"),
    re_path(
        r"^batches/excel/preview" + SLASH,
        api.ExcelPreviewView.as_view(),
        name="batch-excel-preview",
    ),
    re_path(
        r"^batches/excel/create" + SLASH, api.ExcelCreateView.as_view(), name="batch-excel-create"
    ),
    re_path(BATCH + SLASH, api.BatchDetailView.as_view(), name="batch-detail"),
    re_path(BATCH + r"/cancel" + SLASH, api.BatchCancelView.as_view(), name="batch-cancel"),
    re_path(BATCH + r"/status" + SLASH, api.BatchStatusView.as_view(), name="batch-status"),
    re_path(BATCH + r"/jobs" + SLASH, api.BatchJobsView.as_view(), name="batch-jobs"),
    re_path(BATCH + r"/logs" + SLASH, api.BatchLogsView.as_view(), name="batch-logs"),
]
