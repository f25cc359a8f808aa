"""Deploy checks (`manage.py check --deploy`): nothing of the demo desk in use.

The demo's logins and inbox secrets are printed in the README and the channel
docs, so on a desk that others can reach they open it to anyone.
"""

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError

from channels_app.demo.desk import LOGINS, PASSWORDS
from channels_app.demo.inboxes import DEMO_INBOXES, SLUG
from channels_app.models import Inbox
from tickets.models import Agent

DEMO_EMAIL_DOMAIN = "@desk.example.com"


def _demo_logins() -> list[str]:
    """Agents of the seed: its usernames, with its address or its password."""
    found = []
    for agent in Agent.objects.filter(
        username__in=[login.username for login in LOGINS], is_active=True
    ).order_by("username"):
        if agent.email == f"{agent.username}{DEMO_EMAIL_DOMAIN}" or (
            agent.check_password(PASSWORDS[agent.role])
            if agent.role in PASSWORDS
            else False
        ):
            found.append(agent.username)
    return found


def _enabled_demo_inboxes() -> list[str]:
    """Enabled inboxes of the seed: its slug and adapter, with its secrets."""
    found = []
    for inbox in Inbox.objects.filter(
        slug=SLUG, enabled=True, adapter__in=list(DEMO_INBOXES)
    ).order_by("adapter"):
        published = DEMO_INBOXES[inbox.adapter][2]
        if not published or any(
            inbox.secret(name) == value for name, value in published.items()
        ):
            found.append(inbox.adapter)
    return found


@register(Tags.security, Tags.database, deploy=True)
def check_demo_data(app_configs, **kwargs) -> list[Warning]:
    try:
        logins, inboxes = _demo_logins(), _enabled_demo_inboxes()
    except DatabaseError:
        # Not migrated yet, or out of reach: there is no demo data to find.
        return []
    found = []
    if logins:
        found.append(
            Warning(
                f"Demo logins exist: {', '.join(logins)}. Their passwords are "
                "published in the README.",
                hint="Delete them in the admin (or deactivate them), and seed the "
                "demo only on a desk for trying out (DEMO=1).",
                id="channels_app.W001",
            )
        )
    if inboxes:
        found.append(
            Warning(
                f"Demo inboxes are enabled: {', '.join(inboxes)} (slug {SLUG!r}). "
                "Their secrets are published in docs/channels.md.",
                hint="Disable or delete them in the admin, and leave "
                "DEMO_INBOXES_ENABLED off.",
                id="channels_app.W002",
            )
        )
    return found
