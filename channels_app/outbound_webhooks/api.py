"""REST endpoints for outbound webhook endpoints and their delivery log.

Webhooks are the desk's configuration: every endpoint here needs a supervisor's
or admin's account and, with a token, the admin scope. An endpoint's secret is
write-only: it is shown once, in the answer that creates the endpoint.
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from channels_app.outbound_webhooks.actions import (
    MIN_SECRET_CHARS,
    WebhookConfigError,
    do_create_endpoint,
    do_delete_endpoint,
    do_resend_delivery,
    do_update_endpoint,
)
from supportdesk.api.inputs import (
    MAX_ID,
    NoInput,
    StrictInputSerializer,
    error_responses,
    validated,
)
from supportdesk.api.permissions import ADMINS_ONLY, SUPERVISORS
from supportdesk.events import WEBHOOK_EVENTS as EVENTS
from supportdesk.models import ApiToken, WebhookDelivery, WebhookEndpoint

# ---------------------------------------------------------------------- output


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "events", "enabled", "created_at"]
        read_only_fields = fields


class NewWebhookEndpointSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="Signs every delivery. Shown in this answer only: keep it now.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    delivery_id = serializers.UUIDField(
        read_only=True,
        help_text="Sent as X-Desk-Delivery; the same on every retry and resend.",
    )

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "delivery_id",
            "endpoint",
            "event",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "created_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.JSONField(
        read_only=True, help_text="The JSON body posted, as it is signed."
    )

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload"]
        read_only_fields = fields


# ----------------------------------------------------------------------- input


def _events_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=list(EVENTS)),
        allow_empty=False,
        max_length=len(EVENTS),
        help_text="The events this endpoint receives.",
        **kwargs,
    )


class WebhookEndpointInputSerializer(StrictInputSerializer):
    url = serializers.URLField(
        max_length=500,
        help_text="http or https; hosts that resolve to loopback, private or "
        "link-local addresses are refused.",
    )
    events = _events_field()
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    enabled = serializers.BooleanField(required=False, default=True)
    secret = serializers.CharField(
        min_length=MIN_SECRET_CHARS,
        max_length=128,
        required=False,
        write_only=True,
        help_text="Left out, the desk generates one. Never shown again.",
    )


class WebhookDeliveryFilterSerializer(serializers.Serializer):
    endpoint = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(
        choices=WebhookDelivery.Status.values, required=False
    )
    event = serializers.ChoiceField(choices=list(EVENTS), required=False)


# ----------------------------------------------------------------------- views


def _refused(exc: WebhookConfigError) -> ValidationError:
    return ValidationError({exc.field: [str(exc)]})


class _AdminsOnly:
    permission_classes = SUPERVISORS
    required_scope = ApiToken.Scope.ADMIN
    lookup_value_regex = r"[0-9]{1,18}"


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints",
        description=ADMINS_ONLY,
        # 404: a cursor that is not one.
        responses={
            200: WebhookEndpointSerializer(many=True),
            **error_responses(404),
        },
    ),
    retrieve=extend_schema(
        summary="A webhook endpoint",
        description="Its secret is never shown. " + ADMINS_ONLY,
        responses={200: WebhookEndpointSerializer, **error_responses(404)},
    ),
    create=extend_schema(
        summary="Register a webhook endpoint",
        description="The answer holds the secret, the only time it is shown. "
        + ADMINS_ONLY,
        request=WebhookEndpointInputSerializer,
        responses={201: NewWebhookEndpointSerializer, **error_responses(400)},
    ),
    partial_update=extend_schema(
        summary="Change a webhook endpoint",
        description="A new secret signs every attempt from now on, pending "
        "retries included. " + ADMINS_ONLY,
        request=WebhookEndpointInputSerializer,
        responses={200: WebhookEndpointSerializer, **error_responses(400, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint",
        description="Its delivery log goes with it; pending deliveries are not "
        "sent. " + ADMINS_ONLY,
        responses={204: None, **error_responses(404)},
    ),
)
class WebhookEndpointViewSet(
    _AdminsOnly,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request):
        data = validated(WebhookEndpointInputSerializer, request.data)
        try:
            endpoint = do_create_endpoint(**data)
        except WebhookConfigError as exc:
            raise _refused(exc) from None
        return Response(
            NewWebhookEndpointSerializer(endpoint).data, status.HTTP_201_CREATED
        )

    def partial_update(self, request, pk=None):
        endpoint = self.get_object()
        data = validated(WebhookEndpointInputSerializer, request.data, partial=True)
        try:
            endpoint = do_update_endpoint(endpoint=endpoint, **data)
        except WebhookConfigError as exc:
            raise _refused(exc) from None
        return Response(WebhookEndpointSerializer(endpoint).data)

    def destroy(self, request, pk=None):
        do_delete_endpoint(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="The webhook delivery log",
        description="Every event for every endpoint, newest first, with how "
        "handing it over went. " + ADMINS_ONLY,
        parameters=[
            OpenApiParameter("endpoint", int, description="Only this endpoint's."),
            OpenApiParameter("status", str, enum=WebhookDelivery.Status.values),
            OpenApiParameter("event", str, enum=list(EVENTS)),
        ],
        responses={
            200: WebhookDeliverySerializer(many=True),
            **error_responses(400, 404),
        },
    ),
    retrieve=extend_schema(
        summary="A webhook delivery, with its payload",
        description=ADMINS_ONLY,
        responses={200: WebhookDeliveryDetailSerializer, **error_responses(404)},
    ),
)
class WebhookDeliveryViewSet(
    _AdminsOnly,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    def get_queryset(self):
        deliveries = WebhookDelivery.objects.all()
        if self.action != "list":
            return deliveries
        filters = validated(WebhookDeliveryFilterSerializer, self.request.query_params)
        if "endpoint" in filters:
            deliveries = deliveries.filter(endpoint_id=filters["endpoint"])
        if "status" in filters:
            deliveries = deliveries.filter(status=filters["status"])
        if "event" in filters:
            deliveries = deliveries.filter(event=filters["event"])
        # The log lists no payloads: a message's text may be long.
        return deliveries.defer("payload")

    def get_serializer_class(self):
        if self.action == "list":
            return WebhookDeliverySerializer
        return WebhookDeliveryDetailSerializer

    @extend_schema(
        summary="Send a delivery again",
        description="Queues it at once, whatever its state, with the same "
        "delivery id (receivers that have it can tell), for a new round of "
        "attempts. " + ADMINS_ONLY,
        request=NoInput,
        responses={202: WebhookDeliveryDetailSerializer, **error_responses(400, 404)},
    )
    @action(detail=True, methods=["post"])
    def resend(self, request, pk=None):
        delivery = self.get_object()
        # The delivery is sent again as it was: a body can change nothing.
        validated(NoInput, request.data)
        delivery = do_resend_delivery(delivery=delivery)
        return Response(
            WebhookDeliveryDetailSerializer(delivery).data, status.HTTP_202_ACCEPTED
        )


# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = [
    ("webhook-endpoints", WebhookEndpointViewSet, "webhook-endpoint"),
    ("webhook-deliveries", WebhookDeliveryViewSet, "webhook-delivery"),
]
