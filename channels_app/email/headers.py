"""Header values of raw mail made into text: charsets, RFC 2047 encoded words,
addresses, message ids and dates. Nothing here raises on a broken header."""

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from django.utils import timezone

# Labels mail software writes for charsets Python knows by another name; None
# for labels that name no charset at all.
_CHARSET_ALIASES = {
    "unicode-1-1-utf-7": "utf-7",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "iso-8859-8-i": "iso8859-8",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    # Mail labelled Latin-1 is written in its Windows superset more often than not.
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "unknown-8bit": None,
    "x-unknown": None,
    "unknown": None,
    "x-user-defined": None,
    "default": None,
    "charset": None,
}
# Tried after the declared charset, in this order; Latin-1 decodes any byte.
_FALLBACK_CHARSETS = ("utf-8", "cp1252", "latin-1")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_BRACKETED_ID = re.compile(r"<([^<>]*)>")
MAX_ID_CHARS = 255
MAX_REFERENCES = 100


def clean_text(value: str) -> str:
    """Text the database stores: no NUL characters, no lone surrogates."""
    value = value.replace("\x00", "")
    if _SURROGATES.search(value):
        value = value.encode("utf-8", errors="replace").decode("utf-8")
    return value


def _charset_candidates(charset: str | None) -> list[str]:
    label = (charset or "").strip().strip("\"'").lower()
    declared = _CHARSET_ALIASES.get(label, label) if label else None
    candidates = [declared] if declared else []
    if declared == "cp1252":
        candidates.append("latin-1")
    return candidates + [c for c in _FALLBACK_CHARSETS if c not in candidates]


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes as text: the declared charset if it fits, else UTF-8, else Windows-1252,
    else Latin-1, which fits anything."""
    for candidate in _charset_candidates(charset):
        try:
            return clean_text(data.decode(candidate))
        except (LookupError, UnicodeError, ValueError):
            continue
    return clean_text(data.decode("latin-1"))


def _word_bytes(charset: str, encoding: str, payload: str) -> bytes:
    try:
        # Raw 8-bit text inside a Q word (it happens) is taken in the word's charset.
        data = payload.encode(charset)
    except (LookupError, UnicodeError):
        data = payload.encode("utf-8", errors="replace")
    try:
        if encoding.lower() == "q":
            return binascii.a2b_qp(data, header=True)
        data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
        return base64.b64decode(data + b"=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return data


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words. Adjacent words in one charset are decoded
    together: mailers split multi-byte characters across words."""
    out: list[str] = []
    pending_charset, pending = None, bytearray()

    def flush() -> None:
        nonlocal pending_charset, pending
        if pending_charset is not None:
            out.append(decode_bytes(bytes(pending), pending_charset))
        pending_charset, pending = None, bytearray()

    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        if pending_charset is None or between.strip():
            flush()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()
        if charset != pending_charset:
            flush()
            pending_charset = charset
        pending += _word_bytes(charset, match.group(2), match.group(3))
        position = match.end()
    flush()
    out.append(value[position:])
    return clean_text("".join(out))


def _unfolded(value: str, charset: str | None) -> str:
    """A raw header value as text: folding removed, 8-bit bytes decoded."""
    value = _FOLD.sub("", value).replace("\r", "").replace("\n", " ")
    if _SURROGATES.search(value):
        # The parser kept undecodable 8-bit bytes as surrogate escapes.
        # Raw UTF-8 (RFC 6532) first: Latin-1 bytes rarely pass for it.
        raw = value.encode("utf-8", errors="surrogateescape")
        try:
            value = clean_text(raw.decode("utf-8"))
        except UnicodeDecodeError:
            value = decode_bytes(raw, charset)
    return value.strip()


class Headers:
    """The headers of a parsed message by lower-cased name, as raw strings."""

    def __init__(self, message: Message, charset: str | None = None) -> None:
        self._values: dict[str, list[str]] = {}
        self._charset = charset
        for name, value in message.raw_items():
            if isinstance(value, str):
                self._values.setdefault(name.strip().lower(), []).append(value)

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._values

    def raw(self, name: str) -> str:
        """The first value of a header, unfolded but not decoded; "" if absent."""
        values = self._values.get(name.lower())
        return _unfolded(values[0], self._charset) if values else ""

    def all_raw(self, name: str) -> list[str]:
        return [_unfolded(v, self._charset) for v in self._values.get(name.lower(), [])]

    def text(self, name: str) -> str:
        """The first value of a header, decoded for reading."""
        return " ".join(decode_words(self.raw(name)).split())

    def addresses(self, *names: str) -> list[tuple[str, str]]:
        """(display name, address) pairs of address headers, names decoded."""
        values = [value for name in names for value in self.all_raw(name)]
        try:
            pairs = getaddresses(values)
        except Exception:  # a broken list stands for no address at all
            return []
        found = []
        for name, address in pairs:
            address = clean_text(address.strip())
            name = " ".join(decode_words(name).split())
            if address or name:
                found.append((name, address))
        return found


def format_address(name: str, address: str) -> str:
    return f"{name} <{address}>" if name and address else (address or name)


def normalise_message_id(core: str) -> str:
    """One spelling of a message id, angle brackets included; ids too long to store
    stand as a hash of themselves, the same for every mail that names them."""
    core = "".join(core.split()).strip("<>")
    if not core:
        return ""
    if len(core) + 2 > MAX_ID_CHARS:
        return (
            "msgid-sha256:"
            + hashlib.sha256(core.encode("utf-8", "replace")).hexdigest()
        )
    return f"<{core}>"


def message_ids(value: str) -> list[str]:
    """The message ids in a Message-ID, In-Reply-To or References value, in order,
    each once. Ids written without brackets are taken as whitespace-separated."""
    cores = _BRACKETED_ID.findall(value)
    if not cores:
        cores = [token for token in re.split(r"[\s,]+", value) if token]
    ids = [normalise_message_id(core) for core in cores]
    return list(dict.fromkeys(i for i in ids if i))


def header_date(value: str) -> datetime | None:
    """The Date header as an aware datetime; None when missing, invalid or more than
    a day in the future (a clock that far off would pin the mail atop the timeline).
    """
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < 1970 or moment > timezone.now() + timedelta(days=1):
        return None
    return moment
