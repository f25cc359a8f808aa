"""The ticket's stored search document (subject and event texts), its GIN index,
and the documents of the tickets already stored. The subject's and the events'
own search indexes of migration 0003 go: no query reads them any more, and every
stored event paid for one.

PostgreSQL only: on SQLite the column stays empty and the search uses icontains.
The statement is written out here as tickets.search had it, so the migration
stays what it was when that module changes.
"""

import django.contrib.postgres.search
from django.db import migrations

INDEX = "ticket_search"
# Migration 0003's indexes that the document replaces: name, table, column.
REPLACED = [
    ("ticket_subject_search", "tickets_ticket", "subject"),
    ("event_text_search", "tickets_timelineevent", "text"),
]

BACKFILL = """
WITH texts AS (
    SELECT event.ticket_id, string_agg(event.text, E'\\n' ORDER BY event.id) AS text
    FROM tickets_timelineevent AS event
    WHERE event.ticket_id IS NOT NULL
    GROUP BY event.ticket_id
)
UPDATE tickets_ticket AS ticket
SET search_vector = to_tsvector('simple', ticket.subject)
    || to_tsvector('simple', COALESCE(left(texts.text, 300000), ''))
FROM tickets_ticket AS listed LEFT JOIN texts ON texts.ticket_id = listed.id
WHERE ticket.id = listed.id
"""


def fill_and_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # Filled first: one index build is cheaper than updating the index per row.
    schema_editor.execute(BACKFILL)
    schema_editor.execute(
        f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "tickets_ticket" '
        'USING gin ("search_vector")'
    )
    for name, _table, _column in REPLACED:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
    # The planner's word statistics for the new column: without them it guesses
    # a few hundred matches for any word, and picks its plan on that guess.
    schema_editor.execute('ANALYZE "tickets_ticket"')


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f'DROP INDEX IF EXISTS "{INDEX}"')
    for name, table, column in REPLACED:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin '
            f"(to_tsvector('simple'::regconfig, COALESCE(\"{column}\", '')))"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0006_reply_send_started"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_vector",
            field=django.contrib.postgres.search.SearchVectorField(
                editable=False, null=True
            ),
        ),
        migrations.RunPython(fill_and_index, drop_index),
    ]
