"""The bench database: created when missing, migrated, and marked once seeded."""

import json
from dataclasses import asdict, dataclass

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from psycopg import sql

MARKER_TABLE = "bench_dataset"


class BenchDatabaseError(RuntimeError):
    pass


@dataclass(frozen=True)
class DatasetSpec:
    """The size of the generated data set; a marker with another spec is stale."""

    customers: int
    events: int
    heavy_events: int
    version: int = 2


@dataclass(frozen=True)
class DatasetMarker:
    spec: DatasetSpec
    heavy_customer_id: int
    tickets: int
    seconds: float


def check_bench_database() -> str:
    """The database name, after refusing anything that is not a bench PostgreSQL."""
    config = settings.DATABASES["default"]
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise BenchDatabaseError(
            "the bench needs PostgreSQL: set DATABASE_URL=postgres://.../..._bench"
        )
    name = config["NAME"]
    # Seeding truncates the desk's tables, so a desk database with real work in it
    # must never be mistaken for the bench one.
    if "bench" not in name or name.startswith("test_"):
        raise BenchDatabaseError(
            f"refusing to bench database {name!r}: its name must contain 'bench'"
        )
    return name


def ensure_database(name: str) -> bool:
    """Create the bench database when it does not exist yet; True when created."""
    config = settings.DATABASES["default"]
    params = {
        "dbname": "postgres",
        "host": config.get("HOST") or None,
        "port": config.get("PORT") or None,
        "user": config.get("USER") or None,
        "password": config.get("PASSWORD") or None,
    }
    with psycopg.connect(
        autocommit=True, **{k: v for k, v in params.items() if v}
    ) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if exists:
            return False
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def migrate() -> None:
    call_command("migrate", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} ("
            " id integer PRIMARY KEY CHECK (id = 1),"
            " spec jsonb NOT NULL,"
            " heavy_customer_id bigint NOT NULL,"
            " tickets integer NOT NULL,"
            " seconds double precision NOT NULL,"
            " seeded_at timestamptz NOT NULL DEFAULT now())"
        )


def read_marker() -> DatasetMarker | None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT spec, heavy_customer_id, tickets, seconds FROM {MARKER_TABLE}"
        )
        row = cursor.fetchone()
    if row is None:
        return None
    spec, heavy_customer_id, tickets, seconds = row
    if isinstance(spec, str):
        spec = json.loads(spec)
    try:
        parsed = DatasetSpec(**spec)
    except TypeError:
        return None
    return DatasetMarker(parsed, heavy_customer_id, tickets, seconds)


def write_marker(marker: DatasetMarker) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE}"
            " (id, spec, heavy_customer_id, tickets, seconds)"
            " VALUES (1, %s, %s, %s, %s)",
            [
                json.dumps(asdict(marker.spec)),
                marker.heavy_customer_id,
                marker.tickets,
                marker.seconds,
            ],
        )
