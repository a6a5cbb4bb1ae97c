"""Read the per-step metrics a verl run logged: the ``file`` logger's JSONL, or the console lines.

verl's ``Tracking`` (``verl/utils/tracking.py``) logs one dict per training step to every backend in
``trainer.logger``:

- ``file``: ``FileLogger`` appends ``{"step": N, "data": {metric: value}}`` per line to
  ``$VERL_FILE_LOGGER_PATH`` (default ``$VERL_FILE_LOGGER_ROOT/<project>/<experiment>.jsonl``);
- ``console``: ``concat_dict_to_str`` (``verl/utils/logger/aggregate_logger.py``) prints
  ``step:N - key:value - ...`` with numbers in ``pprint`` form (``0.5``, ``np.float64(0.5)``), inside
  Ray's ``(TaskRunnerV1 pid=…)`` prefix and colour codes.

Step 0 holds the validation before training; each later step its training metrics (plus the
validation metrics when it ran). Lines for the same step are merged.

>>> run = parse_console("\\x1b[36m(TaskRunnerV1 pid=7)\\x1b[0m step:1 - toolzero/sigma/mean:np.float64(0.25) - x:3")
>>> run.steps[1]["toolzero/sigma/mean"], run.series("x")
(0.25, [(1, 3.0)])
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

_STEP_LINE = re.compile(r"(?:^|\s)step:(\d+)((?: - [^\n]*?)*)\s*$")
_NUMPY = re.compile(r"^np\.\w+\((.*)\)$")  # np.float64(0.5), np.int64(2)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class RunMetrics:
    """Metrics per step (``steps[N] = {key: float}``) and where they were read from."""

    steps: dict[int, dict[str, float]] = field(default_factory=dict)
    source: str = ""

    def add(self, step: int, data: Mapping[str, object]) -> None:
        target = self.steps.setdefault(int(step), {})
        for key, value in data.items():
            number = _number(value)
            if number is not None:
                target[str(key)] = number

    def series(self, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` for every step that logged ``key``, in step order."""
        return [(step, data[key]) for step, data in sorted(self.steps.items()) if key in data]

    def training_steps(self) -> list[int]:
        """Steps with training metrics (verl's ``training/global_step``), in order."""
        return [step for step, data in sorted(self.steps.items()) if "training/global_step" in data]

    def matching(self, step: int, pattern: str) -> dict[str, float]:
        """The metrics of ``step`` whose key matches the regular expression ``pattern``."""
        regex = re.compile(pattern)
        return {k: v for k, v in self.steps.get(step, {}).items() if regex.search(k)}


def read_jsonl(path: str | Path) -> RunMetrics:
    """verl's ``file`` logger output; a torn last line (run killed mid-write) is ignored."""
    run = RunMetrics(source=str(path))
    for line in Path(path).read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("data"), dict) and "step" in record:
            run.add(record["step"], record["data"])
    return run


def parse_console(text: str, source: str = "console") -> RunMetrics:
    """``step:N - key:value - …`` lines of verl's console logger, anywhere in ``text``."""
    run = RunMetrics(source=source)
    for line in _ANSI.sub("", text).splitlines():
        match = _STEP_LINE.search(line)
        if not match:
            continue
        data = {}
        for part in match.group(2).split(" - ")[1:]:
            key, sep, value = part.rpartition(":")
            if sep and key:
                data[key] = value
        run.add(int(match.group(1)), data)
    return run


def load(jsonl: str | Path | None = None, console: str | Path | None = None) -> RunMetrics:
    """The JSONL file logger's metrics when that file has any, else those parsed from the console log."""
    if jsonl is not None and Path(jsonl).is_file():
        run = read_jsonl(jsonl)
        if run.steps:
            return run
    if console is not None and Path(console).is_file():
        return parse_console(Path(console).read_text(errors="replace"), source=str(console))
    raise FileNotFoundError(f"no metrics: neither {jsonl} nor {console} holds any step")


# Where the time of a step goes. verl times these inside timing_s/step; timing_s/testing is outside it.
STEP_PHASES = ("gen", "reward", "old_log_prob", "ref", "values", "adv", "update_critic", "update_actor",
               "update_weights", "save_checkpoint")


def time_shares(metrics: Mapping[str, float], prefix: str = "toolzero") -> dict[str, float]:
    """Seconds and shares of ``timing_s/step`` for one step's metrics.

    ``reward_s`` is verl's ``timing_s/reward`` (colocated reward model) or else the sum of the
    per-trajectory reward waits our sampler logs (``<prefix>/timing_s/compute_score/sum``; the
    trajectories are scored concurrently with generation, so this share is an upper bound);
    ``sampler_s`` is our sampler's own cost (``<prefix>/timing_s/reward_metrics``).

    >>> shares = time_shares({"timing_s/step": 10.0, "timing_s/gen": 4.0, "toolzero/timing_s/compute_score/sum": 0.5})
    >>> shares["reward_share"], shares["gen_share"]
    (0.05, 0.4)
    """
    step = metrics.get("timing_s/step")
    out: dict[str, float] = {}
    if not step:
        return out
    out["step_s"] = step
    for phase in STEP_PHASES:
        if f"timing_s/{phase}" in metrics:
            out[f"{phase}_s"] = metrics[f"timing_s/{phase}"]
            out[f"{phase}_share"] = metrics[f"timing_s/{phase}"] / step
    reward = metrics.get("timing_s/reward", metrics.get(f"{prefix}/timing_s/compute_score/sum"))
    if reward is not None:
        out["reward_s"], out["reward_share"] = reward, reward / step
    sampler = metrics.get(f"{prefix}/timing_s/reward_metrics")
    if sampler is not None:
        out["sampler_s"], out["sampler_share"] = sampler, sampler / step
    return out


def format_table(run: RunMetrics, keys: Iterable[str]) -> str:
    """A plain-text table: one row per step with any of ``keys``, one column per key."""
    keys = list(keys)
    lines = ["step  " + "  ".join(f"{k:>{max(10, len(k))}}" for k in keys)]
    for step, data in sorted(run.steps.items()):
        if any(k in data for k in keys):
            cells = [f"{data[k]:>{max(10, len(k))}.4g}" if k in data else " " * max(10, len(k)) for k in keys]
            lines.append(f"{step:>4}  " + "  ".join(cells))
    return "\n".join(lines)


def _number(value: object) -> float | None:
    if isinstance(value, str):
        text = value.strip()
        match = _NUMPY.match(text)
        text = match.group(1) if match else text
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        number = float(value)
        return number if not math.isnan(number) else None
    return None
