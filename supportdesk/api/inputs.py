"""What every API write takes, and the error shape the schema documents.

Input serializers name the fields an action accepts; a key they do not name is
refused, never ignored, so a client cannot set an owning team, customer or author
by adding it to a body (mass assignment), and a misspelt field is not lost.
"""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

UNKNOWN_FIELD = "Unknown field."
# The largest id PostgreSQL's bigint holds: a bigger one names nothing.
MAX_ID = 2**63 - 1
# A browser form post carries Django's CSRF token in its body; it is not input.
_IGNORED_KEYS = frozenset({"csrfmiddlewaretoken"})


class StrictInputSerializer(serializers.Serializer):
    """A serializer for request bodies that answers 400 to undeclared keys:
    {"<key>": ["Unknown field."]}, beside any other field's errors."""

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            writable = {
                name for name, field in self.fields.items() if not field.read_only
            }
            unknown = {
                key: [serializers.ErrorDetail(UNKNOWN_FIELD, code="unknown")]
                for key in data
                if key not in writable and key not in _IGNORED_KEYS
            }
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


class NoInput(StrictInputSerializer):
    """An action that takes nothing: any key is refused."""


def validated(serializer_class, data, **kwargs) -> dict:
    """`data` (a body or query parameters) as `serializer_class` reads it; invalid
    input is a 400."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# ---------------------------------------------------------------- error schema


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text="Stable: invalid, not_found, permission_denied, conflict, "
        "rate_limited, not_authenticated, authentication_failed, ..."
    )
    message = serializers.CharField(help_text="For people; may change.")
    fields = serializers.DictField(
        required=False,
        help_text="For invalid input: each field's errors, a list of messages "
        "(an object of them for a field that holds a list or an object).",
    )
    retry_after = serializers.IntegerField(
        required=False, help_text="For rate_limited: seconds to wait."
    )


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_ERROR_WORDS = {
    400: "The input is invalid, or the action refused it.",
    401: "No credentials, or a token that is unknown or revoked.",
    403: "The token's scopes or the user's role do not allow this.",
    404: "No such object among those the user may see.",
    409: "The object changed in a way that makes the request wrong now.",
    429: "Too many requests for this token; see the Retry-After header.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """Schema entries for an endpoint's error answers, for @extend_schema's
    `responses`; 401, 403 and 429 are possible everywhere and always included."""
    wanted = sorted({401, 403, 429, *statuses})
    return {
        status: OpenApiResponse(ErrorSerializer, description=_ERROR_WORDS[status])
        for status in wanted
    }
