"""Downloads of a batch's results and audit trail as .xlsx (``calls.exports``).

Scoped like every batch endpoint (``batches.selectors.batch_get``): operators with the view
permission see every account's batches, a client user only its own; another tenant's batch
answers 404.
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.renderers import JSONRenderer

from batches.api.base import VIEW, BatchAPIView, batch_or_404
from batches.api.schema import BATCH_ID, CAMPAIGN_REFUSALS
from calls import exports


def download(export: exports.Export) -> FileResponse:
    response = FileResponse(
        export.file,
        as_attachment=True,
        filename=export.filename,
        content_type=exports.XLSX_CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


XLSX_RESPONSE = OpenApiResponse(
    OpenApiTypes.BINARY,
    description="The .xlsx workbook (Content-Disposition: attachment).",
)


class _ExportView(BatchAPIView):
    # The success response is a file; the renderer only serves the JSON errors (401, 403, 404).
    renderer_classes = [JSONRenderer]
    # As the admin's export views: viewing the campaign is enough.
    operator_permissions = {"GET": [VIEW]}
    throttle_scope = "exports"

    def perform_content_negotiation(self, request, force=False):
        # A client asking for the spreadsheet (Accept: application/vnd...sheet) gets it, or
        # its error as JSON, never a 406.
        return super().perform_content_negotiation(request, force=True)


class BatchExportView(_ExportView):
    @extend_schema(
        operation_id="batches_export",
        summary="Download a campaign's results (.xlsx)",
        description="One row per debtor: RUT, name, phones, final status, attempts made, last "
        "outcome (Retell's disconnection reason) and its detail, last call time (in the "
        "campaign's time zone), total talk time in seconds and cost in credits. Streamed from "
        "the database in chunks, fit for 100,000 debtors. Text cells are always text: a value "
        "starting with =, +, - or @ is never a formula.",
        parameters=[BATCH_ID],
        responses={
            (200, exports.XLSX_CONTENT_TYPE): XLSX_RESPONSE,
            **CAMPAIGN_REFUSALS,
        },
    )
    def get(self, request, batch_id):
        return download(exports.export_results(batch=batch_or_404(request, batch_id)))


class BatchAuditExportView(_ExportView):
    @extend_schema(
        operation_id="batches_export_audit",
        summary="Download a campaign's audit trail (.xlsx)",
        description="Three sheets: the campaign log (created, paused, resumed, settings "
        "changed, retried, cancelled, completed, with the user), every call attempt (phone, "
        "status, outcome, disconnection reason, times, duration, cost, call id, recording, "
        "transcript) and every job event (deferrals, claims, outcomes).",
        parameters=[BATCH_ID],
        responses={
            (200, exports.XLSX_CONTENT_TYPE): XLSX_RESPONSE,
            **CAMPAIGN_REFUSALS,
        },
    )
    def get(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        return download(exports.export_audit(batch=batch, viewer=request.user))
