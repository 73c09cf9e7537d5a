"""A campaign's jobs, each with its call attempts."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema

from batches.api.base import VIEW, BatchAPIView, batch_or_404, validated
from batches.api.schema import (
    BATCH_ID,
    CAMPAIGN_REFUSALS,
    PAGE_PARAMETERS,
    bad_request,
    status_parameter,
)
from batches.models import Job
from batches.serializers.requests import JobListQuerySerializer
from batches.serializers.responses import JobSerializer
from callcenter.api import Pagination
from calls import selectors as call_selectors


class JobPagination(Pagination):
    page_size = 100
    max_page_size = 1000


class BatchJobsView(BatchAPIView):
    operator_permissions = {"GET": [VIEW, "batches.view_job"]}
    pagination_class = JobPagination

    @extend_schema(
        operation_id="batches_jobs",
        summary="Jobs of a campaign",
        description="In id order, paginated (page, page_size ≤ 1000), each with its call "
        "attempts; filtered by status and/or search (the debtor's name, RUT or phone).",
        parameters=[
            BATCH_ID,
            status_parameter(Job.Status),
            OpenApiParameter("search", OpenApiTypes.STR, description="Part of the debtor's "
                             "name, RUT (dots optional) or phone (digits, spaces optional)."),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: JobSerializer(many=True),
            **bad_request(
                OpenApiExample("Bad filter", value={"status": ['"open" is not a valid choice.']})
            ),
            **CAMPAIGN_REFUSALS,
        },
    )
    def get(self, request, batch_id):
        batch = batch_or_404(request, batch_id)
        query = validated(JobListQuerySerializer, request.query_params, request)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(
            call_selectors.job_list(
                batch=batch, status=query.get("status"), search=query.get("search")
            ),
            request,
            view=self,
        )
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)
