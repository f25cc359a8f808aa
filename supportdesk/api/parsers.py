"""The API's JSON parser: DRF's, reading through supportdesk.json_input so that
a body nested past JSON_MAX_DEPTH is a 400 like any other malformed body."""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from supportdesk.json_input import MalformedJSONError, parse_json


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return parse_json(stream.read().decode(encoding), strict=self.strict)
        except (MalformedJSONError, UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
