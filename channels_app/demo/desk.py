"""The demo desk's configuration: teams, routing rules and the people who log in.

Each row is looked up by a natural key before it is created, and rows that already
exist are left as they are, so edits made in the admin survive another seed run.
"""

from dataclasses import dataclass

from django.db import transaction

from tickets.actions.agents import ensure_supervisors_group
from tickets.models import Agent, RoutingRule, Team, TeamMembership

# (key, name, is_default): tickets that no rule matches go to the default team.
TEAMS = (
    ("billing", "Billing", False),
    ("tech", "Technical support", True),
    ("sales", "Sales", False),
)

# (position, name, team key, conditions). Billing words come first, so a crash
# report that mentions a payment lands in Billing and shows a supervisor's fix.
RULES = (
    (
        10,
        "Billing questions",
        "billing",
        {"keywords": ["invoice", "refund", "charge", "payment"]},
    ),
    (
        20,
        "Technical faults",
        "tech",
        {"keywords": ["router", "error", "login", "crash"]},
    ),
    (
        30,
        "Sales enquiries",
        "sales",
        {"keywords": ["price", "quote", "demo", "upgrade", "plan"]},
    ),
    (40, "Enterprise accounts", "sales", {"segments": ["enterprise"]}),
    (50, "Phone calls", "tech", {"channels": ["phone"]}),
)

PASSWORDS = {
    Agent.Role.ADMIN: "demo-admin",
    Agent.Role.SUPERVISOR: "demo-super",
    Agent.Role.AGENT: "demo-agent",
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    first_name: str
    last_name: str
    role: str
    teams: tuple[str, ...] = ()

    @property
    def password(self) -> str:
        return PASSWORDS[self.role]

    @property
    def team_names(self) -> tuple[str, ...]:
        names = {key: name for key, name, _ in TEAMS}
        return tuple(names[key] for key in self.teams)

    @property
    def is_staff(self) -> bool:
        # Supervisors and admins work in the Django admin; agents never need it.
        return self.role != Agent.Role.AGENT


LOGINS = (
    DemoLogin("admin", "Ada", "Admin", Agent.Role.ADMIN),
    DemoLogin("maya", "Maya", "Okonkwo", Agent.Role.SUPERVISOR),
    DemoLogin("bianca", "Bianca", "Rossi", Agent.Role.AGENT, ("billing",)),
    DemoLogin("bruno", "Bruno", "Costa", Agent.Role.AGENT, ("billing",)),
    DemoLogin("tariq", "Tariq", "Haddad", Agent.Role.AGENT, ("tech",)),
    DemoLogin("tess", "Tess", "Morgan", Agent.Role.AGENT, ("tech",)),
    DemoLogin("sofia", "Sofia", "Lindqvist", Agent.Role.AGENT, ("sales",)),
    DemoLogin("santiago", "Santiago", "Reyes", Agent.Role.AGENT, ("sales",)),
)


@dataclass(frozen=True)
class DemoDesk:
    teams: dict[str, Team]
    agents: dict[str, Agent]
    created_logins: tuple[str, ...]


@transaction.atomic
def ensure_desk() -> DemoDesk:
    """Teams, rules, the supervisors' group and the demo logins, created once."""
    teams = _ensure_teams()
    _ensure_rules(teams)
    supervisors = ensure_supervisors_group()
    agents, created = {}, []
    for login in LOGINS:
        agent, is_new = Agent.objects.get_or_create(
            username=login.username,
            defaults={
                "first_name": login.first_name,
                "last_name": login.last_name,
                "email": f"{login.username}@desk.example.com",
                "role": login.role,
                "is_staff": login.is_staff,
                "is_superuser": login.role == Agent.Role.ADMIN,
            },
        )
        if is_new:
            agent.set_password(login.password)
            agent.save(update_fields=["password"])
            created.append(login.username)
        for key in login.teams:
            TeamMembership.objects.get_or_create(agent=agent, team=teams[key])
        if login.role == Agent.Role.SUPERVISOR:
            agent.groups.add(supervisors)
        agents[login.username] = agent
    return DemoDesk(teams=teams, agents=agents, created_logins=tuple(created))


def _ensure_teams() -> dict[str, Team]:
    # The desk allows one default team; one chosen before the seed stays default.
    has_default = Team.objects.filter(is_default=True).exists()
    teams = {}
    for key, name, is_default in TEAMS:
        teams[key], _ = Team.objects.get_or_create(
            name=name,
            defaults={"slug": key, "is_default": is_default and not has_default},
        )
    return teams


def _ensure_rules(teams: dict[str, Team]) -> None:
    for position, name, team_key, conditions in RULES:
        RoutingRule.objects.get_or_create(
            name=name,
            defaults={"position": position, "team": teams[team_key], **conditions},
        )
