"""Campaign endpoints: list, create from JSON, detail, edit (pause/resume), cancel, status
and log."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from batches import selectors, services
from batches.api.base import (
    ADD,
    CHANGE,
    VIEW,
    BatchAPIView,
    batch_or_404,
    created_response,
    error_response,
    validated,
)
from batches.api.schema import (
    BATCH_EXAMPLE,
    BATCH_ID,
    CALL_SETTINGS_EXAMPLE,
    CAMPAIGN_REFUSALS,
    CREATED_EXAMPLE,
    CREATED_MESSAGE,
    FIELD_ERRORS,
    FORBIDDEN,
    PAGE_PARAMETERS,
    UNAUTHORIZED,
    bad_request,
    status_parameter,
)
from batches.models import Batch
from batches.serializers.requests import (
    BatchCreateSerializer,
    BatchListQuerySerializer,
    BatchUpdateSerializer,
    LogsQuerySerializer,
)
from batches.serializers.responses import (
    BatchCreateResponseSerializer,
    BatchDetailSerializer,
    BatchLogsSerializer,
    BatchSerializer,
    BatchStatusSerializer,
    CancelResponseSerializer,
)
from callcenter.api import BoundedJSONParser, Pagination
from calls import campaigns
from calls import selectors as call_selectors


class BatchListCreateView(BatchAPIView):
    operator_permissions = {"GET": [VIEW], "POST": [ADD]}
    parser_classes = [BoundedJSONParser]
    pagination_class = Pagination

    @extend_schema(
        operation_id="batches_list",
        summary="List campaigns",
        description="Newest first, paginated (page, page_size ≤ 500). Operators see every "
        "account and may filter by account_id; a client sees only its account (another "
        "account_id answers 400).",
        parameters=[
            OpenApiParameter("account_id", OpenApiTypes.STR, description="Account's public id."),
            status_parameter(Batch.Status),
            OpenApiParameter("is_active", OpenApiTypes.BOOL),
            OpenApiParameter("parent", OpenApiTypes.STR,
                             description="A recurring campaign's batch_id: its later runs."),
            OpenApiParameter("search", OpenApiTypes.STR,
                             description="Part of the campaign's name or batch_id."),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: BatchSerializer(many=True),
            **bad_request(
                OpenApiExample("Bad filter", value={"status": ['"paused2" is not a valid choice.']})
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
        },
    )
    def get(self, request):
        query = validated(BatchListQuerySerializer, request.query_params, request)
        queryset = selectors.batch_list(
            user=request.user,
            account=query.get("account_id"),
            status=query.get("status"),
            is_active=query.get("is_active"),
            parent=query.get("parent"),
            search=query.get("search"),
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, request, view=self)
        # One query for the page's live figures, whatever the campaigns' size.
        pks = [batch.pk for batch in page]
        context = {"request": request, "job_counts": selectors.job_counts(batch_ids=pks),
                   "attempt_totals": call_selectors.attempt_totals(batch_ids=pks)}
        body = BatchSerializer(page, many=True, context=context).data
        return paginator.get_paginated_response(body)

    @extend_schema(
        operation_id="batches_create",
        summary="Create a campaign from JSON",
        description="One job per debtor. RUTs and phones are normalised (E.164), the same RUT "
        "twice is merged (phones unioned) and, unless allow_duplicates is true, debtors with "
        "an open job in another active campaign of the account are skipped and reported in "
        "warnings. Any invalid contact refuses the whole request (400 naming "
        "contacts[i].field); nothing is stored. An immediate campaign starts at once (its "
        "first calls are queued after commit, at most the account's free call slots plus a "
        "small lookahead); a scheduled one waits for scheduled_at. estimated_cost = jobs × "
        "(setup + per-minute × min(2, max_call_duration/60) minutes), in credits.",
        request=BatchCreateSerializer,
        examples=[
            OpenApiExample(
                "New campaign",
                request_only=True,
                value={
                    "account_id": "retail-cobranzas",
                    "name": "Cartera octubre",
                    "description": "Mora 30-60 días",
                    "script_content": "Hola {{nombre}}...",
                    "voice_settings": {
                        "voice_id": "es-CL-female-1",
                        "speed": 1.0,
                        "pitch": 0,
                        "volume": 1.0,
                        "language": "es-CL",
                    },
                    "call_settings": CALL_SETTINGS_EXAMPLE,
                    "schedule_type": "immediate",
                    "priority": "high",
                    "allow_duplicates": False,
                    "dias_fecha_limite": 5,
                    "contacts": [
                        {
                            "name": "José Muñoz",
                            "rut": "12.345.678-5",
                            "phones": ["+56912345678", "9 8765 4321"],
                            "email": "jose@correo.cl",
                            "debt_amount": "150000",
                            "due_date": "2025-10-01",
                            "company_name": "Retail SpA",
                            "custom_fields": {"sucursal": "Centro"},
                        }
                    ],
                },
            )
        ],
        responses={
            201: OpenApiResponse(
                BatchCreateResponseSerializer,
                examples=[
                    OpenApiExample(
                        "Created",
                        value={
                            **CREATED_EXAMPLE,
                            "total_rows": 1,
                            "total_jobs": 1,
                            "invalid_rows": 0,
                            "duplicates_merged": 0,
                            "errors": [],
                            "warnings": [],
                        },
                    )
                ],
            ),
            **bad_request(FIELD_ERRORS),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
        },
    )
    def post(self, request):
        data = validated(BatchCreateSerializer, request.data, request)
        try:
            result = services.batch_create(user=request.user, **data)
        except services.BatchError as exc:
            return error_response(exc)
        return created_response(result)


class BatchDetailView(BatchAPIView):
    operator_permissions = {"GET": [VIEW], "PATCH": [CHANGE]}
    parser_classes = [BoundedJSONParser]

    @extend_schema(
        operation_id="batches_retrieve",
        summary="A campaign",
        parameters=[BATCH_ID],
        responses={
            200: OpenApiResponse(
                BatchDetailSerializer,
                examples=[
                    OpenApiExample(
                        "Campaign",
                        value={
                            **BATCH_EXAMPLE,
                            "script_content": "Hola {{nombre}}...",
                            "voice_settings": {
                                "voice_id": "",
                                "speed": 1.0,
                                "pitch": 0,
                                "volume": 1.0,
                                "language": "es-CL",
                            },
                            "call_settings": CALL_SETTINGS_EXAMPLE,
                            "recurring_config": None,
                            "import_errors": [{**CREATED_EXAMPLE["errors"][0], "level": "error"}],
                        },
                    )
                ],
            ),
            **CAMPAIGN_REFUSALS,
        },
    )
    def get(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        return Response(BatchDetailSerializer(batch, context={"request": request}).data)

    @extend_schema(
        operation_id="batches_partial_update",
        summary="Pause, resume or edit a campaign",
        description="is_active false pauses at once: no call starts after this response "
        "(calls in flight finish); true resumes (400 for a cancelled or completed campaign). "
        "call_settings is partial, merged onto the current settings and validated; it "
        "applies to every job not yet dialled, from its next claim. name, description and "
        "priority may change too. Each change is logged.",
        parameters=[BATCH_ID],
        request=BatchUpdateSerializer,
        examples=[
            OpenApiExample("Pause", request_only=True, value={"is_active": False}),
            OpenApiExample(
                "Edit settings",
                request_only=True,
                value={
                    "call_settings": {
                        "max_attempts": 5,
                        "allowed_hours": {"start": "10:00", "end": "18:00"},
                    }
                },
            ),
        ],
        responses={
            200: OpenApiResponse(BatchDetailSerializer),
            **bad_request(
                OpenApiExample(
                    "Resume a cancelled campaign",
                    value={"is_active": ["A cancelled campaign cannot be paused or resumed."]},
                ),
                OpenApiExample(
                    "Invalid setting",
                    value={"call_settings.max_attempts": ["Must be between 1 and 20."]},
                ),
            ),
            **CAMPAIGN_REFUSALS,
        },
    )
    def patch(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        data = validated(BatchUpdateSerializer, request.data, request)
        try:
            services.batch_update(batch=batch, user=request.user, **data)
        except services.BatchError as exc:
            return error_response(exc)
        return Response(BatchDetailSerializer(batch, context={"request": request}).data)


class BatchCancelView(BatchAPIView):
    operator_permissions = {"POST": [CHANGE]}

    @extend_schema(
        operation_id="batches_cancel",
        summary="Cancel a campaign",
        description="What has not started stops: pending jobs (and jobs not dialled yet) "
        "become cancelled at once (jobs_cancelled). A call already live finishes and its "
        "outcome decides its job's result (jobs_in_call): done after a conversation or a "
        "do-not-call request, failed when it was its last attempt or phone, cancelled when it "
        "would have been retried. Cancelling a cancelled campaign changes nothing; a "
        "completed one answers 400.",
        parameters=[BATCH_ID],
        request=None,
        responses={
            200: OpenApiResponse(
                CancelResponseSerializer,
                examples=[
                    OpenApiExample(
                        "Cancelled",
                        value={
                            "batch_id": "batch-2025-10-26-142744-439872",
                            "status": "cancelled",
                            "jobs_cancelled": 40,
                            "jobs_in_call": 2,
                        },
                    )
                ],
            ),
            **bad_request(
                OpenApiExample(
                    "Completed", value={"status": ["A completed campaign cannot be cancelled."]}
                )
            ),
            **CAMPAIGN_REFUSALS,
        },
    )
    def post(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        try:
            batch, cancelled, in_call = campaigns.batch_cancel(batch=batch, user=request.user)
        except services.BatchError as exc:
            return error_response(exc)
        return Response({"batch_id": batch.batch_id, "status": batch.status,
                         "jobs_cancelled": cancelled, "jobs_in_call": in_call})


class BatchStatusView(BatchAPIView):
    operator_permissions = {"GET": [VIEW]}

    @extend_schema(
        operation_id="batches_status",
        summary="Progress of a campaign",
        description="Jobs per status (one indexed GROUP BY), progress % = (done + failed + "
        "cancelled) / total, calls in flight, attempts made, contacted (answered by the "
        "debtor), cost so far (credits) and the next scheduled attempt (null when paused or "
        "finished).",
        parameters=[BATCH_ID],
        responses={
            200: OpenApiResponse(
                BatchStatusSerializer,
                examples=[
                    OpenApiExample(
                        "Status",
                        value={
                            "batch_id": "batch-2025-10-26-142744-439872",
                            "status": "running",
                            "is_active": True,
                            "total_jobs": 42,
                            "counts": {
                                "pending": 30,
                                "in_progress": 2,
                                "done": 8,
                                "failed": 2,
                                "cancelled": 0,
                            },
                            "progress_percent": 23.81,
                            "calls_in_flight": 2,
                            "attempts_made": 15,
                            "contacted": 8,
                            "cost_so_far": 1630.0,
                            "next_attempt_at": "2025-10-26T15:00:00Z",
                        },
                    )
                ],
            ),
            **CAMPAIGN_REFUSALS,
        },
    )
    def get(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        return Response(BatchStatusSerializer(call_selectors.batch_status(batch=batch)).data)


class BatchLogsView(BatchAPIView):
    operator_permissions = {"GET": [VIEW]}

    @extend_schema(
        operation_id="batches_logs",
        summary="Log of a campaign",
        description="Events newest first, each {timestamp, event, message, user} as the "
        "frontend reads them (event: batch_created, batch_started, batch_paused, ...) beside "
        'our own id, kind (the code), data and created_at; user is "system" for the engine.',
        parameters=[
            BATCH_ID,
            OpenApiParameter("limit", OpenApiTypes.INT, description="1-1000, default 100."),
        ],
        responses={
            200: OpenApiResponse(
                BatchLogsSerializer,
                examples=[
                    OpenApiExample(
                        "Logs",
                        value={
                            "batch_id": "batch-2025-10-26-142744-439872",
                            "logs": [
                                {
                                    "timestamp": "2025-10-26T15:02:11Z",
                                    "event": "batch_paused",
                                    "id": 2,
                                    "kind": "paused",
                                    "message": "Campaign paused.",
                                    "user": "ana",
                                    "data": {"status": "paused"},
                                    "created_at": "2025-10-26T15:02:11Z",
                                },
                                {
                                    "timestamp": "2025-10-26T14:27:44Z",
                                    "event": "batch_created",
                                    "id": 1,
                                    "kind": "created",
                                    "message": CREATED_MESSAGE,
                                    "user": "ana",
                                    "data": {"total_jobs": 42},
                                    "created_at": "2025-10-26T14:27:44Z",
                                },
                            ],
                        },
                    )
                ],
            ),
            **bad_request(
                OpenApiExample(
                    "Bad limit",
                    value={"limit": ["Ensure this value is less than or equal to 1000."]},
                )
            ),
            **CAMPAIGN_REFUSALS,
        },
    )
    def get(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        query = validated(LogsQuerySerializer, request.query_params, request)
        events = selectors.batch_events(batch=batch, limit=query["limit"])
        logs = {"batch_id": batch.batch_id, "logs": events}
        return Response(BatchLogsSerializer(logs, context={"request": request}).data)
