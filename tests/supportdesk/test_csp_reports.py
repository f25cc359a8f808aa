"""The door browsers report Content-Security-Policy violations to: it logs each
violation at WARNING, and refuses bodies that are too large, not reports, or
too many from one address."""

import json
import logging
import uuid

import pytest
from django.test import override_settings

URL = "/csp-report/"
LOGGER = "supportdesk.csp_reports"

# What Chromium posts for a report-uri policy.
INLINE_STYLE_REPORT = {
    "csp-report": {
        "document-uri": "https://desk.example/queue/",
        "referrer": "",
        "violated-directive": "style-src-attr",
        "effective-directive": "style-src-attr",
        "original-policy": "default-src 'self'; report-uri /csp-report/",
        "disposition": "enforce",
        "blocked-uri": "inline",
        "line-number": 12,
        "source-file": "https://desk.example/queue/",
        "status-code": 200,
        "script-sample": "",
    }
}


def fresh_address() -> str:
    """A client address of the test's own, so no other test's reports count."""
    number = uuid.uuid4().int
    return f"10.{number % 250}.{number // 250 % 250}.{number // 62500 % 250 + 1}"


@pytest.fixture
def address():
    return fresh_address()


def post(client, body, address, content_type="application/csp-report"):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(URL, data, content_type=content_type, REMOTE_ADDR=address)


def test_a_violation_is_logged_at_warning(client, address, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = post(client, INLINE_STYLE_REPORT, address)

    assert response.status_code == 204
    (record,) = [r for r in caplog.records if r.name == LOGGER]
    assert record.levelno == logging.WARNING
    line = record.getMessage()
    assert "style-src-attr" in line
    assert "https://desk.example/queue/" in line
    assert address in line


def test_a_reporting_api_batch_logs_each_violation(client, address, caplog):
    """Browsers using report-to post a list of reports of several types."""
    batch = [
        {
            "type": "csp-violation",
            "url": "https://desk.example/supervisor/rules/",
            "body": {
                "documentURL": "https://desk.example/supervisor/rules/",
                "effectiveDirective": "script-src-elem",
                "blockedURL": "inline",
                "sample": "alert(1)",
            },
        },
        {"type": "deprecation", "body": {"id": "something-old"}},
    ]

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = post(client, batch, address, "application/reports+json")

    assert response.status_code == 204
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(lines) == 1
    assert "script-src-elem" in lines[0] and "alert(1)" in lines[0]


@override_settings(CSP_REPORT_MAX_BYTES=2048)
def test_an_oversized_report_is_refused_unread(client, address, caplog):
    report = {"csp-report": {**INLINE_STYLE_REPORT["csp-report"]}}
    report["csp-report"]["script-sample"] = "x" * 4000

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        response = post(client, report, address)

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not [r for r in caplog.records if r.name == LOGGER]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[" * 50_000 + b"]" * 50_000, b'{"something": "else"}', b"[]"],
    ids=["not-json", "deeply-nested", "not-a-report", "empty-batch"],
)
@override_settings(CSP_REPORT_MAX_BYTES=200_000)
def test_a_body_that_is_not_a_report_gets_400(client, address, body):
    response = post(client, body, address)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid"


@override_settings(CSP_REPORT_RATE="3/60")
def test_an_address_sending_too_many_reports_gets_429(client, address, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        answers = [post(client, INLINE_STYLE_REPORT, address) for _ in range(4)]

    assert [answer.status_code for answer in answers] == [204, 204, 204, 429]
    assert int(answers[-1]["Retry-After"]) >= 1
    assert len([r for r in caplog.records if r.name == LOGGER]) == 3
    # Another address is counted apart.
    assert post(client, INLINE_STYLE_REPORT, fresh_address()).status_code == 204


def test_only_post_is_answered(client):
    assert client.get(URL).status_code == 405
