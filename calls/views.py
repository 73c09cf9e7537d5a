"""The Retell webhook: signed events about calls we placed."""

import json
import logging

from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from calls import retell
from calls.settlement import call_update

logger = logging.getLogger(__name__)

EVENTS = {"call_started", "call_ended", "call_analyzed"}


class RetellWebhook(APIView):
    """Retell posts two events for every call (call_ended, call_analyzed), so this is the
    busiest endpoint. It is an APIView so that the OpenAPI schema documents it, but a request
    skips DRF's request and response machinery (parsers, authentication, content negotiation,
    rendering): under load that wrapping is a visible share of the web process's CPU, for a
    view that authenticates by signature and only ever answers small JSON bodies."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def dispatch(self, request, *args, **kwargs):
        if request.method != "POST":
            return JsonResponse({"detail": f'Method "{request.method}" not allowed.'},
                                status=405, headers={"Allow": "POST"})
        return self.post(request)

    @extend_schema(
        summary="Retell webhook",
        description="Events call_started, call_ended, call_analyzed, signed by Retell in the "
        "x-retell-signature header (HMAC-SHA256 of the raw body with the API key). Unsigned or "
        "forged requests answer 401 and change nothing; duplicated, reordered and unknown "
        "events answer 200.",
        request=inline_serializer("RetellWebhook", {"event": serializers.CharField(),
                                                    "call": serializers.DictField()}),
        responses={200: OpenApiResponse(description="Accepted"),
                   400: OpenApiResponse(description="Malformed body"),
                   401: OpenApiResponse(description="Missing or invalid signature")},
        auth=[],
    )
    def post(self, request):
        raw = request.body.decode("utf-8", errors="replace")
        if not retell.verify_signature(raw, request.headers.get("x-retell-signature", "")):
            logger.warning("retell webhook with a missing or invalid signature rejected")
            return JsonResponse({"detail": "invalid signature"}, status=401)
        try:
            body = json.loads(raw)
        except ValueError:
            return JsonResponse({"detail": "body is not JSON"}, status=400)
        if not isinstance(body, dict) or not isinstance(body.get("call"), dict):
            return JsonResponse({"call": ["This field is required and must be an object."]},
                                status=400)
        call_id = body["call"].get("call_id")
        if call_id is not None and (not isinstance(call_id, str) or "\x00" in call_id
                                    or len(call_id) > 100):
            return JsonResponse({"call": {"call_id": [
                "Must be a string of at most 100 characters, without null characters."]}},
                status=400)
        event = body.get("event")
        if event not in EVENTS:
            logger.info("retell webhook event %r ignored", event)
            return JsonResponse({"status": "ignored"})
        return JsonResponse({"status": call_update(call=body["call"], event=event)})


retell_webhook = RetellWebhook.as_view()
