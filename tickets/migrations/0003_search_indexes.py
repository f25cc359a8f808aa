"""GIN indexes for the queue's full-text search (PostgreSQL only).

Their expressions are those tickets.selectors._search builds, so the planner uses
them: to_tsvector('simple', COALESCE(<field>, '')).
"""

from django.db import migrations

INDEXES = [
    ("ticket_subject_search", "tickets_ticket", "subject"),
    ("event_text_search", "tickets_timelineevent", "text"),
    ("customer_name_search", "customers_customer", "display_name"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin '
            f"(to_tsvector('simple'::regconfig, COALESCE(\"{column}\", '')))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0002_ticket_inbox_timelineevent_inbox"),
        ("customers", "0002_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
