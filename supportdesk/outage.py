"""What the desk answers while its database is out of reach: 503 and Retry-After.

A provider, a mail gateway or an API client that gets a 503 delivers again later;
an HTML 500 page tells it nothing and may make it give up. Machines' doors answer
JSON, people get a short page.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import ERROR_PAGE_TEMPLATE, server_error

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait before it tries again.
RETRY_AFTER_SECONDS = 30
# Where machines knock: provider webhooks, inbound mail, the REST API, the widget.
MACHINE_DOORS = ("/webhooks/", "/anymail/", "/api/", "/widget/")
DETAIL = "The desk cannot reach its database; nothing was stored. Try again later."


def is_database_outage(exc: BaseException | None) -> bool:
    """Whether an error, or one it was raised from, says the database is out of
    reach (a refused or lost connection, a pool that has none to lend)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    logger.warning(
        "%s %s answered 503, the database is out of reach: %s",
        request.method,
        request.path,
        exc,
    )
    if request.path.startswith("/api/"):
        # The API's own error shape (supportdesk.api.errors).
        body = {
            "error": {
                "code": "unavailable",
                "message": DETAIL,
                "retry_after": RETRY_AFTER_SECONDS,
            }
        }
        response: HttpResponse = JsonResponse(body, status=503)
    elif request.path.startswith(MACHINE_DOORS) and not _widget_frame(request):
        response = JsonResponse({"error": "unavailable", "detail": DETAIL}, status=503)
    else:
        page = ERROR_PAGE_TEMPLATE % {
            "title": "Service unavailable (503)",
            "details": "The desk cannot reach its database just now. "
            f"Try again in {RETRY_AFTER_SECONDS} seconds.",
        }
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _widget_frame(request: HttpRequest) -> bool:
    # The widget's iframe is a page a visitor sees; its calls are JSON.
    parts = request.path.strip("/").split("/")
    return len(parts) == 2 and parts[0] == "widget"


def handle_server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a database outage is a 503 (in a view or in a middleware);
    anything else is Django's own 500 page."""
    exc = sys.exc_info()[1]
    if is_database_outage(exc):
        return unavailable_response(request, exc)
    return server_error(request)
