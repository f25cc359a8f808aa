"""Customers new to the desk: one conversation each, over six different channels.

One person appears twice, as a WhatsApp number and as an email address, until a
message names both. Phone numbers are ones the phone library accepts as valid.
"""

from channels_app.demo.records import (
    Assign,
    Conversation,
    Message,
    Note,
    Person,
    Reassign,
    Reply,
    Resolve,
)
from tickets.inbound import InboundAttachment

# Two customers for one person, until a message names both identities.
IVAN = Person(
    "Ivan Petrov",
    reach={
        "whatsapp": ("whatsapp", "12065550148"),
        "email": ("email", "ivan.petrov@example.net"),
    },
    conversations=(
        Conversation(
            "whatsapp",
            steps=(
                Message(
                    (13, "12:00"),
                    "wamid.demo-ivan-1",
                    "Hello! If I move to the Business plan mid-month, is the upgrade "
                    "prorated?",
                ),
                Assign((13, "12:10"), "santiago"),
                Reply(
                    (13, "12:12"),
                    "santiago",
                    "Hi Ivan, yes: you only pay the difference for the days left in "
                    "the month.",
                ),
                Resolve(
                    (13, "12:15"),
                    "santiago",
                    "Explained proration for a mid-month move to the Business plan.",
                ),
            ),
        ),
        Conversation(
            "email",
            subject="Two invoices for the same month?",
            steps=(
                Message(
                    (4, "09:30"),
                    "<two-invoices.ivan@petrov.example>",
                    "I received two invoices for October. Is the second invoice a "
                    "mistake?",
                ),
                Assign((4, "10:00"), "bianca"),
                Reply(
                    (4, "10:04"),
                    "bianca",
                    "Hi Ivan, this account has a single October invoice. Could you "
                    "send the number of the other one?",
                ),
                # Both identities in one message: the desk suggests a merge for a
                # supervisor.
                Message(
                    (1, "10:05"),
                    "<two-invoices-2.ivan@petrov.example>",
                    "The other one came for my WhatsApp number, +1 206 555 0148. Maybe "
                    "it belongs to another account of mine?",
                    also_claims=(("phone", "+1 206 555 0148"),),
                ),
            ),
        ),
    ),
)

DOLORES = Person(
    "Dolores Ortega",
    reach={"phone": ("phone", "+34 612 345 678")},
    language="es",
    conversations=(
        Conversation(
            "phone",
            subject="Buzón de voz de +34 612 345 678",
            steps=(
                Message(
                    (6, "15:40"),
                    "call-demo-dolores-1",
                    "Hola, soy Dolores Ortega. Desde que cambié la contraseña no puedo "
                    "entrar en la aplicación, me sale «login error 401». ¿Me pueden "
                    "llamar por la tarde?",
                ),
                Assign((6, "16:20"), "tess"),
                Note(
                    (6, "16:30"),
                    "tess",
                    "Called her back: the account locked after five failed attempts. "
                    "Unlocked it and walked her through the reset link; she is in.",
                ),
                Reply(
                    (6, "16:33"),
                    "tess",
                    "Hola Dolores, su cuenta ya está desbloqueada. Si vuelve a tener "
                    "problemas, responda a este mensaje. Tess, Soporte técnico",
                    channel="sms",
                ),
                Resolve(
                    (6, "16:35"),
                    "tess",
                    "Account locked after five failed sign-ins; unlocked, reset link "
                    "sent, customer confirmed she can sign in.",
                ),
            ),
        ),
    ),
)

