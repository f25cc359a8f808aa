"""The parts of a parsed mail: its text and HTML bodies, its attachments and inline
images, and the mails it carries inside (a bounce carries the one that failed)."""

import mimetypes
import re
from dataclasses import dataclass, field
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from channels_app.email.headers import clean_text, decode_bytes, decode_words
from tickets.inbound import InboundAttachment

# Deeper nesting than any mail client writes: beyond it parts are not opened.
MAX_DEPTH = 40
MAX_NAME_CHARS = 200
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]+")
_NEWLINES = re.compile(r"\r\n?")


@dataclass
class Body:
    texts: list[str] = field(default_factory=list)
    htmls: list[str] = field(default_factory=list)
    attachments: list[InboundAttachment] = field(default_factory=list)
    # Headers of mails carried inside (message/rfc822, text/rfc822-headers).
    carried: list[Message] = field(default_factory=list)
    # Fields of delivery and disposition reports (message/delivery-status, ...).
    report_fields: list[Message] = field(default_factory=list)

    def absorb(self, other: "Body", *, texts: bool = True, htmls: bool = True) -> None:
        if texts:
            self.texts += other.texts
        if htmls:
            self.htmls += other.htmls
        self.attachments += other.attachments
        self.carried += other.carried
        self.report_fields += other.report_fields


def content_type(part: Message) -> str:
    """The part's type; a type with parameters glued on by whitespace is cut."""
    try:
        value = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    value = value.split()[0] if value.split() else "text/plain"
    return value[:127]


def param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value or "")


def charset_of(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return param(part, "charset") or None


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape")
    return b""


def _message_bytes(message: Message) -> bytes:
    try:
        return message.as_bytes(policy=compat32)
    except Exception:
        return str(message).encode("utf-8", errors="replace")


def unflow(text: str, *, delsp: bool) -> str:
    """Rejoin the soft line breaks of format=flowed text (RFC 3676)."""
    out: list[str] = []
    paragraph, depth = None, 0
    for line in text.split("\n"):
        level = len(line) - len(line.lstrip(">"))
        content = line[level:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if paragraph is not None and level != depth:
            out.append(_quoted(depth, paragraph))
            paragraph = None
        soft = content.endswith(" ") and content != "-- "
        if soft and delsp:
            content = content[:-1]
        paragraph = (paragraph or "") + content
        depth = level
        if not soft:
            out.append(_quoted(depth, paragraph))
            paragraph = None
    if paragraph is not None:
        out.append(_quoted(depth, paragraph))
    return "\n".join(out)


def _quoted(depth: int, text: str) -> str:
    return ">" * depth + " " + text if depth else text


def part_text(part: Message) -> str:
    text = _NEWLINES.sub("\n", decode_bytes(_payload_bytes(part), charset_of(part)))
    if param(part, "format").lower() == "flowed":
        text = unflow(text, delsp=param(part, "delsp").lower() == "yes")
    return text


def _disposition(part: Message) -> str:
    try:
        return (part.get_content_disposition() or "").lower()
    except Exception:
        return ""


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or param(part, "name")
    except Exception:
        name = param(part, "name")
    if not isinstance(name, str):
        return ""
    if re.search(r"[\ud800-\udfff]", name):
        name = decode_bytes(name.encode("utf-8", errors="surrogateescape"))
    # Only the last path component: a name never names a folder.
    name = re.split(r"[/\\]", decode_words(name))[-1]
    name = _UNSAFE_NAME.sub(" ", name).strip().strip(".")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, extension = name.rpartition(".")
        keep = MAX_NAME_CHARS - len(extension) - 1
        name = (
            f"{stem[:keep]}.{extension}" if dot and keep > 0 else name[:MAX_NAME_CHARS]
        )
    return clean_text(name)


def _content_id(part: Message) -> str:
    value = part.get("Content-ID")
    if not isinstance(value, str):
        return ""
    return clean_text("".join(value.split()).strip("<>"))[:255]


def generated_name(ctype: str, number: int) -> str:
    """A name for an attachment that came without one."""
    maintype = ctype.split("/", 1)[0]
    if ctype in ("message/rfc822", "message/global"):
        return f"message-{number}.eml"
    if maintype == "message":  # a delivery or disposition report
        return f"{ctype.partition('/')[2]}-{number}.txt"
    stem = maintype if maintype in ("image", "audio", "video") else "attachment"
    extension = mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return f"{stem}-{number}{extension}"


class _Walker:
    def __init__(self) -> None:
        self.count = 0

    def walk(self, part: Message, depth: int = 0) -> Body:
        body = Body()
        ctype = content_type(part)
        payload = part.get_payload()
        if isinstance(payload, list) and depth < MAX_DEPTH:
            children = [child for child in payload if isinstance(child, Message)]
            if ctype in ("message/rfc822", "message/global") and children:
                body.carried.append(children[0])
                self._attach(body, part, ctype, _message_bytes(children[0]))
            elif ctype.startswith("message/"):
                body.report_fields += children
                data = b"\n".join(_message_bytes(child) for child in children)
                self._attach(body, part, ctype, data)
            elif ctype == "multipart/alternative":
                self._alternatives(body, children, depth)
            else:
                for child in children:
                    body.absorb(self.walk(child, depth + 1))
            return body
        self._leaf(body, part, ctype)
        return body

    def _alternatives(self, body: Body, children: list[Message], depth: int) -> None:
        """Plain text from the first alternative that has it, HTML from the last;
        the images of every alternative."""
        versions = [self.walk(child, depth + 1) for child in children]
        with_text = [v for v in versions if v.texts]
        with_html = [v for v in versions if v.htmls]
        for version in versions:
            body.absorb(
                version,
                texts=bool(with_text) and version is with_text[0],
                htmls=bool(with_html) and version is with_html[-1],
            )

    def _leaf(self, body: Body, part: Message, ctype: str) -> None:
        maintype, _, subtype = ctype.partition("/")
        disposition = _disposition(part)
        is_body = disposition != "attachment" and not _filename(part)
        if is_body and (
            ctype in ("text/plain", "text/html") or maintype == "multipart"
        ):
            # A multipart without parts (its boundary never came) is read as text.
            (body.htmls if subtype == "html" else body.texts).append(part_text(part))
            return
        if ctype == "text/rfc822-headers":
            body.carried.append(
                BytesHeaderParser(policy=compat32).parsebytes(_payload_bytes(part))
            )
        self._attach(body, part, ctype, _payload_bytes(part))

    def _attach(self, body: Body, part: Message, ctype: str, data: bytes) -> None:
        self.count += 1
        content_id = _content_id(part)
        disposition = _disposition(part)
        body.attachments.append(
            InboundAttachment(
                name=_filename(part) or generated_name(ctype, self.count),
                content_type=ctype,
                content=data,
                content_id=content_id,
                inline=disposition == "inline"
                or (not disposition and bool(content_id)),
            )
        )


def extract(message: Message) -> Body:
    """Everything a parsed mail holds, part by part."""
    return _Walker().walk(message)
