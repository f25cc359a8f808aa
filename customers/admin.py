"""Customers and identities. Merges and merge suggestions are in tickets.admin:
accepting or undoing a merge moves tickets and timeline events too."""

from django.contrib import admin

from customers.models import Customer, Identity
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
