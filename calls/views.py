"""The Retell webhook: signed events about calls we placed."""

import json
import logging

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from calls import retell
from calls.settlement import call_update

logger = logging.getLogger(__name__)

EVENTS = {"call_started", "call_ended", "call_analyzed"}


@extend_schema(
    summary="Retell webhook",
    description="Events call_started, call_ended, call_analyzed, signed by Retell in the "
    "x-retell-signature header (HMAC-SHA256 of the raw body with the API key). Unsigned or "
    "forged requests answer 401 and change nothing; duplicated, reordered and unknown events "
    "answer 200.",
    request=inline_serializer("RetellWebhook", {"event": serializers.CharField(),
                                                "call": serializers.DictField()}),
    responses={200: OpenApiResponse(description="Accepted"),
               400: OpenApiResponse(description="Malformed body"),
               401: OpenApiResponse(description="Missing or invalid signature")},
    auth=[],
)
@api_view(["POST"])
@authentication_classes([])
@permission_classes([AllowAny])
def retell_webhook(request):
    raw = request.body.decode("utf-8", errors="replace")
    if not retell.verify_signature(raw, request.headers.get("x-retell-signature", "")):
        logger.warning("retell webhook with a missing or invalid signature rejected")
        return Response({"detail": "invalid signature"}, status=status.HTTP_401_UNAUTHORIZED)
    try:
        body = json.loads(raw)
    except ValueError:
        return Response({"detail": "body is not JSON"}, status=status.HTTP_400_BAD_REQUEST)
    if not isinstance(body, dict) or not isinstance(body.get("call"), dict):
        return Response({"call": ["This field is required and must be an object."]},
                        status=status.HTTP_400_BAD_REQUEST)
    call_id = body["call"].get("call_id")
    if call_id is not None and (not isinstance(call_id, str) or "\x00" in call_id
                                or len(call_id) > 100):
        return Response({"call": {"call_id": ["Must be a string of at most 100 characters, "
                                              "without null characters."]}},
                        status=status.HTTP_400_BAD_REQUEST)
    event = body.get("event")
    if event not in EVENTS:
        logger.info("retell webhook event %r ignored", event)
        return Response({"status": "ignored"})
    result = call_update(call=body["call"], event=event)
    return Response({"status": result})
