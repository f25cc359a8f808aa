"""Seeding the bench data set with COPY, once; later runs reuse it by its marker.

Everything happens in one transaction: the desk's tables are emptied, the small
desk (teams, rules, agents) is created through the ORM, the bulk rows stream in
through COPY with the secondary indexes dropped, the indexes are rebuilt and the
marker is written. A failure half-way leaves the previous state untouched.
"""

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, transaction

from customers.models import Customer, Identity
from tests.bench import generate
from tests.bench.database import (
    MARKER_TABLE,
    DatasetMarker,
    DatasetSpec,
    write_marker,
)
from tickets.models import (
    Agent,
    RouteChange,
    RoutingRule,
    Team,
    TeamMembership,
    Ticket,
    TimelineEvent,
)
from tickets.search import rebuild_search_documents

SUPERVISOR_USERNAME = "bench-supervisor"
HEAVY_CUSTOMER_ID = 1
SEED = 20_240_601

TEAMS = (
    # slug, name, is_default
    ("general", "General", True),
    ("billing", "Billing", False),
    ("tech", "Technical support", False),
    ("sales", "Sales", False),
    ("returns", "Returns", False),
    ("vip", "VIP care", False),
    ("social", "Social media", False),
    ("dach", "German desk", False),
)
RULES = (
    # name, team slug, conditions
    ("VIP customers", "vip", {"segments": ["vip"]}),
    (
        "Billing words",
        "billing",
        {"keywords": ["refund", "invoice", "charged", "billing"]},
    ),
    (
        "Technical words",
        "tech",
        {"keywords": ["error", "crash", "crashes", "login", "log in", "password"]},
    ),
    ("Sales words", "sales", {"keywords": ["price", "quote", "upgrade", "demo"]}),
    (
        "Returns words",
        "returns",
        {"keywords": ["return", "exchange", "broken", "label"]},
    ),
    (
        "Social channels",
        "social",
        {"channels": ["whatsapp", "messenger", "telegram", "instagram"]},
    ),
    ("German speakers", "dach", {"languages": ["de"]}),
)
AGENTS_PER_TEAM = 3

CUSTOMER_COLUMNS = (
    "id",
    "display_name",
    "language",
    "segment",
    "tags",
    "merged_into_id",
    "created_at",
)
IDENTITY_COLUMNS = (
    "id",
    "customer_id",
    "kind",
    "value",
    "display_name",
    "verified",
    "created_at",
)
TICKET_COLUMNS = (
    "id",
    "customer_id",
    "subject",
    "status",
    "priority",
    "channel",
    "language",
    "conversation_key",
    "team_id",
    "assignee_id",
    "routed_at",
    "routed_by_rule_id",
    "resolution_note",
    "created_at",
    "updated_at",
    "last_message_at",
    "first_response_at",
    "resolved_at",
)
ROUTE_CHANGE_COLUMNS = (
    "id",
    "ticket_id",
    "from_team_id",
    "to_team_id",
    "rule_id",
    "actor_id",
    "reason",
    "created_at",
)
EVENT_COLUMNS = (
    "id",
    "customer_id",
    "ticket_id",
    "channel",
    "kind",
    "author_id",
    "sender_identity_id",
    "sender_name",
    "subject",
    "text",
    "quoted_text",
    "html",
    "external_id",
    "delivery_status",
    "delivery_error",
    "metadata",
    "occurred_at",
    "created_at",
)
BULK_MODELS = (Customer, Identity, Ticket, RouteChange, TimelineEvent)


def seed(spec: DatasetSpec, say: Callable[[str], None]) -> DatasetMarker:
    started = time.monotonic()
    now = datetime.now(UTC)
    with transaction.atomic():
        _empty_desk()
        desk = _create_desk()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            if _is_superuser(cursor):
                # Skips the foreign-key triggers while loading: the generated rows
                # reference only ids generated alongside them.
                cursor.execute("SET LOCAL session_replication_role = replica")
            dropped = _drop_secondary_indexes(cursor)
            tickets = _load(cursor, spec, desk, now, say)
            say("  writing the tickets' search documents")
            # COPY bypasses the actions that keep them; the GIN index is built
            # once, with the others, from the written documents.
            rebuild_search_documents(ticket_ids=None)
            say(f"  rebuilding {len(dropped)} indexes")
            for definition in dropped:
                cursor.execute(definition)
            for statement in connection.ops.sequence_reset_sql(
                no_style(), [*BULK_MODELS, Team, RoutingRule, Agent, TeamMembership]
            ):
                cursor.execute(statement)
        marker = DatasetMarker(
            spec=spec,
            heavy_customer_id=HEAVY_CUSTOMER_ID,
            tickets=tickets,
            seconds=round(time.monotonic() - started, 1),
        )
        write_marker(marker)
    with connection.cursor() as cursor:
        for model in BULK_MODELS:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return marker


