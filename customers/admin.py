from django.contrib import admin, messages

from customers.actions import (
    MergeError,
    do_accept_merge_suggestion,
    do_reject_merge_suggestion,
    do_unmerge_customers,
)
from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk.admin import ReadOnlyAdmin


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ("kind", "value", "display_name", "verified")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        # Identities arrive with messages and move only by merges.
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "display_name",
        "segment",
        "language",
        "merged_into",
        "created_at",
    )
    search_fields = ("display_name", "identities__value")
    list_filter = ("segment", "language")
    inlines = [IdentityInline]
    readonly_fields = ("merged_into", "created_at")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdmin):
    list_display = ("kind", "value", "customer", "verified", "created_at")
    list_filter = ("kind", "verified")
    search_fields = ("value", "display_name", "customer__display_name")


def _apply(request, queryset, action, done: str) -> None:
    count = 0
    for item in queryset:
        try:
            action(item, request.user)
            count += 1
        except MergeError as exc:
            messages.error(request, f"#{item.pk}: {exc}")
    if count:
        messages.info(request, f"{count} {done}.")


@admin.register(MergeSuggestion)
class MergeSuggestionAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "other", "status", "decided_by", "created_at")
    list_filter = ("status",)
    actions = ["accept", "reject"]

    @admin.action(description="Accept: merge the second customer into the first")
    def accept(self, request, queryset):
        _apply(
            request,
            queryset,
            lambda s, user: do_accept_merge_suggestion(suggestion=s, actor=user),
            "suggestions accepted",
        )

    @admin.action(description="Reject: keep the customers apart")
    def reject(self, request, queryset):
        _apply(
            request,
            queryset,
            lambda s, user: do_reject_merge_suggestion(suggestion=s, actor=user),
            "suggestions rejected",
        )


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ("id", "source", "target", "actor", "merged_at", "undone_at")
    list_filter = ("merged_at",)
    actions = ["undo"]

    @admin.action(description="Undo the selected merges")
    def undo(self, request, queryset):
        _apply(
            request,
            queryset,
            lambda m, user: do_unmerge_customers(merge=m, actor=user),
            "merges undone",
        )
