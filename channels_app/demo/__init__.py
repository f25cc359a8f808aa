"""A believable demo desk, built through the same doors production uses.

The desk's configuration (channels_app.demo.desk, .inboxes) and its people's
history (.returning, .newcomers) are tables; one builder (.builder) plays the
history: customers' messages through channels_app.ingest.submit_message(), agents
and supervisors through the ticket and customer actions. Running it again changes
nothing.
"""

from dataclasses import dataclass

from django.utils import timezone

from channels_app.demo.builder import DemoError, play
from channels_app.demo.desk import LOGINS, DemoLogin, ensure_desk
from channels_app.demo.inboxes import ensure_demo_inboxes
from channels_app.demo.newcomers import NEWCOMERS
from channels_app.demo.returning import RETURNING

__all__ = ["LOGINS", "PEOPLE", "DemoError", "DemoLogin", "SeedResult", "seed_demo"]

PEOPLE = RETURNING + NEWCOMERS


@dataclass(frozen=True)
class SeedResult:
    created_logins: tuple[str, ...]
    new_messages: int
    scripted_messages: int
    created_inboxes: tuple[str, ...] = ()


def seed_demo() -> SeedResult:
    desk = ensure_desk()
    played = play(PEOPLE, desk=desk, now=timezone.now())
    return SeedResult(
        created_logins=desk.created_logins,
        new_messages=played.new_messages,
        scripted_messages=played.scripted_messages,
        created_inboxes=ensure_demo_inboxes(),
    )
