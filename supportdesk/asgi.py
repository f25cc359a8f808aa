import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django_asgi_app = get_asgi_application()

# These import models and consumers: only once the apps are loaded.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from supportdesk.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # Each route wraps its consumer in the checks it needs (supportdesk/routing.py).
        "websocket": URLRouter(websocket_urlpatterns),
    }
)
