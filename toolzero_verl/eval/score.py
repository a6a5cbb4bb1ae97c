"""Score generations against parquet rows with the training scorer; aggregate per source and category.

Every response goes through the same code as a training reward: the output format's parser
(:mod:`toolzero_verl.core.formats`), the BFCL-semantics matcher (:func:`toolzero_verl.core.matching.ast_match`)
and :func:`toolzero_verl.compute_score` with ``extra_info["split"] = "test"`` (so GG-GRPO uses σ = 1
and its ``ast`` component *is* the strict accuracy). On top of the reward we record the BFCL error
string of each failure and its report kind (:mod:`toolzero_verl.eval.errors`).

Categories come from the reference's structure: ``no_call`` (no gold call), ``single`` (one call,
one tool offered), ``multiple`` (one call, several tools), ``parallel`` (several calls, one tool),
``parallel_multiple`` (several calls, several tools) - BFCL's single-turn categories. Rows whose
``extra_info.category`` is ``live_relevance`` are ``relevance``: correct iff some call is made
(BFCL §1.5; the reference has no answer key).

Accuracy keeps BFCL's rule that a response whose call syntax is broken makes no call, so it is right
on a no-call row; the training rewards never credit that (docs/rewards.md, "Ranking invariants"). Every
group therefore also reports how many responses were credited only by that rule
(``credited_parse_failures``) and the accuracy without that credit.

>>> gt = '{"calls": [{"name": "f", "arguments": {"x": 1}}]}'
>>> rows = [{"data_source": "demo", "reward_model": {"ground_truth": gt}, "extra_info": {"index": 0}}]
>>> from toolzero_verl.eval.generations import parse_lines
>>> report = score_rows(rows, parse_lines(['{"index": 0, "response": "<think></think><answer>[f(x=1)]</answer>"}']))
>>> report.overall.accuracy, report.by_category["single"].n
(1.0, 1)
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from toolzero_verl.core.atomic import write_text_atomic
from toolzero_verl.core.episode import Episode, is_episode, load_episode
from toolzero_verl.core.formats import FORMATS, ParseLimits, get_format
from toolzero_verl.core.ground_truth import GroundTruth, load_ground_truth
from toolzero_verl.core.matching import CANNOT_FIND_MATCH, ast_match
from toolzero_verl.core.options import ConfigError, Options, option
from toolzero_verl.eval import episodes, errors
from toolzero_verl.eval.generations import MAX_REPORTED_LINES, Generations, join
from toolzero_verl.rewards import get_reward
from toolzero_verl.rewards.scoring import DEFAULT_FORMAT, DEFAULT_REWARD, ScoringOptions, check_options, compute_score

CATEGORIES = ("single", "multiple", "parallel", "parallel_multiple", "no_call", "relevance", episodes.CATEGORY)
RELEVANCE_SOURCES = frozenset({"live_relevance"})  # BFCL categories scored "some call made"
FALLBACK_FORMAT = "answer"  # rows that do not say which format they were prompted with (the default output format)


# Keys --reward-kwarg must not carry: each has its own flag, or does not apply to evaluation.
RESERVED_REWARD_KWARGS = {
    "reward": "use --reward",
    "output_format": "use --output-format",
    "global_steps": "evaluation scores every row as validation (σ = 1); a training step does not apply",
    "training_progress": "evaluation scores every row as validation (σ = 1); training progress does not apply",
}
_LIMIT_KEYS = ("max_chars", "max_depth")  # parse limits: they change accuracy too, not only the reward


@dataclass(frozen=True)
class ScoreOptions(Options):
    """What to score with. ``output_format=None``: each row's ``extra_info.output_format`` (written by
    ``toolzero-prep`` / ``bfcl-prompts``), else the reward's default format. Every value is checked on
    construction (:class:`~toolzero_verl.core.options.ConfigError` names the option), reward options
    included, so a bad one fails before any row is read.

    >>> ScoreOptions(reward_kwargs=(("output_format", "hermes"),))
    Traceback (most recent call last):
    ...
    toolzero_verl.core.options.ConfigError: reward option 'output_format' cannot be set here: use --output-format
    """

    reward: str = option(DEFAULT_REWARD, help="reward whose components are reported")
    output_format: str | None = option(None, help="format the model was prompted to write (default: per row)")
    reward_kwargs: tuple = option((), help="extra reward options as (key, value) pairs")
    partial: bool = option(False, help="leave out rows without a generation instead of counting them wrong")

    def __post_init__(self) -> None:
        super().__post_init__()
        get_reward(self.reward)
        if self.output_format is not None:
            get_format(self.output_format)
        pairs = []
        for item in self.reward_kwargs:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise ConfigError(f"reward options must be (key, value) pairs, got {item!r}")
            pairs.append(item)
        keys = [k for k, _ in pairs]
        for key in keys:
            if key in RESERVED_REWARD_KWARGS:
                raise ConfigError(f"reward option {key!r} cannot be set here: {RESERVED_REWARD_KWARGS[key]}")
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ConfigError(f"reward option(s) {dup} given more than once")
        check_options(reward=self.reward, output_format=self.output_format, **dict(pairs))

    @property
    def limits(self) -> ParseLimits:
        """The parse limits the reward uses (``max_chars``/``max_depth`` reward options), so strict
        accuracy parses each response exactly as the reward does."""
        given = {k: v for k, v in self.reward_kwargs if k in _LIMIT_KEYS}
        scoring = ScoringOptions(**given)
        return ParseLimits(scoring.max_chars, scoring.max_depth)


@dataclass(frozen=True)
class RowContext:
    pos: int
    key: str  # how the row is named in reports: its id, else its index, else its position
    data_source: str
    category: str
    gt_raw: Any
    gt: GroundTruth | Episode  # an Episode for episode rows (category "episode")
    output_format: str
    extra: Mapping[str, Any]

    @property
    def expects_any_call(self) -> bool:
        return self.category == "relevance"


@dataclass(frozen=True)
class ResponseScore:
    row: RowContext
    correct: bool
    parse_ok: bool
    error: str | None  # BFCL error string (or an evaluator one from errors.py)
    detail: str | None  # the sub-error explaining a parallel cannot_find_match
    kind: str | None  # report column (errors.KINDS)
    components: dict[str, float]
    line: int | None  # generations line, None for a missing generation
    parse_failure_credit: bool = False  # right only because BFCL counts a parse failure as no call


@dataclass
class GroupStats:
    """Sums over the responses of one group; means are computed on output.

    ``rows`` counts every row of the group (the accuracy denominator); ``answered_rows`` only those
    with at least one response (the denominator of reward component means, since a row without a
    generation has no reward); ``n`` counts responses (the parse-failure denominator).
    """

    n: int = 0
    rows: int = 0
    answered_rows: int = 0
    correct: float = 0.0
    parse_failures: int = 0
    credited_parse_failures: int = 0  # responses right only because a parse failure counted as no call
    parse_failure_credit: float = 0.0  # their weight in ``correct``
    components: dict[str, float] = field(default_factory=dict)
    kinds: Counter = field(default_factory=Counter)
    bfcl_errors: Counter = field(default_factory=Counter)

    def add(self, s: ResponseScore, weight: float) -> None:
        self.correct += weight * s.correct
        if s.kind:
            self.kinds[s.kind] += 1
            self.bfcl_errors[s.error or "?"] += 1
        if s.line is None:  # no generation: counted wrong, nothing else to add
            return
        self.n += 1
        self.parse_failures += not s.parse_ok
        self.credited_parse_failures += s.parse_failure_credit
        self.parse_failure_credit += weight * s.parse_failure_credit
        for k, v in s.components.items():
            self.components[k] = self.components.get(k, 0.0) + weight * v

    @property
    def accuracy(self) -> float:
        """Per-row mean of per-sample accuracy (plain accuracy with one sample per row)."""
        return self.correct / self.rows if self.rows else math.nan

    @property
    def accuracy_without_parse_failure_credit(self) -> float:
        """Accuracy if a parse failure never counted as an abstention (the training rewards' rule)."""
        return (self.correct - self.parse_failure_credit) / self.rows if self.rows else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "answered_rows": self.answered_rows,
            "responses": self.n,
            "accuracy": self.accuracy,
            "credited_parse_failures": self.credited_parse_failures,
            "accuracy_without_parse_failure_credit": self.accuracy_without_parse_failure_credit,
            "parse_failure_rate": self.parse_failures / self.n if self.n else math.nan,
            "components": {k: v / self.answered_rows for k, v in self.components.items()} if self.answered_rows else {},
            "errors": dict(sorted(self.kinds.items(), key=lambda kv: list(errors.KINDS).index(kv[0]))),
            "bfcl_errors": dict(self.bfcl_errors.most_common()),
        }


