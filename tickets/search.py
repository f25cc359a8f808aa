"""The ticket's stored search document: its subject and the text of its events.

The queue's search matches words against Ticket.search_vector through a GIN
index, so its cost follows the tickets that hold the words, not how many newer
tickets lack them. The actions that write a subject or an event's text keep the
document up to date here, in the same transaction. The customer's name is
matched through its own index (migration 0003): a name changes on the customer,
in a lower layer that cannot reach its tickets.

PostgreSQL only: embedded mode (SQLite) leaves the column empty and searches
with icontains, as before.
"""

from collections.abc import Iterable

from django.db import connection

# Words are matched as written: customers write in any language.
SEARCH_CONFIG = "simple"
# A tsvector holds at most 1 MB. A document past this many distinct words stops
# growing (words already in it still match), so a long ticket never fails a write.
MAX_DOCUMENT_WORDS = 30_000
# A rebuilt document reads at most this many characters of the ticket's events,
# the earliest first, for the same bound.
MAX_REBUILT_CHARS = 300_000

_APPEND = f"""
UPDATE tickets_ticket
SET search_vector = CASE
    WHEN length(COALESCE(search_vector, ''::tsvector)) < {MAX_DOCUMENT_WORDS}
    THEN COALESCE(search_vector, ''::tsvector)
        || to_tsvector('{SEARCH_CONFIG}', %s)
    ELSE search_vector
END
WHERE id = %s
"""

# Every event's text in the order they were written, the subject first; the
# placeholder narrows it to some tickets, or is left empty for all of them.
_REBUILD = f"""
WITH texts AS (
    SELECT event.ticket_id, string_agg(event.text, E'\\n' ORDER BY event.id) AS text
    FROM tickets_timelineevent AS event
    WHERE event.ticket_id IS NOT NULL {{events}}
    GROUP BY event.ticket_id
)
UPDATE tickets_ticket AS ticket
SET search_vector = to_tsvector('{SEARCH_CONFIG}', ticket.subject)
    || to_tsvector(
        '{SEARCH_CONFIG}', COALESCE(left(texts.text, {MAX_REBUILT_CHARS}), '')
    )
FROM tickets_ticket AS listed LEFT JOIN texts ON texts.ticket_id = listed.id
WHERE ticket.id = listed.id {{tickets}}
"""


def searches_documents() -> bool:
    return connection.vendor == "postgresql"


def add_to_search_document(*, ticket_id: int, texts: Iterable[str]) -> None:
    """Append words the ticket now holds (a new subject, an event's text)."""
    text = "\n".join(part for part in texts if part)
    if not text or not searches_documents():
        return
    with connection.cursor() as cursor:
        cursor.execute(_APPEND, [text, ticket_id])


def rebuild_search_documents(*, ticket_ids: Iterable[int] | None) -> None:
    """Write the documents again from the stored subjects and events, for a change
    that replaces words rather than adding them (an edited subject or message);
    ticket_ids=None writes every ticket's (rows loaded in bulk)."""
    if not searches_documents():
        return
    if ticket_ids is None:
        statement, params = _REBUILD.format(events="", tickets=""), []
    else:
        ids = list(ticket_ids)
        if not ids:
            return
        statement = _REBUILD.format(
            events="AND event.ticket_id = ANY(%s)", tickets="AND listed.id = ANY(%s)"
        )
        params = [ids, ids]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
