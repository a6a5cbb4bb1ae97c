"""Read the per-step metrics a verl run logged: the ``file`` logger's JSONL, or the console lines.

verl's ``Tracking`` (``verl/utils/tracking.py``) logs one dict per training step to every backend in
``trainer.logger``:

- ``file``: ``FileLogger`` writes ``{"step": N, "data": {metric: value}}`` per line to
  ``$VERL_FILE_LOGGER_PATH`` (default ``$VERL_FILE_LOGGER_ROOT/<project>/<experiment>.jsonl``). It opens
  the file with ``"wb"``, so a resumed run starts the file again: the recipes move the old one aside
  first (``metrics.<UTC time>.jsonl``, recipes/common.sh) and :func:`load_run` joins the pieces;
- ``console``: ``concat_dict_to_str`` (``verl/utils/logger/aggregate_logger.py``) prints
  ``step:N - key:value - ...`` with numbers in ``pprint`` form (``0.5``, ``np.float64(0.5)``), inside
  Ray's ``(TaskRunnerV1 pid=…)`` prefix and colour codes.

Step 0 holds the validation before training; each later step its training metrics (plus the
validation metrics when it ran). Lines for the same step are merged. Logs are read as hostile input:
line by line with a size bound (:mod:`toolzero_verl.eval.jsonl`), undecodable bytes replaced, and a
line that is not a metrics record counted in :attr:`RunMetrics.skipped`, never raised on; only finite
numbers are kept (verl writes NaN as ``null``).

>>> run = parse_console(["\\x1b[36m(TaskRunnerV1 pid=7)\\x1b[0m step:1 - toolzero/sigma/mean:np.float64(0.25) - x:3"])
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

from toolzero_verl.eval.jsonl import TooLong, bounded_lines
from toolzero_verl.eval.paths import InputError

METRICS_FILE = "metrics.jsonl"  # the recipes' file-logger path inside the run directory (recipes/common.sh)
# Earlier pieces of the same run, moved aside by recipes/common.sh before a relaunch: metrics.<UTC time>.jsonl.
SEGMENT_GLOB = "metrics.*.jsonl"
# A step of verl's metrics is 10-20 KB as one JSON or console line; a line far longer is not a metrics record.
MAX_LINE_CHARS = 4 * 1024 * 1024
MAX_STEP = 10**9  # larger "steps" are junk, not a training run
_STEP = re.compile(r"(?:^|\s)step:(\d{1,10})(?= - |\s*$)")
_NUMPY = re.compile(r"^np\.\w+\((.*)\)$")  # np.float64(0.5), np.int64(2)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class RunMetrics:
    """Metrics per step (``steps[N] = {key: float}``), where they were read from and how many lines
    were skipped as unreadable."""

    steps: dict[int, dict[str, float]] = field(default_factory=dict)
    source: str = ""
    skipped: int = 0
    files: list[str] = field(default_factory=list)

    def add(self, step: int, data: Mapping[str, object]) -> None:
        """Merge ``data``'s finite numbers into ``step`` (a later value for a key wins)."""
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

    def keys(self) -> set[str]:
        """Every metric name logged at some step."""
        return {key for data in self.steps.values() for key in data}

    def matching(self, step: int, pattern: str) -> dict[str, float]:
        """The metrics of ``step`` whose key matches the regular expression ``pattern``."""
        regex = re.compile(pattern)
        return {k: v for k, v in self.steps.get(step, {}).items() if regex.search(k)}


def step_number(value: object) -> int | None:
    """A record's step as an int in ``[0, MAX_STEP]`` (integral floats accepted), else None.

    >>> step_number(3), step_number(3.0), step_number(True), step_number(-1), step_number("3")
    (3, 3, None, None, None)
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    step = int(value)
    return step if 0 <= step <= MAX_STEP else None


def _lines(path: str | Path) -> Iterable[str]:
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        yield from bounded_lines(fh, MAX_LINE_CHARS)


def read_jsonl(path: str | Path) -> RunMetrics:
    """verl's ``file`` logger output. A line that is not ``{"step": N, "data": {...}}`` (a torn last
    line of a killed run, junk) is counted in ``skipped``."""
    run = RunMetrics(source=str(path), files=[str(path)])
    for line in _lines(path):
        if not isinstance(line, TooLong) and not line.strip():
            continue
        record = None
        if not isinstance(line, TooLong):
            try:
                record = json.loads(line)
            except (ValueError, RecursionError):
                record = None
        step = step_number(record.get("step")) if isinstance(record, dict) else None
        if step is None or not isinstance(record.get("data"), dict):
            run.skipped += 1
            continue
        run.add(step, record["data"])
    return run


def parse_console(lines: Iterable[str], source: str = "console") -> RunMetrics:
    """``step:N - key:value - …`` lines of verl's console logger among any other output."""
    run = RunMetrics(source=source)
    for line in lines:
        if isinstance(line, TooLong):
            continue
        text = _ANSI.sub("", line)
        match = _STEP.search(text)
        if not match or step_number(int(match.group(1))) is None:
            continue
        data = {}
        for part in text[match.end():].rstrip("\r\n").split(" - ")[1:]:
            key, sep, value = part.rpartition(":")
            if sep and key.strip():
                data[key.strip()] = value
        if data:
            run.add(int(match.group(1)), data)
    return run


