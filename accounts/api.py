"""The accounts REST API (``/api/v1/accounts``): thin views over the services and selectors.

Operators (staff) see and manage every account, each operation with its Django permission
(``accounts.permissions``): view for reads, add, change (suspend and reactivate too),
``topup_account`` for top-ups and an initial balance, ``change_compliance_profile`` for the
profile. A client user reads only its own account; another account answers 404, and what
only operators may do answers 403.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from calls import selectors as call_selectors

from . import selectors, services
from .models import Account
from .permissions import (
    CHANGE_COMPLIANCE_PROFILE,
    TOPUP,
    ModelPermissions,
    model_permission,
    require,
)
from .serializers import (
    AccountBalanceSerializer,
    AccountCreateSerializer,
    AccountListQuerySerializer,
    AccountSerializer,
    AccountStatsSerializer,
    AccountUpdateSerializer,
    LedgerEntrySerializer,
    TopupResultSerializer,
    TopupSerializer,
)

# Model fields that the API nests: a service's ValidationError is reported where the body put
# the value, like the serializers' own errors.
NESTED_FIELDS = {
    "max_concurrent_calls": "features",
    "timezone": "settings",
    "compliance_profile": "settings",
}
VIEW, ADD, CHANGE = (model_permission(Account, action) for action in ("view", "add", "change"))
DEFAULT_COMPLIANCE_PROFILE = Account._meta.get_field("compliance_profile").default


def api_validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A model or service ValidationError in the API's error shape."""
    if not hasattr(exc, "error_dict"):
        return serializers.ValidationError({"non_field_errors": exc.messages})
    errors: dict = {}
    for field, messages in exc.message_dict.items():
        if field == NON_FIELD_ERRORS:
            errors["non_field_errors"] = messages
        elif field in NESTED_FIELDS:
            errors[f"{NESTED_FIELDS[field]}.{field}"] = messages
        else:
            errors[field] = messages
    return serializers.ValidationError(errors)


# --- Schema documentation ---------------------------------------------------------------------

ACCOUNT_ID = OpenApiParameter(
    "account_id", OpenApiTypes.STR, OpenApiParameter.PATH, description=_("The account's slug.")
)
ERROR_RESPONSES = {
    401: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=_("No or invalid credentials."),
        examples=[
            OpenApiExample(
                "Unauthenticated",
                value={"detail": "Authentication credentials were not provided."},
            )
        ],
    ),
    403: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=_("Only operators (staff) holding the operation's permission may do this."),
        examples=[
            OpenApiExample("Forbidden", value={"detail": "Only operators can do this."}),
            OpenApiExample(
                "Permission missing",
                value={"detail": "You need the permission accounts.topup_account to do this."},
            ),
        ],
    ),
}
NOT_FOUND = {
    404: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=_("No such account, or it belongs to another client."),
        examples=[OpenApiExample("Not found", value={"detail": "No Account matches the query."})],
    )
}


def bad_request(*examples: OpenApiExample) -> dict:
    return {
        400: OpenApiResponse(
            OpenApiTypes.OBJECT,
            description=_(
                "Validation failed: an object whose keys are the dotted names of the wrong "
                "fields (for example features.max_concurrent_calls), each a list of messages."
            ),
            examples=list(examples),
        )
    }


