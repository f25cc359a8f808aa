from rest_framework.pagination import CursorPagination


class NewestFirst(CursorPagination):
    """Opaque cursors over the newest rows first: a page costs the same at any
    depth, and rows added meanwhile neither repeat nor vanish."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200
