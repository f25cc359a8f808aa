"""The opening page of the API's documentation (the schema's description), in
Markdown: what every endpoint has in common, so each one need not repeat it."""

API_DESCRIPTION = """
Everything an agent or supervisor does in the desk's pages can be done here,
through the same actions and with the same visibility.

## Authentication

Send a token in the `Authorization` header: `Bearer <key>` (`Token <key>` is
accepted too). An admin issues tokens to users in the desk's admin; the key is
shown once, when the token is made, and the admin can revoke it. A token acts as
its user: it sees what the user's role and teams allow, no more.

A browser signed in to the desk may call the API with its session; a write then
carries Django's CSRF token in the `X-CSRFToken` header.

## Scopes

Each token holds one or more scopes; `admin` includes `write`, which includes
`read`.

- `read`: every `GET`.
- `write`: every change to tickets and customers: replies, notes, calls,
  status, priority, assignment, reassignment, resolution, merges.
- `admin`: the desk's configuration: changing routing rules, replaying inbound
  records, webhook endpoints and their deliveries.

Scopes never widen a role: supervisors' endpoints (routing rules, teams,
reassignment to another team, customer merges and merge suggestions, inbound
records, webhooks) answer `403` to an agent's token whatever its scopes.

## Visibility

Every endpoint reads through the same selection as the pages: an agent sees
their teams' tickets, the tickets assigned to them and those tickets'
customers; supervisors see every team's. Anything else is a `404`, for reads and
writes alike, exactly as an id that does not exist.

## Errors

Every error is JSON with a stable code for programs and a message for people:

```json
{"error": {"code": "invalid", "message": "text: This field is required.",
           "fields": {"text": ["This field is required."]}}}
```

- `400 invalid`: the input is wrong (`fields` says where), or the action
  refused it.
- `400 malformed_request`: the body is not valid JSON.
- `401 not_authenticated`, `401 authentication_failed`: no credentials; an
  unknown or revoked token.
- `403 permission_denied`: the token's scopes or the user's role do not allow it.
- `404 not_found`: no such object among those the user may see; a cursor that is
  not one.
- `405 method_not_allowed`: the path does not take this method.
- `409 conflict`: the object changed in a way that makes the request wrong now.
- `415 unsupported_media_type`: the body is neither JSON nor a form.
- `429 rate_limited`: too many requests; see below.

A body may hold only the fields its endpoint names: any other key (an owning
team on a note, an author, a customer) is refused with `400` and
`"Unknown field."` under that key, never ignored.

## Pages and cursors

Lists come in pages, newest first; `limit` sets a page's size (at most 200). The
queue (`/tickets/`), the route changes and the timelines answer `{"results":
[...], "next": ...}`: pass `next` back as `?cursor=` (with the same filters) for
the following page; it is `null` on the last one. The other long lists answer
`{"results": [...], "next": <url>, "previous": <url>}`: follow the URLs. Cursors
are opaque and stable: a row added meanwhile neither repeats nor shifts the
pages. Routing rules and teams, a handful of rows, come whole, in their order.

## Rate limits

Each token (each user, for a browser session) may make a number of requests per
minute, 1200 unless the desk is configured otherwise (`API_RATE_LIMIT`). Beyond
it the answer is `429` with a `Retry-After` header, in seconds, repeated as
`error.retry_after`.

## Outbound webhooks

A registered endpoint receives each of its events as a JSON `POST` with the
headers `X-Desk-Event`, `X-Desk-Delivery` (the same on every retry and resend:
drop repeats by it), `X-Desk-Timestamp` and `X-Desk-Signature`: `v1=` and the
hex HMAC-SHA256, keyed with the endpoint's secret, of the timestamp, a dot and
the raw body. Any answer but a 2xx is retried with growing delays.
"""