def _empty_desk() -> None:
    tables = [
        model._meta.db_table
        for label in ("customers", "tickets", "channels_app")
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
    ]
    tables += ["django_session", "django_admin_log", MARKER_TABLE]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def _create_desk() -> generate.Desk:
    teams = {
        slug: Team.objects.create(name=name, slug=slug, is_default=is_default)
        for slug, name, is_default in TEAMS
    }
    rules = [
        RoutingRule.objects.create(
            name=name, position=position, team=teams[slug], **conditions
        )
        for position, (name, slug, conditions) in enumerate(RULES, start=1)
    ]
    unusable = make_password(None)
    agents_by_team: dict[int, list[int]] = {}
    for slug, team in teams.items():
        agents = Agent.objects.bulk_create(
            Agent(
                username=f"bench-{slug}-{number}",
                first_name=slug.title(),
                last_name=f"Agent {number}",
                password=unusable,
            )
            for number in range(1, AGENTS_PER_TEAM + 1)
        )
        TeamMembership.objects.bulk_create(
            TeamMembership(agent=agent, team=team) for agent in agents
        )
        agents_by_team[team.pk] = [agent.pk for agent in agents]
    Agent.objects.create(
        username=SUPERVISOR_USERNAME,
        first_name="Bench",
        last_name="Supervisor",
        role=Agent.Role.SUPERVISOR,
        password=unusable,
    )
    return generate.Desk(
        rules=rules,
        default_team_id=teams["general"].pk,
        team_names={team.pk: team.name for team in teams.values()},
        agents_by_team=agents_by_team,
    )


def _is_superuser(cursor) -> bool:
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    row = cursor.fetchone()
    return bool(row and row[0])


def _drop_secondary_indexes(cursor) -> list[str]:
    """Drop the indexes no constraint owns; return the statements that rebuild them."""
    tables = [model._meta.db_table for model in BULK_MODELS]
    cursor.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        [tables],
    )
    found = cursor.fetchall()
    for name, _definition in found:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in found]


def _copy(cursor, model, columns: tuple[str, ...], rows: Iterable[tuple]) -> int:
    statement = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    written = 0
    with cursor.connection.cursor() as raw, raw.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def _load(cursor, spec: DatasetSpec, desk, now: datetime, say) -> int:
    counts = generate.event_counts(spec.customers, spec.events, spec.heavy_events, SEED)
    people = [
        generate.profile(cid, now, heavy=cid == HEAVY_CUSTOMER_ID)
        for cid in range(1, spec.customers + 1)
    ]
    customers, identities = generate.customer_rows(people)
    _copy(cursor, Customer, CUSTOMER_COLUMNS, customers)
    _copy(cursor, Identity, IDENTITY_COLUMNS, identities)
    say(f"  {len(customers):,} customers, {len(identities):,} identities")
    del customers, identities

    rows = generate.Rows()
    timeline = generate.Timeline(desk, rows, now, spec.customers)

    def events():
        for person, count in zip(people, counts, strict=True):
            heavy = person.customer_id == HEAVY_CUSTOMER_ID
            yield from timeline.events(
                person, count, generate.tickets_for(count, heavy=heavy)
            )

    written = _copy(cursor, TimelineEvent, EVENT_COLUMNS, events())
    _copy(cursor, Ticket, TICKET_COLUMNS, rows.tickets)
    _copy(cursor, RouteChange, ROUTE_CHANGE_COLUMNS, rows.route_changes)
    say(f"  {written:,} timeline events, {len(rows.tickets):,} tickets")
    return len(rows.tickets)
