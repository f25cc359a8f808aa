import pytest

from customers.actions import (
    MergeError,
    do_reject_merge_suggestion,
    do_resolve_sender,
)
from customers.models import Customer, CustomerMerge, MergeSuggestion
from tickets.inbound import IdentityClaim

pytestmark = pytest.mark.django_db

ANA_EMAIL = IdentityClaim("email", "ana@example.com")
ANA_PHONE = IdentityClaim("phone", "+14155552671")


@pytest.fixture
def suggestion() -> MergeSuggestion:
    """Ana known by mail and by phone as two customers, then one message with both."""
    do_resolve_sender(claims=[ANA_EMAIL])
    do_resolve_sender(claims=[ANA_PHONE])
    do_resolve_sender(claims=[ANA_EMAIL, ANA_PHONE])
    return MergeSuggestion.objects.get()


def test_rejecting_a_suggestion_merges_nothing(suggestion, supervisor):
    do_reject_merge_suggestion(suggestion=suggestion, actor=supervisor)

    suggestion.refresh_from_db()
    assert suggestion.status == MergeSuggestion.Status.REJECTED
    assert suggestion.decided_by == supervisor
    assert suggestion.decided_at is not None
    assert not CustomerMerge.objects.exists()
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_a_rejected_suggestion_cannot_be_rejected_again(suggestion, supervisor):
    do_reject_merge_suggestion(suggestion=suggestion, actor=supervisor)
    decided_at = MergeSuggestion.objects.get().decided_at

    with pytest.raises(MergeError):
        do_reject_merge_suggestion(suggestion=suggestion, actor=supervisor)

    assert MergeSuggestion.objects.get().decided_at == decided_at
