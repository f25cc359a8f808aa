from django.db.models import QuerySet


def lock_rows(queryset: QuerySet) -> list:
    """Lock the rows in primary-key order, so two transactions never deadlock."""
    return list(queryset.select_for_update().order_by("pk"))