def read_console(path: str | Path) -> RunMetrics:
    """:func:`parse_console` over a file, read line by line."""
    run = parse_console(_lines(path), source=str(path))
    run.files = [str(path)]
    return run


def merge_segments(segments: Iterable[RunMetrics]) -> RunMetrics:
    """Join the pieces of one run, oldest first. A later piece restarted the run at its first training
    step (a resume from the last checkpoint, or a fresh start at step 1): its steps replace the earlier
    pieces' from that step on, and earlier steps are kept (merged, the later value winning per key).

    >>> a, b = RunMetrics(), RunMetrics()
    >>> for s in (0, 1, 2, 3): a.add(s, {"x": s, **({"training/global_step": s} if s else {})})
    >>> for s in (2, 3): b.add(s, {"x": 10 * s, "training/global_step": s})   # resumed from step 1
    >>> merge_segments([a, b]).series("x")
    [(0, 0.0), (1, 1.0), (2, 20.0), (3, 30.0)]
    """
    merged = RunMetrics()
    for segment in segments:
        starts = segment.training_steps() or sorted(segment.steps)
        if starts:
            for step in [s for s in merged.steps if s >= starts[0]]:
                del merged.steps[step]
        for step, data in segment.steps.items():
            merged.add(step, data)
        merged.skipped += segment.skipped
        merged.files += segment.files
    merged.source = ", ".join(merged.files)
    return merged


def metrics_files(run_dir: str | Path) -> list[Path]:
    """The file-logger pieces of a run directory, oldest first: the moved-aside ``metrics.<UTC time>.jsonl``
    (their names sort by time), then ``metrics.jsonl``."""
    run_dir = Path(run_dir)
    pieces = sorted(p for p in run_dir.glob(SEGMENT_GLOB) if p.is_file())
    current = run_dir / METRICS_FILE
    return pieces + ([current] if current.is_file() else [])


def load_run(path: str | Path) -> RunMetrics:
    """A run's metrics from ``path``: a run directory (its ``metrics*.jsonl`` pieces, else the ``*.log``
    file with the most steps), verl's file-logger JSONL, or a saved console log. :class:`InputError`
    (one line) when the path is missing or holds no step."""
    path = Path(path)
    if path.is_dir():
        run = merge_segments(read_jsonl(p) for p in metrics_files(path))
        if run.steps:
            run.source = str(path)
            return run
        logs = [read_console(p) for p in sorted(path.glob("*.log")) if p.is_file()]
        best = max(logs, key=lambda r: (len(r.training_steps()), len(r.steps)), default=None)
        if best is not None and best.steps:
            return best
        raise InputError(f"{path}: no metrics: no {METRICS_FILE} with a step and no *.log with verl's "
                         "'step:N - key:value' lines")
    if not path.is_file():
        raise InputError(f"run not found: {path} (give a run directory, its {METRICS_FILE} or a console log)")
    run = read_jsonl(path)
    if run.steps:
        return run
    console = read_console(path)
    if console.steps:
        return console
    raise InputError(f"{path}: no step metrics: neither verl's file-logger JSONL nor console "
                     "'step:N - key:value' lines")


def load(jsonl: str | Path | None = None, console: str | Path | None = None) -> RunMetrics:
    """The JSONL file logger's metrics when that file has any, else those parsed from the console log."""
    if jsonl is not None and Path(jsonl).is_file():
        run = read_jsonl(jsonl)
        if run.steps:
            return run
    if console is not None and Path(console).is_file():
        return read_console(console)
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


def format_table(run: RunMetrics, keys: Iterable[str], headers: Iterable[str] | None = None) -> str:
    """A plain-text table: one row per step with any of ``keys``, one column per key (titled by
    ``headers`` when given).

    >>> run = RunMetrics(); run.add(1, {"a/b": 0.5}); run.add(2, {"a/b": 1.25, "c": 3})
    >>> print(format_table(run, ["a/b", "c"], ["ab", "c"]))
    step      ab       c
       1     0.5
       2    1.25       3
    """
    keys = list(keys)
    titles = list(headers) if headers is not None else keys
    widths = [max(6, len(t)) for t in titles]
    lines = ["step  " + "  ".join(f"{t:>{w}}" for t, w in zip(titles, widths))]
    for step, data in sorted(run.steps.items()):
        if any(k in data for k in keys):
            cells = [f"{data[k]:>{w}.4g}" if k in data else " " * w for k, w in zip(keys, widths)]
            lines.append((f"{step:>4}  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


def _number(value: object) -> float | None:
    """A logged value as a finite float (numbers, numeric strings, ``np.float64(…)``); else None."""
    if isinstance(value, str):
        text = value.strip()
        match = _NUMPY.match(text)
        text = match.group(1) if match else text
        if len(text) > 64:  # no number is this long; float() of a huge digit string is slow
            return None
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float's range
            return None
        return number if math.isfinite(number) else None
    return None
