from tests.browser.test_widget import *  # noqa: F401,F403
from tests.browser.test_widget import Visitor, chat_ticket, wait_until_live
from tickets.actions.ratings import do_rate_ticket
from tickets.actions.tickets import do_resolve_ticket


def test_look_agentside(open_page, new_page, desk_server, host_site, chat_inbox, agent):
    visitor = Visitor(new_page()).open(host_site.url("/"))
    visitor.start_chat("Marta <b>Silva</b>", "marta@example.com")
    visitor.write("Hi! My order #4411 arrived damaged")
    ticket = chat_ticket(visitor.page, "Marta <b>Silva</b>")
    do_resolve_ticket(ticket=ticket, actor=agent, resolution_note="Replacement sent.")
    do_rate_ticket(ticket_id=ticket.pk, score=4, comment="Fast <i>and</i> kind", channel="chat")
    desk = open_page(agent)
    frames = []
    desk.on("websocket", lambda ws: ws.on("framesent", lambda p: frames.append(("sent", p))) or ws.on("framereceived", lambda p: frames.append(("recv", p))))
    desk.goto(f"{desk_server.url}/tickets/{ticket.pk}/")
    wait_until_live(desk)
    desk.screenshot(path="/tmp/agentside_ticket.png")
    desk.wait_for_timeout(31500)
    print([f for f in frames if "ping" in str(f[1]) or "pong" in str(f[1])])
