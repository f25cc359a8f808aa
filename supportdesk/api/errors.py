"""Every API error is JSON: {"error": {"code": ..., "message": ..., "fields"?}}.

Codes are stable (clients branch on them); messages are for people.
"""

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from supportdesk.errors import ActionError
from supportdesk.outage import is_database_outage, unavailable_response

_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
    exceptions.ParseError: "malformed_request",
    exceptions.ValidationError: "invalid",
}


class ActionConflict(exceptions.APIException):
    """The ticket changed in a way that makes the request wrong now."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The ticket changed; reload it and try again."


def _message(detail) -> str:
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and set(detail) == {"detail"}:
        return _message(detail["detail"])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        return f"{key}: {_message(value)}"
    return str(detail)


def api_exception_handler(exc, context):
    if is_database_outage(exc):
        # 503 with Retry-After: the client sends the same request again later.
        return unavailable_response(context["request"], exc)
    if isinstance(exc, Http404 | ObjectDoesNotExist):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, ActionError):
        exc = exceptions.ValidationError({"non_field_errors": [str(exc)]})
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next(
        (name for kind, name in _CODES.items() if isinstance(exc, kind)),
        getattr(exc, "default_code", "error"),
    )
    error = {"code": code, "message": _message(response.data)}
    if isinstance(exc, exceptions.ValidationError) and isinstance(exc.detail, dict):
        error["fields"] = exc.detail
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        error["retry_after"] = int(exc.wait + 0.999)
    response.data = {"error": error}
    return response


def error_response(status_code: int, code: str, message: str) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status_code)