@dataclass
class Report:
    options: ScoreOptions
    reward_keys: tuple[str, ...]
    counts: dict[str, int]
    overall: GroupStats
    by_data_source: dict[str, GroupStats]
    by_category: dict[str, GroupStats]
    failures: list[ResponseScore]
    malformed: list  # generations.BadLine, first MAX_REPORTED_LINES
    unmatched: list
    bad_rows: list[tuple[int, str]]  # (row position, reason) of rows whose ground truth does not load
    scores: list[ResponseScore] = field(repr=False, default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": {
                "reward": self.options.reward,
                "output_format": self.options.output_format or "per row",
                "reward_kwargs": dict(self.options.reward_kwargs),
                "partial": self.options.partial,
            },
            "counts": dict(self.counts),
            "overall": self.overall.to_dict(),
            "by_data_source": {k: v.to_dict() for k, v in self.by_data_source.items()},
            "by_category": {k: v.to_dict() for k, v in self.by_category.items()},
            "malformed_lines": [vars(b) for b in self.malformed],
            "unmatched_lines": [vars(b) for b in self.unmatched],
            "bad_ground_truth_rows": [{"row": r, "reason": why} for r, why in self.bad_rows],
            "failures": [failure_dict(s) for s in self.failures],
        }


def failure_dict(s: ResponseScore) -> dict[str, Any]:
    return {
        "key": s.row.key,
        "data_source": s.row.data_source,
        "category": s.row.category,
        "error": s.error,
        "detail": s.detail,
        "kind": s.kind,
        "line": s.line,
    }


