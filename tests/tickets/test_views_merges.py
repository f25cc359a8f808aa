import pytest

from customers.models import Customer, CustomerMerge, Identity, MergeSuggestion
from tests.helpers import deliver, message
from tickets.actions.merges import do_merge_customers
from tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


def customer_of(kind: str, value: str) -> Customer:
    return Identity.objects.get(kind=kind, value=value).customer


@pytest.fixture
def two_customers(teams):
    """Ana by mail (two tickets) and the same person on WhatsApp (one ticket)."""
    deliver(message("email", ("email", "ana@example.com"), sender_name="Ana Mail"))
    deliver(message("email", ("email", "ana@example.com"), text="Another issue"))
    deliver(
        message(
            "whatsapp",
            ("whatsapp", "14155552671"),
            sender_name="Ana Phone",
            text="Hi from WhatsApp",
        )
    )
    return customer_of("email", "ana@example.com"), customer_of(
        "whatsapp", "+14155552671"
    )


def test_search_finds_by_name_and_by_identity(client, supervisor, two_customers):
    mail, phone = two_customers
    client.force_login(supervisor)

    by_name = client.get("/supervisor/customers/", {"q": "ana phone"})
    by_identity = client.get("/supervisor/customers/", {"q": "+1415555"})
    by_email = client.get("/supervisor/customers/", {"q": "ANA@example"})

    assert [c.pk for c in by_name.context["results"]] == [phone.pk]
    assert [c.pk for c in by_identity.context["results"]] == [phone.pk]
    assert [c.pk for c in by_email.context["results"]] == [mail.pk]


def test_an_agent_cannot_merge(client, billing_agent, two_customers):
    mail, phone = two_customers
    client.force_login(billing_agent)

    response = client.post(
        "/supervisor/customers/merge/", {"source": phone.pk, "target": mail.pk}
    )

    assert response.status_code == 403
    assert not CustomerMerge.objects.exists()


def test_the_preview_lists_what_moves_and_changes_nothing(
    client, supervisor, two_customers
):
    mail, phone = two_customers
    client.force_login(supervisor)

    response = client.get(
        "/supervisor/customers/merge/", {"source": mail.pk, "target": phone.pk}
    )

    assert response.status_code == 200
    context = response.context
    assert [(i.kind, i.value) for i in context["identities"]] == [
        ("email", "ana@example.com")
    ]
    assert context["ticket_count"] == 2 and len(context["tickets"]) == 2
    assert context["event_count"] == TimelineEvent.objects.filter(customer=mail).count()
    page = response.content.decode()
    assert "ana@example.com" in page and "Confirm the merge" in page
    assert not CustomerMerge.objects.exists()
    assert Ticket.objects.filter(customer=mail).count() == 2


def test_confirming_merges_the_customers(client, supervisor, two_customers):
    mail, phone = two_customers
    client.force_login(supervisor)

    response = client.post(
        "/supervisor/customers/merge/",
        {"source": mail.pk, "target": phone.pk, "reason": "Same person"},
    )

    assert response.status_code == 302
    merge = CustomerMerge.objects.get()
    assert (merge.source, merge.target, merge.actor, merge.reason) == (
        mail,
        phone,
        supervisor,
        "Same person",
    )
    assert Ticket.objects.filter(customer=phone).count() == 3
    assert customer_of("email", "ana@example.com") == phone
    page = client.get("/supervisor/customers/").content.decode()
    assert "Undo" in page and "Merged" in page


def test_a_customer_cannot_be_merged_into_itself(client, supervisor, two_customers):
    mail, _ = two_customers
    client.force_login(supervisor)

    response = client.post(
        "/supervisor/customers/merge/", {"source": mail.pk, "target": mail.pk}
    )

    assert response.status_code == 400
    assert not CustomerMerge.objects.exists()


def test_undo_restores_the_customers(client, supervisor, two_customers):
    mail, phone = two_customers
    merge = do_merge_customers(source=mail, target=phone, actor=supervisor)
    client.force_login(supervisor)

    response = client.post(f"/supervisor/customers/merges/{merge.pk}/undo/")

    assert response.status_code == 302
    merge.refresh_from_db()
    assert merge.is_undone and merge.undone_by == supervisor
    assert customer_of("email", "ana@example.com") == mail
    assert Ticket.objects.filter(customer=mail).count() == 2
    mail.refresh_from_db()
    assert mail.merged_into is None
    again = client.post(f"/supervisor/customers/merges/{merge.pk}/undo/", follow=True)
    assert "already been undone" in again.content.decode()


@pytest.fixture
def suggestion(two_customers):
    """One message carried both identities: a merge is suggested, not made."""
    deliver(
        message(
            "whatsapp",
            ("whatsapp", "14155552671"),
            ("email", "ana@example.com"),
            text="It's me again",
        )
    )
    return MergeSuggestion.objects.get(status=MergeSuggestion.Status.PENDING)


def test_pending_suggestions_are_listed(client, supervisor, suggestion):
    client.force_login(supervisor)

    response = client.get("/supervisor/customers/")

    assert list(response.context["suggestions"]) == [suggestion]
    assert f'data-suggestion-id="{suggestion.pk}"' in response.content.decode()


def test_accepting_a_suggestion_merges(client, supervisor, suggestion):
    client.force_login(supervisor)

    client.post(
        f"/supervisor/customers/suggestions/{suggestion.pk}/", {"decision": "accept"}
    )

    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.Status.ACCEPTED
    merge = CustomerMerge.objects.get()
    assert (merge.source_id, merge.target_id) == (
        suggestion.other_id,
        suggestion.customer_id,
    )
    assert not client.get("/supervisor/customers/").context["suggestions"]


def test_rejecting_a_suggestion_keeps_them_apart(client, supervisor, suggestion):
    client.force_login(supervisor)

    client.post(
        f"/supervisor/customers/suggestions/{suggestion.pk}/", {"decision": "reject"}
    )

    suggestion.refresh_from_db()
    assert (suggestion.status, suggestion.decided_by) == (
        MergeSuggestion.Status.REJECTED,
        supervisor,
    )
    assert not CustomerMerge.objects.exists()
    assert Customer.objects.filter(merged_into__isnull=True).count() == 2
