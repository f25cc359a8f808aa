"""Teams with their load, and the desk's agents, over HTTP (read-only).

Teams are the supervisors' teams page: open, unassigned and oldest waiting
tickets, and each member's open tickets. Agents are listed for anyone who hands
tickets to them: an agent sees their teammates, a supervisor everyone.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response

from supportdesk.api.inputs import MAX_ID, error_responses, validated
from supportdesk.api.permissions import SUPERVISORS
from tickets.api.serializers import AgentRefSerializer, TeamRefSerializer
from tickets.models import Agent, Team
from tickets.selectors import agents_visible_to
from tickets.supervision import TeamLoad, team_loads

# ---------------------------------------------------------------------- output


class TeamMemberLoadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    open_tickets = serializers.IntegerField(help_text="Open tickets assigned.")


class TeamLoadSerializer(serializers.Serializer):
    """A team as the teams page shows it."""

    id = serializers.IntegerField(source="team.pk")
    name = serializers.CharField(source="team.name")
    slug = serializers.CharField(source="team.slug")
    is_default = serializers.BooleanField(
        source="team.is_default",
        help_text="Tickets no routing rule matches go to this team.",
    )
    open_count = serializers.IntegerField(help_text="Open tickets it owns.")
    unassigned_count = serializers.IntegerField(
        help_text="Open tickets it owns that nobody is assigned to."
    )
    oldest_waiting_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When its oldest ticket waiting on the desk (new or open) was "
        "opened.",
    )
    agents = serializers.SerializerMethodField(
        help_text="Its active members, least loaded first."
    )

    @extend_schema_field(TeamMemberLoadSerializer(many=True))
    def get_agents(self, load: TeamLoad) -> list[dict]:
        return [
            {
                "id": agent.pk,
                "username": agent.username,
                "name": agent.get_full_name() or agent.username,
                "open_tickets": open_tickets,
            }
            for agent, open_tickets in load.agents
        ]


class AgentSerializer(AgentRefSerializer):
    teams = TeamRefSerializer(many=True, read_only=True)

    class Meta(AgentRefSerializer.Meta):
        fields = [*AgentRefSerializer.Meta.fields, "role", "is_active", "teams"]
        read_only_fields = fields


class AgentQuerySerializer(serializers.Serializer):
    team = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Only members of this team.",
    )


# ----------------------------------------------------------------------- views


@extend_schema_view(
    list=extend_schema(
        summary="Teams with their load",
        description="Supervisors only; needs the read scope.",
        responses={200: TeamLoadSerializer(many=True), **error_responses()},
    ),
    retrieve=extend_schema(
        summary="A team with its load and members",
        description="Supervisors only; needs the read scope.",
        responses={200: TeamLoadSerializer, **error_responses(404)},
    ),
)
class TeamViewSet(viewsets.GenericViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamLoadSerializer
    permission_classes = SUPERVISORS
    # A desk has a handful of teams, and their load is read for all at once.
    pagination_class = None
    lookup_value_regex = r"\d+"

    def list(self, request):
        return Response(TeamLoadSerializer(team_loads(), many=True).data)

    def retrieve(self, request, pk=None):
        team = self.get_object()
        load = next(load for load in team_loads() if load.team.pk == team.pk)
        return Response(TeamLoadSerializer(load).data)


@extend_schema_view(
    list=extend_schema(
        summary="Agents, newest first",
        description="Agents see themselves and their teammates; supervisors see "
        "every account. Needs the read scope.",
        parameters=[AgentQuerySerializer],
        responses={200: AgentSerializer(many=True), **error_responses(400, 404)},
    ),
    retrieve=extend_schema(
        summary="An agent with their teams",
        responses={200: AgentSerializer, **error_responses(404)},
    ),
)
class AgentViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = AgentSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The schema is drawn without a real request.
            return Agent.objects.none()
        agents = agents_visible_to(self.request.user).prefetch_related(
            Prefetch("teams", queryset=Team.objects.order_by("name"))
        )
        if self.action == "list":
            params = validated(AgentQuerySerializer, self.request.query_params)
            if "team" in params:
                agents = agents.filter(teams__id=params["team"])
        return agents
