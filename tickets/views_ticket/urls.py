"""Routes under /tickets/<ticket_id>/."""

from django.urls import path

from tickets.views_ticket import acting, page

urlpatterns = [
    path("", page.ticket_page, name="ticket"),
    path("timeline/", page.timeline_events, name="ticket-timeline"),
    path("header/", page.header, name="ticket-header"),
    path("reply/", acting.reply, name="ticket-reply"),
    path("template/", acting.send_template, name="ticket-template"),
    path("note/", acting.add_note, name="ticket-note"),
    path("call/", acting.log_call, name="ticket-call"),
    path("status/", acting.change_status, name="ticket-status"),
    path("priority/", acting.change_priority, name="ticket-priority"),
    path("assign/", acting.assign, name="ticket-assign"),
    path("resolve/", acting.resolve, name="ticket-resolve"),
]
