"""What the OpenAPI schema says beyond what drf-spectacular reads from the views.

Imported by the API's URLs, so the extension is registered before any schema is
drawn.
"""

from drf_spectacular.extensions import OpenApiSerializerExtension


class StrictInputScheme(OpenApiSerializerExtension):
    """A request body of a StrictInputSerializer refuses keys it does not name;
    the schema says so, and clients generated from it do not send them."""

    target_class = "supportdesk.api.inputs.StrictInputSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(
            self.target, direction, bypass_extensions=True
        )
        if direction == "request":
            schema["additionalProperties"] = False
        return schema
