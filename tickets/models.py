from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q

from supportdesk import registry

# The channels' names, for code that writes one; which exist is the registry's.
from supportdesk.channel_names import Channel as Channel


class Team(models.Model):
    """A department that owns tickets."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    # Where tickets go that no routing rule matches.
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="team_one_default",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AgentManager(UserManager["Agent"]):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        # `manage.py createsuperuser` makes the desk's first admin, with the role
        # that opens the supervisors' pages.
        extra_fields.setdefault("role", Agent.Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class Agent(AbstractUser):
    """A desk user: a frontline agent, a supervisor or an admin."""

    class Role(models.TextChoices):
        AGENT = "agent", "Agent"
        SUPERVISOR = "supervisor", "Supervisor"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    teams = models.ManyToManyField(
        Team, through="TeamMembership", related_name="agents", blank=True
    )
    # When a desk socket of this agent last spoke: the chat widget tells visitors
    # whether anyone is there to answer.
    desk_seen_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AgentManager()

    @property
    def is_supervisor(self) -> bool:
        return self.role in (self.Role.SUPERVISOR, self.Role.ADMIN)


class TeamMembership(models.Model):
    agent = models.ForeignKey(Agent, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "team"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.agent} in {self.team}"


class Invitation(models.Model):
    """An agent asked by email to set a password and join the desk.

    The agent exists from the invitation on, inactive (it cannot sign in) until
    it sets its password through the mail's one-time link. Resending the mail
    (a new sent_at) or revoking the invitation voids the links sent before.
    """

    agent = models.OneToOneField(
        Agent, on_delete=models.CASCADE, related_name="invitation"
    )
    invited_by = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return f"Invitation of {self.agent}"

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None


class RoutingRule(models.Model):
    """Ordered conditions that send a new ticket to a team; empty means any."""

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0, db_index=True)
    enabled = models.BooleanField(default=True)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="rules")
    channels = models.JSONField(default=list, blank=True)
    keywords = models.JSONField(default=list, blank=True)
    segments = models.JSONField(
        default=list, blank=True, help_text="Customer segments or tags."
    )
    languages = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name} → {self.team}"


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class TicketManager(models.Manager["Ticket"]):
    def get_queryset(self) -> models.QuerySet["Ticket"]:
        # The search document grows with the conversation and only the search
        # reads it, in SQL: rows load without it, and a save never writes it back.
        return super().get_queryset().defer("search_vector")


class Ticket(models.Model):
    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="tickets"
    )
    subject = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=16, choices=TicketStatus.choices, default=TicketStatus.NEW
    )
    priority = models.CharField(
        max_length=16, choices=Priority.choices, default=Priority.NORMAL
    )
    channel = models.CharField(max_length=16, choices=registry.timeline_channel_choices)
    language = models.CharField(max_length=16, blank=True)
    # The inbox the conversation came through; replies leave through it.
    inbox = models.ForeignKey(
        "channels_app.Inbox",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The conversation the channel threads by (chat session, mail thread root, ...).
    conversation_key = models.CharField(max_length=255, blank=True, db_index=True)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    assignee = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    routed_by_rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The subject and every event's text, for the queue's search; written by
    # tickets.search from the actions, indexed with GIN (migration 0007).
    search_vector = SearchVectorField(null=True, editable=False)

    objects = TicketManager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["team", "status", "-id"], name="ticket_team_queue"),
            models.Index(fields=["customer", "-id"], name="ticket_customer"),
            models.Index(
                fields=["created_at"],
                condition=Q(routed_at__isnull=True),
                name="ticket_unrouted",
            ),
        ]
        constraints = [
            # Routed means owned by exactly one team; unrouted means owned by none.
            models.CheckConstraint(
                condition=Q(routed_at__isnull=True, team__isnull=True)
                | Q(routed_at__isnull=False, team__isnull=False),
                name="ticket_routed_has_one_team",
            ),
            models.CheckConstraint(
                condition=~Q(status=TicketStatus.RESOLVED) | ~Q(resolution_note=""),
                name="ticket_resolved_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TimelineEvent(models.Model):
    """One touchpoint on a customer's timeline."""

    class Kind(models.TextChoices):
        MESSAGE_IN = "message_in", "Message in"
        MESSAGE_OUT = "message_out", "Message out"
        NOTE = "note", "Internal note"
        CALL = "call", "Call"
        STATUS_CHANGE = "status_change", "Status change"
        ROUTE_CHANGE = "route_change", "Route change"
        MERGE = "merge", "Merge"
        RATING = "rating", "Customer rating"
        SYSTEM = "system", "System"

    class Delivery(models.TextChoices):
        NONE = "", "—"
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.PROTECT, related_name="timeline"
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    channel = models.CharField(max_length=16, choices=registry.timeline_channel_choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    inbox = models.ForeignKey(
        "channels_app.Inbox",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    author = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_identity = models.ForeignKey(
        "customers.Identity",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    sender_name = models.CharField(max_length=200, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    text = models.TextField(blank=True)
    quoted_text = models.TextField(blank=True)
    html = models.TextField(blank=True, help_text="Sanitised before it is stored.")
    external_id = models.CharField(max_length=255, blank=True)
    delivery_status = models.CharField(
        max_length=16, choices=Delivery.choices, default=Delivery.NONE, blank=True
    )
    delivery_error = models.TextField(blank=True)
    # Set, and committed, before a send task first hands the reply to its adapter:
    # a queued reply without it never reached the provider, so the sweep may send it.
    send_started_at = models.DateTimeField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="timeline_keyset"
            ),
            models.Index(
                fields=["ticket", "-occurred_at", "-id"], name="ticket_events"
            ),
            # The sweep's replies: queued, never tried (a handful at any time).
            models.Index(
                fields=["created_at"],
                condition=Q(delivery_status="queued", send_started_at__isnull=True),
                name="replies_never_tried",
            ),
        ]
        constraints = [
            # A provider's message id is stored once per channel.
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~Q(external_id=""),
                name="event_external_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_kind_display()} on {self.channel} ({self.occurred_at:%Y-%m-%d})"
        )

    @property
    def is_outbound(self) -> bool:
        return self.kind == self.Kind.MESSAGE_OUT

    @property
    def direction(self) -> str:
        return {"message_in": "in", "message_out": "out"}.get(self.kind, "internal")


class Attachment(models.Model):
    event = models.ForeignKey(
        TimelineEvent, on_delete=models.CASCADE, related_name="attachments"
    )
    name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    content_id = models.CharField(max_length=255, blank=True)
    inline = models.BooleanField(default=False)
    data = models.BinaryField()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or f"attachment {self.sha256[:12]}"


class RouteChange(models.Model):
    """Append-only: every change of a ticket's owning team, and why."""

    ticket = models.ForeignKey(
        Ticket, on_delete=models.PROTECT, related_name="route_changes"
    )
    from_team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    rule = models.ForeignKey(
        RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.from_team_id} → {self.to_team_id}"


class TicketRating(models.Model):
    """The customer's satisfaction rating (CSAT, 1 to 5) of a resolved ticket.

    One per ticket: rating again after a later resolution replaces it, and the
    timeline keeps every rating given.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="rating"
    )
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    channel = models.CharField(max_length=16, choices=registry.timeline_channel_choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=1, score__lte=5), name="rating_score_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}: {self.score}/5"
