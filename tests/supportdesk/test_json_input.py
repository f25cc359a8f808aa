"""JSON from outside is read up to JSON_MAX_DEPTH levels deep, and anything
else is one clean error, however it is malformed."""

import pytest

from supportdesk.json_input import MalformedJSONError, parse_json


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_json_nested_to_the_limit_is_read_and_one_level_more_is_not(settings):
    settings.JSON_MAX_DEPTH = 3

    assert parse_json(nested(3)) == [[[]]]
    assert parse_json('{"a": {"b": [1]}}') == {"a": {"b": [1]}}
    with pytest.raises(MalformedJSONError, match="nested deeper than 3 levels"):
        parse_json(nested(4))
    with pytest.raises(MalformedJSONError, match="nested deeper than 3 levels"):
        parse_json('[1, {"a": {"b": [2]}}]')


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(nested(50_000), id="50,000 nested brackets"),
        pytest.param(nested(900), id="deep but under Python's own limit"),
        pytest.param(b"\xff\xfe{", id="not UTF-8"),
        pytest.param("{oops", id="broken"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_input_raises_one_error_that_is_a_value_error(text):
    with pytest.raises(MalformedJSONError) as raised:
        parse_json(text)

    assert isinstance(raised.value, ValueError)


def test_nan_is_refused_only_when_strict():
    assert parse_json("[NaN]") != [0]
    with pytest.raises(MalformedJSONError, match="NaN is not a JSON value"):
        parse_json("[NaN]", strict=True)
