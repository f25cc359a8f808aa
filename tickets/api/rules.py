"""Routing rules over HTTP: the supervisors' rules page, through the same actions.

Rules are the desk's configuration: reading them takes the read scope, changing
them the admin scope, and either way a supervisor's or admin's account (agents
get a 403, as on the page).
"""

from django.db import transaction
from django.utils.choices import CallableChoiceIterator
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from supportdesk import registry
from supportdesk.api.errors import ActionConflict
from supportdesk.api.inputs import (
    MAX_ID,
    StrictInputSerializer,
    error_responses,
    validated,
)
from supportdesk.api.permissions import ADMINS_ONLY, SUPERVISORS
from supportdesk.models import ApiToken
from tickets.actions.routing import do_change_rule_team
from tickets.actions.rules import (
    RuleError,
    do_create_rule,
    do_delete_rule,
    do_reorder_rules,
    do_set_rule_enabled,
    do_update_rule,
)
from tickets.api.serializers import TeamRefSerializer
from tickets.models import OPEN_STATUSES, RoutingRule, Team, Ticket

# Read each time a serializer is built, so every registered channel is known.
ROUTABLE_CHANNELS = CallableChoiceIterator(registry.message_channel_choices)
CONDITIONS = ("channels", "keywords", "segments", "languages")
# Bounds on one rule's conditions: a rule is typed by a person.
MAX_TERMS = 100
MAX_TERM_CHARS = 200
MAX_REASON_CHARS = 500

# ---------------------------------------------------------------------- output


class RuleSerializer(serializers.ModelSerializer):
    team = TeamRefSerializer(read_only=True)

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "position",
            "enabled",
            "team",
            "channels",
            "keywords",
            "segments",
            "languages",
        ]
        read_only_fields = fields


class RuleDetailSerializer(RuleSerializer):
    open_tickets = serializers.SerializerMethodField(
        help_text="Open tickets this rule placed: what a re-route would move."
    )

    class Meta(RuleSerializer.Meta):
        fields = [*RuleSerializer.Meta.fields, "open_tickets"]
        read_only_fields = fields

    def get_open_tickets(self, rule: RoutingRule) -> int:
        return Ticket.objects.filter(
            routed_by_rule=rule, status__in=OPEN_STATUSES
        ).count()


class RuleTeamResultSerializer(serializers.Serializer):
    rule = RuleSerializer()
    moved_tickets = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="The open tickets moved to the new team, each with its route change.",
    )


# ----------------------------------------------------------------------- input


def _terms(help_text: str, *, choices=None) -> serializers.ListField:
    child = (
        serializers.ChoiceField(choices=choices)
        if choices
        else serializers.CharField(max_length=MAX_TERM_CHARS)
    )
    return serializers.ListField(
        child=child,
        required=False,
        default=list,
        max_length=MAX_TERMS,
        help_text=help_text,
    )


class RuleInputSerializer(StrictInputSerializer):
    """A rule's name, conditions and switch; an empty condition matches anything."""

    name = serializers.CharField(max_length=120)
    channels = _terms("Empty: any channel.", choices=ROUTABLE_CHANNELS)
    keywords = _terms("Whole words; empty: any text.")
    segments = _terms("Customer segments or tags; empty: any customer.")
    languages = _terms("Language codes such as en, de; empty: any.")
    enabled = serializers.BooleanField(
        required=False, help_text="Off: routing passes the rule by."
    )


class NewRuleInputSerializer(RuleInputSerializer):
    team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), help_text="Where the rule sends what it matches."
    )


class RuleTeamInputSerializer(StrictInputSerializer):
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all())
    reroute_open = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Move the open tickets this rule placed to the new team too.",
    )
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=MAX_REASON_CHARS,
        help_text="Recorded on each moved ticket's route change.",
    )


class RuleOrderInputSerializer(StrictInputSerializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_empty=False,
        max_length=10_000,
        help_text="Every rule's id once, first rule first.",
    )


# ----------------------------------------------------------------------- views


def _rules():
    return RoutingRule.objects.select_related("team").order_by("position", "id")


def _refused(exc: RuleError) -> ValidationError:
    return ValidationError({"non_field_errors": [f"{str(exc).capitalize()}."]})


