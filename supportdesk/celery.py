import os

from celery import Celery
from celery.signals import task_postrun
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")

app = Celery("supportdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def _drop_failed_connections(task=None, **kwargs) -> None:
    """Close a connection that broke during a task, so the next task opens another.

    Workers keep their connection between tasks (CELERY_DB_REUSE_MAX in settings).
    """
    if task is None or getattr(task.request, "is_eager", False):
        return
    for connection in connections.all(initialized_only=True):
        if connection.errors_occurred:
            if connection.is_usable():
                connection.errors_occurred = False
            else:
                connection.close()
