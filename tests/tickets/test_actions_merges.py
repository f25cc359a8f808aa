import pytest
from django.test import TestCase

from customers.actions import MergeError, do_reject_merge_suggestion
from customers.models import Customer, CustomerMerge, MergeSuggestion
from supportdesk import events
from tests.helpers import deliver, message
from tickets.actions.merges import (
    do_accept_merge_suggestion,
    do_merge_customers,
    do_unmerge_customers,
)
from tickets.models import TimelineEvent

pytestmark = pytest.mark.django_db

ANA_EMAIL = ("email", "ana@example.com")
ANA_WHATSAPP = ("whatsapp", "14155552671")


def customer_of(record) -> Customer:
    return TimelineEvent.objects.get(pk=record.event_ids[0]).customer


def history(customer: Customer) -> dict[str, set]:
    return {
        "identities": set(customer.identities.values_list("kind", "value")),
        "tickets": set(customer.tickets.values_list("id", flat=True)),
        "events": set(customer.timeline.values_list("id", flat=True)),
    }


@pytest.fixture
def by_email(teams) -> Customer:
    """Ana writing by email: one ticket, one message."""
    return customer_of(deliver(message("email", ANA_EMAIL, text="Invoice question")))


@pytest.fixture
def by_whatsapp(teams) -> Customer:
    """Ana on WhatsApp, not yet known to be the same person: one ticket, two
    messages."""
    deliver(message("whatsapp", ANA_WHATSAPP, text="Hi"))
    return customer_of(deliver(message("whatsapp", ANA_WHATSAPP, text="Still there?")))


def merge(source, target, actor=None, reason="") -> CustomerMerge:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_merge_customers(
            source=source, target=target, actor=actor, reason=reason
        )


def unmerge(merge_row, actor=None) -> CustomerMerge:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return do_unmerge_customers(merge=merge_row, actor=actor)


# ----------------------------------------------------------------------- merge


def test_a_merge_moves_identities_tickets_and_events_to_the_survivor(
    by_email, by_whatsapp, supervisor
):
    before = history(by_whatsapp)
    target_before = history(by_email)

    row = merge(by_whatsapp, by_email, supervisor, "Same person, said so on the phone")

    assert history(by_whatsapp) == {
        "identities": set(),
        "tickets": set(),
        "events": set(),
    }
    after = history(by_email)
    assert after["identities"] == target_before["identities"] | before["identities"]
    assert after["tickets"] == target_before["tickets"] | before["tickets"]
    assert before["events"] | target_before["events"] < after["events"]
    assert (row.source, row.target, row.actor) == (by_whatsapp, by_email, supervisor)
    assert set(row.moved_ticket_ids) == before["tickets"]
    assert set(row.moved_event_ids) == before["events"]
    assert len(row.moved_identity_ids) == len(before["identities"]) == 2
    by_whatsapp.refresh_from_db()
    assert by_whatsapp.merged_into == by_email


def test_a_merge_is_written_on_the_survivors_timeline(
    by_email, by_whatsapp, supervisor
):
    moved_events = len(history(by_whatsapp)["events"])
    row = merge(by_whatsapp, by_email, supervisor, "Same person")

    event = by_email.timeline.get(kind=TimelineEvent.Kind.MERGE)
    assert event.author == supervisor
    assert event.ticket is None
    assert event.metadata == {"merge_id": row.pk, "source_id": by_whatsapp.pk}
    assert f"2 identities, 1 tickets, {moved_events} events. Same person" in event.text


def test_a_merge_is_published_to_both_customers(
    by_email, by_whatsapp, supervisor, published
):
    row = merge(by_whatsapp, by_email, supervisor)

    merged = {g for g, e in published if e["type"] == events.CUSTOMER_MERGED}
    assert merged == {
        events.customer_group(by_whatsapp.pk),
        events.customer_group(by_email.pk),
        events.DESK_GROUP,
    }
    assert {"merge_id": row.pk, "source_id": by_whatsapp.pk} == {
        k: e[k]
        for g, e in published
        if e["type"] == events.CUSTOMER_MERGED
        for k in ("merge_id", "source_id")
    }


def test_later_messages_from_a_merged_identity_reach_the_survivor(
    by_email, by_whatsapp
):
    merge(by_whatsapp, by_email)

    record = deliver(message("whatsapp", ANA_WHATSAPP, text="Hello again"))

    assert customer_of(record) == by_email


def test_a_customer_cannot_be_merged_into_itself(by_email):
    with pytest.raises(MergeError):
        merge(by_email, by_email)

    assert not CustomerMerge.objects.exists()


def test_a_customer_merged_away_cannot_be_merged_again(by_email, by_whatsapp, teams):
    third = customer_of(deliver(message("email", ("email", "bo@example.com"))))
    merge(by_whatsapp, by_email)

    with pytest.raises(MergeError):
        merge(by_whatsapp, third)
    with pytest.raises(MergeError):
        merge(third, by_whatsapp)

    assert CustomerMerge.objects.count() == 1


# --------------------------------------------------------------------- unmerge


