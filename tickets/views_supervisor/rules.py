"""Routing rules: the ordered list, create and edit, reorder, switch, re-point, try."""

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.choices import CallableChoiceIterator
from django.views.decorators.http import require_POST

from supportdesk import registry
from supportdesk.channel_names import Channel
from supportdesk.permissions import supervisor_required
from tickets.actions.routing import do_change_rule_team
from tickets.actions.rules import (
    RuleError,
    do_create_rule,
    do_move_rule,
    do_reorder_rules,
    do_set_rule_enabled,
    do_update_rule,
)
from tickets.models import OPEN_STATUSES, RoutingRule, Team, Ticket
from tickets.routing import RoutingFacts, decide
from tickets.views_supervisor import is_htmx

# Read when a form is built, so every registered channel is offered.
ROUTABLE_CHANNELS = CallableChoiceIterator(registry.message_channel_choices)


def split_terms(value: str) -> list[str]:
    """Comma- or line-separated words as typed by a person."""
    return [
        term.strip() for term in value.replace("\n", ",").split(",") if term.strip()
    ]


class RuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    channels = forms.MultipleChoiceField(
        choices=ROUTABLE_CHANNELS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any channel.",
    )
    keywords = forms.CharField(
        required=False, help_text="Comma-separated whole words; empty: any text."
    )
    segments = forms.CharField(
        required=False, help_text="Customer segments or tags; empty: any customer."
    )
    languages = forms.CharField(
        required=False, help_text="Language codes such as en, de; empty: any."
    )

    def conditions(self) -> dict[str, list[str]]:
        data = self.cleaned_data
        return {
            "channels": data["channels"],
            "keywords": split_terms(data["keywords"]),
            "segments": split_terms(data["segments"]),
            "languages": split_terms(data["languages"]),
        }

    @classmethod
    def for_rule(cls, rule: RoutingRule) -> "RuleForm":
        return cls(
            initial={
                "name": rule.name,
                "channels": rule.channels,
                "keywords": ", ".join(rule.keywords),
                "segments": ", ".join(rule.segments),
                "languages": ", ".join(rule.languages),
            }
        )


class NewRuleForm(RuleForm):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"))
    field_order = ["name", "team"]


class RuleTeamForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.order_by("name"))
    reroute_open = forms.BooleanField(
        required=False, label="Re-route the open tickets this rule placed"
    )
    reason = forms.CharField(required=False, max_length=500)


class TryForm(forms.Form):
    channel = forms.ChoiceField(choices=ROUTABLE_CHANNELS, initial=Channel.EMAIL)
    subject = forms.CharField(required=False, max_length=300)
    text = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    segments = forms.CharField(required=False, label="Segment or tags")
    language = forms.CharField(required=False, max_length=16)

    def facts(self) -> RoutingFacts:
        data = self.cleaned_data
        return RoutingFacts(
            channel=data["channel"],
            # Written as routing reads a real ticket: subject, then the message.
            text=f"{data['subject']}\n{data['text']}".lower(),
            segments=frozenset(s.lower() for s in split_terms(data["segments"])),
            language=data["language"].strip(),
        )


def _rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.select_related("team").order_by("position", "id"))


def _rank(rule: RoutingRule) -> int:
    """The rule's place in the order as the list shows it: 1, 2, 3, ..."""
    earlier = Q(position__lt=rule.position) | Q(position=rule.position, pk__lt=rule.pk)
    return RoutingRule.objects.filter(earlier).count() + 1


def _after_change(request: HttpRequest) -> HttpResponse:
    """htmx swaps in the fresh table; a plain form post goes back to the list."""
    if is_htmx(request):
        return render(
            request,
            "supervisor/partials/rule_table.html",
            {"rules": _rules(), "teams": Team.objects.order_by("name")},
        )
    return redirect("rules")


@supervisor_required
def rule_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = NewRuleForm(request.POST)
        if form.is_valid():
            try:
                rule = do_create_rule(
                    name=form.cleaned_data["name"],
                    team=form.cleaned_data["team"],
                    actor=request.user,
                    **form.conditions(),
                )
            except RuleError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Rule “{rule.name}” added at the end.")
                return redirect("rules")
        status = 400
    else:
        form, status = NewRuleForm(), 200
    # Its own ids: the new-rule form on the same page has a "segments" field too.
    try_form = TryForm(
        request.GET if "channel" in request.GET else None, auto_id="try_%s"
    )
    decision = decide(try_form.facts()) if try_form.is_valid() else None
    context = {
        "try_form": try_form,
        "decision": decision,
        "rank": _rank(decision.rule) if decision and decision.rule else None,
    }
    if is_htmx(request) and "channel" in request.GET:
        return render(request, "supervisor/partials/try_result.html", context)
    context.update(rules=_rules(), teams=Team.objects.order_by("name"), form=form)
    return render(request, "supervisor/rules.html", context, status=status)


@supervisor_required
def rule_edit(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule.objects.select_related("team"), pk=rule_id)
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            try:
                do_update_rule(
                    rule=rule,
                    name=form.cleaned_data["name"],
                    actor=request.user,
                    **form.conditions(),
                )
            except RuleError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Rule “{form.cleaned_data['name']}” saved.")
                return redirect("rules")
        status = 400
    else:
        form, status = RuleForm.for_rule(rule), 200
    return render(
        request,
        "supervisor/rule_edit.html",
        {
            "rule": rule,
            "form": form,
            "team_form": RuleTeamForm(initial={"team": rule.team_id}),
            "placed_open": rule_open_tickets(rule),
        },
        status=status,
    )


def rule_open_tickets(rule: RoutingRule) -> int:
    return Ticket.objects.filter(routed_by_rule=rule, status__in=OPEN_STATUSES).count()


@supervisor_required
@require_POST
def rule_team(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    form = RuleTeamForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose the team the rule should route to.")
        return redirect("supervisor-rule-edit", rule_id=rule.pk)
    team = form.cleaned_data["team"]
    moved = do_change_rule_team(
        rule=rule,
        team=team,
        actor=request.user,
        reroute_open=form.cleaned_data["reroute_open"],
        reason=form.cleaned_data["reason"],
    )
    note = f" and moved {len(moved)} open tickets" if moved else ""
    messages.success(request, f"“{rule.name}” now routes to {team}{note}.")
    return redirect("rules")


@supervisor_required
@require_POST
def rule_enabled(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    do_set_rule_enabled(
        rule=rule, enabled=request.POST.get("enabled") == "1", actor=request.user
    )
    return _after_change(request)


@supervisor_required
@require_POST
def rule_move(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = get_object_or_404(RoutingRule, pk=rule_id)
    offset = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if offset is None:
        return HttpResponse("direction must be up or down", status=400)
    do_move_rule(rule=rule, offset=offset, actor=request.user)
    return _after_change(request)


@supervisor_required
@require_POST
def rule_order(request: HttpRequest) -> HttpResponse:
    """The whole order at once, as a drag and drop leaves it."""
    try:
        rule_ids = [int(pk) for pk in request.POST.getlist("rule")]
        do_reorder_rules(rule_ids=rule_ids, actor=request.user)
    except (ValueError, RuleError):
        # A stale page (a rule added or removed meanwhile): show the real order.
        if is_htmx(request):
            return _after_change(request)
        return HttpResponse("the order must list every rule once", status=409)
    return _after_change(request)
