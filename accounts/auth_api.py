"""Session login for the web frontend (``/api/v1/auth/...``), a browser app on the same origin.

The app reads ``GET /auth/csrf`` (sets the ``csrftoken`` cookie, and returns it), then sends
it as ``X-CSRFToken`` with ``POST /auth/login`` and every later unsafe request; the session
cookie then authenticates it (DRF's SessionAuthentication, next to API tokens). The login is
guarded like the admin's (accounts.lockout): locked out, 429 with Retry-After.
"""

from django.contrib.auth import login, logout
from django.middleware.csrf import get_token
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from .lockout import LoginLocked, login_authenticate


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_staff = serializers.BooleanField(help_text=_("An operator: sees every account."))
    account_id = serializers.CharField(
        source="account.account_id", allow_null=True, help_text=_("None for operators.")
    )
    account_name = serializers.CharField(source="account.account_name", allow_null=True)


class CsrfSerializer(serializers.Serializer):
    csrf_token = serializers.CharField()


ME_EXAMPLE = OpenApiExample(
    "Client user",
    value={
        "username": "ana",
        "is_staff": False,
        "account_id": "retail-cobranzas",
        "account_name": "Retail Cobranzas SpA",
    },
)


def _error(name: str, description: str, detail: str) -> OpenApiResponse:
    return OpenApiResponse(
        OpenApiTypes.OBJECT,
        description=description,
        examples=[OpenApiExample(name, value={"detail": detail})],
    )


CSRF_FAILED = _error(
    "CSRF failed",
    "No or wrong CSRF token (X-CSRFToken header and csrftoken cookie).",
    "CSRF Failed: CSRF cookie not set.",
)


class AnonymousView(APIView):
    """Reached before any login: reads no credentials, refuses nobody (so a POST checks its
    CSRF token itself: DRF does so only for session-authenticated requests)."""

    authentication_classes = []
    permission_classes = [permissions.AllowAny]


class CsrfView(AnonymousView):
    @extend_schema(
        operation_id="auth_csrf",
        summary="Get a CSRF token",
        description="Sets the csrftoken cookie and returns its value; send it as the "
        "X-CSRFToken header of POST /auth/login, /auth/logout and every unsafe request made "
        "with the session.",
        responses={200: CsrfSerializer},
    )
    def get(self, request):
        return Response({"csrf_token": get_token(request)})


class LoginView(AnonymousView):
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="auth_login",
        summary="Log in (session)",
        description="Starts a session (the sessionid cookie) and answers who is logged in. "
        "CSRF protected. After 5 failed logins within a minute for a username or from one "
        "address (LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_SECONDS), both are refused for a minute, "
        "the right password too: 429 with Retry-After.",
        request=LoginSerializer,
        responses={
            200: OpenApiResponse(MeSerializer, examples=[ME_EXAMPLE]),
            400: _error(
                "Wrong credentials",
                "Wrong username or password, or a field missing (named).",
                "Wrong username or password.",
            ),
            403: CSRF_FAILED,
            429: _error(
                "Locked out",
                "Too many failed logins: locked out (Retry-After: seconds).",
                "Too many failed logins. Expected available in 42 seconds.",
            ),
        },
    )
    def post(self, request):
        # An anonymous POST: DRF only checks CSRF for session-authenticated requests.
        SessionAuthentication().enforce_csrf(request)
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            user = login_authenticate(request=request, **serializer.validated_data)
        except LoginLocked as exc:
            # DRF adds "Expected available in N seconds." and the Retry-After header.
            raise Throttled(wait=exc.retry_after, detail=gettext("Too many failed logins."))
        if user is None:
            wrong = {"detail": gettext("Wrong username or password.")}
            return Response(wrong, status=status.HTTP_400_BAD_REQUEST)
        login(request, user)
        return Response(MeSerializer(user).data)


class LogoutView(APIView):
    # Only a session can be ended; DRF checks its CSRF token. Without one: nothing to do.
    authentication_classes = [SessionAuthentication]
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="auth_logout",
        summary="Log out (session)",
        description="Ends the session. CSRF protected. Without a session: nothing to do, 204.",
        request=None,
        responses={204: None, 403: CSRF_FAILED},
    )
    def post(self, request):
        logout(request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(
        operation_id="auth_me",
        summary="Who is logged in",
        description="The user of the session or token: an operator (is_staff, no account) or "
        "a client user of one account.",
        responses={
            200: OpenApiResponse(MeSerializer, examples=[ME_EXAMPLE]),
            401: _error(
                "Unauthenticated",
                "No or invalid credentials.",
                "Authentication credentials were not provided.",
            ),
        },
    )
    def get(self, request):
        return Response(MeSerializer(request.user).data)
