"""JSON from outside the desk, read with a bound on how deep it nests.

Every door that reads a JSON body or socket frame parses it here. A body that is
not JSON, or nests deeper than settings.JSON_MAX_DEPTH, raises MalformedJSONError,
which the door answers with a 400 (or an error frame). Left to json.loads, 50,000
nested brackets raise RecursionError, which no door expects: a 500, or a socket
closed with 1011.
"""

import json
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class MalformedJSONError(ValueError):
    """Input that is not JSON the desk will read. A ValueError, so code that
    already catches json.loads' errors catches it too."""


def _refuse_constant(name: str) -> Any:
    raise MalformedJSONError(f"{name} is not a JSON value")


def _nests_deeper(value: Any, limit: int) -> bool:
    """Whether lists and objects in `value` nest more than `limit` levels. A
    walk of its own, without recursion, so any depth can be measured."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def parse_json(
    data: bytes | str, *, max_depth: int | None = None, strict: bool = False
) -> Any:
    """The value JSON text holds, or MalformedJSONError.

    `max_depth` defaults to settings.JSON_MAX_DEPTH: a scalar is depth 0, `[]`
    is 1, `[[]]` is 2. `strict` refuses NaN and Infinity, which Python reads
    but JSON does not have.
    """
    limit = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    try:
        value = json.loads(data, parse_constant=_refuse_constant if strict else None)
    except RecursionError:
        raise MalformedJSONError(f"JSON nested deeper than {limit} levels") from None
    except MalformedJSONError:
        raise
    except (ValueError, TypeError) as exc:
        # ValueError covers JSONDecodeError and UnicodeDecodeError.
        raise MalformedJSONError(f"not valid JSON: {exc}") from None
    if _nests_deeper(value, limit):
        raise MalformedJSONError(f"JSON nested deeper than {limit} levels")
    return value


def malformed_json_response(exc: MalformedJSONError) -> JsonResponse:
    return JsonResponse({"error": "malformed_json", "message": str(exc)}, status=400)


_JSON_TYPES = ("application/json", "text/json")


def refuse_malformed_json(
    view: Callable[..., HttpResponse], *, whatever_the_type: bool = False
) -> Callable[..., HttpResponse]:
    """Wrap a view of someone else's code that reads JSON bodies: a body that is
    not JSON the desk would read gets a 400 with a JSON error before the view
    sees it. Bodies sent as JSON are checked, or every body when
    `whatever_the_type` (a sender that posts JSON as text/plain)."""

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        content_type = request.content_type or ""
        if request.method == "POST" and (
            whatever_the_type
            or content_type in _JSON_TYPES
            or content_type.endswith("+json")
        ):
            try:
                parse_json(request.body)
            except MalformedJSONError as exc:
                return malformed_json_response(exc)
        return view(request, *args, **kwargs)

    return checked
