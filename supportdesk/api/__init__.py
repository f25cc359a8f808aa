"""The REST API's shared parts: token authentication with scopes, permissions,
errors, throttling and pagination. Endpoints live with their apps."""
