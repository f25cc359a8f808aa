"""The admin of outbound webhooks: endpoints, and the log of deliveries."""

import json

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from channels_app.outbound_webhooks.actions import (
    WebhookConfigError,
    check_secret,
    check_url,
    do_create_endpoint,
    do_delete_endpoint,
    do_resend_delivery,
    do_update_endpoint,
)
from supportdesk.admin import ReadOnlyAdmin
from supportdesk.events import WEBHOOK_EVENTS as EVENTS
from supportdesk.models import WebhookDelivery, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=[(name, f"{name}: {meaning}") for name, meaning in EVENTS.items()],
        widget=forms.CheckboxSelectMultiple,
    )
    # The stored secret never goes back to the browser; typing one replaces it.
    new_secret = forms.CharField(
        label="Secret",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Signs every delivery. Leave empty to keep the current one "
        "(a new endpoint gets a generated one, shown once).",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "enabled")

    def clean_url(self) -> str:
        try:
            return check_url(self.cleaned_data["url"])
        except WebhookConfigError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_new_secret(self) -> str:
        secret = self.cleaned_data["new_secret"]
        try:
            return check_secret(secret) if secret else ""
        except WebhookConfigError as exc:
            raise forms.ValidationError(str(exc)) from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Endpoints are created, changed and deleted through the webhook actions;
    the secret is shown once, when the desk generates it."""

    form = WebhookEndpointForm
    list_display = ("url", "description", "enabled", "event_list", "deliveries")
    list_filter = ("enabled",)
    search_fields = ("url", "description")

    @admin.display(description="events")
    def event_list(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.events)

    @admin.display(description="delivery log")
    def deliveries(self, endpoint: WebhookEndpoint) -> str:
        url = reverse("admin:supportdesk_webhookdelivery_changelist")
        return format_html(
            '<a href="{}?endpoint__id__exact={}">deliveries</a>', url, endpoint.pk
        )

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        fields = {
            "url": data["url"],
            "events": data["events"],
            "description": data["description"],
            "enabled": data["enabled"],
        }
        if change:
            do_update_endpoint(
                endpoint=obj, secret=data["new_secret"] or None, **fields
            )
            return
        endpoint = do_create_endpoint(secret=data["new_secret"], **fields)
        # The admin goes on with the form's object: make it the created endpoint.
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        obj._state.adding = False
        if not data["new_secret"]:
            messages.warning(
                request,
                f"The secret of {endpoint.url}: {endpoint.secret} — copy it now, "
                "it is not shown again.",
            )

    def delete_model(self, request, obj):
        do_delete_endpoint(endpoint=obj)

    def delete_queryset(self, request, queryset):
        for endpoint in queryset:
            do_delete_endpoint(endpoint=endpoint)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    """The delivery log: every event for every endpoint and how handing it over
    went. A delivery can be sent again, with the same delivery id."""

    list_display = (
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "short_error",
        "last_attempt_at",
        "next_attempt_at",
    )
    list_filter = ("status", "event", "endpoint")
    search_fields = ("event", "endpoint__url", "last_error")
    list_select_related = ("endpoint",)
    exclude = ("payload",)
    readonly_fields = ("payload_json",)
    actions = ["resend"]

    @admin.display(description="last error")
    def short_error(self, delivery: WebhookDelivery) -> str:
        return delivery.last_error[:120]

    @admin.display(description="payload")
    def payload_json(self, delivery: WebhookDelivery) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(delivery.payload, indent=2, sort_keys=True)
        )

    @admin.action(description="Resend the selected deliveries")
    def resend(self, request, queryset):
        deliveries = list(queryset)
        for delivery in deliveries:
            do_resend_delivery(delivery=delivery)
        messages.info(request, f"{len(deliveries)} deliveries queued again.")
