import pytest

from tests.factories import RoutingRuleFactory, TeamFactory
from tests.helpers import deliver, message
from tickets.actions.profiles import do_update_customer_profile
from tickets.models import Ticket, TimelineEvent
from tickets.routing import RoutingFacts, decide

pytestmark = pytest.mark.django_db


def delivered_ticket(msg) -> Ticket:
    record = deliver(msg)
    return TimelineEvent.objects.get(pk=record.event_ids[0]).ticket


def test_a_channel_rule_takes_messages_of_that_channel_only(teams):
    rule = RoutingRuleFactory(team=teams["sales"], channels=["whatsapp"])

    on_whatsapp = delivered_ticket(message("whatsapp", ("whatsapp", "14155552671")))
    by_email = delivered_ticket(message("email"))

    assert (on_whatsapp.team, on_whatsapp.routed_by_rule) == (teams["sales"], rule)
    assert (by_email.team, by_email.routed_by_rule) == (teams["tech"], None)


def test_a_keyword_in_the_subject_routes_the_ticket(teams):
    RoutingRuleFactory(team=teams["billing"], keywords=["refund"])

    ticket = delivered_ticket(
        message("email", subject="Refund for order 1042", text="See the subject.")
    )

    assert ticket.team == teams["billing"]


def test_a_keyword_in_the_body_matches_whatever_its_case(teams):
    RoutingRuleFactory(team=teams["billing"], keywords=["  Refund "])

    ticket = delivered_ticket(message("email", subject="Order 1042", text="A REFUND?"))

    assert ticket.team == teams["billing"]


def test_a_keyword_matches_whole_words_only(teams):
    RoutingRuleFactory(team=teams["billing"], keywords=["refund"])

    inside_a_word = delivered_ticket(
        message("email", subject="Deposit", text="Is the deposit refundable?")
    )
    own_word = delivered_ticket(
        message("email", ("email", "bo@example.com"), text="refund, please")
    )

    assert inside_a_word.team == teams["tech"]
    assert own_word.team == teams["billing"]


def test_a_keyword_also_finds_its_plural_and_past_forms(teams):
    RoutingRuleFactory(team=teams["billing"], keywords=["invoice", "refund"])

    plural = delivered_ticket(message("email", text="Two invoices are wrong"))
    past = delivered_ticket(
        message("email", ("email", "bo@example.com"), text="Never refunded")
    )
    other_word = delivered_ticket(
        message("email", ("email", "cy@example.com"), text="Invoicer broken")
    )

    assert plural.team == teams["billing"]
    assert past.team == teams["billing"]
    assert other_word.team == teams["tech"]


def test_a_keyword_of_several_words_matches_the_phrase(teams):
    RoutingRuleFactory(team=teams["billing"], keywords=["credit card"])

    apart = delivered_ticket(message("email", text="A credit on my card"))
    phrase = delivered_ticket(
        message("email", ("email", "bo@example.com"), text="My Credit Card was charged")
    )

    assert apart.team == teams["tech"]
    assert phrase.team == teams["billing"]


def test_a_rule_needs_every_one_of_its_conditions(teams):
    RoutingRuleFactory(team=teams["billing"], channels=["email"], keywords=["invoice"])

    wrong_channel = delivered_ticket(
        message("sms", ("sms", "+14155552671"), text="Where is my invoice?")
    )
    both = delivered_ticket(message("email", text="Where is my invoice?"))

    assert wrong_channel.team == teams["tech"]
    assert both.team == teams["billing"]


def test_the_customer_segment_routes_the_ticket(teams):
    RoutingRuleFactory(team=teams["sales"], segments=["VIP"])
    first = delivered_ticket(message("email", subject="First"))
    do_update_customer_profile(customer=first.customer, segment="vip")

    second = delivered_ticket(message("email", subject="Second"))

    assert first.team == teams["tech"]
    assert second.customer_id == first.customer_id
    assert second.team == teams["sales"]


def test_a_customer_tag_counts_as_a_segment(teams):
    RoutingRuleFactory(team=teams["sales"], segments=["enterprise"])
    first = delivered_ticket(message("email", subject="First"))
    do_update_customer_profile(customer=first.customer, tags=["beta", "Enterprise"])

    second = delivered_ticket(message("email", subject="Second"))

    assert second.team == teams["sales"]


def test_the_language_routes_the_ticket_by_its_primary_subtag(teams):
    RoutingRuleFactory(team=teams["sales"], languages=["pt"])

    brazilian = delivered_ticket(message("email", language="pt-BR", text="Olá"))
    english = delivered_ticket(
        message("email", ("email", "bo@example.com"), language="en", text="Hi")
    )

    assert brazilian.team == teams["sales"]
    assert english.team == teams["tech"]


def test_the_first_matching_rule_by_position_wins(teams):
    later = RoutingRuleFactory(team=teams["sales"], keywords=["refund"], position=20)
    earlier = RoutingRuleFactory(
        team=teams["billing"], keywords=["refund"], position=10
    )

    ticket = delivered_ticket(message("email", text="refund"))

    assert later.pk < earlier.pk
    assert (ticket.team, ticket.routed_by_rule) == (teams["billing"], earlier)


def test_a_disabled_rule_is_skipped(teams):
    RoutingRuleFactory(team=teams["sales"], keywords=["refund"], enabled=False)
    enabled = RoutingRuleFactory(team=teams["billing"], keywords=["refund"])

    ticket = delivered_ticket(message("email", text="refund"))

    assert (ticket.team, ticket.routed_by_rule) == (teams["billing"], enabled)


def test_a_disabled_rule_is_skipped_even_when_handed_over_directly(teams):
    disabled = RoutingRuleFactory(team=teams["sales"], enabled=False)
    facts = RoutingFacts(channel="email", text="", segments=frozenset(), language="")

    decision = decide(facts, rules=[disabled])

    assert decision.team == teams["tech"]
    assert decision.rule is None


def test_the_default_team_catches_what_no_rule_matches(teams):
    RoutingRuleFactory(team=teams["billing"], keywords=["refund"])

    ticket = delivered_ticket(message("email", text="The app crashes"))

    assert (ticket.team, ticket.routed_by_rule) == (teams["tech"], None)
    change = ticket.route_changes.get()
    assert change.reason == "No rule matched: default team"


def test_without_a_default_team_the_oldest_team_catches_the_rest(db):
    oldest = TeamFactory(name="Frontline")
    TeamFactory(name="Another")

    ticket = delivered_ticket(message("email"))

    assert ticket.team == oldest


def test_with_no_team_at_all_the_ticket_stays_unrouted(db):
    ticket = delivered_ticket(message("email"))

    assert ticket.team is None
    assert ticket.routed_at is None
    assert not ticket.route_changes.exists()