EMEKA = Person(
    "Emeka Okafor",
    reach={"sms": ("sms", "+234 803 123 4567")},
    conversations=(
        Conversation(
            "sms",
            steps=(
                Message(
                    (16, "18:22"),
                    "sms-demo-emeka-1",
                    "Hello, there is a double charge on my card for the March bill. "
                    "Please check.",
                ),
                Assign((16, "18:50"), "bruno"),
                Reply(
                    (16, "18:55"),
                    "bruno",
                    "Hi Emeka, you're right, the March payment went through twice. "
                    "The duplicate is refunded and shows in 3-5 working days.",
                ),
                Resolve(
                    (16, "18:56"),
                    "bruno",
                    "Duplicate card payment for March refunded (refund RF-7781).",
                ),
            ),
        ),
    ),
)

FATIMA = Person(
    "Fatima Zahra",
    reach={"email": ("email", "fatima.zahra@example.com")},
    conversations=(
        # "payment" sends this to Billing first; the supervisor moves it.
        Conversation(
            "email",
            subject="App crashes when I export my payment history",
            steps=(
                Message(
                    (5, "10:12"),
                    "<export-crash.fatima@zahra.example>",
                    "Every time I tap Export on the Payments screen the Android app "
                    "closes. App 5.4.2 on a Pixel 7.",
                ),
                Reassign(
                    (5, "10:40"),
                    "maya",
                    "tech",
                    "A crash in the export screen: an app fault, not a billing "
                    "question.",
                ),
                Assign((5, "11:00"), "tess"),
                Note(
                    (5, "11:20"),
                    "tess",
                    "Reproduced on Android 14 with app 5.4.2; filed MOB-3317 for the "
                    "mobile team.",
                ),
                Reply(
                    (5, "11:25"),
                    "tess",
                    "Hi Fatima, thanks for the details. We can reproduce the crash and "
                    "a fix is on its way; until then, exporting from the web app "
                    "works.",
                ),
            ),
        ),
    ),
)

GUSTAVO = Person(
    "Gustavo Silva",
    reach={"messenger": ("messenger", "6251973840112233")},
    conversations=(
        Conversation(
            "messenger",
            steps=(
                Message(
                    (11, "17:05"),
                    "m_demo-gustavo-1",
                    "Hi, do you offer a demo for a team of 8 before we buy?",
                ),
                Assign((11, "17:10"), "sofia"),
                Reply(
                    (11, "17:12"),
                    "sofia",
                    "Hi Gustavo, gladly! I've sent you a link to book a 30-minute "
                    "session.",
                ),
                Message(
                    (11, "17:20"), "m_demo-gustavo-2", "Booked for Thursday, thanks!"
                ),
                Resolve(
                    (8, "16:00"),
                    "sofia",
                    "Demo held with Gustavo's team of 8; a 14-day trial workspace is "
                    "set up.",
                ),
            ),
        ),
    ),
)

CHEN = Person(
    "Chen Wei",
    reach={"whatsapp": ("whatsapp", "447911123456")},
    conversations=(
        Conversation(
            "whatsapp",
            steps=(
                Message(
                    (1, "08:15"),
                    "wamid.demo-chen-1",
                    "Good morning, the router shows a red light since this morning and "
                    "nothing connects.",
                    files=(
                        InboundAttachment(
                            "red-light.jpg",
                            "image/jpeg",
                            b"\xff\xd8\xff\xe0 red light \xff\xd9",
                        ),
                    ),
                ),
                Message(
                    (1, "08:17"), "wamid.demo-chen-2", "I already restarted it twice."
                ),
                Note(
                    (1, "08:40"),
                    "tariq",
                    "Area outage map shows nothing near him; check the line test "
                    "first.",
                ),
            ),
        ),
    ),
)

HANA = Person(
    "Hana Sato",
    reach={"chat": ("web", "visitor-2b91e7")},
    conversations=(
        Conversation(
            "chat",
            session="widget-session-hana",
            steps=(
                Message(
                    (1, "16:40"),
                    "widget-hana-1",
                    "I can't log in since the update, it says error 403.",
                ),
            ),
        ),
    ),
)

NEWCOMERS = (IVAN, DOLORES, EMEKA, FATIMA, GUSTAVO, CHEN, HANA)
