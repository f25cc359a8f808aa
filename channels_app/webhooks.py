"""The door of every provider webhook: verify, store raw, enqueue, answer 200
(or 400 to a body stored but malformed)."""

import logging

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt

from channels_app.adapters.base import ChannelAdapter, SignatureError
from channels_app.ingest import receive_inbound
from channels_app.models import Inbox
from supportdesk.json_input import MalformedJSONError, parse_json
from supportdesk.registry import get_webhook_adapter

logger = logging.getLogger(__name__)


@csrf_exempt
def webhook(request: HttpRequest, adapter_key: str, slug: str) -> HttpResponse:
    adapter = get_webhook_adapter(adapter_key)
    if adapter is None:
        raise Http404("No such webhook")
    inbox = Inbox.objects.filter(adapter=adapter_key, slug=slug, enabled=True).first()
    if inbox is None:
        raise Http404("No such inbox")
    if request.method == "GET":
        answer = adapter.handshake(request, inbox)
        if answer is None:
            return HttpResponse(status=405)
        return answer
    if request.method != "POST":
        return HttpResponse(status=405)
    if len(request.body) > settings.MAX_INBOUND_PAYLOAD_BYTES:
        return JsonResponse({"error": "payload too large"}, status=413)
    body = request.body
    try:
        adapter.verify(request, inbox)
    except SignatureError as exc:
        logger.warning(
            "webhook %s/%s refused from %s: %s",
            adapter_key,
            slug,
            request.META.get("REMOTE_ADDR"),
            exc,
        )
        return HttpResponseForbidden("signature check failed")
    record, created = receive_inbound(
        channel=adapter_key,
        payload=body,
        external_id=_delivery_id(adapter, request, body),
        inbox=slug,
        content_type=request.content_type or "application/octet-stream",
    )
    if adapter.webhook_json:
        # Stored first, so nothing is lost: the record fails at processing,
        # visibly and replayable; the sender learns its body was refused.
        try:
            parse_json(body)
        except MalformedJSONError as exc:
            logger.warning(
                "webhook %s/%s record %s is malformed: %s",
                adapter_key,
                slug,
                record.pk,
                exc,
            )
            return JsonResponse(
                {"error": "malformed_json", "message": str(exc), "received": record.pk},
                status=400,
            )
    answer = adapter.acknowledge(record=record, duplicate=not created)
    if answer is not None:
        return answer
    return JsonResponse({"received": record.pk, "duplicate": not created})


def _delivery_id(adapter: ChannelAdapter, request: HttpRequest, body: bytes) -> str:
    """The provider's id of a delivery, or "" (the payload's hash stands in) when
    the body does not yield one: a verified body is stored whatever it holds."""
    try:
        return adapter.delivery_id(request, body)
    except Exception:
        logger.exception("%s could not read a delivery id", adapter.key)
        return ""
