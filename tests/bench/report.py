"""The bench's figures as a plain table and as JSON."""

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Metric:
    name: str
    # As printed, with its unit; `number` is the same figure for machines.
    value: str
    target: str = ""
    # None: a figure with no target, shown for context.
    ok: bool | None = None
    number: float | None = None

    @property
    def verdict(self) -> str:
        if self.ok is None:
            return ""
        return "ok" if self.ok else "NOT MET"


@dataclass
class Report:
    metrics: list[Metric] = field(default_factory=list)
    context: dict = field(default_factory=dict)

    def add(
        self,
        name: str,
        value: str,
        target: str = "",
        ok: bool | None = None,
        *,
        number: float | None = None,
    ) -> None:
        self.metrics.append(Metric(name, value, target, ok, number))

    @property
    def all_met(self) -> bool:
        return all(metric.ok is not False for metric in self.metrics)

    def table(self) -> str:
        header = ("metric", "value", "target", "")
        rows = [header] + [(m.name, m.value, m.target, m.verdict) for m in self.metrics]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = []
        for number, row in enumerate(rows):
            lines.append(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            if number == 0:
                lines.append("  ".join("-" * width for width in widths))
        return "\n".join(lines)

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "all_met": self.all_met,
            "context": self.context,
            "metrics": [
                {**asdict(metric), "verdict": metric.verdict or None}
                for metric in self.metrics
            ],
        }
        path.write_text(json.dumps(document, indent=2) + "\n")
