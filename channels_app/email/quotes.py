"""The new text of a reply apart from the history it quotes.

Mail clients mark quoted history in a handful of ways: lines starting with ">",
an attribution line ("On <date>, <name> wrote:") above them, an "Original Message"
rule, or an Outlook header block (From:, Sent:, To:, Subject:) with the earlier
mail unmarked below. A signature ("-- ") and "Sent from my iPhone" belong to the
new text. A forwarded mail is the customer's message as a whole and is not split.
"""

import re

from supportdesk.sanitize import html_to_text

_QUOTE_LINE = re.compile(r"^ ?>")
# Words that open an attribution line and the verbs that end one, in the languages
# mail clients write them in.
_OPENERS = r"(?:on|le|am|el|il|op|den|dne|em|w dniu|в|på)"
_WROTE = (
    r"(?:wrote|writes|a écrit|schrieb|escribió|ha scritto|schreef|skrev|kirjoitti"
    r"|napisał\(a\)|napisała|napisał|escreveu|написал\(а\)|написала|написал|писал"
    r"|έγραψε|yazdı|írta|napsal|napisal|пише|写道|が書きました)"
)
_ATTRIBUTION = (
    # On Mon, Apr 2, 2012 at 6:26 PM, Megan <m@example.com> wrote:
    re.compile(rf"^{_OPENERS}\b.{{0,300}}{_WROTE}\s*:?$", re.IGNORECASE),
    # Am 03.04.2012 um 16:19 schrieb bob <bob@example.com>:
    re.compile(rf"^{_OPENERS}\b.{{0,300}}\b{_WROTE}\b.{{0,200}}:$", re.IGNORECASE),
)
# 02.04.2012 14:20 user <bob@example.com> wrote: -- only when quoted lines follow.
_DATED_ATTRIBUTION = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b.{0,300}:$")
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-_=*]{2,}\s*(?:original message|ursprüngliche nachricht"
    r"|message d'origine|mensaje original|messaggio originale|oorspronkelijk bericht"
    r"|originalmeddelande|opprinnelig melding|alkuperäinen viesti|mensagem original"
    r"|wiadomość oryginalna|исходное сообщение|původní zpráva)\s*[-_=*]{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*(?:[-_=*]{2,}\s*(?:forwarded message|weitergeleitete nachricht"
    r"|message transféré|mensaje reenviado|messaggio inoltrato|doorgestuurd bericht"
    r"|vidarebefordrat meddelande|mensagem encaminhada)\s*[-_=*]{2,}"
    r"|begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_FORWARDED_SUBJECT = re.compile(r"^\s*(?:fwd?|wg|tr|rv|enc)\s*:", re.IGNORECASE)
_HEADER_FROM = re.compile(
    r"^\s*\*?(?:from|von|de|da|van|från|fra|od|от)\s*:\*?\s*\S", re.IGNORECASE
)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|envoyé|enviado|inviato|verzonden|skickat"
    r"|sendt|wysłano|отправлено|data|fecha)\s*:",
    re.IGNORECASE,
)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:to|cc|subject|an|betreff|à|objet|para|asunto|a|oggetto|aan"
    r"|onderwerp|till|ämne|til|emne|temat|кому|тема)\s*:",
    re.IGNORECASE,
)
_RULE = re.compile(r"^\s*_{10,}\s*$")
_BLOCKQUOTE = re.compile(r"(<blockquote\b[^>]*>|</blockquote\s*>)", re.IGNORECASE)
_BLANK_RUNS = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")
MAX_ATTRIBUTION_LINES = 3
MAX_CHECKED_CHARS = 600


def _is_blank(line: str) -> bool:
    return not line.strip()


def _next_filled(lines: list[str], start: int) -> int:
    while start < len(lines) and _is_blank(lines[start]):
        start += 1
    return start


def _attribution_at(lines: list[str], i: int) -> tuple[int, bool]:
    """(lines the attribution starting at line i spans, whether it needs quoted
    lines after it to count); (0, False) when none starts there."""
    joined = ""
    for span in range(1, MAX_ATTRIBUTION_LINES + 1):
        if i + span > len(lines) or _is_blank(lines[i + span - 1]):
            break
        joined = f"{joined} {lines[i + span - 1].strip()}".strip()
        if len(joined) > MAX_CHECKED_CHARS:
            break
        if any(pattern.match(joined) for pattern in _ATTRIBUTION):
            return span, False
        if _DATED_ATTRIBUTION.match(joined):
            return span, True
    return 0, False


def _header_block_at(lines: list[str], i: int) -> bool:
    """An Outlook-style block of the quoted mail's headers starts at line i."""
    if _RULE.match(lines[i]):
        following = _next_filled(lines, i + 1)
        return following < len(lines) and bool(_HEADER_FROM.match(lines[following]))
    if not _HEADER_FROM.match(lines[i]):
        return False
    window = [line for line in lines[i + 1 : i + 6] if not _is_blank(line)]
    return any(_HEADER_SENT.match(line) for line in window) and any(
        _HEADER_OTHER.match(line) for line in window
    )


def _quoted_lines(lines: list[str]) -> list[bool]:
    quoted = [False] * len(lines)
    i = 0
    while i < len(lines):
        line = lines[i]
        if len(line) <= MAX_CHECKED_CHARS and not _QUOTE_LINE.match(line):
            if _FORWARD_MARKER.match(line):
                break
            if _ORIGINAL_MESSAGE.match(line) or _header_block_at(lines, i):
                quoted[i:] = [True] * (len(lines) - i)
                break
            span, needs_quote = _attribution_at(lines, i)
            if span:
                following = _next_filled(lines, i + span)
                if following < len(lines) and _QUOTE_LINE.match(lines[following]):
                    quoted[i:following] = [True] * (following - i)
                    i = following
                    continue
                if not needs_quote:
                    # The history follows unmarked: everything from here on.
                    quoted[i:] = [True] * (len(lines) - i)
                    break
        if _QUOTE_LINE.match(line):
            quoted[i] = True
        i += 1
    return quoted


def _joined(lines: list[str]) -> str:
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def split_reply(text: str, *, subject: str = "") -> tuple[str, str]:
    """(new text, quoted history) of a plain-text body. A body that is all quote,
    or a forwarded mail, stays whole as new text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    whole = _joined(text.split("\n"))
    if not whole or _FORWARDED_SUBJECT.match(subject or ""):
        return whole, ""
    lines = text.split("\n")
    quoted = _quoted_lines(lines)
    new = _joined([line for line, q in zip(lines, quoted, strict=True) if not q])
    if not new or not any(quoted):
        return whole, ""
    history = _joined([line for line, q in zip(lines, quoted, strict=True) if q])
    return new, history


def html_reply_text(html: str) -> str:
    """Readable text of (sanitised) HTML, the lines inside each blockquote marked
    with ">" once per level, so split_reply finds the quoted history."""
    depth, chunks = 0, []
    for piece in _BLOCKQUOTE.split(html):
        lowered = piece[:12].lower()
        if lowered.startswith("<blockquote"):
            depth += 1
            continue
        if lowered.startswith("</blockquote"):
            depth = max(0, depth - 1)
            continue
        text = html_to_text(piece)
        if text and depth:
            marker = ">" * depth
            text = "\n".join(f"{marker} {line}".rstrip() for line in text.split("\n"))
        if text:
            chunks.append(text)
    return "\n".join(chunks)
