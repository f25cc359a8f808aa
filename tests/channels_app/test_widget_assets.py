"""The chat widget's static assets and its iframe page, without a running desk."""

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string

WIDGET_STATIC = Path(settings.BASE_DIR) / "static" / "widget"
# The one URL the loader may spell out: the SVG namespace of its icon, never fetched.
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
# The iframe's scripts, which its page loads one after the other.
FRAME_SCRIPTS = WIDGET_STATIC / "frame"


def widget_config(**overrides) -> dict:
    config = {
        "inbox": "shop",
        "title": "Shop support",
        "greeting": "Hi! How can we help?",
        "color": "#1f6feb",
        "position": "right",
        "name_field": "required",
        "email_field": "optional",
        "session_url": "/widget/shop/session",
        "upload_url": "/widget/shop/upload",
        "socket_url": "/ws/widget/shop/",
        "max_upload_bytes": 5_000_000,
        "upload_types": ["image/png", "image/jpeg", "application/pdf"],
        "allowed_origins": ["https://shop.example"],
    }
    config.update(overrides)
    return config


class Elements(HTMLParser):
    """Every start tag of a document with its attributes, and each script's text."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "script":
            self._script, self._text = attributes, []

    def handle_data(self, data):
        if self._script is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None


def parse(html: str) -> Elements:
    elements = Elements()
    elements.feed(html)
    return elements


def test_loader_stays_small():
    """The embed script every host page downloads is under 8 KB."""
    assert (WIDGET_STATIC / "loader.js").stat().st_size < 8 * 1024


def test_loader_reaches_only_the_desk_it_was_loaded_from():
    """The loader names no server of its own: the desk's address comes from its src."""
    source = (WIDGET_STATIC / "loader.js").read_text()
    urls = set(re.findall(r"(?:https?|wss?):/{2}[^\s\"'`)]+", source))
    assert urls <= {SVG_NAMESPACE}
    assert not re.search(r"[\"'`]//", source), "a protocol-relative URL"


def test_widget_code_never_writes_markup_from_strings():
    """Server and visitor text reach the page as text nodes, never as parsed HTML,
    in the loader and in every script of the iframe."""
    scripts = sorted(WIDGET_STATIC.rglob("*.js"))
    assert WIDGET_STATIC / "loader.js" in scripts
    assert FRAME_SCRIPTS / "main.js" in scripts
    for path in scripts:
        source = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
            assert sink not in source, f"{path.name} uses {sink}"


def test_frame_page_carries_the_config_as_json():
    """The iframe page hands its config to its scripts as JSON under
    #widget-config."""
    config = widget_config()
    html = render_to_string("widget/frame.html", {"widget_config": config})

    scripts = parse(html).scripts
    data = [text for attrs, text in scripts if attrs.get("id") == "widget-config"]
    assert len(data) == 1
    assert json.loads(data[0]) == config
    assert "<title>Shop support</title>" in html


def test_frame_page_runs_no_inline_code():
    """Under script-src 'self' the page needs only its own files: the one script
    without src is the JSON config, and no inline style or handler appears."""
    html = render_to_string("widget/frame.html", {"widget_config": widget_config()})
    elements = parse(html)

    inline = [attrs for attrs, _ in elements.scripts if not attrs.get("src")]
    assert inline == [{"id": "widget-config", "type": "application/json"}]
    stylesheets = [a["href"] for tag, a in elements.tags if tag == "link"]
    assert stylesheets == ["/static/widget/frame.css"]
    assert all(tag != "style" for tag, _ in elements.tags)
    for tag, attributes in elements.tags:
        assert "style" not in attributes, tag
        assert not [name for name in attributes if name.startswith("on")], tag


def test_frame_page_loads_every_widget_script_from_the_desk_in_order():
    """The iframe runs each of its scripts, all from the desk's own static files
    and deferred, so they run in page order: state.js, which makes the namespace
    the others fill, first; main.js, which starts the widget, last."""
    html = render_to_string("widget/frame.html", {"widget_config": widget_config()})
    sources = [attrs for attrs, _ in parse(html).scripts if attrs.get("src")]

    assert [sorted(attrs.items()) for attrs in sources] == [
        [("defer", None), ("src", attrs["src"])] for attrs in sources
    ]
    paths = [attrs["src"] for attrs in sources]
    assert all(path.startswith("/static/widget/frame/") for path in paths), paths
    names = [path.removeprefix("/static/widget/frame/") for path in paths]
    assert sorted(names) == sorted(path.name for path in FRAME_SCRIPTS.glob("*.js"))
    assert len(set(names)) == len(names)
    assert (names[0], names[-1]) == ("state.js", "main.js")


def test_frame_page_keeps_hostile_config_text_inert():
    """A title or greeting holding markup stays text, in the page and in the JSON."""
    hostile = "</script><script>alert(1)</script><b>hi</b>"
    config = widget_config(title=hostile, greeting=hostile)
    html = render_to_string("widget/frame.html", {"widget_config": config})
    elements = parse(html)

    scripts = [attrs for tag, attrs in elements.tags if tag == "script"]
    assert len(scripts) == 1 + len(list(FRAME_SCRIPTS.glob("*.js")))
    assert all(tag != "b" for tag, _ in elements.tags)
    data = next(text for attrs, text in elements.scripts if attrs.get("id"))
    assert json.loads(data)["title"] == hostile
