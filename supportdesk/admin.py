from django import forms
from django.contrib import admin, messages

from supportdesk.api.tokens import do_issue_api_token, do_revoke_api_tokens
from supportdesk.models import ApiToken, AuditEntry


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit tables: shown, searched and filtered, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# What the token list shows, and the page of an existing token.
TOKEN_COLUMNS = (
    "name",
    "user",
    "key_start",
    "scope_list",
    "created_at",
    "last_used_at",
    "revoked_at",
)


class ApiTokenAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiToken.Scope.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="Admin includes write, and write includes read.",
    )

    class Meta:
        model = ApiToken
        fields = ("user", "name", "scopes")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made here or with `manage.py create_api_token`; the key is shown
    once, when it is made. A token is revoked, never edited into another one."""

    list_display = TOKEN_COLUMNS
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "user__username", "key_start")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, token: ApiToken) -> str:
        return ", ".join(token.scopes)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("user", "name", "scopes")
        return TOKEN_COLUMNS

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        # Only its name changes; anything else would make it another token.
        return tuple(column for column in TOKEN_COLUMNS if column != "name")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = do_issue_api_token(
            user=obj.user, name=obj.name, scopes=form.cleaned_data["scopes"]
        )
        # The admin goes on with the form's object: make it the issued token.
        obj.pk = token.pk
        obj.refresh_from_db()
        obj._state.adding = False
        messages.warning(
            request,
            f"The key of “{token.name}”: {key} — copy it now, it is not shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        count = do_revoke_api_tokens(tokens=queryset)
        messages.success(request, f"Revoked {count} token(s).")


# ------------------------------------------------------------- outbound webhooks


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """Erasures and retention purges: who, when, why and how much."""

    list_display = ("created_at", "action", "actor_name", "target", "reason")
    list_filter = ("action",)
    search_fields = ("actor_name", "target", "reason")
    date_hierarchy = "created_at"
