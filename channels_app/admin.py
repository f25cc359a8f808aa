from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.validators import RegexValidator
from django.utils.html import format_html

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord, Inbox
from channels_app.widget.origins import normalise_origin
from supportdesk import registry
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
            process_inbound(pk, replay=True).status
            for pk in queryset.values_list("pk", flat=True)
        ]
        done = results.count(InboundRecord.Status.PROCESSED)
        messages.info(request, f"{done} of {len(results)} records processed.")


# ----------------------------------------------------------------------- inboxes

# Each kind of inbox names its secrets and config in its adapter's declaration.
# The admin has a password field for each secret; a stored value is never sent
# back to the browser.


def inbox_secrets() -> dict[str, tuple[str, ...]]:
    """The secrets each kind of inbox keeps, by adapter key."""
    return {
        key: tuple(adapter.secret_fields)
        for key, adapter in registry.inbox_adapters().items()
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
        for adapter, names in inbox_secrets().items()
        for name in names
    }


def _config_help() -> str:
    kinds = [
        f"{key}: {', '.join(adapter.config_fields)}"
        for key, adapter in registry.inbox_adapters().items()
        if adapter.config_fields
    ]
    return "Non-secret settings as JSON. " + "; ".join(kinds) + "."


# --------------------------------------------------------------- the chat widget

_REQUIRED_OR_OPTIONAL = [("required", "Required"), ("optional", "Optional")]


class AllowedOriginsField(forms.CharField):
    """One site per line, kept as a list of origins: scheme, host and port."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(str(origin) for origin in value)
        return value

    def to_python(self, value) -> list[str]:
        origins = []
        for line in str(value or "").splitlines():
            if not line.strip():
                continue
            origin = normalise_origin(line)
            if not origin:
                raise forms.ValidationError(
                    "%(line)s is not a site: write its scheme and host, and its "
                    "port if it has one, like https://shop.example.",
                    params={"line": line.strip()[:100]},
                )
            if origin not in origins:
                origins.append(origin)
        return origins


# config key → the form field that edits it, on a chat inbox's page.
CHAT_CONFIG_FIELDS = {
    "title": forms.CharField(
        required=False,
        max_length=80,
        widget=forms.TextInput(attrs={"placeholder": "Support"}),
        help_text="Heading of the chat window.",
    ),
    "greeting": forms.CharField(
        required=False,
        max_length=500,
        widget=forms.Textarea(
            attrs={"rows": 2, "cols": 60, "placeholder": "Hi! How can we help?"}
        ),
        help_text="The first words a visitor reads.",
    ),
    "color": forms.CharField(
        required=False,
        max_length=7,
        label="colour",
        validators=[
            RegexValidator(
                r"^#[0-9a-fA-F]{6}\Z", "A colour is written #rrggbb, like #1f6feb."
            )
        ],
        widget=forms.TextInput(attrs={"placeholder": "#1f6feb", "size": 8}),
        help_text="Of the launcher button and the window's header.",
    ),
    "position": forms.ChoiceField(
        required=False,
        choices=[("right", "Bottom right"), ("left", "Bottom left")],
        initial="right",
        help_text="Corner of the page the launcher sits in.",
    ),
    "name_field": forms.ChoiceField(
        required=False,
        choices=_REQUIRED_OR_OPTIONAL,
        initial="required",
        label="name before a chat",
    ),
    "email_field": forms.ChoiceField(
        required=False,
        choices=_REQUIRED_OR_OPTIONAL,
        initial="optional",
        label="email before a chat",
        help_text="An email joins the chat to that customer's timeline; when "
        "nobody is online the answer goes there.",
    ),
    "allowed_origins": AllowedOriginsField(
        required=False,
        label="allowed sites",
        help_text="One per line, like https://shop.example or "
        "http://127.0.0.1:8000. Only these sites (and the desk itself) may show "
        "the widget and open its socket.",
    ),
    "identity_max_age": forms.IntegerField(
        required=False,
        min_value=60,
        label="identity max age (seconds)",
        help_text="How old a signed user id from the site may be, and how long a "
        "signed-in customer's chat stays in their browser. Blank: the desk's "
        "WIDGET_IDENTITY_MAX_AGE_SECONDS.",
    ),
}


def chat_field_name(key: str) -> str:
    return f"chat_{key}"


def loader_url() -> str:
    """Where host pages load the widget from: always the desk's public address,
    since the loader takes the desk's origin from its own URL."""
    static_path = urlsplit(settings.STATIC_URL).path.strip("/")
    path = "/".join(filter(None, (static_path, "widget/loader.js")))
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/{path}"


