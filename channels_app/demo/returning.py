"""Customers who came back: several tickets, several channels, one timeline each."""

from channels_app.demo.records import (
    Assign,
    Conversation,
    Message,
    Note,
    Person,
    Profile,
    Reply,
    Resolve,
)
from tickets.inbound import InboundAttachment

# Email, WhatsApp and a phone call: one person, one timeline.
ANA = Person(
    "Ana Lima",
    reach={
        "email": ("email", "ana.lima@example.com"),
        "whatsapp": ("whatsapp", "14155552671"),
        "phone": ("phone", "+14155552671"),
    },
    conversations=(
        Conversation(
            "email",
            subject="Wrong VAT number on invoice INV-2291",
            steps=(
                Message(
                    (24, "09:12"),
                    "<inv-2291.ana@lima.example>",
                    "Hello,\n\nThe April invoice (INV-2291, attached) still shows our "
                    "old VAT number. Could you reissue it with PT509876543? Our "
                    "accountant needs it by Friday.\n\nThanks,\nAna Lima\n"
                    "Lima Design Studio\n+1 415 555 2671",
                    # The number in her signature links her later calls and
                    # WhatsApp to her.
                    also_claims=(("phone", "+1 415 555 2671"),),
                    files=(
                        InboundAttachment(
                            "INV-2291.pdf",
                            "application/pdf",
                            b"%PDF-1.4\n% INV-2291\n%%EOF\n",
                        ),
                    ),
                ),
                Assign((24, "09:40"), "bianca"),
                Reply(
                    (24, "09:46"),
                    "bianca",
                    "Hi Ana, thanks for flagging this. INV-2291 is reissued with VAT "
                    "number PT509876543; the corrected PDF follows in a separate "
                    "email.\n\nBianca, Billing",
                ),
                Message(
                    (24, "10:05"),
                    "<inv-2291-2.ana@lima.example>",
                    "Got it, the new one is correct. Thank you!",
                ),
                Resolve(
                    (24, "10:20"),
                    "bianca",
                    "Reissued INV-2291 with the corrected VAT number (PT509876543); "
                    "the customer confirmed the new PDF.",
                ),
                Profile((7, "11:00"), "maya", "small-business", ("vip",)),
            ),
        ),
        Conversation(
            "whatsapp",
            steps=(
                Message(
                    (9, "19:02"),
                    "wamid.demo-ana-1",
                    "Hi, my router keeps dropping the connection every evening around "
                    "7pm. Restarting it helps for about an hour.",
                ),
                Assign((9, "19:20"), "tariq"),
                Reply(
                    (9, "19:24"),
                    "tariq",
                    "Hi Ana, sorry about that. Could you send a photo of the lights on "
                    "the front of the router while the connection is down?",
                ),
                Message(
                    (9, "19:31"),
                    "wamid.demo-ana-2",
                    "Here it is, the WAN light is orange.",
                    files=(
                        InboundAttachment(
                            "router-lights.jpg",
                            "image/jpeg",
                            b"\xff\xd8\xff\xe0 orange WAN light \xff\xd9",
                        ),
                    ),
                ),
                Note(
                    (9, "19:40"),
                    "tariq",
                    "Firmware 3.1.0 has the evening channel-scan bug. Pushing 3.2.1 "
                    "remotely.",
                ),
                Reply(
                    (9, "19:45"),
                    "tariq",
                    "Thanks! I've pushed a firmware update to your router; it restarts "
                    "once in the next few minutes. Tell me tomorrow if the drops "
                    "continue.",
                ),
                Message(
                    (8, "20:15"),
                    "wamid.demo-ana-3",
                    "No drops last night, all good now 👍",
                ),
                Resolve(
                    (8, "20:30"),
                    "tariq",
                    "Router ran firmware 3.1.0 (evening channel-scan bug). Pushed "
                    "3.2.1 remotely; no drops in the following 24 hours.",
                ),
            ),
        ),
        Conversation(
            "phone",
            subject="Voicemail from +1 415 555 2671",
            steps=(
                Message(
                    (2, "11:05"),
                    "call-demo-ana-1",
                    "Hi, this is Ana Lima. The technician visit on my bill was for the "
                    "router fault you fixed, so I'd like a refund of that fee. Please "
                    "call me back on this number.",
                ),
                Assign((2, "11:28"), "bruno"),
                Note(
                    (2, "11:30"),
                    "bruno",
                    "The $79 visit fee was for a fault on our side (firmware bug, see "
                    "her WhatsApp ticket). Finance approved the refund.",
                ),
                Reply(
                    (2, "11:34"),
                    "bruno",
                    "Hi Ana, this is Bruno from Billing. We're refunding the $79 visit "
                    "fee; it shows on your card in 3-5 working days.",
                    channel="sms",
                ),
            ),
        ),
    ),
)

