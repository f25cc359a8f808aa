"""Where the CPU went during a part of the bench: the bench's own client, the desk
it started, and the rest of the machine.

The client is this process: it submits messages, sends requests from threads and
drives the sockets (and, in the timeline and pages parts, serves the desk itself
through Django's test client). The desk is every process the bench started and
waited for, the workers', servers' and ingest_eml's, with their children: the
kernel adds their time to this process's children's once they exit. The rest is
whatever else kept the machine's cores busy meanwhile: PostgreSQL, Redis, and
anything that other people run on the same machine.
"""

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from tests.bench.report import Report

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSample:
    wall: float
    client: float
    desk: float
    machine: float | None


@dataclass(frozen=True)
class CpuSplit:
    seconds: float
    client: float
    desk: float
    # None where /proc/stat cannot be read.
    machine: float | None
    cores: int

    @property
    def rest(self) -> float | None:
        if self.machine is None:
            return None
        return max(0.0, self.machine - self.client - self.desk)


def _used(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def machine_busy_seconds() -> float | None:
    """CPU seconds every core of the machine spent on anything but idling."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    ticks = [int(field) for field in first[1:]]
    # user nice system idle iowait irq softirq steal (guest time is in user).
    busy = sum(ticks[:8]) - ticks[3] - ticks[4]
    return busy / _TICKS


def sample() -> CpuSample:
    return CpuSample(
        wall=time.perf_counter(),
        client=_used(resource.getrusage(resource.RUSAGE_SELF)),
        desk=_used(resource.getrusage(resource.RUSAGE_CHILDREN)),
        machine=machine_busy_seconds(),
    )


def since(before: CpuSample) -> CpuSplit:
    after = sample()
    machine = (
        after.machine - before.machine
        if after.machine is not None and before.machine is not None
        else None
    )
    return CpuSplit(
        seconds=after.wall - before.wall,
        client=after.client - before.client,
        desk=after.desk - before.desk,
        machine=machine,
        cores=os.cpu_count() or 1,
    )


def add_figures(report: Report, part: str, split: CpuSplit) -> None:
    report.context.setdefault("cpu", {})[part] = {
        "seconds": round(split.seconds, 2),
        "cores": split.cores,
        "bench_client_cpu_seconds": round(split.client, 2),
        "desk_cpu_seconds": round(split.desk, 2),
        "rest_of_machine_cpu_seconds": (
            None if split.rest is None else round(split.rest, 2)
        ),
    }
    rest = "" if split.rest is None else f" / rest {split.rest:.1f} s"
    report.add(
        f"{part}: CPU bench client / desk / rest of machine",
        f"client {split.client:.1f} s / desk {split.desk:.1f} s{rest} "
        f"in {split.seconds:.0f} s on {split.cores} cores",
        number=round(split.client, 2),
    )
