from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin

from customers.actions import MergeError, do_reject_merge_suggestion
from customers.models import CustomerMerge, MergeSuggestion
from supportdesk.admin import ReadOnlyAdmin
from tickets.actions.merges import do_accept_merge_suggestion, do_unmerge_customers
from tickets.actions.routing import (
    RoutingError,
    do_change_rule_team,
    do_reassign_ticket,
)
from tickets.actions.tickets import (
    TicketActionError,
    do_assign_ticket,
    do_change_priority,
)
from tickets.models import (
    Agent,
    Attachment,
    RouteChange,
    RoutingRule,
    Team,
    TeamMembership,
    Ticket,
    TimelineEvent,
)
from tickets.search import rebuild_search_documents


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    extra = 0


@admin.register(Agent)
class AgentAdmin(UserAdmin):
    list_display = ("username", "get_full_name", "email", "role", "is_active")
    list_filter = ("role", "is_active", "teams")
    fieldsets = (*UserAdmin.fieldsets, ("Desk", {"fields": ("role",)}))
    inlines = [MembershipInline]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "is_default")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


class RoutingRuleForm(forms.ModelForm):
    reroute_open = forms.BooleanField(
        required=False,
        label="Re-route open tickets",
        help_text="When the team changes, move the open tickets this rule placed too.",
    )

    class Meta:
        model = RoutingRule
        fields = (
            "name",
            "position",
            "enabled",
            "team",
            "channels",
            "keywords",
            "segments",
            "languages",
        )


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = ("position", "name", "team", "enabled", "channels", "keywords")
    list_display_links = ("name",)
    list_editable = ("position", "enabled")
    list_filter = ("enabled", "team")
    search_fields = ("name",)

    def save_model(self, request, obj, form, change):
        if not change or "team" not in form.changed_data:
            return super().save_model(request, obj, form, change)
        # A new team goes through the action, which records the moves it makes.
        new_team = obj.team
        obj.team_id = form.initial["team"]
        super().save_model(request, obj, form, change)
        moved = do_change_rule_team(
            rule=obj,
            team=new_team,
            actor=request.user,
            reroute_open=form.cleaned_data["reroute_open"],
        )
        obj.refresh_from_db()
        if moved:
            messages.info(request, f"{len(moved)} open tickets moved to {new_team}.")


class RouteChangeInline(admin.TabularInline):
    model = RouteChange
    extra = 0
    can_delete = False
    fields = ("created_at", "from_team", "to_team", "rule", "actor", "reason")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class TicketForm(forms.ModelForm):
    reassign_to = forms.ModelChoiceField(
        Team.objects.all(), required=False, label="Reassign to team"
    )
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the ticket moves; required with a reassignment.",
    )

    class Meta:
        model = Ticket
        fields = ("subject", "priority", "assignee")

    def clean(self):
        data = super().clean()
        if data.get("reassign_to") and not (data.get("reason") or "").strip():
            self.add_error("reason", "Say why the ticket moves.")
        return data


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    form = TicketForm
    list_display = (
        "id",
        "subject",
        "customer",
        "channel",
        "status",
        "priority",
        "team",
        "assignee",
        "created_at",
    )
    list_filter = ("status", "priority", "channel", "team")
    search_fields = ("subject", "customer__display_name", "customer__identities__value")
    raw_id_fields = ("customer", "assignee")
    # Ownership changes only through reassignment, so every move is recorded.
    readonly_fields = (
        "team",
        "routed_at",
        "routed_by_rule",
        "status",
        "resolution_note",
        "created_at",
        "updated_at",
        "resolved_at",
        "first_response_at",
        "last_message_at",
    )
    inlines = [RouteChangeInline]

    def has_add_permission(self, request) -> bool:
        # Tickets come from the channels, through ingestion.
        return False

    def save_model(self, request, obj, form, change):
        # Priority and assignee change through their actions, which check them and
        # put the change on the timeline; the form itself saves the subject only.
        priority, assignee = obj.priority, obj.assignee
        obj.priority = form.initial.get("priority", obj.priority)
        obj.assignee_id = form.initial.get("assignee")
        super().save_model(request, obj, form, change)
        if "subject" in form.changed_data:
            # The old subject's words leave the search document with it.
            rebuild_search_documents(ticket_ids=[obj.pk])
        team = form.cleaned_data.get("reassign_to")
        try:
            if team:
                do_reassign_ticket(
                    ticket=obj,
                    to_team=team,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            if "priority" in form.changed_data:
                do_change_priority(ticket=obj, priority=priority, actor=request.user)
            if "assignee" in form.changed_data:
                do_assign_ticket(ticket=obj, assignee=assignee, actor=request.user)
        except (RoutingError, TicketActionError) as exc:
            messages.error(request, str(exc))
        obj.refresh_from_db()


class AttachmentInline(admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ("name", "content_type", "size", "sha256", "inline")
    readonly_fields = fields
    can_delete = False


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "occurred_at",
        "customer",
        "ticket",
        "channel",
        "kind",
        "sender_name",
        "delivery_status",
    )
    list_filter = ("channel", "kind", "delivery_status")
    search_fields = ("text", "subject", "external_id", "sender_name")
    list_select_related = ("customer", "ticket")
    inlines = [AttachmentInline]
    exclude = ("html",)


@admin.register(RouteChange)
class RouteChangeAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "ticket",
        "from_team",
        "to_team",
        "rule",
        "actor",
        "reason",
    )
    list_filter = ("to_team", "from_team", "actor", "created_at")
    search_fields = ("reason", "ticket__subject")
    list_select_related = ("ticket", "from_team", "to_team", "rule", "actor")


# Customers' merges and suggestions sit here, not in customers.admin: accepting
# or undoing one moves tickets and timeline events as well.


def _apply_merge_action(request, queryset, action, done: str) -> None:
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
        _apply_merge_action(
            request,
            queryset,
            lambda s, user: do_accept_merge_suggestion(suggestion=s, actor=user),
            "suggestions accepted",
        )

    @admin.action(description="Reject: keep the customers apart")
    def reject(self, request, queryset):
        _apply_merge_action(
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
        _apply_merge_action(
            request,
            queryset,
            lambda m, user: do_unmerge_customers(merge=m, actor=user),
            "merges undone",
        )
