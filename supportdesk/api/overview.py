"""The opening page of the API's documentation. Its prose lives in docs/api.md
alone, for readers of the repository and of /api/docs/ alike; a schema hook puts
it into the OpenAPI description when the schema is built."""

import re
from functools import cache
from pathlib import Path

from django.conf import settings

# A link to another page of docs/ (`[Outbound webhooks](webhooks.md)`): the served
# page has no such neighbour, so only the words stay. Absolute URLs, paths from
# the root and anchors are left alone.
RELATIVE_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z][a-z0-9+.-]*:|/|#)[^)\s]+\)")


@cache
def api_overview() -> str:
    """docs/api.md as the schema's description: without its title, which the
    schema carries itself, and with links to neighbouring pages reduced to their
    words. Read once per process, on the first schema request."""
    text = Path(settings.BASE_DIR, "docs", "api.md").read_text(encoding="utf-8")
    if text.startswith("# "):
        text = text.partition("\n")[2]
    return RELATIVE_LINK.sub(r"\1", text).strip() + "\n"


def describe_api(result, generator, request, public):
    """drf-spectacular postprocessing hook: the overview as info.description."""
    result["info"]["description"] = api_overview()
    return result
