"""``toolzero-eval curves RUN``: a training run's logged metrics as PNG plots and a one-screen summary.

The metrics come from :mod:`toolzero_verl.eval.run_log` (verl's file-logger JSONL, the pieces of a
resumed run, or verl's console log), so every hostile-log rule of that reader applies here: torn or
junk lines are skipped and counted, missing keys leave a curve out, never fail the command. What
each curve means for a GG-GRPO run, and how a healthy run looks: docs/verl.md, "Reading the curves".

One figure per :class:`Panel` (``<out>/<panel>.png``, only panels with data) and all of them on one
page (``<out>/curves.png``). Matplotlib is the optional ``plots`` extra; without it the summary is
still printed and :class:`PlotsUnavailable` says how to install it.

>>> run = run_log.RunMetrics()
>>> for s in (1, 2): run.add(s, {"training/global_step": s, "toolzero/sigma/mean": s / 4})
>>> [(label, points) for label, points in panel_series(PANELS[0], run)]
[('σ(t)', [(1, 0.25), (2, 0.5)])]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from toolzero_verl.eval import run_log

PREFIX = "toolzero"  # the sampler's default metric_prefix (toolzero_verl/rewards/metrics.py)
CURVES_DIR = "curves"  # default output folder inside the run directory
OVERVIEW = "curves.png"
MAX_SERIES = 8  # lines per panel: more (many validation data sources) would be unreadable; the rest are listed
# Health rules (docs/verl.md, "Reading the curves"): thresholds are rules of thumb, not the paper's.
NO_SIGNAL_FRACTION = 0.9  # equal-reward groups at or above this share leave GRPO almost no advantage
OVER_CALL_RATIO = 1.5  # predicted calls per response over gold calls: the policy calls more than asked
RECENT_SHARE = 0.25  # "recently" = the last quarter of the training steps
# Monitors of reward hacking a reward or sampler may log under the prefix (e.g. calls on rows whose answer
# is no call, invalid calls); any such key is plotted with the parse failures.
HACK_PATTERN = re.compile(rf"^{PREFIX}/.*(hack|no_call|nocall|irrelevan|invalid|over_call)", re.IGNORECASE)


@dataclass(frozen=True)
class Series:
    """One line of a panel: an exact metric key, or a regular expression matching several (``pattern``)."""

    key: str
    label: str = ""
    pattern: bool = False


@dataclass(frozen=True)
class Panel:
    """One plot: its file stem, title, y-axis label and lines."""

    name: str
    title: str
    ylabel: str
    series: tuple[Series, ...]


PANELS: tuple[Panel, ...] = (
    Panel("reward", "σ(t) and the reward components (training means)", "value", (
        Series(f"{PREFIX}/sigma/mean", "σ(t)"),
        Series(f"{PREFIX}/score/mean", "score"),
        Series(f"{PREFIX}/strict/mean", "strict"),
        Series(f"{PREFIX}/general/mean", "general"),
        Series(f"{PREFIX}/format/mean", "format"),
        # ToolRL's and Tool-N1's components, when the run used those rewards
        Series(f"{PREFIX}/correctness/mean", "correctness"),
        Series(f"{PREFIX}/exact/mean", "exact"),
        Series(f"{PREFIX}/exact_match/mean", "exact match"),
    )),
    Panel("validation", "Validation (σ = 1: strict accuracy)", "mean@N", (
        Series(r"^val-core/.+/reward/mean@\d+$", pattern=True),
        Series(r"^val-aux/.+/(strict|ast|exact|exact_match)/mean@\d+$", pattern=True),
    )),
    Panel("parse_and_hacks", "Parse failures and hack monitors", "rate", (
        Series(f"{PREFIX}/parse_failure_rate", "parse failure rate"),
        Series(HACK_PATTERN.pattern, pattern=True),
    )),
    Panel("calls", "Calls per response: predicted vs gold (over-calling)", "calls", (
        Series(f"{PREFIX}/n_pred_calls/mean", "predicted"),
        Series(f"{PREFIX}/n_gt_calls/mean", "gold"),
    )),
    Panel("learning_signal", "Equal-reward GRPO groups (1 = no learning signal)", "fraction", (
        Series(f"{PREFIX}/equal_reward_groups/fraction", "equal-reward groups"),
        Series("training/filter_groups/evicted_samples", "evicted samples"),
    )),
    Panel("update", "Policy update", "value", (
        Series("actor/pg_loss", "pg_loss"),
        Series("actor/grad_norm", "grad_norm"),
        Series("actor/entropy", "entropy"),
    )),
    Panel("response_length", "Response length (tokens)", "tokens", (
        Series("response_length/mean", "mean"),
        Series("response_length/max", "max"),
    )),
    Panel("time", "Step time (s)", "seconds", (
        Series("timing_s/step", "step"),
        Series("timing_s/gen", "gen (rollout + reward)"),
        Series("timing_s/update_actor", "update_actor"),
    )),
)

# The per-step table (``--table``; the demo prints it): (metric key, column title).
TABLE_COLUMNS = (
    (f"{PREFIX}/sigma/mean", "sigma"),
    (f"{PREFIX}/score/mean", "score"),
    (f"{PREFIX}/strict/mean", "strict"),
    (f"{PREFIX}/general/mean", "general"),
    (f"{PREFIX}/format/mean", "format"),
    (f"{PREFIX}/equal_reward_groups/fraction", "eq_groups"),
    ("actor/pg_loss", "pg_loss"),
    ("actor/grad_norm", "grad_norm"),
    ("timing_s/step", "step_s"),
)
# The summary's rows: (metric key, label).
SUMMARY_KEYS = (
    (f"{PREFIX}/sigma/mean", "σ(t)"),
    (f"{PREFIX}/score/mean", "score"),
    (f"{PREFIX}/strict/mean", "strict"),
    (f"{PREFIX}/general/mean", "general"),
    (f"{PREFIX}/format/mean", "format"),
    (f"{PREFIX}/parse_failure_rate", "parse failures"),
    (f"{PREFIX}/equal_reward_groups/fraction", "equal-reward groups"),
    (f"{PREFIX}/n_pred_calls/mean", "predicted calls"),
    (f"{PREFIX}/n_gt_calls/mean", "gold calls"),
    ("actor/pg_loss", "pg_loss"),
    ("actor/grad_norm", "grad_norm"),
    ("response_length/mean", "response length"),
    ("timing_s/step", "step time (s)"),
)


class PlotsUnavailable(RuntimeError):
    """Matplotlib (the ``plots`` extra) is not installed."""


def panel_series(panel: Panel, run: run_log.RunMetrics) -> list[tuple[str, list[tuple[int, float]]]]:
    """``(label, [(step, value), ...])`` of every line of ``panel`` the run logged, at most :data:`MAX_SERIES`."""
    keys = sorted(run.keys())
    out: list[tuple[str, list[tuple[int, float]]]] = []
    for series in panel.series:
        if series.pattern:
            regex = re.compile(series.key)
            matched = [(key, key) for key in keys if regex.search(key)]
        else:
            matched = [(series.key, series.label or series.key)] if series.key in keys else []
        for key, label in matched:
            if all(key != k for k, _ in out):
                out.append((label, run.series(key)))
    return [(label, points) for label, points in out if points][:MAX_SERIES]


def dropped_series(panel: Panel, run: run_log.RunMetrics) -> int:
    """Lines of ``panel`` left out because it already had :data:`MAX_SERIES`."""
    total = 0
    keys = run.keys()
    for series in panel.series:
        if series.pattern:
            total += sum(1 for key in keys if re.search(series.key, key))
        else:
            total += series.key in keys
    return max(0, total - MAX_SERIES)


def _pyplot():
    """matplotlib's pyplot on the file-only Agg backend (no display on a training node)."""
    try:
        import matplotlib
    except ImportError:
        raise PlotsUnavailable(
            "plots need matplotlib: pip install 'toolzero-verl[plots]' (or pip install matplotlib); "
            "--no-plots prints the summary alone"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _draw(ax, panel: Panel, lines: Sequence[tuple[str, list[tuple[int, float]]]]) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    for label, points in lines:
        steps, values = zip(*points)
        ax.plot(steps, values, marker="o" if len(points) <= 30 else None, markersize=3, label=label)
    ax.set_title(panel.title, fontsize=9)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel(panel.ylabel, fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, loc="best")


def write_plots(run: run_log.RunMetrics, out_dir: str | Path) -> list[Path]:
    """One PNG per panel with data and the overview ``curves.png``; returns the files written (none when no
    panel has data)."""
    plt = _pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    drawn = [(panel, panel_series(panel, run)) for panel in PANELS]
    drawn = [(panel, lines) for panel, lines in drawn if lines]
    written: list[Path] = []
    for panel, lines in drawn:
        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        _draw(ax, panel, lines)
        fig.tight_layout()
        written.append(out_dir / f"{panel.name}.png")
        fig.savefig(written[-1], dpi=100)
        plt.close(fig)
    if drawn:
        cols = 2
        rows = (len(drawn) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(12, 3.6 * rows), squeeze=False)
        for ax, (panel, lines) in zip(axes.flat, drawn):
            _draw(ax, panel, lines)
        for ax in list(axes.flat)[len(drawn):]:
            ax.set_visible(False)
        fig.suptitle(f"{Path(run.source).name or run.source}: {len(run.training_steps())} training steps",
                     fontsize=10)
        fig.tight_layout()
        written.append(out_dir / OVERVIEW)
        fig.savefig(written[-1], dpi=90)
        plt.close(fig)
    return written


def _span(steps: Sequence[int]) -> str:
    if not steps:
        return "none"
    if steps == list(range(steps[0], steps[-1] + 1)) and len(steps) > 2:
        return f"{steps[0]}-{steps[-1]}"
    shown = ", ".join(str(s) for s in steps[:12])
    return shown + (f", … ({len(steps)} in all)" if len(steps) > 12 else "")


def validation_steps(run: run_log.RunMetrics) -> list[int]:
    """Steps that logged validation metrics (``val-core/…``)."""
    return [step for step, data in sorted(run.steps.items()) if any(k.startswith("val-core/") for k in data)]


def _recent(points: Sequence[tuple[int, float]]) -> list[float]:
    n = max(1, round(len(points) * RECENT_SHARE))
    return [value for _, value in points[-n:]]


def health_notes(run: run_log.RunMetrics) -> list[str]:
    """Warnings about the run's curves (docs/verl.md, "Reading the curves"); empty when nothing looks wrong."""
    notes = []
    equal = run.series(f"{PREFIX}/equal_reward_groups/fraction")
    if equal and min(_recent(equal)) >= NO_SIGNAL_FRACTION:
        notes.append(f"equal-reward groups ≥ {NO_SIGNAL_FRACTION:g} over the last steps: GRPO has almost no "
                     "learning signal (every rollout of a prompt gets the same reward)")
    parse = run.series(f"{PREFIX}/parse_failure_rate")
    if len(parse) >= 2 and parse[-1][1] > parse[0][1]:
        notes.append(f"parse failures rose from {parse[0][1]:.3g} to {parse[-1][1]:.3g}: the output format is "
                     "being lost")
    sigma, strict = run.series(f"{PREFIX}/sigma/mean"), dict(run.series(f"{PREFIX}/strict/mean"))
    past_mid = [step for step, value in sigma if value >= 0.5 and step in strict]
    if len(past_mid) >= 2 and strict[past_mid[-1]] < strict[past_mid[0]]:
        notes.append(f"strict accuracy fell after σ passed 0.5 (step {past_mid[0]}: {strict[past_mid[0]]:.3g}, "
                     f"step {past_mid[-1]}: {strict[past_mid[-1]]:.3g}); it should rise once the reward is strict")
    pred, gold = dict(run.series(f"{PREFIX}/n_pred_calls/mean")), dict(run.series(f"{PREFIX}/n_gt_calls/mean"))
    both = sorted(set(pred) & set(gold))
    if both and gold[both[-1]] > 0 and pred[both[-1]] / gold[both[-1]] >= OVER_CALL_RATIO:
        notes.append(f"at step {both[-1]} the policy makes {pred[both[-1]]:.3g} calls per response for "
                     f"{gold[both[-1]]:.3g} gold calls: over-calling")
    for key in sorted(k for k in run.keys() if HACK_PATTERN.search(k)):
        points = run.series(key)
        if len(points) >= 2 and points[-1][1] > points[0][1]:
            notes.append(f"hack monitor {key} rose from {points[0][1]:.3g} to {points[-1][1]:.3g}")
    return notes


def summary(run: run_log.RunMetrics, plots: Iterable[Path] = ()) -> str:
    """The one-screen text summary: which steps were read, first/last/min/max of the main curves, health
    notes and the plots written."""
    train = run.training_steps()
    lines = [
        f"run: {run.source}",
        f"training steps: {_span(train)} ({len(train)}); validation at steps: {_span(validation_steps(run))}"
        + (f"; {run.skipped} unreadable line(s) skipped" if run.skipped else ""),
    ]
    rows = [(label, run.series(key)) for key, label in SUMMARY_KEYS]
    rows = [(label, points) for label, points in rows if points]
    if rows:
        lines.append(f"{'':<22}{'first':>10}{'last':>10}{'min':>10}{'max':>10}")
        for label, points in rows:
            values = [v for _, v in points]
            lines.append(f"{label:<22}" + "".join(f"{v:>10.4g}" for v in (values[0], values[-1], min(values),
                                                                            max(values))))
    else:
        lines.append(f"no {PREFIX}/* reward metrics or actor metrics in this log (was the sampler on? "
                     "docs/verl.md, \"Observability\")")
    for key in sorted(k for k in run.keys() if k.startswith("val-core/")):
        points = run.series(key)
        lines.append(f"{key}: " + ", ".join(f"step {s} {v:.4g}" for s, v in points[-4:]))
    for panel in PANELS:
        dropped = dropped_series(panel, run)
        if dropped:
            lines.append(f"{panel.name}: {dropped} more line(s) not drawn (at most {MAX_SERIES} per panel)")
    notes = health_notes(run)
    lines += [f"check: {note}" for note in notes] or (["health: no warning"] if rows else [])
    written = list(plots)
    if written:
        lines.append(f"plots ({len(written)}): {written[0].parent}/ " + " ".join(p.name for p in written))
    return "\n".join(lines)


def table(run: run_log.RunMetrics) -> str:
    """The per-step table of :data:`TABLE_COLUMNS` (steps that logged none of them are left out)."""
    return run_log.format_table(run, [k for k, _ in TABLE_COLUMNS], [t for _, t in TABLE_COLUMNS])


def default_out_dir(path: str | Path) -> Path:
    """``<run dir>/curves`` for a run directory, else ``curves/`` next to the log file."""
    path = Path(path)
    return (path if path.is_dir() else path.parent) / CURVES_DIR


# --- command line -----------------------------------------------------------------------------------


def add_parsers(sub) -> None:
    """The ``curves`` subcommand of ``toolzero-eval``."""
    p = sub.add_parser(
        "curves", help="plots and a one-screen summary of a training run's logged metrics",
        description="Read a run's step metrics (a run directory with metrics.jsonl, verl's file-logger JSONL, or "
                    "a saved console log) and write PNG plots: σ(t) with the reward components, validation "
                    "accuracy, parse failures and hack monitors, equal-reward groups, response length, the update "
                    "and step time; print a one-screen summary (docs/verl.md, \"Reading the curves\").",
    )
    p.add_argument("run", metavar="RUN", help="run directory (trainer.default_local_dir), metrics JSONL or console log")
    p.add_argument("--out", metavar="DIR", help="where to write the PNGs (default: RUN/curves)")
    p.add_argument("--table", action="store_true", help="also print the per-step table (σ, reward means, "
                                                        "equal-reward groups, pg_loss, grad_norm, step time)")
    p.add_argument("--no-plots", action="store_true", help="print the summary only (no matplotlib needed)")


def cmd_curves(args) -> int:
    """Load the run, write the plots (unless ``--no-plots``), print the summary (and the table)."""
    run = run_log.load_run(args.run)
    if args.table:
        print(table(run))
        print()
    plots: list[Path] = []
    if not args.no_plots:
        try:
            plots = write_plots(run, Path(args.out) if args.out else default_out_dir(args.run))
        except PlotsUnavailable:
            print(summary(run))
            raise
    print(summary(run, plots))
    return 0


COMMANDS = {"curves": cmd_curves}
