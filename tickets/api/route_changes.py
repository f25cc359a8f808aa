"""The record of every change of a ticket's owning team, over HTTP (read-only).

Supervisors read all of it, as on the audit page; an agent reads the changes of
the tickets they may see, so another team's ticket leaves no trace here either.
"""

from drf_spectacular.utils import (
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from supportdesk.api.inputs import MAX_ID, error_responses, validated
from tickets.api.serializers import AgentRefSerializer, TeamRefSerializer
from tickets.models import RouteChange
from tickets.selectors import tickets_visible_to
from tickets.supervision import InvalidCursorError, RouteChangeFilter, route_changes

# ---------------------------------------------------------------------- output


class RuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)


class RouteChangeSerializer(serializers.ModelSerializer):
    ticket = serializers.PrimaryKeyRelatedField(read_only=True)
    from_team = TeamRefSerializer(
        read_only=True, allow_null=True, help_text="Null when the ticket was routed."
    )
    to_team = TeamRefSerializer(read_only=True)
    rule = RuleRefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The routing rule that decided, if one did (and still exists).",
    )
    actor = AgentRefSerializer(
        read_only=True, allow_null=True, help_text="Null when routing decided."
    )

    class Meta:
        model = RouteChange
        fields = [
            "id",
            "ticket",
            "from_team",
            "to_team",
            "rule",
            "actor",
            "reason",
            "created_at",
        ]
        read_only_fields = fields


# One page object, not a list of them, though answered by the list action.
@extend_schema_serializer(many=False)
class RouteChangePageSerializer(serializers.Serializer):
    results = RouteChangeSerializer(many=True)
    next = serializers.CharField(
        allow_null=True,
        help_text="Pass as ?cursor= (with the same filters) for the next page; "
        "null on the last page.",
    )


# ----------------------------------------------------------------------- input


class RouteChangeQuerySerializer(serializers.Serializer):
    ticket = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Moved from or to this team.",
    )
    actor = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Moved by this agent.",
    )
    since = serializers.DateTimeField(required=False, help_text="At or after.")
    until = serializers.DateTimeField(required=False, help_text="Before.")
    cursor = serializers.CharField(
        required=False, max_length=200, help_text="The `next` of the previous page."
    )
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=200, default=50
    )


# ----------------------------------------------------------------------- views


@extend_schema_view(
    list=extend_schema(
        summary="Route changes, newest first",
        description="Every change of a ticket's owning team: routing by a rule, "
        "a supervisor's move, a rule pointed elsewhere. Supervisors see all; "
        "agents see those of the tickets they may see. Needs the read scope.",
        parameters=[RouteChangeQuerySerializer],
        responses={200: RouteChangePageSerializer, **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="A route change",
        responses={200: RouteChangeSerializer, **error_responses(404)},
    ),
)
class RouteChangeViewSet(
    mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = RouteChangeSerializer
    # Pages come from the audit's own keyset cursor, as on the audit page.
    pagination_class = None
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema is drawn without a real request.
            return RouteChange.objects.none()
        visible = tickets_visible_to(self.request.user).values("pk")
        return RouteChange.objects.select_related(
            "from_team", "to_team", "rule", "actor"
        ).filter(ticket_id__in=visible)

    def list(self, request):
        data = validated(RouteChangeQuerySerializer, request.query_params)
        filters = RouteChangeFilter(
            team_id=data.get("team"),
            actor_id=data.get("actor"),
            ticket_id=data.get("ticket"),
            since=data.get("since"),
            until=data.get("until"),
        )
        try:
            changes, next_cursor = route_changes(
                filters=filters,
                limit=data["limit"],
                cursor=data.get("cursor"),
                viewer=request.user,
            )
        except InvalidCursorError:
            raise NotFound("Invalid cursor.") from None
        return Response(
            RouteChangePageSerializer({"results": changes, "next": next_cursor}).data
        )
