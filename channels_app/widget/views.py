"""The widget's HTTP side: the iframe page, the visitor's session, uploads and
files. The iframe calls these from the desk's own origin; the visitor's token
travels in the X-Widget-Token header."""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from channels_app.models import Inbox
from channels_app.widget import door
from channels_app.widget.actions import (
    do_open_verified_visitor,
    do_open_visitor,
    do_update_visitor_profile,
)
from channels_app.widget.entries import attachment_signature_valid
from channels_app.widget.origins import allowed_origins
from channels_app.widget.tokens import (
    IdentityRefusedError,
    check_user_identity,
    issue_token,
    visitor_for_token,
)
from customers.identities import InvalidIdentityError, normalise_email
from supportdesk.json_input import MalformedJSONError, parse_json
from tickets import presence as tickets_presence
from tickets.models import Attachment

TOKEN_HEADER = "HTTP_X_WIDGET_TOKEN"
DEFAULTS = {
    "title": "Support",
    "greeting": "Hi! How can we help?",
    "color": "#1f6feb",
    "position": "right",
    "name_field": "required",
    "email_field": "optional",
}


def _chat_inbox(slug: str) -> Inbox:
    inbox = Inbox.objects.filter(
        adapter=Inbox.Adapter.CHAT, slug=slug, enabled=True
    ).first()
    if inbox is None:
        raise Http404("no such chat")
    return inbox


def widget_settings(inbox: Inbox) -> dict:
    """The inbox's look and pre-chat fields, with defaults for what it leaves out."""
    config = {
        key: inbox.config.get(key) or default for key, default in DEFAULTS.items()
    }
    if config["position"] not in ("left", "right"):
        config["position"] = "right"
    for field in ("name_field", "email_field"):
        if config[field] not in ("required", "optional"):
            config[field] = DEFAULTS[field]
    return config


def _error(status: int, code: str, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message, **extra}, status=status)
    if "retry_after" in extra:
        response["Retry-After"] = str(extra["retry_after"])
    return response


_REFUSAL_STATUS = {"rate_limited": 429, "too_large": 413}


def _refused(refusal: door.RefusedError) -> JsonResponse:
    extra = {"retry_after": refusal.retry_after} if refusal.retry_after else {}
    status = _REFUSAL_STATUS.get(refusal.code, 400)
    return _error(status, refusal.code, str(refusal), **extra)


@require_GET
@xframe_options_exempt
def frame(request, slug):
    inbox = _chat_inbox(slug)
    origins = allowed_origins(inbox)
    config = {
        "inbox": inbox.slug,
        **widget_settings(inbox),
        "session_url": reverse("widget-session", kwargs={"slug": inbox.slug}),
        "upload_url": reverse("widget-upload", kwargs={"slug": inbox.slug}),
        "socket_url": f"/ws/widget/{inbox.slug}/",
        "max_upload_bytes": settings.WIDGET_MAX_UPLOAD_BYTES,
        "upload_types": settings.WIDGET_UPLOAD_TYPES,
        "max_message_chars": settings.WIDGET_MAX_MESSAGE_CHARS,
        "allowed_origins": origins,
        "loader_url": static("widget/loader.js"),
    }
    response = render(request, "widget/frame.html", {"widget_config": config})
    socket_origin = f"{'wss' if request.is_secure() else 'ws'}://{request.get_host()}"
    # Only the inbox's sites may frame the widget; its page runs only its own code.
    response["Content-Security-Policy"] = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            # Its own socket only: ws(s) to the host the page came from.
            f"connect-src 'self' {socket_origin}",
            "frame-ancestors " + " ".join(["'self'", *origins]),
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


