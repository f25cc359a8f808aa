"""WebSocket routes, wrapped by supportdesk/asgi.py in origin and session checks."""

from django.urls import path

from supportdesk.consumers import DeskConsumer

websocket_urlpatterns = [
    path("ws/desk/", DeskConsumer.as_asgi()),
]
