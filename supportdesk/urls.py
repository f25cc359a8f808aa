from django.contrib import admin
from django.http import HttpResponse, JsonResponse
from django.urls import include, path
from django.views.defaults import page_not_found
from django.views.generic import RedirectView

from channels_app import views_intake
from channels_app.webhooks import webhook
from supportdesk.csp_reports import csp_report
from supportdesk.outage import handle_server_error
from tickets import views_calls, views_customer, views_queue


def not_found(request, exception=None):
    """API clients get the API's JSON error; people get the page."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "not_found", "message": "Not found."}}, status=404
        )
    return page_not_found(request, exception)


handler404 = not_found
# A database outage answers 503 with Retry-After (JSON at machines' doors).
handler500 = handle_server_error


def health(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("", views_queue.home, name="home"),
    path("queue/", views_queue.queue, name="queue"),
    path("queue/rows/<int:ticket_id>/", views_queue.queue_row, name="queue-row"),
    path(
        "customers/<int:customer_id>/",
        views_customer.timeline,
        name="customer-timeline",
    ),
    path("tickets/<int:ticket_id>/", include("tickets.views_ticket.urls")),
    path("calls/new/", views_calls.log_call, name="log-call"),
    path("api/v1/calls/", views_calls.CallLogView.as_view(), name="api-calls"),
    # The REST API (/api/v1/...), its OpenAPI schema and Swagger UI.
    path("api/", include("supportdesk.api.urls")),
    # Sign-in (password, then a second factor), the agent's account page, and
    # the supervisors' locked sign-ins.
    path("", include("supportdesk.signin.urls")),
    # Invitations' and password resets' mailed links (tickets.views_account).
    path("", include("tickets.views_account")),
    path("webhooks/<str:adapter_key>/<slug:slug>/", webhook, name="webhook"),
    # Providers' inbound mail: /anymail/<provider>/inbound/ (see settings.ANYMAIL),
    # anymail's views with the checks it leaves out.
    path("anymail/", include("channels_app.email.anymail_views")),
    # The customer chat widget's iframe, session, uploads and files.
    path("widget/", include("channels_app.widget.urls")),
    path("widget-demo/", include("channels_app.widget.demo")),
    # Supervisors' pages: rules, teams, audit, customers.
    path("supervisor/", include("tickets.views_supervisor.urls")),
    # The intake's stuck and failed records, and its health for uptime checks.
    path("supervisor/intake/", views_intake.review, name="supervisor-intake"),
    path(
        "supervisor/intake/<int:record_id>/replay/",
        views_intake.replay,
        name="supervisor-intake-replay",
    ),
    path("healthz/intake", views_intake.health, name="health-intake"),
    path("healthz", health, name="health"),
    # Browsers' reports of Content-Security-Policy violations (logged).
    path("csp-report/", csp_report, name="csp-report"),
    # The admin signs in through the desk's sign-in page, second factor included.
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="login", query_string=True),
    ),
    path("admin/", admin.site.urls),
]
