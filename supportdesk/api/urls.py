from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.routers import DefaultRouter

from channels_app import api as channels_api
from channels_app.outbound_webhooks import api as webhooks_api
from supportdesk.api import schema  # noqa: F401  (registers schema extensions)
from tickets import api as tickets_api
from tickets.api import customers as customers_api

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
for module in (tickets_api, customers_api, channels_api, webhooks_api):
    for prefix, viewset, basename in module.routes:
        # "api-" keeps these names apart from the pages' (ticket-timeline, say).
        router.register(prefix, viewset, basename=f"api-{basename}")

urlpatterns = [
    path("v1/", include(router.urls)),
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny]),
        name="api-schema",
    ),
    path(
        "docs/",
        # Swagger UI's start script comes from ?script, not inline: the page's
        # Content-Security-Policy runs no inline script.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema",
            permission_classes=[AllowAny],
            template_name="api/swagger_ui.html",
        ),
        name="api-docs",
    ),
]