ACCOUNT_EXAMPLE = {
    "account_id": "retail-cobranzas",
    "account_name": "Retail Cobranzas SpA",
    "contact_name": "Ana Pérez",
    "contact_email": "ana@retail.cl",
    "contact_phone": "+56912345678",
    "plan_type": "credit_based",
    "status": "active",
    "features": {"max_concurrent_calls": 5},
    "settings": {"timezone": "America/Santiago", "compliance_profile": "CL"},
    "cost_per_call_setup": 5.0,
    "cost_per_minute": 50.0,
    "balance": {"credits": 10000.0, "minutes": 0.0, "total_spent": 0.0},
    "created_at": "2025-03-03T12:00:00Z",
    "updated_at": "2025-03-03T12:00:00Z",
}
CREATE_EXAMPLE = {
    "account_id": "retail-cobranzas",
    "account_name": "Retail Cobranzas SpA",
    "contact_name": "Ana Pérez",
    "contact_email": "ana@retail.cl",
    "contact_phone": "+56912345678",
    "plan_type": "credit_based",
    "initial_credits": "10000",
    "features": {"max_concurrent_calls": 5},
    "settings": {"timezone": "America/Santiago", "compliance_profile": "CL"},
    "cost_per_call_setup": "5",
    "cost_per_minute": "50",
}
ACCOUNT_RESPONSE = OpenApiResponse(
    AccountSerializer, examples=[OpenApiExample("Account", value=ACCOUNT_EXAMPLE)]
)
FIELD_ERRORS = OpenApiExample(
    "Invalid fields",
    value={
        "contact_email": ["Enter a valid email address."],
        "plan_type": ['"gold" is not a valid choice.'],
        "features": {"max_concurrent_calls": ["Ensure this value is less than or equal to 50."]},
        "settings": {
            "timezone": [
                "Unknown time zone Mars/Olympus: use an IANA name such as America/Santiago."
            ]
        },
    },
)


