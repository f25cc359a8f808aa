from django.contrib import admin

from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from supportdesk.admin import ReadOnlyAdmin


class IdentityInline(admin.TabularInline):
    model = Identity
    extra = 0
    fields = ("kind", "value", "display_name", "verified")


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "display_name", "segment", "language", "merged_into", "created_at")
    search_fields = ("display_name", "identities__value")
    list_filter = ("segment", "language")
    inlines = [IdentityInline]
    raw_id_fields = ("merged_into",)


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("kind", "value", "customer", "verified", "created_at")
    list_filter = ("kind", "verified")
    search_fields = ("value", "display_name", "customer__display_name")
    raw_id_fields = ("customer",)


@admin.register(MergeSuggestion)
class MergeSuggestionAdmin(ReadOnlyAdmin):
    list_display = ("id", "customer", "other", "status", "decided_by", "created_at")
    list_filter = ("status",)


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ("id", "source", "target", "actor", "merged_at", "undone_at")
    list_filter = ("merged_at",)
