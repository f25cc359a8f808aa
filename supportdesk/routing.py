"""WebSocket routes. The desk's socket takes the session of a signed-in user and
pages of the desk's own hosts; the widget's checks origins against its inbox and
authenticates visitors by their token."""

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from channels_app.widget.consumer import WidgetConsumer
from tickets.consumers import DeskConsumer

websocket_urlpatterns = [
    path(
        "ws/desk/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(DeskConsumer.as_asgi())),
    ),
    path("ws/widget/<slug:slug>/", WidgetConsumer.as_asgi()),
]
