"""Customers new to the desk: one conversation each, over six different channels.

One person appears twice, as a WhatsApp number and as an email address, until a
message names both. External ids are fixed, so the same history is recognised on
every run; phone numbers are ones the phone library accepts as valid.
"""

from channels_app.demo.playback import Script
from tickets.inbound import InboundAttachment


def write_new_customers(script: Script) -> None:
    _ivan(script, script.at)
    _one_ticket_customers(script, script.at)


def _ivan(script: Script, at) -> None:
    """Two customers for one person, until a message names both identities."""
    prorated = script.message(
        at=at(13, "12:00"),
        channel="whatsapp",
        external_id="wamid.demo-ivan-1",
        sender="Ivan Petrov",
        claims=(("whatsapp", "12065550148"),),
        text="Hello! If I move to the Business plan mid-month, is the upgrade "
        "prorated?",
    )
    script.assign(at=at(13, "12:10"), ticket=prorated, agent="santiago")
    script.reply(
        at=at(13, "12:12"),
        ticket=prorated,
        agent="santiago",
        text="Hi Ivan, yes: you only pay the difference for the days left in the "
        "month.",
    )
    script.resolve(
        at=at(13, "12:15"),
        ticket=prorated,
        agent="santiago",
        note="Explained proration for a mid-month move to the Business plan.",
    )
    invoices = script.message(
        at=at(4, "09:30"),
        channel="email",
        external_id="<two-invoices.ivan@petrov.example>",
        sender="Ivan Petrov",
        claims=(("email", "ivan.petrov@example.net"),),
        subject="Two invoices for the same month?",
        text="I received two invoices for October. Is the second invoice a mistake?",
    )
    script.assign(at=at(4, "10:00"), ticket=invoices, agent="bianca")
    script.reply(
        at=at(4, "10:04"),
        ticket=invoices,
        agent="bianca",
        text="Hi Ivan, this account has a single October invoice. Could you send the "
        "number of the other one?",
    )
    # Both identities in one message: the desk suggests a merge for a supervisor.
    script.message(
        at=at(1, "10:05"),
        channel="email",
        external_id="<two-invoices-2.ivan@petrov.example>",
        sender="Ivan Petrov",
        claims=(("email", "ivan.petrov@example.net"), ("phone", "+1 206 555 0148")),
        subject="Re: Two invoices for the same month?",
        text="The other one came for my WhatsApp number, +1 206 555 0148. Maybe it "
        "belongs to another account of mine?",
        replies_to=("<two-invoices.ivan@petrov.example>",),
    )


