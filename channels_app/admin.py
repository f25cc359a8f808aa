from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord, Inbox
from channels_app.webhooks import WEBHOOK_ADAPTERS
from supportdesk.admin import ReadOnlyAdmin


@admin.register(InboundRecord)
class InboundRecordAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "received_at",
        "channel",
        "external_id",
        "status",
        "attempts",
        "short_error",
    )
    list_filter = ("status", "channel", "received_at")
    search_fields = ("external_id", "error")
    exclude = ("payload",)
    readonly_fields = ("payload_text",)
    actions = ["replay"]

    @admin.display(description="error")
    def short_error(self, record: InboundRecord) -> str:
        return record.error[:120]

    @admin.action(description="Replay the selected records")
    def replay(self, request, queryset):
        results = [
            process_inbound(pk).status for pk in queryset.values_list("pk", flat=True)
        ]
        done = results.count(InboundRecord.Status.PROCESSED)
        messages.info(request, f"{done} of {len(results)} records processed.")


# ----------------------------------------------------------------------- inboxes

# The secrets each kind of inbox uses, by name. The admin has a password field
# for each; a stored value is never sent back to the browser.
INBOX_SECRETS = {
    Inbox.Adapter.EMAIL: ("imap_password",),
    Inbox.Adapter.CHAT: (),
    Inbox.Adapter.PHONE: (),
    Inbox.Adapter.WHATSAPP: ("app_secret", "verify_token", "access_token"),
    Inbox.Adapter.MESSENGER: ("app_secret", "verify_token", "page_access_token"),
    Inbox.Adapter.INSTAGRAM: ("app_secret", "verify_token", "page_access_token"),
    Inbox.Adapter.TELEGRAM: ("bot_token", "secret_token"),
    Inbox.Adapter.TWILIO_SMS: ("auth_token",),
    Inbox.Adapter.TWILIO_VOICE: ("auth_token",),
}
# The non-secret settings each kind reads from its config, for the help text.
INBOX_CONFIG = {
    Inbox.Adapter.EMAIL: (
        "address",
        "from_name",
        "imap_host",
        "imap_port",
        "imap_tls",
        "imap_user",
        "imap_folder",
        "imap_since_days",
    ),
    Inbox.Adapter.WHATSAPP: ("phone_number_id", "waba_id"),
    Inbox.Adapter.MESSENGER: ("page_id",),
    Inbox.Adapter.INSTAGRAM: ("page_id",),
    Inbox.Adapter.TWILIO_SMS: ("account_sid", "from_number"),
    Inbox.Adapter.TWILIO_VOICE: ("account_sid",),
}


def secret_field_name(adapter: str, name: str) -> str:
    return f"secret_{adapter.replace('-', '_')}_{name}"


def _secret_fields() -> dict[str, forms.Field]:
    return {
        secret_field_name(adapter, name): forms.CharField(
            required=False,
            strip=False,
            label=name,
            # render_value=False: even a form shown again after an error is blank.
            widget=forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "off"}
            ),
            help_text="Write-only: leave blank to keep the stored value.",
        )
        for adapter, names in INBOX_SECRETS.items()
        for name in names
    }


class _InboxFormBase(forms.ModelForm):
    forget_secrets = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Forget stored secrets",
        help_text="Checked secrets are deleted on save.",
    )

    class Meta:
        model = Inbox
        fields = ("adapter", "name", "slug", "enabled", "config")
        help_texts = {
            "config": "Non-secret settings as JSON. "
            + "; ".join(
                f"{adapter}: {', '.join(names)}"
                for adapter, names in INBOX_CONFIG.items()
            )
            + ".",
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        stored = sorted(self.instance.secrets or {}) if self.instance.pk else []
        self.fields["forget_secrets"].choices = [(name, name) for name in stored]

    def clean_config(self):
        config = self.cleaned_data.get("config")
        if config in (None, ""):
            return {}
        if not isinstance(config, dict):
            raise forms.ValidationError("The config is a JSON object.")
        return config

    def save(self, commit: bool = True):
        inbox = super().save(commit=False)
        secrets = dict(inbox.secrets or {})
        for name in self.cleaned_data.get("forget_secrets") or ():
            secrets.pop(name, None)
        for name in INBOX_SECRETS.get(inbox.adapter, ()):
            value = self.cleaned_data.get(secret_field_name(inbox.adapter, name))
            if value:
                secrets[name] = value
        inbox.secrets = secrets
        if commit:
            inbox.save()
        return inbox


InboxForm = type("InboxForm", (_InboxFormBase,), _secret_fields())


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    form = InboxForm
    list_display = ("name", "adapter", "slug", "enabled", "webhook_url")
    list_filter = ("adapter", "enabled")
    search_fields = ("name", "slug")
    readonly_fields = ("webhook_url", "stored_secrets")

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ("adapter", "name", "slug", "enabled", "config")}),
            ("Endpoints", {"fields": ("webhook_url",)}),
        ]
        if obj is not None and not self.has_change_permission(request, obj):
            return fieldsets
        fieldsets.append(("Secrets", {"fields": ("stored_secrets", "forget_secrets")}))
        labels = dict(Inbox.Adapter.choices)
        for adapter, names in INBOX_SECRETS.items():
            if names:
                fields = tuple(secret_field_name(adapter, name) for name in names)
                fieldsets.append(
                    (
                        f"{labels[adapter]} secrets",
                        {
                            "fields": fields,
                            "description": f"Used only by a {labels[adapter]} inbox.",
                        },
                    )
                )
        return fieldsets

    @admin.display(description="stored secrets")
    def stored_secrets(self, inbox: Inbox) -> str:
        # Names only: the values never leave the database through the admin.
        names = sorted(name for name, value in (inbox.secrets or {}).items() if value)
        return ", ".join(names) or "none"

    @admin.display(description="webhook URL")
    def webhook_url(self, inbox: Inbox) -> str:
        if inbox.pk is None:
            return "shown once the inbox is saved"
        base = settings.PUBLIC_BASE_URL.rstrip("/")
        if inbox.adapter in WEBHOOK_ADAPTERS:
            path = reverse(
                "webhook", kwargs={"adapter_key": inbox.adapter, "slug": inbox.slug}
            )
            return base + path
        if inbox.adapter == Inbox.Adapter.EMAIL:
            if getattr(settings, "ANYMAIL_INBOUND_INBOX", "") == inbox.slug:
                return f"{base}/anymail/<provider>/inbound/"
            return "none: IMAP polling or manage.py ingest_eml"
        return "none"
