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
        status = query.get("status")
        jobs = call_selectors.job_list(batch=batch, status=status, search=query.get("search"))
        if query.get("search"):
            # A search's matches are counted (within the one campaign); the whole list's
            # size comes from the campaign's counters.
            paginator.jobs = jobs.count()
        else:
            counts = job_counts(batch_ids=[batch.pk])[batch.pk]
            paginator.jobs = counts.get(status, 0) if status else sum(counts.values())
        page = paginator.paginate_queryset(jobs, request, view=self)
        return paginator.get_paginated_response(JobSerializer(page, many=True).data)
