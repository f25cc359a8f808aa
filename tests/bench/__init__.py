"""Load figures of the desk, measured against a generated data set in PostgreSQL.

`make bench` (which runs `python -m tests.bench`) seeds the data set once, then
measures ingest throughput through real Celery workers, page and API latency, email
ingest, the WhatsApp webhook and the chat widget's sockets; see command.py for the
options. This package is tooling, not part of the product: it is not an installed
app and no module of the desk imports it.
"""
