"""Routes of the batch exports, under /api/v1/ (included by callcenter/urls.py)."""

from django.urls import re_path

from batches import export_views
from batches.urls import BATCH, SLASH

urlpatterns = [
    re_path(
        BATCH + r"/export" + SLASH, export_views.BatchExportView.as_view(), name="batch-export"
    ),
    re_path(
        BATCH + r"/export/audit" + SLASH,
        export_views.BatchAuditExportView.as_view(),
        name="batch-export-audit",
    ),
]
