"""A small shop page that embeds the chat widget with its one script tag, so the
widget can be tried on a demo desk: GET /widget-demo/ (?as=ana: as a signed-in
shopper). Served only while DEMO_INBOXES_ENABLED, since it signs a made-up
shopper's id with the demo inbox's public secret.
"""

import time

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import path
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET

from channels_app.models import Inbox
from channels_app.widget.tokens import user_hash

DEMO_SLUG = "demo"
# The shop's signed-in customer: her email is a demo customer's, so her chat
# lands on the timeline the seeded desk already has for her.
SHOPPER = {"id": "shop-1042", "name": "Ana Lima", "email": "ana.lima@example.com"}


def _shopper_attributes(secret: str) -> dict[str, str]:
    """What the shop's own server adds to the tag for a signed-in customer."""
    timestamp = int(time.time())
    return {
        "data-user-id": SHOPPER["id"],
        "data-user-hash": user_hash(secret, user_id=SHOPPER["id"], timestamp=timestamp),
        "data-user-ts": str(timestamp),
        "data-user-name": SHOPPER["name"],
        "data-user-email": SHOPPER["email"],
    }


@require_GET
def demo_host(request):
    if not settings.DEMO_INBOXES_ENABLED:
        raise Http404("The widget demo is switched off.")
    inbox = Inbox.objects.filter(
        adapter=Inbox.Adapter.CHAT, slug=DEMO_SLUG, enabled=True
    ).first()
    if inbox is None:
        raise Http404("No demo chat inbox: run manage.py seed_demo.")
    secret = inbox.secret("identity_secret")
    signed_in = bool(secret) and request.GET.get("as") == "ana"
    shopper = _shopper_attributes(secret) if signed_in else {}
    snippet = format_html(
        '<script src="{}" data-inbox="{}"{} async></script>',
        # The page is the desk's own: the loader finds the desk where it is served.
        request.build_absolute_uri(static("widget/loader.js")),
        inbox.slug,
        format_html_join("", ' {}="{}"', shopper.items()),
    )
    return render(
        request,
        "widget/demo_host.html",
        {
            "snippet": snippet,
            "shopper": SHOPPER if signed_in else None,
            "can_sign_in": bool(secret),
        },
    )


# Included by the desk's URLs at widget-demo/.
urlpatterns = [path("", demo_host, name="widget-demo")]
