from django.contrib import admin, messages

from channels_app.ingest import process_inbound
from channels_app.models import InboundRecord
from supportdesk.admin import ReadOnlyAdmin


@admin.register(InboundRecord)
class InboundRecordAdmin(ReadOnlyAdmin):
    list_display = ("id", "received_at", "channel", "external_id", "status", "attempts",
                    "short_error")
    list_filter = ("status", "channel", "received_at")
    search_fields = ("external_id", "error")
    exclude = ("payload",)
    readonly_fields = ("payload_text",)
    actions = ["replay"]

    @admin.display(description="error")
    def short_error(self, record: InboundRecord) -> str:
        return record.error[:120]

    @admin.action(description="Replay the selected records")
    def replay(self, request, queryset):
        results = [process_inbound(pk).status for pk in queryset.values_list("pk", flat=True)]
        done = results.count(InboundRecord.Status.PROCESSED)
        messages.info(request, f"{done} of {len(results)} records processed.")
