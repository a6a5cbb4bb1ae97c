"""Per-source accounting: every candidate sample is written, rejected (by reason), deduplicated
or not selected, and the report checks ``read + derived = written + rejected + deduplicated +
not_selected``, where ``derived`` counts the samples the augmentations (:mod:`data_prep.augmentations.apply`)
added to the output, per augmentation; in-place masking is counted as ``masked`` and changes no total.

``read`` counts candidate samples: one per xLAM / Hammer / ToolRL record, one per assistant turn of
a ToolACE dialogue (a dialogue that cannot be read at all is one rejected candidate). ``records``
counts the raw records.

>>> r = Report()
>>> r.source("xlam").read += 2; r.source("xlam").written["train"] += 1; r.source("xlam").reject("empty_query")
>>> r.check()
>>> print(r.table().splitlines()[2])
xlam             0     2        0      1     0         1      0          0      0
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

MAX_EXAMPLES = 5  # examples kept per rejection reason / conflicts listed, to keep report.json small


class ReconciliationError(AssertionError):
    """Counts do not add up: a sample was dropped without being counted (a bug, never data)."""


@dataclass
class SourceStats:
    records: int = 0
    read: int = 0
    written: Counter = field(default_factory=lambda: Counter({"train": 0, "test": 0}))
    rejected: Counter = field(default_factory=Counter)
    deduplicated: int = 0
    conflicts: int = 0
    not_selected: int = 0
    coerced_values: int = 0
    requested: int | None = None  # the --mix target, when one was set
    derived: Counter = field(default_factory=Counter)  # augmentation -> samples it added to the output
    masked: Counter = field(default_factory=Counter)  # augmentation -> samples it renamed in place

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    @property
    def written_total(self) -> int:
        return self.written["train"] + self.written["test"]

    def balanced(self) -> bool:
        return (self.read + sum(self.derived.values())
                == self.written_total + sum(self.rejected.values()) + self.deduplicated + self.not_selected)

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "read": self.read,
            "written": {"train": self.written["train"], "test": self.written["test"], "total": self.written_total},
            "rejected": dict(sorted(self.rejected.items())),
            "rejected_total": sum(self.rejected.values()),
            "deduplicated": self.deduplicated,
            "conflicts": self.conflicts,
            "not_selected": self.not_selected,
            "coerced_values": self.coerced_values,
            "requested": self.requested,
            "derived": dict(sorted(self.derived.items())),
            "derived_total": sum(self.derived.values()),
            "masked": dict(sorted(self.masked.items())),
            "reconciled": self.balanced(),
        }


@dataclass
class AugmentationStats:
    """One augmentation over the whole run: samples it looked at, drew at its rate (``selected``),
    could not use (``ineligible`` by reason), used (``applied``), and the rows it added
    (``derived``; 0 for the masks) after dropping ``duplicates`` of existing prompts. ``invalid``
    counts outputs that failed validation (a bug; they are never written)."""

    rate: float = 0.0
    considered: int = 0
    selected: int = 0
    applied: int = 0
    derived: int = 0
    duplicates: int = 0
    invalid: int = 0
    ineligible: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {"rate": self.rate, "considered": self.considered, "selected": self.selected, "applied": self.applied,
                "derived": self.derived, "duplicates": self.duplicates, "invalid": self.invalid,
                "ineligible": dict(sorted(self.ineligible.items()))}


@dataclass
class Report:
    sources: dict[str, SourceStats] = field(default_factory=dict)
    examples: dict[str, list[dict]] = field(default_factory=dict)  # reason -> first rejections
    conflicts: list[dict] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    augmentations: dict[str, AugmentationStats] = field(default_factory=dict)  # in application order
    warnings: list[str] = field(default_factory=list)  # outcomes the user likely did not intend (also on stderr)

    def source(self, name: str) -> SourceStats:
        if name not in self.sources:
            self.sources[name] = SourceStats()
        return self.sources[name]

    def augmentation(self, name: str, rate: float | None = None) -> AugmentationStats:
        if name not in self.augmentations:
            self.augmentations[name] = AugmentationStats()
        if rate is not None:
            self.augmentations[name].rate = rate
        return self.augmentations[name]

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def add_rejection(self, source: str, source_id: str, reason: str, detail: str) -> None:
        self.source(source).reject(reason)
        bucket = self.examples.setdefault(reason, [])
        if len(bucket) < MAX_EXAMPLES:
            bucket.append({"source": source, "source_id": source_id, "detail": detail[:200]})

    def totals(self) -> SourceStats:
        t = SourceStats()
        for s in self.sources.values():
            t.records += s.records
            t.read += s.read
            t.written.update(s.written)
            t.rejected.update(s.rejected)
            t.deduplicated += s.deduplicated
            t.conflicts += s.conflicts
            t.not_selected += s.not_selected
            t.coerced_values += s.coerced_values
            t.derived.update(s.derived)
            t.masked.update(s.masked)
        return t

    def check(self) -> None:
        for name, s in self.sources.items():
            if not s.balanced():
                raise ReconciliationError(f"{name}: counts do not reconcile: {s.to_dict()}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "sources": {k: v.to_dict() for k, v in self.sources.items()},
            "total": self.totals().to_dict(),
            "rejection_examples": self.examples,
            "conflict_examples": self.conflicts,
            "augmentations": {k: v.to_dict() for k, v in self.augmentations.items()},
            "warnings": self.warnings,
            "config": self.config,
            "outputs": self.outputs,
            "timings": self.timings,
        }

    def table(self) -> str:
        head = ("source", "records", "read", "derived", "train", "test", "rejected", "dedup", "conflicts", "unsel")
        row = "{:<10}{:>8}{:>6}{:>9}{:>7}{:>6}{:>10}{:>7}{:>11}{:>7}"
        rows = [(k, v) for k, v in self.sources.items()] + [("TOTAL", self.totals())]
        lines = [row.format(*head), "-" * 81]
        for name, s in rows:
            lines.append(row.format(
                name, s.records, s.read, sum(s.derived.values()), s.written["train"], s.written["test"],
                sum(s.rejected.values()), s.deduplicated, s.conflicts, s.not_selected))
        reasons = self.totals().rejected
        if reasons:
            lines.append("rejected by reason: " + ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())))
        if self.augmentations:
            drow = "{:<14}{:>6}{:>10}{:>10}{:>9}{:>9}{:>6}{:>12}"
            head = ("augmentation", "rate", "selected", "applied", "derived", "dupes", "bad", "ineligible")
            lines += ["", drow.format(*head), "-" * 76]
            for name, d in self.augmentations.items():
                lines.append(drow.format(name, f"{d.rate:g}", d.selected, d.applied, d.derived, d.duplicates, d.invalid,
                                         sum(d.ineligible.values())))
                if d.ineligible:
                    lines.append("    ineligible: " + ", ".join(f"{k}={v}" for k, v in sorted(d.ineligible.items())))
        return "\n".join(lines)
