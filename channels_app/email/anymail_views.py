"""The doors of providers' inbound mail: django-anymail's views, with the checks
anymail leaves out, at anymail's own URLs (/anymail/<provider>/...).

- Amazon SES: SNS message signatures, and their age (channels_app.email.sns).
- Mailgun: the signed timestamp, within WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS.
- Every view: a JSON body that is malformed or nested past JSON_MAX_DEPTH gets a
  400 with a JSON error before anymail reads it (anymail's parsing would answer
  500, or a RecursionError).
"""

import time

from anymail import urls as anymail_urls
from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.amazon_ses import AmazonSESInboundWebhookView
from anymail.webhooks.mailgun import MailgunInboundWebhookView
from django.conf import settings
from django.http import JsonResponse
from django.urls import URLPattern

from channels_app.email.sns import (
    SnsCertificateUnavailable,
    SnsSignatureError,
    verify_sns_message,
)
from supportdesk.json_input import parse_json, refuse_malformed_json


class SignedSESInboundView(AmazonSESInboundWebhookView):
    """SES inbound mail whose SNS signature is checked, after anymail's basic
    auth and header checks, so a stranger cannot make the desk fetch anything."""

    def run_validators(self, request):
        super().run_validators(request)
        try:
            verify_sns_message(self._parse_sns_message(request))
        except SnsSignatureError as exc:
            raise AnymailWebhookValidationFailure(str(exc)) from None

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except SnsCertificateUnavailable as exc:
            # Not the sender's fault: SNS retries a 5xx later.
            response = JsonResponse(
                {"error": "unavailable", "message": f"signing certificate: {exc}"},
                status=503,
            )
            response["Retry-After"] = "60"
            return response


class FreshMailgunInboundView(MailgunInboundWebhookView):
    """Mailgun inbound mail signed within the tolerance: a request captured on
    the way cannot be posted again days later."""

    def validate_request(self, request):
        # anymail runs every validate_request of the class chain, its own
        # signature check included; this one adds the age of what it signed.
        if request.content_type == "application/json":
            # Where Mailgun's JSON webhooks keep what they sign.
            signed = parse_json(request.body)
            signature = signed.get("signature") if isinstance(signed, dict) else None
            stamp = signature.get("timestamp") if isinstance(signature, dict) else ""
        else:
            stamp = request.POST.get("timestamp", "")
        try:
            age = time.time() - int(stamp)
        except (TypeError, ValueError):
            raise AnymailWebhookValidationFailure(
                "Mailgun webhook without a timestamp"
            ) from None
        if abs(age) > settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS:
            raise AnymailWebhookValidationFailure(
                f"Mailgun webhook signed {int(age)} seconds from now: outside "
                f"the {settings.WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS}-second tolerance"
            )


_REPLACED = {
    "amazon_ses_inbound_webhook": SignedSESInboundView,
    "mailgun_inbound_webhook": FreshMailgunInboundView,
}
# SNS posts JSON as text/plain.
_JSON_WHATEVER_THE_TYPE = {"amazon_ses_inbound_webhook", "amazon_ses_tracking_webhook"}


def _door(pattern: URLPattern) -> URLPattern:
    view = pattern.callback
    if pattern.name in _REPLACED:
        view = _REPLACED[pattern.name].as_view()
    view = refuse_malformed_json(
        view, whatever_the_type=pattern.name in _JSON_WHATEVER_THE_TYPE
    )
    return URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)


# Included under "anymail/" in the namespace anymail's own URLs use.
urlpatterns = [_door(pattern) for pattern in anymail_urls.urlpatterns]
app_name = anymail_urls.app_name
