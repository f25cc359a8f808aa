"""Load figures of the desk, measured against a generated data set in PostgreSQL.

`manage.py bench` (and `make bench`) seeds the data set once, then measures ingest
throughput through real Celery workers and the latency of a heavy customer's
timeline page; see supportdesk/management/commands/bench.py.
"""
