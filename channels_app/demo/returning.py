"""Customers who came back: several tickets, several channels, one timeline each.

External ids are fixed, so the same history is recognised on every run.
"""

from channels_app.demo.playback import Script
from tickets.inbound import InboundAttachment


def write_returning_customers(script: Script) -> None:
    _ana(script, script.at)
    _ben(script, script.at)
    _priya(script, script.at)


def _ana(script: Script, at) -> None:
    """Email, WhatsApp and a phone call: one person, one timeline."""
    invoice = script.message(
        at=at(24, "09:12"),
        channel="email",
        external_id="<inv-2291.ana@lima.example>",
        sender="Ana Lima",
        # The number in her signature links her later calls and WhatsApp to her.
        claims=(("email", "ana.lima@example.com"), ("phone", "+1 415 555 2671")),
        subject="Wrong VAT number on invoice INV-2291",
        text="Hello,\n\nThe April invoice (INV-2291, attached) still shows our old VAT "
        "number. Could you reissue it with PT509876543? Our accountant needs it by "
        "Friday.\n\nThanks,\nAna Lima\nLima Design Studio\n+1 415 555 2671",
        attachments=(
            InboundAttachment(
                "INV-2291.pdf", "application/pdf", b"%PDF-1.4\n% INV-2291\n%%EOF\n"
            ),
        ),
    )
    script.assign(at=at(24, "09:40"), ticket=invoice, agent="bianca")
    script.reply(
        at=at(24, "09:46"),
        ticket=invoice,
        agent="bianca",
        text="Hi Ana, thanks for flagging this. INV-2291 is reissued with VAT number "
        "PT509876543; the corrected PDF follows in a separate email.\n\n"
        "Bianca, Billing",
    )
    script.message(
        at=at(24, "10:05"),
        channel="email",
        external_id="<inv-2291-2.ana@lima.example>",
        sender="Ana Lima",
        claims=(("email", "ana.lima@example.com"),),
        subject="Re: Wrong VAT number on invoice INV-2291",
        text="Got it, the new one is correct. Thank you!",
        replies_to=("<inv-2291.ana@lima.example>",),
    )
    script.resolve(
        at=at(24, "10:20"),
        ticket=invoice,
        agent="bianca",
        note="Reissued INV-2291 with the corrected VAT number (PT509876543); the "
        "customer confirmed the new PDF.",
    )

    drops = script.message(
        at=at(9, "19:02"),
        channel="whatsapp",
        external_id="wamid.demo-ana-1",
        sender="Ana Lima",
        claims=(("whatsapp", "14155552671"),),
        text="Hi, my router keeps dropping the connection every evening around 7pm. "
        "Restarting it helps for about an hour.",
    )
    script.assign(at=at(9, "19:20"), ticket=drops, agent="tariq")
    script.reply(
        at=at(9, "19:24"),
        ticket=drops,
        agent="tariq",
        text="Hi Ana, sorry about that. Could you send a photo of the lights on the "
        "front of the router while the connection is down?",
    )
    script.message(
        at=at(9, "19:31"),
        channel="whatsapp",
        external_id="wamid.demo-ana-2",
        sender="Ana Lima",
        claims=(("whatsapp", "14155552671"),),
        text="Here it is, the WAN light is orange.",
        attachments=(
            InboundAttachment(
                "router-lights.jpg",
                "image/jpeg",
                b"\xff\xd8\xff\xe0 orange WAN light \xff\xd9",
            ),
        ),
    )
    script.note(
        at=at(9, "19:40"),
        ticket=drops,
        agent="tariq",
        text="Firmware 3.1.0 has the evening channel-scan bug. Pushing 3.2.1 remotely.",
    )
    script.reply(
        at=at(9, "19:45"),
        ticket=drops,
        agent="tariq",
        text="Thanks! I've pushed a firmware update to your router; it restarts once "
        "in the next few minutes. Tell me tomorrow if the drops continue.",
    )
    script.message(
        at=at(8, "20:15"),
        channel="whatsapp",
        external_id="wamid.demo-ana-3",
        sender="Ana Lima",
        claims=(("whatsapp", "14155552671"),),
        text="No drops last night, all good now 👍",
    )
    script.resolve(
        at=at(8, "20:30"),
        ticket=drops,
        agent="tariq",
        note="Router ran firmware 3.1.0 (evening channel-scan bug). Pushed 3.2.1 "
        "remotely; no drops in the following 24 hours.",
    )
    script.profile(
        at=at(7, "11:00"),
        customer_of=invoice,
        actor="maya",
        segment="small-business",
        tags=["vip"],
    )

    visit = script.message(
        at=at(2, "11:05"),
        channel="phone",
        external_id="call-demo-ana-1",
        sender="Ana Lima",
        claims=(("phone", "+14155552671"),),
        subject="Voicemail from +1 415 555 2671",
        text="Hi, this is Ana Lima. The technician visit on my bill was for the router "
        "fault you fixed, so I'd like a refund of that fee. Please call me back on "
        "this number.",
    )
    script.assign(at=at(2, "11:28"), ticket=visit, agent="bruno")
    script.note(
        at=at(2, "11:30"),
        ticket=visit,
        agent="bruno",
        text="The $79 visit fee was for a fault on our side (firmware bug, see her "
        "WhatsApp ticket). Finance approved the refund.",
    )
    script.reply(
        at=at(2, "11:34"),
        ticket=visit,
        agent="bruno",
        channel="sms",
        text="Hi Ana, this is Bruno from Billing. We're refunding the $79 visit fee; "
        "it shows on your card in 3-5 working days.",
    )


