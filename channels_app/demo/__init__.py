"""A believable demo desk, built through the same doors production uses.

Customers' messages enter through channels_app.ingest.submit_message(); agents and
supervisors act through the ticket and customer actions. Running it again changes
nothing.
"""

from dataclasses import dataclass

from django.utils import timezone

from channels_app.demo.desk import LOGINS, DemoLogin, ensure_desk
from channels_app.demo.inboxes import ensure_demo_inboxes
from channels_app.demo.newcomers import write_new_customers
from channels_app.demo.playback import DemoError, Script
from channels_app.demo.returning import write_returning_customers

__all__ = ["LOGINS", "DemoError", "DemoLogin", "SeedResult", "seed_demo"]


@dataclass(frozen=True)
class SeedResult:
    created_logins: tuple[str, ...]
    new_messages: int
    scripted_messages: int
    created_inboxes: tuple[str, ...] = ()


def seed_demo() -> SeedResult:
    desk = ensure_desk()
    script = Script(now=timezone.now())
    write_returning_customers(script)
    write_new_customers(script)
    script.play(desk)
    return SeedResult(
        created_logins=desk.created_logins,
        new_messages=script.new_messages,
        scripted_messages=script.scripted_messages,
        created_inboxes=ensure_demo_inboxes(),
    )
