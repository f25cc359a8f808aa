from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from supportdesk.admin import ReadOnlyAdmin
from tickets.models import (
    Agent, Attachment, RouteChange, RoutingRule, Team, TeamMembership, Ticket,
    TimelineEvent,
)


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0


@admin.register(Agent)
class AgentAdmin(UserAdmin):
    list_display = ("username", "get_full_name", "email", "role", "is_active")
    list_filter = ("role", "is_active", "teams")
    fieldsets = UserAdmin.fieldsets + (("Desk", {"fields": ("role",)}),)
    inlines = [MembershipInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_default")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    list_display = ("position", "name", "team", "enabled", "channels", "keywords")
    list_display_links = ("name",)
    list_editable = ("position", "enabled")
    list_filter = ("enabled", "team")
    search_fields = ("name",)

    def get_readonly_fields(self, request, obj=None):
        # Pointing a rule at another team goes through the action, which can
        # re-route its tickets; the admin edits conditions and order only.
        return ("team",) if obj else ()


class RouteChangeInline(admin.TabularInline):
    model = RouteChange
    extra = 0
    can_delete = False
    fields = ("created_at", "from_team", "to_team", "rule", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "customer", "channel", "status", "priority", "team",
                    "assignee", "created_at")
    list_filter = ("status", "priority", "channel", "team")
    search_fields = ("subject", "customer__display_name", "customer__identities__value")
    raw_id_fields = ("customer", "assignee")
    # Ownership changes only through reassignment, so every move is recorded.
    readonly_fields = ("team", "routed_at", "routed_by_rule", "status", "resolution_note",
                       "created_at", "updated_at", "resolved_at", "first_response_at",
                       "last_message_at")
    inlines = [RouteChangeInline]


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("name", "content_type", "size", "sha256", "inline")
    readonly_fields = fields
    can_delete = False


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "occurred_at", "customer", "ticket", "channel", "kind",
                    "sender_name", "delivery_status")
    list_filter = ("channel", "kind", "delivery_status")
    search_fields = ("text", "subject", "external_id", "sender_name")
    list_select_related = ("customer", "ticket")
    inlines = [AttachmentInline]
    exclude = ("html",)


@admin.register(RouteChange)
class RouteChangeAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "ticket", "from_team", "to_team", "rule", "actor", "reason")
    list_filter = ("to_team", "from_team", "actor", "created_at")
    search_fields = ("reason", "ticket__subject")
    list_select_related = ("ticket", "from_team", "to_team", "rule", "actor")
