"""Rows of the generated data set, derived from the customer id so passes agree.

Customers and identities come from one pass, tickets, route changes and timeline
events from a second; both call profile() with the same id and so see the same
person. Rows are tuples in the column order of the COPY statements in dataset.py.
"""

import itertools
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tickets.routing import RoutingFacts, rule_matches

FIRST_NAMES = (
    "Ada Ben Chloe Dan Eva Farid Grace Hugo Iris Jonas Kai Lena Marta Nils Olga "
    "Pablo Quinn Rosa Sami Tara Uma Victor Wen Xavi Yara Zoe"
).split()
LAST_NAMES = (
    "Adler Brandt Costa Dubois Eriksen Fischer Garcia Hansen Ito Jensen Kowalski "
    "Lopez Meyer Novak Okafor Petrov Quist Rossi Schmidt Tanaka Umar Vogel Weber"
).split()
LANGUAGES = ("en", "en", "en", "en", "de", "fr", "es", "")
SEGMENTS = ("",) * 13 + ("smb",) * 4 + ("enterprise",) * 2 + ("vip",)
AREA_CODES = (202, 212, 312, 415, 617, 201, 303, 404, 512, 646)
# Conversational channels need a phone identity; the others reach anyone.
PHONE_CHANNELS = ("whatsapp", "sms", "phone")
CHANNEL_WEIGHTS = {
    "email": 45,
    "chat": 20,
    "whatsapp": 12,
    "phone": 8,
    "sms": 5,
    "messenger": 5,
    "telegram": 5,
}

# Topic: (subjects, customer lines, agent lines). Keywords in the lines are what
# the routing rules look for, so generated tickets land where routing would put them.
TOPICS = {
    "billing": (
        ("Charged twice this month", "Question about my invoice", "Refund request"),
        (
            "I was charged twice for the same order, can I get a refund?",
            "The invoice for March shows the wrong billing address.",
            "Still waiting for the refund you promised last week.",
        ),
        (
            "I have issued the refund; it shows on your statement in 3-5 days.",
            "A corrected invoice is attached to your account.",
        ),
    ),
    "tech": (
        ("Cannot log in", "App crashes on start", "Error when saving"),
        (
            "Every login attempt ends with an error page.",
            "The app crashes as soon as I open the settings screen.",
            "I reset my password but the new one is not accepted.",
        ),
        (
            "Please clear the app cache and try again; it fixes this crash.",
            "Your account was locked after failed attempts; it is unlocked now.",
        ),
    ),
    "sales": (
        ("Upgrade to the team plan", "Quote for 40 seats", "Book a demo"),
        (
            "What would the price be for forty seats on the yearly plan?",
            "We would like a demo for our operations team next week.",
            "Can we upgrade mid-month and pay the difference?",
        ),
        (
            "A quote for forty seats is on its way to your inbox.",
            "The demo is booked for Tuesday at 10:00.",
        ),
    ),
    "returns": (
        ("Parcel arrived broken", "Exchange for another size", "Return label"),
        (
            "The parcel arrived broken, the lid is cracked.",
            "Can I exchange the jacket for a size M?",
            "I need a label to return the second pair.",
        ),
        (
            "A prepaid return label is attached.",
            "The exchange is approved; the new size ships tomorrow.",
        ),
    ),
    "general": (
        ("Opening hours", "Change of address", "Thank you"),
        (
            "Are you open on public holidays?",
            "I moved; please update my postal address.",
            "Thanks for the quick help yesterday!",
        ),
        (
            "We are open every day from 8:00 to 20:00.",
            "Your address is updated for future orders.",
        ),
    ),
}
RESOLUTIONS = (
    "Refund issued and confirmed with the customer.",
    "Cause found and fixed; the customer confirmed it works.",
    "Answered the question; no further action needed.",
    "Replacement shipped and tracking number shared.",
)


@dataclass(frozen=True)
class Desk:
    """Ids of the small, ORM-created part of the data set."""

    rules: list  # enabled RoutingRule objects, in order, with their teams loaded
    default_team_id: int
    team_names: dict[int, str]
    agents_by_team: dict[int, list[int]]