def _ben(script: Script, at) -> None:
    """A chat that became a quote, then an email that accepted it."""
    pricing = script.message(
        at=at(12, "14:20"),
        channel="chat",
        external_id="widget-ben-1",
        sender="Ben Carter",
        conversation="widget-session-ben",
        # The widget asked for an email address before the chat started.
        claims=(("web", "visitor-8f3a2c"), ("email", "ben.carter@example.org")),
        text="Hi! What's the price of the Pro plan for a team of 12?",
    )
    script.assign(at=at(12, "14:21"), ticket=pricing, agent="sofia")
    script.reply(
        at=at(12, "14:22"),
        ticket=pricing,
        agent="sofia",
        text="Hi Ben! Pro is $24 per seat a month, or $20 billed annually. Shall I "
        "send a formal quote for 12 seats to ben.carter@example.org?",
    )
    script.message(
        at=at(12, "14:25"),
        channel="chat",
        external_id="widget-ben-2",
        sender="Ben Carter",
        conversation="widget-session-ben",
        claims=(("web", "visitor-8f3a2c"),),
        text="Yes please, annual billing.",
    )
    script.reply(
        at=at(12, "14:40"),
        ticket=pricing,
        agent="sofia",
        text="Done: quote Q-1042 is in your inbox and valid for 30 days.",
    )
    script.resolve(
        at=at(12, "14:41"),
        ticket=pricing,
        agent="sofia",
        note="Sent quote Q-1042: Pro, 12 seats, annual billing ($2,880 a year).",
    )
    script.profile(
        at=at(12, "14:45"),
        customer_of=pricing,
        actor="sofia",
        segment="small-business",
        tags=["prospect"],
    )
    order = script.message(
        at=at(3, "09:05"),
        channel="email",
        external_id="<q-1042.ben@carter.example>",
        sender="Ben Carter",
        claims=(("email", "ben.carter@example.org"),),
        subject="Quote Q-1042 approved",
        text="Hi Sofia,\n\nWe're good to go with Q-1042. Can you upgrade our workspace "
        "this week? The signed order form is attached.\n\nBen",
        attachments=(
            InboundAttachment(
                "order-form-Q-1042.pdf",
                "application/pdf",
                b"%PDF-1.4\n% Order form Q-1042\n%%EOF\n",
            ),
        ),
    )
    script.assign(at=at(3, "09:30"), ticket=order, agent="sofia")
    script.reply(
        at=at(3, "09:34"),
        ticket=order,
        agent="sofia",
        text="Thanks Ben! Onboarding has the signed form; your workspace moves to Pro "
        "by Thursday.",
    )


def _priya(script: Script, at) -> None:
    """An outage solved by Technical support, then an enterprise account's request."""
    sso = script.message(
        at=at(20, "08:30"),
        channel="email",
        external_id="<sso-outage.priya@northwind-traders.example>",
        sender="Priya Raman",
        claims=(("email", "priya.raman@northwind-traders.example"),),
        subject="SSO login error for all our users",
        text="Since this morning none of our 180 users can sign in through SSO; Okta "
        "says 'SAML response signature invalid'. Please treat this as urgent.",
    )
    script.assign(at=at(20, "08:45"), ticket=sso, agent="tess")
    script.reply(
        at=at(20, "08:52"),
        ticket=sso,
        agent="tess",
        text="Hi Priya, looking at it now. Did your team rotate the Okta signing "
        "certificate recently?",
    )
    script.message(
        at=at(20, "09:10"),
        channel="email",
        external_id="<sso-outage-2.priya@northwind-traders.example>",
        sender="Priya Raman",
        claims=(("email", "priya.raman@northwind-traders.example"),),
        subject="Re: SSO login error for all our users",
        text="Yes, IT rotated it last night. The new metadata is attached.",
        replies_to=("<sso-outage.priya@northwind-traders.example>",),
        attachments=(
            InboundAttachment(
                "northwind-okta-metadata.xml",
                "application/xml",
                b'<?xml version="1.0"?><EntityDescriptor entityID="northwind"/>',
            ),
        ),
    )
    script.note(
        at=at(20, "09:20"),
        ticket=sso,
        agent="tess",
        text="Their IdP certificate rotated and our side still had the old SAML "
        "metadata. Uploaded the new file.",
    )
    script.reply(
        at=at(20, "09:25"),
        ticket=sso,
        agent="tess",
        text="Thanks, the new metadata is in place. Could you confirm sign-in works?",
    )
    script.resolve(
        at=at(20, "09:45"),
        ticket=sso,
        agent="tess",
        note="The customer's IdP signing certificate was rotated; updated the SAML "
        "metadata on our side and all 180 users can sign in again.",
    )
    script.profile(
        at=at(19, "10:00"),
        customer_of=sso,
        actor="maya",
        segment="enterprise",
        tags=["key-account"],
    )
    # No keyword matches this one: the enterprise segment sends it to Sales.
    seats = script.message(
        at=at(3, "13:15"),
        channel="email",
        external_id="<lisbon-seats.priya@northwind-traders.example>",
        sender="Priya Raman",
        claims=(("email", "priya.raman@northwind-traders.example"),),
        subject="Adding 40 seats for our Lisbon office",
        text="Hi, we're opening an office in Lisbon next month and need 40 more seats "
        "on the same terms as our current contract. Who should I talk to?",
    )
    script.assign(at=at(3, "13:50"), ticket=seats, agent="santiago")
    script.reply(
        at=at(3, "14:00"),
        ticket=seats,
        agent="santiago",
        text="Hi Priya, I'm Santiago, your account manager. I'll send the addendum for "
        "40 seats on your current terms tomorrow.",
    )