# A chat that became a quote, then an email that accepted it.
BEN = Person(
    "Ben Carter",
    reach={
        "chat": ("web", "visitor-8f3a2c"),
        "email": ("email", "ben.carter@example.org"),
    },
    conversations=(
        Conversation(
            "chat",
            session="widget-session-ben",
            steps=(
                Message(
                    (12, "14:20"),
                    "widget-ben-1",
                    "Hi! What's the price of the Pro plan for a team of 12?",
                    # The widget asked for an email address before the chat started.
                    also_claims=(("email", "ben.carter@example.org"),),
                ),
                Assign((12, "14:21"), "sofia"),
                Reply(
                    (12, "14:22"),
                    "sofia",
                    "Hi Ben! Pro is $24 per seat a month, or $20 billed annually. "
                    "Shall I send a formal quote for 12 seats to "
                    "ben.carter@example.org?",
                ),
                Message((12, "14:25"), "widget-ben-2", "Yes please, annual billing."),
                Reply(
                    (12, "14:40"),
                    "sofia",
                    "Done: quote Q-1042 is in your inbox and valid for 30 days.",
                ),
                Resolve(
                    (12, "14:41"),
                    "sofia",
                    "Sent quote Q-1042: Pro, 12 seats, annual billing ($2,880 a year).",
                ),
                Profile((12, "14:45"), "sofia", "small-business", ("prospect",)),
            ),
        ),
        Conversation(
            "email",
            subject="Quote Q-1042 approved",
            steps=(
                Message(
                    (3, "09:05"),
                    "<q-1042.ben@carter.example>",
                    "Hi Sofia,\n\nWe're good to go with Q-1042. Can you upgrade our "
                    "workspace this week? The signed order form is attached.\n\nBen",
                    files=(
                        InboundAttachment(
                            "order-form-Q-1042.pdf",
                            "application/pdf",
                            b"%PDF-1.4\n% Order form Q-1042\n%%EOF\n",
                        ),
                    ),
                ),
                Assign((3, "09:30"), "sofia"),
                Reply(
                    (3, "09:34"),
                    "sofia",
                    "Thanks Ben! Onboarding has the signed form; your workspace moves "
                    "to Pro by Thursday.",
                ),
            ),
        ),
    ),
)

# An outage solved by Technical support, then an enterprise account's request.
PRIYA = Person(
    "Priya Raman",
    reach={"email": ("email", "priya.raman@northwind-traders.example")},
    conversations=(
        Conversation(
            "email",
            subject="SSO login error for all our users",
            steps=(
                Message(
                    (20, "08:30"),
                    "<sso-outage.priya@northwind-traders.example>",
                    "Since this morning none of our 180 users can sign in through SSO; "
                    "Okta says 'SAML response signature invalid'. Please treat this as "
                    "urgent.",
                ),
                Assign((20, "08:45"), "tess"),
                Reply(
                    (20, "08:52"),
                    "tess",
                    "Hi Priya, looking at it now. Did your team rotate the Okta "
                    "signing certificate recently?",
                ),
                Message(
                    (20, "09:10"),
                    "<sso-outage-2.priya@northwind-traders.example>",
                    "Yes, IT rotated it last night. The new metadata is attached.",
                    files=(
                        InboundAttachment(
                            "northwind-okta-metadata.xml",
                            "application/xml",
                            b'<?xml version="1.0"?>'
                            b'<EntityDescriptor entityID="northwind"/>',
                        ),
                    ),
                ),
                Note(
                    (20, "09:20"),
                    "tess",
                    "Their IdP certificate rotated and our side still had the old SAML "
                    "metadata. Uploaded the new file.",
                ),
                Reply(
                    (20, "09:25"),
                    "tess",
                    "Thanks, the new metadata is in place. Could you confirm sign-in "
                    "works?",
                ),
                Resolve(
                    (20, "09:45"),
                    "tess",
                    "The customer's IdP signing certificate was rotated; updated the "
                    "SAML metadata on our side and all 180 users can sign in again.",
                ),
                Profile((19, "10:00"), "maya", "enterprise", ("key-account",)),
            ),
        ),
        # No keyword matches this one: the enterprise segment sends it to Sales.
        Conversation(
            "email",
            subject="Adding 40 seats for our Lisbon office",
            steps=(
                Message(
                    (3, "13:15"),
                    "<lisbon-seats.priya@northwind-traders.example>",
                    "Hi, we're opening an office in Lisbon next month and need 40 more "
                    "seats on the same terms as our current contract. Who should I "
                    "talk to?",
                ),
                Assign((3, "13:50"), "santiago"),
                Reply(
                    (3, "14:00"),
                    "santiago",
                    "Hi Priya, I'm Santiago, your account manager. I'll send the "
                    "addendum for 40 seats on your current terms tomorrow.",
                ),
            ),
        ),
    ),
)

RETURNING = (ANA, BEN, PRIYA)
