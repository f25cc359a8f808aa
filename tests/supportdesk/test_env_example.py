"""`.env.example` documents every variable the settings read."""

import re

from django.conf import settings

# env.str("NAME", ...), env.list(\n    "NAME", ...): the first argument of a read.
_READ = re.compile(r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]*)\"")


def test_every_variable_the_settings_read_is_in_the_example_file():
    source = (settings.BASE_DIR / "supportdesk" / "settings.py").read_text()
    example = (settings.BASE_DIR / ".env.example").read_text()
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", example, re.MULTILINE))

    read = set(_READ.findall(source))

    assert len(read) > 30
    assert sorted(read - documented) == []
