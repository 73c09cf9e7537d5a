"""Routes of the batch exports, under /api/v1/ (included by callcenter/urls.py)."""

from django.urls import re_path

from batches.api import exports
from batches.urls import BATCH, SLASH

urlpatterns = [
    re_path(BATCH + r"/export" + SLASH, exports.BatchExportView.as_view(), name="batch-export"),
    re_path(
        BATCH + r"/export/audit" + SLASH,
        exports.BatchAuditExportView.as_view(),
        name="batch-export-audit",
    ),
]
