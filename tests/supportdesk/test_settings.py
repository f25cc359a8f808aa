import json
import os
import subprocess
import sys

from django.conf import settings
from django.db import connection

PROBE = """
import json
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
    answer = cursor.fetchone()[0]
print(json.dumps({
    "pool": connection.settings_dict.get("OPTIONS", {}).get("pool"),
    "conn_max_age": connection.settings_dict["CONN_MAX_AGE"],
    "pooled": connection.pool is not None,
    "answer": answer,
}))
"""


def _settings_in_a_process(**env) -> dict:
    db = connection.settings_dict
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    finished = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DATABASE_URL": url,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout.strip().splitlines()[-1])


def test_a_process_with_a_pool_size_borrows_connections_from_a_pool(db, on_postgres):
    found = _settings_in_a_process(DATABASE_POOL_SIZE="4", CONN_MAX_AGE="60")
    assert found["pool"]["max_size"] == 4
    assert found["conn_max_age"] == 0
    assert found["pooled"] is True
    assert found["answer"] == 1


def test_without_a_pool_size_each_connection_is_opened_for_itself(db, on_postgres):
    found = _settings_in_a_process(DATABASE_POOL_SIZE="0")
    assert found["pool"] is None
    assert found["pooled"] is False
