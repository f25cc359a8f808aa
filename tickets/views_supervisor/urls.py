"""Routes of the supervisors' pages, mounted under /supervisor/."""

from django.urls import path

from tickets.views_supervisor import agents, audit, erasure, merges, rules, teams

urlpatterns = [
    path("rules/", rules.rule_list, name="rules"),
    path("rules/order/", rules.rule_order, name="supervisor-rule-order"),
    path("rules/<int:rule_id>/", rules.rule_edit, name="supervisor-rule-edit"),
    path("rules/<int:rule_id>/move/", rules.rule_move, name="supervisor-rule-move"),
    path(
        "rules/<int:rule_id>/enabled/",
        rules.rule_enabled,
        name="supervisor-rule-enabled",
    ),
    path("rules/<int:rule_id>/team/", rules.rule_team, name="supervisor-rule-team"),
    path("teams/", teams.team_list, name="teams"),
    path("teams/<int:team_id>/", teams.team_detail, name="supervisor-team"),
    path("teams/<int:team_id>/reassign/", teams.reassign, name="supervisor-reassign"),
    path("audit/", audit.audit_log, name="audit"),
    path("agents/", agents.agent_list, name="supervisor-agents"),
    path(
        "agents/invitations/<int:invitation_id>/resend/",
        agents.resend,
        name="supervisor-invitation-resend",
    ),
    path(
        "agents/invitations/<int:invitation_id>/revoke/",
        agents.revoke,
        name="supervisor-invitation-revoke",
    ),
    path("customers/", merges.customer_search, name="supervisor-customers"),
    path("customers/merge/", merges.merge, name="supervisor-merge"),
    path(
        "customers/<int:customer_id>/erase/",
        erasure.erase_customer,
        name="supervisor-customer-erase",
    ),
    path(
        "customers/merges/<int:merge_id>/undo/",
        merges.undo_merge,
        name="supervisor-merge-undo",
    ),
    path(
        "customers/suggestions/<int:suggestion_id>/",
        merges.decide_suggestion,
        name="supervisor-suggestion",
    ),
]