@extend_schema_view(
    list=extend_schema(
        summary="Routing rules in their order",
        description="The first enabled rule that matches a new ticket decides its "
        "team; a ticket no rule matches goes to the default team. Supervisors "
        "only; needs the read scope.",
        responses={200: RuleSerializer(many=True), **error_responses()},
    ),
    retrieve=extend_schema(
        summary="A routing rule",
        description="Supervisors only; needs the read scope.",
        responses={200: RuleDetailSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Add a rule at the end of the order",
        description=ADMINS_ONLY,
        request=NewRuleInputSerializer,
        responses={201: RuleDetailSerializer, **error_responses(400)},
    ),
    update=extend_schema(
        summary="Replace a rule's name, conditions and switch",
        description="Its team and place stay: see rules/{id}/team/ and "
        "rules/order/. Conditions left out become empty (match anything); the "
        "switch stays as it is unless given. " + ADMINS_ONLY,
        request=RuleInputSerializer,
        responses={200: RuleDetailSerializer, **error_responses(400, 404)},
    ),
    partial_update=extend_schema(
        summary="Change some of a rule's name, conditions and switch",
        description="Its team and place stay: see rules/{id}/team/ and "
        "rules/order/. " + ADMINS_ONLY,
        request=RuleInputSerializer,
        responses={200: RuleDetailSerializer, **error_responses(400, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a rule",
        description="The rules after it move up. Tickets it placed keep their "
        "team. " + ADMINS_ONLY,
        responses={204: None, **error_responses(404)},
    ),
)
class RuleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = SUPERVISORS
    # Few rows, and their order is the point: one page, in the routing order.
    pagination_class = None
    lookup_value_regex = r"\d+"

    @property
    def required_scope(self) -> str | None:
        """Writes change the desk's configuration; reads need only `read`."""
        if self.request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        return ApiToken.Scope.ADMIN

    def get_queryset(self):
        return _rules()

    def get_serializer_class(self):
        return RuleSerializer if self.action == "list" else RuleDetailSerializer

    def _answer(self, rule: RoutingRule, code: int = status.HTTP_200_OK):
        return Response(RuleDetailSerializer(_rules().get(pk=rule.pk)).data, code)

    def create(self, request):
        data = validated(NewRuleInputSerializer, request.data)
        try:
            rule = do_create_rule(actor=request.user, **{"enabled": True, **data})
        except RuleError as exc:
            raise _refused(exc) from None
        return self._answer(rule, status.HTTP_201_CREATED)

    def update(self, request, pk=None):
        return self._change(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._change(request, partial=True)

    def _change(self, request, *, partial: bool):
        rule = self.get_object()
        data = validated(RuleInputSerializer, request.data, partial=partial)
        current = {"name": rule.name, **{c: getattr(rule, c) for c in CONDITIONS}}
        try:
            with transaction.atomic():
                if current.keys() & data.keys():
                    rule = do_update_rule(
                        rule=rule, actor=request.user, **{**current, **_only(data)}
                    )
                if "enabled" in data:
                    rule = do_set_rule_enabled(
                        rule=rule, enabled=data["enabled"], actor=request.user
                    )
        except RuleError as exc:
            raise _refused(exc) from None
        return self._answer(rule)

    def destroy(self, request, pk=None):
        rule = self.get_object()
        try:
            do_delete_rule(rule=rule, actor=request.user)
        except RuleError as exc:
            # Deleted by someone else meanwhile.
            raise ActionConflict(f"Not deleted: {exc}.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Point a rule at another team",
        description="With reroute_open, the open tickets the rule placed move "
        "too, each with its route change. " + ADMINS_ONLY,
        request=RuleTeamInputSerializer,
        responses={200: RuleTeamResultSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["post"])
    def team(self, request, pk=None):
        rule = self.get_object()
        data = validated(RuleTeamInputSerializer, request.data)
        changes = do_change_rule_team(rule=rule, actor=request.user, **data)
        return Response(
            RuleTeamResultSerializer(
                {
                    "rule": _rules().get(pk=rule.pk),
                    "moved_tickets": [change.ticket_id for change in changes],
                }
            ).data
        )

    @extend_schema(
        summary="Put the rules in a new order",
        description="`ids` must name every rule exactly once; an order made "
        "before a rule was added or deleted is refused with 409, and the current "
        "order is left as it was. " + ADMINS_ONLY,
        request=RuleOrderInputSerializer,
        responses={200: RuleSerializer(many=True), **error_responses(400, 409)},
    )
    @action(detail=False, methods=["post"])
    def order(self, request):
        data = validated(RuleOrderInputSerializer, request.data)
        try:
            do_reorder_rules(rule_ids=data["ids"], actor=request.user)
        except RuleError as exc:
            raise ActionConflict(f"Not reordered: {exc}.") from None
        return Response(RuleSerializer(_rules(), many=True).data)


def _only(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "enabled"}