@dataclass
class Profile:
    customer_id: int
    name: str
    email: str
    language: str
    segment: str
    tags: str
    has_phone: bool
    phone: str
    since: datetime


@dataclass
class Rows:
    """Tickets and route changes collected while the events stream out."""

    tickets: list[tuple] = field(default_factory=list)
    route_changes: list[tuple] = field(default_factory=list)


def profile(customer_id: int, now: datetime, *, heavy: bool) -> Profile:
    rng = random.Random(customer_id * 7919)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    days = 730.0 if heavy else rng.uniform(1.0, 700.0)
    area = AREA_CODES[customer_id % len(AREA_CODES)]
    return Profile(
        customer_id=customer_id,
        name=f"{first} {last}",
        email=f"{first}.{last}.{customer_id}@example.com".lower(),
        language=rng.choice(LANGUAGES),
        segment="vip" if heavy else rng.choice(SEGMENTS),
        tags='["newsletter"]' if rng.random() < 0.1 else "[]",
        has_phone=heavy or rng.random() < 0.35,
        # The id keeps each number unique across the data set.
        phone=f"+1{area}{2000000 + customer_id:07d}",
        since=now - timedelta(days=days, hours=1),
    )


def event_counts(
    customers: int, events: int, heavy_events: int, seed: int
) -> list[int]:
    """Events per customer (index 0 is the heavy one), summing exactly to `events`."""
    rng = random.Random(seed)
    rest = events - heavy_events
    average = rest / (customers - 1)
    spread = max(1, round(average) - 1)
    counts = [
        max(1, round(average) + rng.randint(-spread, spread))
        for _ in range(customers - 1)
    ]
    difference = rest - sum(counts)
    while difference:
        index = rng.randrange(len(counts))
        step = 1 if difference > 0 else -1
        if counts[index] + step >= 1:
            counts[index] += step
            difference -= step
    return [heavy_events, *counts]


def customer_rows(
    people: list[Profile],
) -> tuple[list[tuple], list[tuple]]:
    """Customers, and identities: the email one has the customer's id, phones follow."""
    customers, identities = [], []
    phone_id = len(people)
    for person in people:
        cid = person.customer_id
        customers.append(
            (
                cid,
                person.name,
                person.language,
                person.segment,
                person.tags,
                None,
                person.since,
            )
        )
        identities.append(
            (cid, cid, "email", person.email, person.name, True, person.since)
        )
        if person.has_phone:
            phone_id += 1
            identities.append(
                (phone_id, cid, "phone", person.phone, person.name, True, person.since)
            )
    return customers, identities


