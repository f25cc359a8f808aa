"""The report splits CPU between the bench's own client (this process) and the
desk it started (the processes it waited for)."""

import subprocess
import sys

from tests.bench import cpu
from tests.bench.report import Report

WORK = "sum(i * i for i in range(3_000_000))"


def test_a_started_process_counts_as_the_desk_and_this_one_as_the_client():
    started = cpu.sample()
    subprocess.run([sys.executable, "-c", WORK], check=True)
    desk_worked = cpu.since(started)

    started = cpu.sample()
    exec(WORK)
    client_worked = cpu.since(started)

    assert desk_worked.desk > desk_worked.client
    assert client_worked.client > client_worked.desk == 0

    report = Report()
    cpu.add_figures(report, "ingest", desk_worked)
    [row] = report.metrics
    assert row.name == "ingest: CPU bench client / desk / rest of machine"
    assert row.value.startswith(f"client {desk_worked.client:.1f} s / desk ")
    assert report.context["cpu"]["ingest"]["desk_cpu_seconds"] > 0
