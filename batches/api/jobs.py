"""A campaign's jobs, each with its call attempts."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema

from batches.api.base import VIEW, BatchAPIView, batch_or_404, validated
from batches.api.schema import (
    BATCH_ID,
    CAMPAIGN_REFUSALS,
    PAGE_PARAMETERS,
    bad_request,
    status_parameter,
)
from batches.models import Job
from batches.selectors import job_counts
from batches.serializers.requests import JobListQuerySerializer
from batches.serializers.responses import JobSerializer
from callcenter.api import CountedPaginator, Pagination
from calls import selectors as call_selectors


class JobPagination(Pagination):
    """Pages of a campaign's jobs (100,000 and more): counted from the campaign's counters,
    each page read by its ids first (``CountedPaginator``)."""

    page_size = 100
    max_page_size = 1000
    jobs = 0  # how many jobs the list has (set by the view)

    def django_paginator_class(self, queryset, page_size):
        return CountedPaginator(queryset, page_size, count=self.jobs)


class BatchJobsView(BatchAPIView):
    operator_permissions = {"GET": [VIEW, "batches.view_job"]}
    pagination_class = JobPagination

    @extend_schema(
        operation_id="batches_jobs",
        summary="Jobs of a campaign",
        description="In id order, paginated (page, page_size ≤ 1000), each with its call attempts.",
        parameters=[
            BATCH_ID,
            status_parameter(Job.Status),
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
        counts = job_counts(batch_ids=[batch.pk])[batch.pk]
        status = query.get("status")
        paginator.jobs = counts.get(status, 0) if status else sum(counts.values())
        page = paginator.paginate_queryset(
            call_selectors.job_list(batch=batch, status=status), request, view=self
        )
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)
