"""A campaign's jobs, each with its call attempts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from batches.api.base import VIEW, BatchAPIView, BatchPagination, batch_or_404, validated
from batches.api.schema import BATCH_ID, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, bad_request
from batches.serializers.requests import JobListQuerySerializer
from batches.serializers.responses import JobSerializer
from calls import selectors as call_selectors


class JobPagination(BatchPagination):
    page_size = 100
    max_page_size = 1000


class BatchJobsView(BatchAPIView):
    operator_permissions = {"GET": [VIEW, "batches.view_job"]}
    pagination_class = JobPagination

    @extend_schema(
        operation_id="batches_jobs",
        summary="Jobs of a campaign",
        description="In id order, paginated (page, page_size ≤ 1000), each with its call attempts.",
        parameters=[
            BATCH_ID,
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["pending", "in_progress", "done", "failed", "cancelled"],
            ),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT),
        ],
        responses={
            200: JobSerializer(many=True),
            **bad_request(
                OpenApiExample("Bad filter", value={"status": ['"open" is not a valid choice.']})
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def get(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        query = validated(JobListQuerySerializer, request.query_params, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            call_selectors.job_list(batch=batch, status=query.get("status")), request, view=self
        )
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)