def _one_ticket_customers(script: Script, at) -> None:
    calls = script.message(
        at=at(6, "15:40"),
        channel="phone",
        external_id="call-demo-dolores-1",
        sender="Dolores Ortega",
        claims=(("phone", "+34 612 345 678"),),
        language="es",
        subject="Buzón de voz de +34 612 345 678",
        text="Hola, soy Dolores Ortega. Desde que cambié la contraseña no puedo entrar "
        "en la aplicación, me sale «login error 401». ¿Me pueden llamar por la tarde?",
    )
    script.assign(at=at(6, "16:20"), ticket=calls, agent="tess")
    script.note(
        at=at(6, "16:30"),
        ticket=calls,
        agent="tess",
        text="Called her back: the account locked after five failed attempts. Unlocked "
        "it and walked her through the reset link; she is in.",
    )
    script.reply(
        at=at(6, "16:33"),
        ticket=calls,
        agent="tess",
        channel="sms",
        text="Hola Dolores, su cuenta ya está desbloqueada. Si vuelve a tener "
        "problemas, responda a este mensaje. Tess, Soporte técnico",
    )
    script.resolve(
        at=at(6, "16:35"),
        ticket=calls,
        agent="tess",
        note="Account locked after five failed sign-ins; unlocked, reset link sent, "
        "customer confirmed she can sign in.",
    )

    double = script.message(
        at=at(16, "18:22"),
        channel="sms",
        external_id="sms-demo-emeka-1",
        sender="Emeka Okafor",
        claims=(("sms", "+234 803 123 4567"),),
        text="Hello, there is a double charge on my card for the March bill. "
        "Please check.",
    )
    script.assign(at=at(16, "18:50"), ticket=double, agent="bruno")
    script.reply(
        at=at(16, "18:55"),
        ticket=double,
        agent="bruno",
        text="Hi Emeka, you're right, the March payment went through twice. The "
        "duplicate is refunded and shows in 3-5 working days.",
    )
    script.resolve(
        at=at(16, "18:56"),
        ticket=double,
        agent="bruno",
        note="Duplicate card payment for March refunded (refund RF-7781).",
    )

    # "payment" sends this to Billing first; the supervisor moves it.
    crash = script.message(
        at=at(5, "10:12"),
        channel="email",
        external_id="<export-crash.fatima@zahra.example>",
        sender="Fatima Zahra",
        claims=(("email", "fatima.zahra@example.com"),),
        subject="App crashes when I export my payment history",
        text="Every time I tap Export on the Payments screen the Android app closes. "
        "App 5.4.2 on a Pixel 7.",
    )
    script.reassign(
        at=at(5, "10:40"),
        ticket=crash,
        supervisor="maya",
        team="tech",
        reason="A crash in the export screen: an app fault, not a billing question.",
    )
    script.assign(at=at(5, "11:00"), ticket=crash, agent="tess")
    script.note(
        at=at(5, "11:20"),
        ticket=crash,
        agent="tess",
        text="Reproduced on Android 14 with app 5.4.2; filed MOB-3317 for the mobile "
        "team.",
    )
    script.reply(
        at=at(5, "11:25"),
        ticket=crash,
        agent="tess",
        text="Hi Fatima, thanks for the details. We can reproduce the crash and a fix "
        "is on its way; until then, exporting from the web app works.",
    )

    trial = script.message(
        at=at(11, "17:05"),
        channel="messenger",
        external_id="m_demo-gustavo-1",
        sender="Gustavo Silva",
        claims=(("messenger", "6251973840112233"),),
        text="Hi, do you offer a demo for a team of 8 before we buy?",
    )
    script.assign(at=at(11, "17:10"), ticket=trial, agent="sofia")
    script.reply(
        at=at(11, "17:12"),
        ticket=trial,
        agent="sofia",
        text="Hi Gustavo, gladly! I've sent you a link to book a 30-minute session.",
    )
    script.message(
        at=at(11, "17:20"),
        channel="messenger",
        external_id="m_demo-gustavo-2",
        sender="Gustavo Silva",
        claims=(("messenger", "6251973840112233"),),
        text="Booked for Thursday, thanks!",
    )
    script.resolve(
        at=at(8, "16:00"),
        ticket=trial,
        agent="sofia",
        note="Demo held with Gustavo's team of 8; a 14-day trial workspace is set up.",
    )

    red_light = script.message(
        at=at(1, "08:15"),
        channel="whatsapp",
        external_id="wamid.demo-chen-1",
        sender="Chen Wei",
        claims=(("whatsapp", "447911123456"),),
        text="Good morning, the router shows a red light since this morning and "
        "nothing connects.",
        attachments=(
            InboundAttachment(
                "red-light.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 red light \xff\xd9"
            ),
        ),
    )
    script.message(
        at=at(1, "08:17"),
        channel="whatsapp",
        external_id="wamid.demo-chen-2",
        sender="Chen Wei",
        claims=(("whatsapp", "447911123456"),),
        text="I already restarted it twice.",
    )
    script.note(
        at=at(1, "08:40"),
        ticket=red_light,
        agent="tariq",
        text="Area outage map shows nothing near him; check the line test first.",
    )

    script.message(
        at=at(1, "16:40"),
        channel="chat",
        external_id="widget-hana-1",
        sender="Hana Sato",
        conversation="widget-session-hana",
        claims=(("web", "visitor-2b91e7"),),
        text="I can't log in since the update, it says error 403.",
    )