def test_an_unmerge_moves_back_exactly_what_the_merge_moved(
    by_email, by_whatsapp, supervisor
):
    source_before, target_before = history(by_whatsapp), history(by_email)
    row = merge(by_whatsapp, by_email, supervisor)
    later = customer_of(deliver(message("email", ANA_EMAIL, text="New question")))
    assert later == by_email
    arrived_after = (
        history(by_email)["events"] - target_before["events"] - source_before["events"]
    )

    unmerge(row, supervisor)

    assert history(by_whatsapp) == source_before
    undo_event = by_email.timeline.filter(kind=TimelineEvent.Kind.MERGE).first()
    assert history(by_email) == {
        "identities": target_before["identities"],
        "tickets": target_before["tickets"] | {later.tickets.order_by("id").last().pk},
        "events": target_before["events"] | arrived_after | {undo_event.pk},
    }
    by_whatsapp.refresh_from_db()
    assert by_whatsapp.merged_into is None


def test_a_message_on_a_moved_ticket_goes_back_with_its_ticket(by_email, by_whatsapp):
    row = merge(by_whatsapp, by_email)
    record = deliver(message("whatsapp", ANA_WHATSAPP, text="Any news?"))
    reply = TimelineEvent.objects.get(pk=record.event_ids[0])
    assert reply.ticket_id in row.moved_ticket_ids

    unmerge(row)

    reply.refresh_from_db()
    assert reply.customer == by_whatsapp
    assert (
        not TimelineEvent.objects.filter(ticket__customer=by_email)
        .exclude(customer=by_email)
        .exists()
    )


def test_a_merge_cannot_be_undone_while_its_survivor_is_merged_away(
    by_email, by_whatsapp, teams
):
    third = customer_of(deliver(message("email", ("email", "bo@example.com"))))
    first = merge(by_whatsapp, by_email)
    second = merge(by_email, third)

    with pytest.raises(MergeError):
        unmerge(first)

    first.refresh_from_db()
    assert not first.is_undone
    unmerge(second)
    unmerge(first)
    assert history(by_whatsapp)["tickets"] == set(first.moved_ticket_ids)


def test_an_unmerge_is_recorded(by_email, by_whatsapp, supervisor, tech_agent):
    row = merge(by_whatsapp, by_email, supervisor)

    unmerge(row, tech_agent)

    row.refresh_from_db()
    assert row.is_undone
    assert row.undone_by == tech_agent
    undone = by_email.timeline.filter(kind=TimelineEvent.Kind.MERGE).first()
    assert undone.metadata == {
        "merge_id": row.pk,
        "source_id": by_whatsapp.pk,
        "undone": True,
    }
    assert undone.author == tech_agent


def test_an_unmerge_cannot_be_done_twice(by_email, by_whatsapp):
    row = merge(by_whatsapp, by_email)
    unmerge(row)
    events_before = TimelineEvent.objects.count()

    with pytest.raises(MergeError):
        unmerge(row)

    assert TimelineEvent.objects.count() == events_before


def test_after_an_unmerge_the_two_can_be_merged_again(by_email, by_whatsapp):
    unmerge(merge(by_whatsapp, by_email))

    again = merge(by_whatsapp, by_email)

    assert not again.is_undone
    assert history(by_whatsapp)["tickets"] == set()


# ------------------------------------------------------------------ suggestions


@pytest.fixture
def suggestion(by_email, by_whatsapp) -> MergeSuggestion:
    """One message carried both Ana's WhatsApp number and her email address."""
    deliver(message("whatsapp", ANA_WHATSAPP, ANA_EMAIL, text="It's me, Ana"))
    return MergeSuggestion.objects.get()


def test_a_message_tying_two_customers_suggests_a_merge_and_merges_nothing(
    suggestion, by_email, by_whatsapp
):
    assert (suggestion.customer, suggestion.other) == (by_whatsapp, by_email)
    assert suggestion.status == MergeSuggestion.Status.PENDING
    assert not CustomerMerge.objects.exists()


def test_accepting_a_suggestion_merges_the_two(suggestion, supervisor):
    with TestCase.captureOnCommitCallbacks(execute=True):
        row = do_accept_merge_suggestion(suggestion=suggestion, actor=supervisor)

    assert (row.source, row.target, row.actor) == (
        suggestion.other,
        suggestion.customer,
        supervisor,
    )
    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.Status.ACCEPTED
    assert suggestion.decided_by == supervisor
    assert suggestion.decided_at is not None
    source = Customer.objects.get(pk=suggestion.other_id)
    assert source.merged_into_id == suggestion.customer_id


def test_a_decided_suggestion_cannot_be_decided_again(suggestion, supervisor):
    do_reject_merge_suggestion(suggestion=suggestion, actor=supervisor)

    with pytest.raises(MergeError):
        do_accept_merge_suggestion(suggestion=suggestion, actor=supervisor)
    with pytest.raises(MergeError):
        do_reject_merge_suggestion(suggestion=suggestion, actor=supervisor)

    assert not CustomerMerge.objects.exists()
