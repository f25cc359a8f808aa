"""REST endpoints for inbound records: failed payloads listed and replayed.

Every payload is stored before it is processed; one that failed stays visible
here until it is replayed, the same replay as the admin's action and the
replay_inbound command. Supervisors only: a payload is whatever a provider sent,
from any customer to any team.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord
from supportdesk.api.errors import ActionConflict
from supportdesk.api.inputs import NoInput, error_responses, validated
from supportdesk.api.permissions import SUPERVISORS
from supportdesk.models import ApiToken

# A payload may be megabytes of mail; its start is what tells what went wrong.
PAYLOAD_SHOWN_CHARS = 20_000

# ---------------------------------------------------------------------- output


class InboundRecordSerializer(serializers.ModelSerializer):
    class Meta:
        model = InboundRecord
        fields = [
            "id",
            "channel",
            "external_id",
            "inbox",
            "content_type",
            "status",
            "error",
            "attempts",
            "received_at",
            "processed_at",
            "event_ids",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "channel": {"help_text": "The key of the adapter that parses it."},
            "event_ids": {"help_text": "The timeline events it wrote or changed."},
        }


class InboundRecordDetailSerializer(InboundRecordSerializer):
    payload = serializers.SerializerMethodField(
        help_text=f"The payload as text (undecodable bytes replaced), its first "
        f"{PAYLOAD_SHOWN_CHARS} characters."
    )
    payload_size = serializers.SerializerMethodField(help_text="In bytes.")
    payload_truncated = serializers.SerializerMethodField()

    class Meta(InboundRecordSerializer.Meta):
        fields = [
            *InboundRecordSerializer.Meta.fields,
            "payload",
            "payload_size",
            "payload_truncated",
        ]
        read_only_fields = fields

    def get_payload(self, record: InboundRecord) -> str:
        return record.payload_text[:PAYLOAD_SHOWN_CHARS]

    def get_payload_size(self, record: InboundRecord) -> int:
        return len(record.payload)

    def get_payload_truncated(self, record: InboundRecord) -> bool:
        return len(record.payload_text) > PAYLOAD_SHOWN_CHARS


# ----------------------------------------------------------------------- input


class InboundRecordQuerySerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=InboundRecord.Status.choices,
        required=False,
        help_text="failed: what needs a replay once its cause is fixed.",
    )
    channel = serializers.CharField(
        required=False, max_length=32, help_text="An adapter key."
    )


# ----------------------------------------------------------------------- views


@extend_schema_view(
    list=extend_schema(
        summary="Inbound records, newest first",
        description="Supervisors only; needs the read scope.",
        parameters=[InboundRecordQuerySerializer],
        responses={
            200: InboundRecordSerializer(many=True),
            **error_responses(400, 404),
        },
    ),
    retrieve=extend_schema(
        summary="An inbound record with its payload",
        description="Supervisors only; needs the read scope.",
        responses={200: InboundRecordDetailSerializer, **error_responses(404)},
    ),
)
class InboundRecordViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    permission_classes = SUPERVISORS
    lookup_value_regex = r"\d+"

    @property
    def required_scope(self) -> str | None:
        """A replay acts on the desk's intake, as an admin would: admin scope."""
        return ApiToken.Scope.ADMIN if self.action == "replay" else None

    def get_serializer_class(self):
        if self.action == "list":
            return InboundRecordSerializer
        return InboundRecordDetailSerializer

    def get_queryset(self):
        records = InboundRecord.objects.all()
        if self.action != "list":
            return records
        params = validated(InboundRecordQuerySerializer, self.request.query_params)
        for name, value in params.items():
            records = records.filter(**{name: value})
        return records.defer("payload")

    @extend_schema(
        summary="Process a record again",
        description="Once the cause of a failure is fixed: the record is parsed "
        "and ingested as if it had just arrived, and its status, error and "
        "attempts tell the outcome (a replay that fails again is still a 200). "
        "A record already processed is never processed twice: 409. Supervisors "
        "only; needs the admin scope.",
        request=NoInput,
        responses={
            200: InboundRecordDetailSerializer,
            **error_responses(400, 404, 409),
        },
    )
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        record = self.get_object()
        validated(NoInput, request.data)
        if record.status == InboundRecord.Status.PROCESSED:
            raise ActionConflict("This record is already processed.")
        replayed = process_inbound(record.pk, replay=True)
        return Response(InboundRecordDetailSerializer(replayed).data)


# (url prefix, viewset, basename) for supportdesk/api/urls.py's router.
routes: list = [
    ("inbound-records", InboundRecordViewSet, "inbound-record"),
]
