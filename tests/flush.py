"""Empties the test database with DELETE rather than TRUNCATE after each
transactional test (`django_db(transaction=True)`).

PostgreSQL's TRUNCATE gives every table and index new files, about half a second
for the desk's tables whatever they hold; deleting the few rows a test leaves
takes milliseconds. The desk's foreign keys are deferrable (Django creates them
so), so the rows go in any order within the one transaction Django's flush runs,
and the constraints are checked at its commit, when every table is empty.

Content types and permissions stay, as migrations made them: the flush would
otherwise rebuild them all after every such test (Django's post_migrate), which
cost more than the rest of it. A flush that resets sequences or cascades
truncates everything as before.
"""

import time

from django.db import OperationalError
from django.db.backends.postgresql.operations import DatabaseOperations
from psycopg.errors import DeadlockDetected

_truncate = DatabaseOperations.sql_flush
_execute_flush = DatabaseOperations.execute_sql_flush
FLUSH_TRIES = 5


def _kept_tables() -> set[str]:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    return {ContentType._meta.db_table, Permission._meta.db_table}


def _delete(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    if not tables or reset_sequences or allow_cascade:
        return _truncate(
            self,
            style,
            tables,
            reset_sequences=reset_sequences,
            allow_cascade=allow_cascade,
        )
    kept = _kept_tables()
    return [
        f"{style.SQL_KEYWORD('SET CONSTRAINTS ALL DEFERRED')};",
        *(
            f"{style.SQL_KEYWORD('DELETE FROM')} "
            f"{style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
            if table not in kept
        ),
    ]


def _execute_retrying_deadlocks(self, sql_list):
    """Run the flush again when it deadlocks with a desk process of the test (a
    worker still claiming inbound records, say): deleting rows takes row locks in
    another order than the desk's own statements do. The flush's transaction was
    rolled back, so running it again is safe."""
    for attempt in range(1, FLUSH_TRIES + 1):
        try:
            return _execute_flush(self, sql_list)
        except OperationalError as exc:
            deadlock = isinstance(exc.__cause__, DeadlockDetected)
            if attempt == FLUSH_TRIES or not deadlock:
                raise
            time.sleep(0.1 * attempt)


def flush_with_delete() -> None:
    """Make this process's flushes of PostgreSQL databases delete rows."""
    DatabaseOperations.sql_flush = _delete
    DatabaseOperations.execute_sql_flush = _execute_retrying_deadlocks