class Timeline:
    """Streams one customer's tickets and events; ids continue across customers."""

    def __init__(self, desk: Desk, rows: Rows, now: datetime, customers: int):
        self.desk = desk
        self.rows = rows
        self.now = now
        self.next_ticket_id = 1
        self.next_event_id = 1
        self.next_phone_id = customers + 1

    def events(self, person: Profile, count: int, tickets: int) -> Iterator[tuple]:
        rng = random.Random(person.customer_id * 104729 + 1)
        phone_identity = None
        if person.has_phone:
            phone_identity = self.next_phone_id
            self.next_phone_id += 1
        span = (self.now - person.since).total_seconds() - 60
        step = span / count
        stamps = [
            person.since + timedelta(seconds=(i + rng.random() * 0.9) * step)
            for i in range(count)
        ]
        sizes = _split(count, tickets, rng)
        start = 0
        for number, size in enumerate(sizes):
            last = number == len(sizes) - 1
            yield from self._ticket(
                person, phone_identity, stamps[start : start + size], last, rng
            )
            start += size

    def _ticket(self, person, phone_identity, stamps, last, rng) -> Iterator[tuple]:
        channels = [
            c for c in CHANNEL_WEIGHTS if phone_identity or c not in PHONE_CHANNELS
        ]
        channel = rng.choices(channels, [CHANNEL_WEIGHTS[c] for c in channels])[0]
        topic = rng.choice(list(TOPICS))
        subjects, customer_lines, agent_lines = TOPICS[topic]
        subject = rng.choice(subjects)
        first_text = rng.choice(customer_lines)
        rule, team_id = self._route(channel, subject, first_text, person)
        agents = self.desk.agents_by_team.get(team_id, [])
        # Only a customer's latest ticket may still be open, one in five of them.
        status = rng.choice(("resolved", "resolved", "closed"))
        if last and rng.random() < 0.2:
            status = "new" if len(stamps) <= 2 else rng.choice(("open", "pending"))
        done = status in ("resolved", "closed")
        assignee = rng.choice(agents) if agents and rng.random() < 0.7 else None
        sender = phone_identity if channel in PHONE_CHANNELS else person.customer_id
        ticket_id = self.next_ticket_id
        self.next_ticket_id += 1
        routed_at = stamps[0] + timedelta(seconds=2)
        reason = (
            f"Rule “{rule.name}” matched" if rule else "No rule matched: default team"
        )
        team_name = self.desk.team_names[team_id]
        inbound_kind = "call" if channel == "phone" else "message_in"
        last_in = first_out = None
        for index, stamp in enumerate(stamps):
            event_id = self.next_event_id
            self.next_event_id += 1
            author, identity, name, external, delivery = None, None, "", "", ""
            metadata, event_channel, event_subject = "{}", channel, ""
            turn = (index - 2) % 4
            if index == 0 or (index > 1 and turn == 1):
                kind, text = (
                    inbound_kind,
                    first_text if index == 0 else rng.choice(customer_lines),
                )
                identity, name, last_in = sender, person.name, stamp
                external = f"seed-in-{event_id}"
                metadata = '{"replies_to": []}'
                event_subject = subject if index == 0 else ""
            elif index == 1:
                kind, event_channel = "route_change", "internal"
                text = f"Routed to {team_name}. {reason}"
                metadata = json.dumps(
                    {
                        "route_change_id": ticket_id,
                        "from_team_id": None,
                        "to_team_id": team_id,
                        "rule_id": rule and rule.pk,
                    }
                )
            elif index == len(stamps) - 1 and done:
                kind, event_channel = "status_change", "internal"
                text = f"Status open → {status}."
                metadata = json.dumps({"from": "open", "to": status})
            elif turn == 3 and agents:
                kind, event_channel, author = "note", "internal", rng.choice(agents)
                text = "Checked the order history; see the reply above."
            else:
                kind, author = "message_out", rng.choice(agents) if agents else None
                text, delivery = rng.choice(agent_lines), "delivered"
                external = f"seed-out-{event_id}"
                first_out = first_out or stamp
            yield (
                event_id,
                person.customer_id,
                ticket_id,
                event_channel,
                kind,
                author,
                identity,
                name,
                event_subject,
                text,
                "",
                "",
                external,
                delivery,
                "",
                metadata,
                stamp,
                stamp,
            )
        self.rows.tickets.append(
            (
                ticket_id,
                person.customer_id,
                subject,
                status,
                "high" if person.segment == "vip" else "normal",
                channel,
                person.language,
                f"chat-{ticket_id}" if channel == "chat" else "",
                team_id,
                assignee,
                routed_at,
                rule and rule.pk,
                rng.choice(RESOLUTIONS) if done else "",
                stamps[0],
                stamps[-1],
                last_in,
                first_out,
                stamps[-1] if done else None,
            )
        )
        self.rows.route_changes.append(
            (
                ticket_id,
                ticket_id,
                None,
                team_id,
                rule and rule.pk,
                None,
                reason,
                routed_at,
            )
        )

    def _route(self, channel, subject, text, person):
        facts = RoutingFacts(
            channel=channel,
            text=f"{subject}\n{text}".lower(),
            segments=frozenset(filter(None, [person.segment])),
            language=person.language,
        )
        for rule in self.desk.rules:
            if rule_matches(rule, facts):
                return rule, rule.team_id
        return None, self.desk.default_team_id


def _split(count: int, parts: int, rng: random.Random) -> list[int]:
    parts = max(1, min(parts, count))
    cuts = sorted(rng.sample(range(1, count), parts - 1)) if parts > 1 else []
    bounds = [0, *cuts, count]
    return [b - a for a, b in itertools.pairwise(bounds)]


def tickets_for(count: int, *, heavy: bool) -> int:
    if heavy:
        return max(1, count // 40)
    return 1 + (count >= 18)
