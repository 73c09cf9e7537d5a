"""What every batches API view shares: its permissions, pagination and error answers."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import ModelPermissions
from batches import selectors, services
from batches.serializers.responses import BatchCreateResponseSerializer
from callcenter.api import flatten_errors

VIEW, ADD, CHANGE = "batches.view_batch", "batches.add_batch", "batches.change_batch"
# A client user may do all of this on its own account's campaigns.
CLIENT_METHODS = frozenset({"GET", "POST", "PATCH"})


class BatchAPIView(APIView):
    """A batch endpoint: ``operator_permissions`` maps each HTTP method to the permissions a
    staff user needs."""

    permission_classes = [ModelPermissions]
    client_actions = CLIENT_METHODS
    operator_permissions: dict[str, list[str]] = {}


def validated(serializer_class, data, request, **kwargs) -> dict:
    serializer = serializer_class(data=data, context={"request": request}, **kwargs)
    if not serializer.is_valid():
        raise ValidationError(flatten_errors(serializer.errors))
    return serializer.validated_data


def error_response(exc: services.BatchError, **extra) -> Response:
    body = {**extra, **exc.errors}
    if exc.rows:
        body["errors"] = exc.rows
    return Response(body, status=status.HTTP_400_BAD_REQUEST)


def batch_or_404(request, batch_id: str):
    batch = selectors.batch_get(user=request.user, batch_id=batch_id)
    if batch is None:
        raise NotFound(_("No campaign with this id."))
    return batch


def created_response(result: services.BatchCreateResult) -> Response:
    body = {
        "success": True,
        "batch_id": result.batch.batch_id,
        "status": result.batch.status,
        "total_jobs": result.total_jobs,
        "total_rows": result.total_rows,
        "invalid_rows": result.invalid_rows,
        "duplicates_merged": result.duplicates_merged,
        "skipped_existing": result.skipped_existing,
        "estimated_cost": result.batch.estimated_cost,
        "errors": result.errors,
        "warnings": result.warnings,
    }
    return Response(BatchCreateResponseSerializer(body).data, status=status.HTTP_201_CREATED)
