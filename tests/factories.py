"""Factories for desk users and teams; customers, tickets and events are built by
calling the real ingestion path and actions (see tests/helpers.py)."""

import factory

from tickets.models import Agent, RoutingRule, Team, TeamMembership


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.LazyAttribute(lambda team: team.name.lower().replace(" ", "-"))


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    first_name = factory.Faker("first_name")
    role = Agent.Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", "pass")

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        for team in extracted or ():
            TeamMembership.objects.get_or_create(agent=self, team=team)
        if create:
            self.save()


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    position = factory.Sequence(lambda n: n)
    team = factory.SubFactory(TeamFactory)