def _json_body(request) -> dict:
    try:
        body = parse_json(request.body or b"{}")
    except MalformedJSONError as exc:
        raise door.RefusedError("invalid", f"The body is not JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise door.RefusedError("invalid", "The body is a JSON object.")
    return body


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@csrf_exempt
@require_POST
def session(request, slug):
    """Who the visitor is: the token's visitor, a verified user's, or a new one."""
    inbox = _chat_inbox(slug)
    try:
        body = _json_body(request)
        name, email = _profile(body)
        user = body.get("user")
        if user:
            visitor = do_open_verified_visitor(
                inbox=inbox, user_id=check_user_identity(inbox, user)
            )
        elif (
            current := visitor_for_token(request.META.get(TOKEN_HEADER, ""), inbox)
        ) is not None and not current.verified:
            visitor = current
        else:
            # No token, or a verified visitor's token without the host site saying
            # who is signed in now (a shared computer): a new anonymous visitor.
            door.check_rate(
                f"widget-visitors:{_client_address(request)}",
                settings.WIDGET_RATE_VISITORS,
                "new chats from here",
            )
            visitor = do_open_visitor(inbox=inbox)
    except IdentityRefusedError as exc:
        return _error(403, "identity_refused", str(exc))
    except door.RefusedError as refusal:
        return _refused(refusal)
    do_update_visitor_profile(visitor=visitor, name=name, email=email)
    config = widget_settings(inbox)
    return JsonResponse(
        {
            "token": issue_token(visitor),
            "visitor": {
                # The visitor's own id: the widget tells a new visitor from a
                # token signed again for the same one.
                "id": visitor.public_id.hex,
                "name": visitor.name,
                "email": visitor.email,
                "verified": visitor.verified,
                "needs_prechat": (
                    not visitor.name and config["name_field"] == "required"
                )
                or (not visitor.email and config["email_field"] == "required"),
            },
            "agents_online": tickets_presence.agents_online(),
        }
    )


def _profile(body: dict) -> tuple[str, str]:
    name = body.get("name") or ""
    email = body.get("email") or ""
    if not isinstance(name, str) or not isinstance(email, str):
        raise door.RefusedError("invalid", "Name and email are text.")
    # One line of printable text: the database refuses NULs, and a name is shown
    # to agents on one line.
    name = "".join(char if char.isprintable() else " " for char in name)
    name = " ".join(name.split())[:200]
    if email:
        try:
            email = normalise_email(email)
        except InvalidIdentityError:
            raise door.RefusedError(
                "invalid", "That email address is not valid."
            ) from None
    return name, email


@csrf_exempt
@require_POST
def upload(request, slug):
    """A file from the visitor, with the message's client id and optional text."""
    inbox = _chat_inbox(slug)
    visitor = visitor_for_token(request.META.get(TOKEN_HEADER, ""), inbox)
    if visitor is None:
        return _error(401, "unauthenticated", "The widget's token is missing or stale.")
    file = request.FILES.get("file")
    if file is None:
        return _error(400, "invalid", "Send the file as the 'file' field.")
    if file.size > settings.WIDGET_MAX_UPLOAD_BYTES:
        return _error(
            413,
            "too_large",
            f"Files are at most {settings.WIDGET_MAX_UPLOAD_BYTES} bytes.",
        )
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    if content_type not in settings.WIDGET_UPLOAD_TYPES:
        return _error(
            415,
            "unsupported_type",
            f"Files of type {content_type or 'unknown'} are not accepted.",
        )
    try:
        _record, created = door.receive_message(
            visitor=visitor,
            data={
                "client_id": request.POST.get("client_id", ""),
                "text": request.POST.get("text", ""),
            },
            uploads=[door.Upload(file.name or "file", content_type, file.read())],
        )
    except door.RefusedError as refusal:
        return _refused(refusal)
    return JsonResponse(
        {"client_id": request.POST["client_id"], "duplicate": not created}, status=202
    )


@require_GET
def file(request, slug, attachment_id, signature):
    """A file on the visitor's stream. The link is signed for that visitor."""
    attachment = (
        Attachment.objects.filter(
            pk=attachment_id, event__chat_entry__visitor__inbox__slug=slug
        )
        .select_related("event__chat_entry__visitor")
        .first()
    )
    if attachment is None or not attachment_signature_valid(
        attachment.event.chat_entry.visitor.public_id.hex, attachment_id, signature
    ):
        raise Http404("no such file")
    response = HttpResponse(
        bytes(attachment.data), content_type=attachment.content_type
    )
    inline = attachment.content_type.startswith("image/")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = (
        f'{disposition}; filename="{_safe_name(attachment.name)}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _safe_name(name: str) -> str:
    return "".join(c for c in name if c.isalnum() or c in "._- ")[:100] or "file"