# --- rows -------------------------------------------------------------------------------------------


def load_rows(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of a verl parquet as plain Python dicts (pyarrow, no pandas/numpy objects)."""
    import pyarrow.parquet as pq

    return pq.read_table(str(path)).to_pylist()


def structural_category(gt: GroundTruth) -> str:
    """BFCL's single-turn category from the reference's shape (tools offered x gold calls)."""
    n = len(gt.calls)
    if n == 0:
        return "no_call"
    n_tools = len(gt.tools) if gt.tools else len({c.name for c in gt.calls})
    if n == 1:
        return "multiple" if n_tools > 1 else "single"
    return "parallel_multiple" if n_tools > 1 else "parallel"


# What loading or scoring a hostile row may raise; the row is reported and skipped. ConfigError (a bad
# option) is a ValueError too but is re-raised first: it is the same for every row and must stop the run.
BAD_ROW_ERRORS = (ValueError, TypeError, AttributeError, KeyError, IndexError, RecursionError, OverflowError)


def row_context(pos: int, row: Mapping[str, Any], options: ScoreOptions) -> RowContext:
    """Raises one of :data:`BAD_ROW_ERRORS` when the row has no usable ground truth."""
    if not isinstance(row, Mapping):
        raise ValueError(f"a row must be an object, got {type(row).__name__}")
    rm = row.get("reward_model")
    if not isinstance(rm, Mapping) or "ground_truth" not in rm:
        raise ValueError("no reward_model.ground_truth")
    extra = row.get("extra_info")
    extra = extra if isinstance(extra, Mapping) else {}
    if is_episode(rm["ground_truth"]):
        gt, category = load_episode(rm["ground_truth"]), episodes.CATEGORY
    else:
        gt = load_ground_truth(rm["ground_truth"])
        category = "relevance" if extra.get("category") in RELEVANCE_SOURCES else structural_category(gt)
    fmt = options.output_format or extra.get("output_format") or DEFAULT_FORMAT.get(options.reward, FALLBACK_FORMAT)
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ValueError(f"extra_info.output_format {fmt!r} is not one of {sorted(FORMATS)}")
    ident = extra.get("id", row.get("id"))
    key = str(ident) if ident not in (None, "") else (str(extra["index"]) if "index" in extra else f"row{pos}")
    return RowContext(pos, key, str(row.get("data_source", "")), category, rm["ground_truth"], gt, fmt, extra)


def _problem(exc: BaseException) -> str:
    """One line naming a bad row's problem (the exception type when its message is not enough)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, ValueError) and text:
        return text[:200]
    return f"{type(exc).__name__}: {text}"[:200].rstrip(": ")


# --- one response -------------------------------------------------------------------------------------


def score_episode(ctx: RowContext, turns: Sequence[str], options: ScoreOptions,
                  line: int | None = None, counts: Mapping[str, Any] | None = None) -> ResponseScore:
    """Score one episode's turns (toolzero_verl/eval/episodes.py): correct = every gold point met exactly."""
    kwargs = dict(options.reward_kwargs) if options.reward == episodes.REWARD else {}  # single-turn options don't apply
    components = compute_score(ctx.data_source, turns[-1] if turns else "", ctx.gt_raw,
                               episodes.episode_extra_info(ctx.extra, turns, counts), reward=episodes.REWARD,
                               output_format=ctx.output_format, **kwargs)
    components[episodes.TURN_ACCURACY] = episodes.turn_accuracy(ctx.gt, turns, ctx.output_format, options.limits)
    correct = components.get("ast") == 1.0
    error = None if correct else errors.EPISODE_FAILED
    return ResponseScore(ctx, correct, components.get("parse_ok") == 1.0, error, None, errors.classify(error),
                         components, line)


def score_response(ctx: RowContext, response: str, options: ScoreOptions, line: int | None = None,
                   turns: Sequence[str] | None = None, counts: Mapping[str, Any] | None = None) -> ResponseScore:
    """Score one response (an episode's ``turns`` and the loop's ``counts`` for episode rows); never raises on
    model text."""
    if ctx.category == episodes.CATEGORY:
        return score_episode(ctx, list(turns) if turns is not None else [response], options, line, counts)
    fmt = get_format(ctx.output_format)
    response = response if isinstance(response, str) else ""
    parsed = fmt.parse(response, ctx.gt.known_names, options.limits)
    detail = None
    if ctx.expects_any_call:
        correct = bool(parsed.calls)
        error = None if correct else errors.RELEVANCE_FAILED
    elif ctx.gt.calls and not parsed.parse_ok:
        correct, error = False, errors.DECODER_FAILED  # as BFCL: an undecodable answer on a call turn
    else:
        match = ast_match(parsed.calls, ctx.gt)
        correct, error = match.ok, match.error
        if error == CANNOT_FIND_MATCH:
            detail = errors.parallel_detail(parsed.calls, ctx.gt)
    extra = {**ctx.extra, "split": "test"}  # validation semantics: GG-GRPO's σ = 1
    components = compute_score(
        ctx.data_source, response, ctx.gt_raw, extra,
        reward=options.reward, output_format=ctx.output_format, **dict(options.reward_kwargs),
    )
    kind = errors.classify(error, detail, len(parsed.calls))
    credit = correct and not parsed.parse_ok  # only a no-call row can be right without a readable answer
    return ResponseScore(ctx, correct, parsed.parse_ok, error, detail, kind, components, line, credit)


# --- many -------------------------------------------------------------------------------------------


def score_rows(rows: Sequence[Mapping[str, Any]], gens: Generations, options: ScoreOptions = ScoreOptions()) -> Report:
    """Join, score and aggregate. Malformed lines, unknown keys and bad ground truths are counted and
    reported; rows without a generation count as failures (``no_generation``) unless ``partial``.

    A row without a generation has no response, so it has no reward components: component means are
    over the rows that were answered, and ``accuracy`` counts the unanswered ones as wrong.
    """
    spec = get_reward(options.reward)
    joined = join(rows, gens)
    scores: list[ResponseScore] = []
    bad_rows: list[tuple[int, str]] = []
    missing = 0
    for pos, row in enumerate(rows):
        gen_list = joined.by_row.get(pos)
        if gen_list is None and options.partial:
            continue
        try:
            ctx = row_context(pos, row, options)
            if gen_list is None:
                missing += 1
                scores.append(ResponseScore(ctx, False, True, errors.NO_GENERATION, None, "no_generation", {}, None))
                continue
            scores.extend(score_response(ctx, g.response, options, g.line, g.turns, g.counts) for g in gen_list)
        except ConfigError:
            raise
        except BAD_ROW_ERRORS as exc:
            bad_rows.append((pos, _problem(exc)))
            scores = [s for s in scores if s.row.pos != pos]  # a row is scored whole or not at all

    overall, by_source, by_cat = GroupStats(), {}, {c: GroupStats() for c in CATEGORIES}
    per_row = Counter(s.row.pos for s in scores)
    seen: set[int] = set()
    for s in scores:
        weight = 1.0 / per_row[s.row.pos]  # several samples of one row share one row's weight
        groups = (overall, by_source.setdefault(s.row.data_source, GroupStats()), by_cat[s.row.category])
        for g in groups:
            g.add(s, weight)
        if s.row.pos not in seen:
            seen.add(s.row.pos)
            for g in groups:
                g.rows += 1
                g.answered_rows += s.line is not None
    by_cat = {c: g for c, g in by_cat.items() if g.rows}
    counts = {
        "rows": len(rows),
        "rows_scored": len(seen),
        "rows_without_generation": len(joined.missing_rows),
        "rows_counted_as_missing": missing,
        "rows_bad_ground_truth": len(bad_rows),
        "generation_lines_used": sum(len(v) for v in joined.by_row.values()),
        "malformed_lines": len(gens.malformed),
        "unmatched_lines": len(joined.unmatched),
        "responses_scored": len(scores),
    }
    failures = [s for s in scores if not s.correct]
    return Report(
        options, spec.keys, counts, overall, dict(sorted(by_source.items())), by_cat, failures,
        gens.malformed[:MAX_REPORTED_LINES], joined.unmatched[:MAX_REPORTED_LINES], bad_rows, scores,
    )


# --- text output ------------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return "   -  " if x != x else f"{100 * x:6.2f}"


def format_groups(title: str, groups: Mapping[str, GroupStats], report: Report) -> str:
    """A fixed-width table: accuracy, parse failures, reward component means, error kinds."""
    comp_keys = [k for k in report.reward_keys if not _constant(report, k)]
    kinds = [k for k in errors.KINDS if any(g.kinds.get(k) for g in groups.values())]
    name_w = max([len(title)] + [len(k) for k in groups] + [7])
    head = f"{title:<{name_w}}  {'rows':>6}  {'acc%':>6}  {'parse%':>6}"
    head += "".join(f"  {k:>9}" for k in comp_keys)
    head += "".join(f"  {errors.KINDS[k]:>8}" for k in kinds)
    lines = [head, "-" * len(head)]
    for name, g in list(groups.items()) + [("all", report.overall)]:
        d = g.to_dict()
        line = f"{name:<{name_w}}  {g.rows:>6}  {_pct(g.accuracy)}  {_pct(d['parse_failure_rate'])}"
        line += "".join(f"  {d['components'].get(k, math.nan):>{max(9, len(k))}.3f}" for k in comp_keys)
        line += "".join(f"  {g.kinds.get(k, 0):>8}" for k in kinds)
        lines.append(line)
    return "\n".join(lines)


ALWAYS_SHOWN = ("score", "format")


def _constant(report: Report, key: str) -> bool:
    """Component keys equal on every response (σ = 1, step = -1) add nothing to a table."""
    if key in ALWAYS_SHOWN:
        return False
    values = {s.components.get(key) for s in report.scores if s.line is not None}
    return len(values) <= 1


def format_report(report: Report, max_failures: int = 50) -> str:
    c = report.counts
    parts = [
        f"reward={report.options.reward}  output_format={report.options.output_format or 'per row'}  "
        f"rows={c['rows']}  scored={c['rows_scored']}  responses={c['responses_scored']}",
        format_groups("data_source", report.by_data_source, report),
        format_groups("category", report.by_category, report),
        format_parse_failure_credit(report.by_category),
    ]
    parts.append(format_problems(report, max_failures))
    return "\n\n".join(p for p in parts if p)


def format_parse_failure_credit(groups: Mapping[str, Any]) -> str:
    """One line per group that BFCL's parse-failure-as-abstention rule credited (``credited_parse_failures``
    and ``accuracy_without_parse_failure_credit`` on :class:`GroupStats` or bfcl's ``CategoryResult``)."""
    lines = [
        f"  {name}: {g.credited_parse_failures} response(s); accuracy without that credit "
        f"{_pct(g.accuracy_without_parse_failure_credit).strip()}% (with it {_pct(g.accuracy).strip()}%)"
        for name, g in groups.items() if g.credited_parse_failures
    ]
    if not lines:
        return ""
    return "credited only because a parse failure counts as an abstention (BFCL's rule; never in training):\n" + (
        "\n".join(lines))


def format_problems(report: Report, max_failures: int, rename=None) -> str:
    """Skipped lines and rows, missing generations, then failing responses with their reason.

    ``rename(error, row)`` may restate an error string (bfcl uses it for BFCL's per-category names).
    """
    c = report.counts
    out = []
    if c["malformed_lines"]:
        out.append(f"skipped {c['malformed_lines']} malformed generation line(s):")
        out += [f"  line {b.line}: {b.reason} {b.detail}".rstrip() for b in report.malformed]
    if c["unmatched_lines"]:
        out.append(f"skipped {c['unmatched_lines']} generation line(s) that match no row:")
        out += [f"  line {b.line}: {b.reason} {b.detail}".rstrip() for b in report.unmatched]
    if c["rows_bad_ground_truth"]:
        out.append(f"skipped {c['rows_bad_ground_truth']} row(s) whose ground truth does not load:")
        out += [f"  row {r}: {why}" for r, why in report.bad_rows[:20]]
    if c["rows_without_generation"]:
        how = ("left out (--partial)" if report.options.partial else
               "counted as failures (no_generation); reward component means are over the rows with a generation")
        out.append(f"{c['rows_without_generation']} row(s) have no generation: {how}")
    fails = [f for f in report.failures if f.kind != "no_generation"]
    if fails and max_failures:
        out.append(f"failing responses ({len(fails)}; showing {min(len(fails), max_failures)}):")
        for s in fails[:max_failures]:
            error = rename(s.error, s.row) if rename else s.error
            why = f"{error}" + (f" ({s.detail})" if s.detail else "")
            out.append(f"  {s.row.key} [{s.row.data_source}/{s.row.category}]: {why}")
    return "\n".join(out)


def write_json(data: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Write metrics JSON (NaN, e.g. the accuracy of an empty group, becomes null)."""
    write_text_atomic(path, json.dumps(_nan_to_none(data), indent=2, ensure_ascii=False) + "\n")


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, Mapping):
        return {str(k): _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_nan_to_none(v) for v in obj]
    return obj
