"""Untrusted HTML and text from outside, made safe to store and show."""

import html
import re

import nh3

_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote)\s*>|<br\s*/?>", re.I)
_BLANK_RUNS = re.compile(r"\n\s*\n\s*\n+")
_SPACES = re.compile(r"[ \t\r\f\v]+")


# cid: names an inline image among a mail's own attachments (RFC 2392).
_URL_SCHEMES = nh3.ALLOWED_URL_SCHEMES | {"cid"}


def sanitize_html(value: str) -> str:
    """Keep formatting tags, drop scripts, styles, handlers and unsafe URLs."""
    if not value:
        return ""
    return nh3.clean(
        value, link_rel="noopener noreferrer nofollow", url_schemes=_URL_SCHEMES
    )


def html_to_text(value: str) -> str:
    """Readable plain text of an HTML body, for channels that sent no text part."""
    if not value:
        return ""
    marked = _BLOCK_END.sub("\n", value)
    stripped = nh3.clean(
        marked, tags=set(), clean_content_tags={"script", "style", "head"}
    )
    lines = (
        _SPACES.sub(" ", line).strip() for line in html.unescape(stripped).split("\n")
    )
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()
