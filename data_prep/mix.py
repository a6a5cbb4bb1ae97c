"""Mixing: how many samples of each source go into the output.

``--mix`` takes a preset name (:data:`PRESETS`) or ``source=value`` pairs: an integer value is a
count, a value below 1 a fraction of that source's valid samples. Sources not named keep all their
samples. A count larger than what is available takes everything (the report shows the shortfall).
Selection is a seeded random subset, kept in input order; the rest is counted as ``not_selected``.

>>> parse_mix("toolrl")
{'toolace': 2000, 'xlam': 2000, 'hammer': 0}
>>> parse_mix("toolace=0.5,xlam=300")
{'toolace': 0.5, 'xlam': 300}
>>> select(list(range(10)), 3, seed=0, source="xlam")
[5, 6, 7]
"""

from __future__ import annotations

import math
import random
from typing import Sequence, TypeVar

SOURCES = ("toolace", "xlam", "hammer", "toolrl")
# ToolRL's released 4k mix: "2K ToolACE data, 1K Hammer (Masked) data, and 1K xLAM data" (ToolRL's README,
# GitHub qiancheng0/ToolRL). Its Hammer rows are Hammer's function-masked xLAM *call* samples, not the
# xlam-irrelevance file (its released rows hold no no-call `[]` target; docs/data.md §1, ToolRL), so the preset
# draws 2k xLAM and takes no --hammer rows; `--hammer-mask-rate 0.5 --hammer-mask-sources xlam`
# masks half of them, as ToolRL's mix did (recipes/toolrl_qwen_grpo.sh).
PRESETS: dict[str, dict[str, float]] = {
    "toolrl": {"toolace": 2000, "xlam": 2000, "hammer": 0},
}

T = TypeVar("T")


def parse_mix(spec: str | None) -> dict[str, float]:
    """``None``/``""``/``all`` -> keep everything; a preset name; or ``src=N,src=0.3``."""
    if not spec or spec == "all":
        return {}
    if spec in PRESETS:
        return dict(PRESETS[spec])
    out: dict[str, float] = {}
    for part in spec.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in SOURCES:
            raise ValueError(f"bad --mix entry {part!r}: use a preset {sorted(PRESETS)} or source=count|fraction "
                             f"with source in {SOURCES}")
        if name in out:
            raise ValueError(f"--mix names {name} twice")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--mix value for {name} must be a number, got {value.strip()!r}") from None
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"--mix value for {name} must be a finite number >= 0, got {value.strip()!r}")
        if number >= 1 and not number.is_integer():
            raise ValueError(f"--mix value for {name}: a count must be an integer, a fraction below 1")
        out[name] = int(number) if number >= 1 or number == 0 else number
    return out


def target_count(value: float, available: int) -> int:
    if isinstance(value, int):
        return min(value, available)
    return round(value * available)


def select(items: Sequence[T], count: int, seed: int, source: str) -> list[T]:
    """A seeded random subset of ``count`` items, in their original order."""
    if count >= len(items):
        return list(items)
    rng = random.Random(f"{seed}:mix:{source}")
    keep = sorted(rng.sample(range(len(items)), count))
    return [items[i] for i in keep]