@extend_schema_view(
    list=extend_schema(
        summary=_("List accounts"),
        description=_(
            "Operators see every account; a client sees only its own. Sorted by name; "
            "search narrows them to those whose name or id contains the text."
        ),
        parameters=[
            OpenApiParameter(
                "search",
                OpenApiTypes.STR,
                description=_("Text the account's name or id contains (any case)."),
            )
        ],
        responses={
            200: OpenApiResponse(
                AccountSerializer(many=True),
                examples=[
                    OpenApiExample(
                        "Accounts",
                        value=ACCOUNT_EXAMPLE,
                    )
                ],
            ),
            **ERROR_RESPONSES,
        },
    ),
    create=extend_schema(
        summary=_("Create an account"),
        description=_(
            "Operators only. The initial credits and minutes are recorded in the ledger as "
            "top-ups. Omitted settings take their defaults: 5 concurrent calls, "
            "America/Santiago, the CL compliance profile, and the default prices "
            "(DEFAULT_COST_PER_CALL_SETUP, DEFAULT_COST_PER_MINUTE)."
        ),
        request=AccountCreateSerializer,
        examples=[OpenApiExample("New account", value=CREATE_EXAMPLE, request_only=True)],
        responses={
            201: ACCOUNT_RESPONSE,
            **bad_request(
                FIELD_ERRORS,
                OpenApiExample(
                    "Duplicate id",
                    value={"account_id": ["account with this account id already exists."]},
                ),
            ),
            **ERROR_RESPONSES,
        },
    ),
    retrieve=extend_schema(
        summary=_("Get an account"),
        parameters=[ACCOUNT_ID],
        responses={200: ACCOUNT_RESPONSE, **ERROR_RESPONSES, **NOT_FOUND},
    ),
    partial_update=extend_schema(
        summary=_("Change an account"),
        description=_(
            "Operators only. Any subset of contact details, plan, limits, pricing and "
            "settings; the balance changes only through top-ups."
        ),
        parameters=[ACCOUNT_ID],
        request=AccountUpdateSerializer,
        examples=[
            OpenApiExample(
                "Raise the limit",
                value={"features": {"max_concurrent_calls": 10}, "cost_per_minute": "45"},
                request_only=True,
            )
        ],
        responses={
            200: ACCOUNT_RESPONSE,
            **bad_request(FIELD_ERRORS),
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    ),
)
class AccountViewSet(viewsets.GenericViewSet):
    serializer_class = AccountSerializer
    permission_classes = [ModelPermissions]
    operator_permissions = {
        "list": [VIEW],
        "retrieve": [VIEW],
        "balance": [VIEW],
        "stats": [VIEW],
        "ledger": [VIEW],
        "create": [ADD],
        "partial_update": [CHANGE],
        "suspend": [CHANGE],
        "reactivate": [CHANGE],
        # The admin's top-up is an action of the account list, which needs view too.
        "topup": [VIEW, TOPUP],
    }
    client_actions = {"list", "retrieve", "balance", "stats", "ledger"}
    lookup_field = "account_id"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_queryset(self):
        return selectors.accounts_visible_to(self.request.user)

    def get_serializer_class(self):
        return {
            "create": AccountCreateSerializer,
            "partial_update": AccountUpdateSerializer,
            "topup": TopupSerializer,
        }.get(self.action, AccountSerializer)

    def _account_response(self, account: Account, code=status.HTTP_200_OK) -> Response:
        return Response(
            AccountSerializer(account, context=self.get_serializer_context()).data, status=code
        )

    def _check_compliance_profile(self, data: dict, *, current: str) -> None:
        """Choosing the legal calling rules is a permission of its own (403 naming the field)."""
        if data.get("compliance_profile", current) != current:
            require(
                self.request.user,
                CHANGE_COMPLIANCE_PROFILE,
                field=("settings", "compliance_profile"),
            )

    def list(self, request):
        query = AccountListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)  # a 400 naming "search"
        accounts = selectors.accounts_search(
            self.get_queryset(), text=query.validated_data.get("search", "")
        )
        page = self.paginate_queryset(accounts)
        return self.get_paginated_response(AccountSerializer(page, many=True).data)

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self._check_compliance_profile(data, current=DEFAULT_COMPLIANCE_PROFILE)
        for field in ("initial_credits", "initial_minutes"):
            if data.get(field):
                require(request.user, TOPUP, field=field)
        try:
            account = services.account_create(user=request.user, **data)
        except DjangoValidationError as exc:
            raise api_validation_error(exc)
        except IntegrityError:
            # Two requests raced for the same account_id past the uniqueness check.
            if Account.objects.filter(account_id=data.get("account_id")).exists():
                raise serializers.ValidationError(
                    {"account_id": [_("account with this account id already exists.")]}
                )
            raise
        account.refresh_from_db()
        return self._account_response(account, status.HTTP_201_CREATED)

    def retrieve(self, request, account_id=None):
        return self._account_response(self.get_object())

    def partial_update(self, request, account_id=None):
        account = self.get_object()
        serializer = self.get_serializer(account, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self._check_compliance_profile(data, current=account.compliance_profile)
        try:
            account = services.account_update(account=account, **data)
        except DjangoValidationError as exc:
            raise api_validation_error(exc)
        return self._account_response(account)

    @extend_schema(
        summary=_("Suspend an account"),
        description=_(
            "Operators only. No new calls are placed for a suspended account; calls in "
            "progress finish. Suspending a suspended account changes nothing."
        ),
        parameters=[ACCOUNT_ID],
        request=None,
        responses={200: ACCOUNT_RESPONSE, **ERROR_RESPONSES, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def suspend(self, request, account_id=None):
        account = services.account_set_status(
            account=self.get_object(), status=Account.Status.SUSPENDED
        )
        account.refresh_from_db(fields=["status", "updated_at"])
        return self._account_response(account)

    @extend_schema(
        summary=_("Reactivate an account"),
        description=_("Operators only. Reactivating an active account changes nothing."),
        parameters=[ACCOUNT_ID],
        request=None,
        responses={200: ACCOUNT_RESPONSE, **ERROR_RESPONSES, **NOT_FOUND},
    )
    @action(detail=True, methods=["post"])
    def reactivate(self, request, account_id=None):
        account = services.account_set_status(
            account=self.get_object(), status=Account.Status.ACTIVE
        )
        account.refresh_from_db(fields=["status", "updated_at"])
        return self._account_response(account)

    @extend_schema(
        summary=_("Top up an account"),
        description=_(
            "Operators only. Adds credits, minutes or both (each above zero); every amount "
            "is a ledger entry with the reference."
        ),
        parameters=[ACCOUNT_ID],
        request=TopupSerializer,
        examples=[
            OpenApiExample(
                "Credits",
                value={"credits": "5000", "reference": "factura 1234"},
                request_only=True,
            )
        ],
        responses={
            200: OpenApiResponse(
                TopupResultSerializer,
                examples=[
                    OpenApiExample(
                        "Topped up",
                        value={
                            "account_id": "retail-cobranzas",
                            "balance": {
                                "credits": 15000.0,
                                "minutes": 0.0,
                                "total_spent": 0.0,
                            },
                            "entries": [
                                {
                                    "id": 42,
                                    "kind": "topup",
                                    "unit": "credits",
                                    "amount": 5000.0,
                                    "balance_after": 15000.0,
                                    "reason": "Top-up",
                                    "reference": "factura 1234",
                                    "created_at": "2025-03-03T12:00:00Z",
                                }
                            ],
                        },
                        response_only=True,
                    )
                ],
            ),
            **bad_request(
                OpenApiExample(
                    "Nothing to add",
                    value={
                        "credits": ["Give credits, minutes or both."],
                        "minutes": ["Give credits, minutes or both."],
                    },
                ),
                OpenApiExample("Negative", value={"credits": ["Must be greater than zero."]}),
            ),
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["post"])
    def topup(self, request, account_id=None):
        account = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            entries = services.account_topup(
                account=account, user=request.user, **serializer.validated_data
            )
        except DjangoValidationError as exc:
            raise api_validation_error(exc)
        account.refresh_from_db()
        result = {"account_id": account.account_id, "balance": account, "entries": entries}
        return Response(TopupResultSerializer(result).data)

    @extend_schema(
        summary=_("Balance and usage"),
        description=_(
            "The balance, this calendar month's usage in the account's time zone, and the "
            "estimated date the plan's balance runs out at the last 30 days' rate."
        ),
        parameters=[ACCOUNT_ID],
        responses={
            200: OpenApiResponse(
                AccountBalanceSerializer,
                examples=[
                    OpenApiExample(
                        "Balance",
                        value={
                            "account_id": "retail-cobranzas",
                            "current_balance": {
                                "credits": 8450.0,
                                "minutes": 0.0,
                                "total_spent": 1550.0,
                            },
                            "usage_this_month": {
                                "credits_used": 1550.0,
                                "minutes_used": 0.0,
                                "total_cost": 1550.0,
                            },
                            "estimated_depletion_date": "2025-07-14T04:00:00Z",
                        },
                    )
                ],
            ),
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"])
    def balance(self, request, account_id=None):
        account = self.get_object()
        summary = call_selectors.account_balance_summary(account=account)
        body = {"account_id": account.account_id, **summary}
        return Response(AccountBalanceSerializer(body).data)

    @extend_schema(
        summary=_("Campaign statistics"),
        parameters=[ACCOUNT_ID],
        responses={
            200: OpenApiResponse(
                AccountStatsSerializer,
                examples=[
                    OpenApiExample(
                        "Stats",
                        value={
                            "account_id": "retail-cobranzas",
                            "total_batches": 3,
                            "active_batches": 1,
                            "total_jobs": 1200,
                            "completed_jobs": 800,
                            "success_rate": 62.5,
                            "total_cost_this_month": 1550.0,
                        },
                    )
                ],
            ),
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"])
    def stats(self, request, account_id=None):
        account = self.get_object()
        stats = call_selectors.account_stats(account=account)
        return Response(AccountStatsSerializer({"account_id": account.account_id, **stats}).data)

    @extend_schema(
        summary=_("Ledger entries"),
        description=_(
            "Every change of the balance (top-ups, call reservations and settlements, "
            "refunds, adjustments), the newest first, paginated: page and page_size."
        ),
        parameters=[ACCOUNT_ID],
        responses={
            200: LedgerEntrySerializer(many=True),
            **ERROR_RESPONSES,
            **NOT_FOUND,
        },
    )
    @action(detail=True, methods=["get"])
    def ledger(self, request, account_id=None):
        account = self.get_object()
        page = self.paginate_queryset(selectors.ledger_of(account=account))
        return self.get_paginated_response(LedgerEntrySerializer(page, many=True).data)