def embed_snippet(inbox: Inbox) -> str:
    return f'<script src="{loader_url()}" data-inbox="{inbox.slug}" async></script>'


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

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "config" in self.fields:
            self.fields["config"].help_text = _config_help()
        stored = sorted(self.instance.secrets or {}) if self.instance.pk else []
        self.fields["forget_secrets"].choices = [(name, name) for name in stored]
        if self.instance.pk and self.instance.adapter == Inbox.Adapter.CHAT:
            config = self.instance.config or {}
            for key in CHAT_CONFIG_FIELDS:
                name = chat_field_name(key)
                if name in self.fields and config.get(key) not in (None, ""):
                    self.fields[name].initial = config[key]

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
        for name in inbox_secrets().get(inbox.adapter, ()):
            value = self.cleaned_data.get(secret_field_name(inbox.adapter, name))
            if value:
                secrets[name] = value
        inbox.secrets = secrets
        if inbox.adapter == Inbox.Adapter.CHAT:
            inbox.config = self._chat_config(dict(inbox.config or {}))
        if commit:
            inbox.save()
        return inbox

    def _chat_config(self, config: dict) -> dict:
        # Only the fields the page showed: a field left out changes nothing, a
        # blank one falls back to the widget's default.
        for key in CHAT_CONFIG_FIELDS:
            name = chat_field_name(key)
            if name not in self.fields:
                continue
            value = self.cleaned_data.get(name)
            if value in (None, "", []):
                config.pop(key, None)
            else:
                config[key] = value
        return config


def inbox_form() -> type[forms.ModelForm]:
    """The inbox form with a secret field for every registered kind of inbox:
    built for each request, so an adapter added in settings has its own."""
    return type(
        "InboxForm",
        (_InboxFormBase,),
        {
            **_secret_fields(),
            **{chat_field_name(key): f for key, f in CHAT_CONFIG_FIELDS.items()},
        },
    )


@admin.register(Inbox)
class InboxAdmin(admin.ModelAdmin):
    form = _InboxFormBase
    list_display = ("name", "adapter", "slug", "enabled", "webhook_url")
    list_filter = ("adapter", "enabled")
    search_fields = ("name", "slug")
    readonly_fields = ("webhook_url", "embed", "stored_secrets")

    def get_form(self, request, obj=None, change=False, **kwargs):
        return super().get_form(request, obj, change, form=inbox_form(), **kwargs)

    def get_fieldsets(self, request, obj=None):
        is_chat = obj is not None and obj.adapter == Inbox.Adapter.CHAT
        may_change = obj is None or self.has_change_permission(request, obj)
        # A chat inbox's config is the form below; the raw JSON stays for the
        # other kinds, for a new inbox and for those who may only look.
        main = ("adapter", "name", "slug", "enabled")
        if not (is_chat and may_change):
            main += ("config",)
        fieldsets = [
            (None, {"fields": main}),
            ("Endpoints", {"fields": ("embed",) if is_chat else ("webhook_url",)}),
        ]
        if not may_change:
            return fieldsets
        if obj is None or is_chat:
            fieldsets.append(
                (
                    "Chat widget",
                    {
                        "fields": tuple(map(chat_field_name, CHAT_CONFIG_FIELDS)),
                        "description": "How the widget looks and what it asks "
                        "before a chat. Used only by a Web chat inbox.",
                    },
                )
            )
        fieldsets.append(("Secrets", {"fields": ("stored_secrets", "forget_secrets")}))
        for key, adapter in registry.inbox_adapters().items():
            if adapter.secret_fields:
                names = adapter.secret_fields
                fields = tuple(secret_field_name(key, name) for name in names)
                fieldsets.append(
                    (
                        f"{adapter.label} secrets",
                        {
                            "fields": fields,
                            "description": f"Used only by a {adapter.label} inbox.",
                        },
                    )
                )
        return fieldsets

    @admin.display(description="stored secrets")
    def stored_secrets(self, inbox: Inbox) -> str:
        # Names only: the values never leave the database through the admin.
        names = sorted(name for name, value in (inbox.secrets or {}).items() if value)
        return ", ".join(names) or "none"

    @admin.display(description="embed snippet")
    def embed(self, inbox: Inbox) -> str:
        if inbox.pk is None or inbox.adapter != Inbox.Adapter.CHAT:
            return "shown once the chat inbox is saved"
        # Read-only, in a box of its own so it copies in one go.
        return format_html(
            '<textarea readonly rows="2" cols="90" class="vLargeTextField" '
            'aria-label="Embed snippet" data-testid="embed-snippet">{}</textarea>'
            '<div class="help">Paste it into every page of an allowed site, '
            "before &lt;/body&gt;.</div>",
            embed_snippet(inbox),
        )

    @admin.display(description="webhook URL")
    def webhook_url(self, inbox: Inbox) -> str:
        if inbox.pk is None:
            return "shown once the inbox is saved"
        try:
            adapter = registry.get_adapter(inbox.adapter)
        except registry.UnknownChannelError:
            return f"none: no adapter {inbox.adapter!r} is registered"
        return adapter.inbox_endpoint(inbox)
