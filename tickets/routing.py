"""Which team a ticket belongs to: the first enabled rule that matches wins."""

import re
from dataclasses import dataclass

from tickets.models import RoutingRule, Team


@dataclass(frozen=True)
class RoutingFacts:
    """What rules look at: the ticket's channel, words, customer and language."""

    channel: str
    text: str
    segments: frozenset[str]
    language: str


@dataclass(frozen=True)
class RoutingDecision:
    team: Team
    rule: RoutingRule | None
    reason: str


def _has_keyword(text: str, keywords: list[str]) -> bool:
    return any(
        # Whole words, with the plain English endings: "invoice" finds "invoices".
        re.search(
            rf"(?<!\w){re.escape(word.strip().lower())}(?:s|es|d|ed|ing)?(?!\w)", text
        )
        for word in keywords
        if word.strip()
    )


def rule_matches(rule: RoutingRule, facts: RoutingFacts) -> bool:
    if rule.channels and facts.channel not in rule.channels:
        return False
    if rule.keywords and not _has_keyword(facts.text, rule.keywords):
        return False
    if rule.segments and not facts.segments.intersection(
        s.strip().lower() for s in rule.segments
    ):
        return False
    if rule.languages:
        language = facts.language.lower().split("-")[0]
        if language not in {code.lower().split("-")[0] for code in rule.languages}:
            return False
    return True


def facts_for(ticket, first_text: str) -> RoutingFacts:
    customer = ticket.customer
    segments = {str(tag).strip().lower() for tag in customer.tags or []}
    if customer.segment:
        segments.add(customer.segment.strip().lower())
    return RoutingFacts(
        channel=ticket.channel,
        text=f"{ticket.subject}\n{first_text}".lower(),
        segments=frozenset(segments),
        language=ticket.language or customer.language or "",
    )


def default_team() -> Team | None:
    return (
        Team.objects.filter(is_default=True).first()
        or Team.objects.order_by("id").first()
    )


def decide(facts: RoutingFacts, rules=None) -> RoutingDecision | None:
    """The team for these facts; None only when the desk has no team at all."""
    if rules is None:
        rules = RoutingRule.objects.filter(enabled=True).select_related("team")
    for rule in rules:
        if rule.enabled and rule_matches(rule, facts):
            return RoutingDecision(
                team=rule.team, rule=rule, reason=f"Rule “{rule.name}” matched"
            )
    team = default_team()
    if team is None:
        return None
    return RoutingDecision(team=team, rule=None, reason="No rule matched: default team")
