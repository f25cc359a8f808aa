"""The door browsers report Content-Security-Policy violations to.

Anyone may post here (a browser sends no cookie or token with a report), so the
door is CSRF-exempt, reads at most CSP_REPORT_MAX_BYTES, counts each address
against CSP_REPORT_RATE and only logs: nothing is stored.
"""

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from supportdesk import ratelimit
from supportdesk.json_input import parse_json

logger = logging.getLogger(__name__)

# The fields of a report worth a line in the log, in the order they are written.
FIELDS = (
    ("effective-directive", "effectiveDirective"),
    ("blocked-uri", "blockedURL"),
    ("document-uri", "documentURL"),
    ("source-file", "sourceFile"),
    ("line-number", "lineNumber"),
    ("script-sample", "sample"),
)
# A report's value is logged up to this many characters.
MAX_VALUE_CHARS = 300


def _refused(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def _violations(body) -> list[dict]:
    """The violations of a report-uri body ({"csp-report": {...}}) or of a
    Reporting API body ([{"type": "csp-violation", "body": {...}}, ...])."""
    if isinstance(body, dict) and isinstance(body.get("csp-report"), dict):
        return [body["csp-report"]]
    if isinstance(body, list):
        return [
            report["body"]
            for report in body
            if isinstance(report, dict)
            and report.get("type") == "csp-violation"
            and isinstance(report.get("body"), dict)
        ]
    return []


def _describe(violation: dict) -> str:
    parts = []
    for old_name, new_name in FIELDS:
        value = violation.get(old_name, violation.get(new_name))
        if value not in (None, ""):
            parts.append(f"{old_name}={str(value)[:MAX_VALUE_CHARS]!r}")
    return " ".join(parts) or "(no details)"


@csrf_exempt
@require_POST
def csp_report(request):
    address = request.META.get("REMOTE_ADDR", "")
    retry_after = ratelimit.hit(f"csp-report:{address}", settings.CSP_REPORT_RATE)
    if retry_after is not None:
        response = _refused(429, "rate_limited", "Too many reports.")
        response["Retry-After"] = str(retry_after)
        return response
    limit = settings.CSP_REPORT_MAX_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        return _refused(413, "too_large", f"A report is at most {limit} bytes.")
    # A body sent without a length (chunked) is read only as far as the limit.
    raw = request.read(limit + 1)
    if len(raw) > limit:
        return _refused(413, "too_large", f"A report is at most {limit} bytes.")
    try:
        violations = _violations(parse_json(raw))
    except ValueError:  # MalformedJSONError among them
        return _refused(400, "invalid", "The body is not a violation report.")
    if not violations:
        return _refused(400, "invalid", "The body is not a violation report.")
    for violation in violations:
        logger.warning(
            "Content-Security-Policy violation from %s: %s",
            address,
            _describe(violation),
        )
    return HttpResponse(status=204)
