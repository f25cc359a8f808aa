"""The API's overview is written once, in docs/api.md, and served as the opening
text of the schema that /api/docs/ shows."""

from pathlib import Path

from django.conf import settings
from django.test import Client

from supportdesk.api.overview import api_overview

OVERVIEW = Path(settings.BASE_DIR, "docs", "api.md")


def served_description() -> str:
    response = Client().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()["info"]["description"]


def test_the_schema_opens_with_the_overview_from_the_docs():
    """Every section of docs/api.md reaches the served schema, without the page's
    own title: the schema has one of its own."""
    source = OVERVIEW.read_text(encoding="utf-8")
    description = served_description()

    headings = [line for line in source.splitlines() if line.startswith("## ")]
    assert "## Scopes" in headings
    for heading in headings:
        assert heading in description.splitlines()
    assert "create_api_token" in description
    assert not description.startswith("# ")
    assert "# REST API" not in description


def test_links_to_other_doc_pages_keep_only_their_words():
    """A link to a neighbouring page of docs/ cannot be followed from /api/docs/,
    so the served text keeps its words and drops the target."""
    source = OVERVIEW.read_text(encoding="utf-8")
    assert "](webhooks.md)" in source

    description = api_overview()

    assert "webhooks.md" not in description
    assert "[Outbound webhooks]" not in description
    assert "the Outbound webhooks page" in description
