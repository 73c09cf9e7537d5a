"""``GET /api/v1/dashboard`` and ``GET /api/v1/options``: what a frontend shows on its home
page and what its forms must accept.

The dashboard is the operators' admin dashboard (``calls.dashboard.dashboard_data``) as JSON,
for the client's own account, or for staff (holding the view permissions of campaigns and
calls) every account or ``?account_id=``. It is bounded (five queries over at most the last
31 days' attempts), so every open tab may poll it every 30 s. The options are read from the
rules the server applies (``accounts.compliance``, ``batches.call_settings``, the account
model), so a form validates the same way.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Account
from accounts.permissions import ModelPermissions
from calls import dashboard, options
from calls.serializers import DashboardSerializer, OptionsSerializer

VIEW_PERMISSIONS = ["batches.view_batch", "calls.view_callattempt"]


class DashboardView(APIView):
    permission_classes = [ModelPermissions]
    client_actions = frozenset({"GET"})
    operator_permissions = {"GET": VIEW_PERMISSIONS}

    @extend_schema(
        summary="Dashboard figures",
        description=(
            "Calls today, live calls, today's contact rate, spend today and this month, "
            "campaigns running and paused, outcomes of the open and recent campaigns (at most "
            "8) and calls per day over the last 30 days. Days are in the account's time zone "
            "(all accounts: the server's). A client sees its own account; an operator needs "
            "the view permissions of campaigns and calls and sees every account, or one with "
            "account_id. Cheap enough to poll every 30 s."
        ),
        parameters=[
            OpenApiParameter(
                "account_id",
                OpenApiTypes.STR,
                description="One account (operators; a client may name only its own).",
            )
        ],
        responses={200: DashboardSerializer, 404: OpenApiResponse(description="No such account.")},
    )
    def get(self, request):
        account = self._account(request)
        tz = ZoneInfo(account.timezone) if account is not None else None
        data = dashboard.dashboard_data(
            account_id=None if account is None else account.pk, tz=tz
        )
        body = {
            **data,
            "account_id": None if account is None else account.account_id,
            "time_zone": (tz or timezone.get_current_timezone()).key,
        }
        return Response(DashboardSerializer(body).data, headers={"Cache-Control": "no-store"})

    @staticmethod
    def _account(request) -> Account | None:
        user, wanted = request.user, request.query_params.get("account_id")
        if not user.is_staff:
            if user.account_id is None:
                raise PermissionDenied(_("This user belongs to no account."))
            if wanted not in (None, "", user.account.account_id):
                raise NotFound(_("No such account."))
            return user.account
        if not wanted:
            return None
        account = Account.objects.filter(account_id=wanted).first()
        if account is None:
            raise NotFound(_("No such account."))
        return account


class OptionsView(APIView):
    @extend_schema(
        summary="What the forms may offer",
        description=(
            "Time zones per compliance profile, the profiles' calling windows and weekly "
            "limits, the variables a script may use, and the limits of every setting, read "
            "from the rules the server validates with."
        ),
        responses={200: OptionsSerializer},
    )
    def get(self, request):
        return Response(OptionsSerializer(options.options()).data)
