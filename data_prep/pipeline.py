"""The end-to-end conversion: read -> convert -> validate -> dedup -> length filter -> mix ->
split -> augmentations (:mod:`data_prep.augmentations`) -> order -> rows -> atomic write + report.

>>> from pathlib import Path
>>> ex = Path(__file__).resolve().parents[1] / "examples" / "data"
>>> import tempfile
>>> report = run(PrepConfig(xlam=str(ex / "xlam_function_calling_60k.json"), out=tempfile.mkdtemp(), progress=False))
>>> report.sources["xlam"].balanced()
True
"""

from __future__ import annotations

import gc
import os
import time
from dataclasses import asdict, replace
from typing import Callable, Iterator

from . import reasons as R
from .augmentations.apply import apply_augmentations
from .config import PrepConfig
from .convert import Settings, convert_stream, rejection
from .dedup import Deduplicator
from .mix import SOURCES, parse_mix, select, target_count
from .output import OutputSet, check_out_path
from .reader import CorpusFormatError, check_json_array, iter_json_array
from .report import MAX_EXAMPLES, Report
from .rows import build_prompt
from .sample import Sample
from .split import order, split
from .tables import TableBuilder


def check_paths(cfg: PrepConfig) -> None:
    """The input files exist, none lies inside ``--out``, each starts a JSON array, and ``--out`` can hold
    the output set (the option values themselves were checked when ``cfg`` was built)."""
    inputs = {s: getattr(cfg, s) for s in SOURCES if getattr(cfg, s)}
    if not inputs:
        raise ValueError("give at least one input: --toolace, --xlam, --hammer or --toolrl")
    for s, path in inputs.items():
        if not os.path.isfile(path):
            raise ValueError(f"--{s}: no such file {path!r}")
    if cfg.tokenizer is not None and not os.path.isdir(cfg.tokenizer):
        raise ValueError(f"--tokenizer must be a local directory, got {cfg.tokenizer!r}")
    check_out_path(cfg.out, inputs.values())
    for path in inputs.values():
        check_json_array(path)


def _progress(it: Iterator, name: str, enabled: bool) -> Iterator:
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, desc=f"read {name}", unit=" records", mininterval=0.5)


def _named_errors(records: Iterator, path: str) -> Iterator:
    """``records``, with the file named in a :class:`CorpusFormatError` (the array itself is damaged)."""
    try:
        yield from records
    except CorpusFormatError as exc:
        raise CorpusFormatError(f"{path}: {exc}") from None


def collect(
    cfg: PrepConfig, report: Report, length_filter: Callable[[Sample], bool] | None = None
) -> dict[str, list[Sample]]:
    """Convert, validate and deduplicate every input; returns the valid samples per source."""
    dedup = Deduplicator()
    settings = Settings(cfg.xlam_required, cfg.coerce, cfg.toolrl_gt == "raw", cfg.output_format, cfg.agent_loop)
    kept: dict[str, list[Sample]] = {}
    for name in SOURCES:
        path = getattr(cfg, name)
        if not path:
            continue
        stats = report.source(name)
        kept[name] = []
        records = _progress(_named_errors(iter_json_array(path), path), name, cfg.progress)
        for n_candidates, outcomes in convert_stream(name, records, settings):
            stats.records += 1
            stats.read += n_candidates
            for checked in outcomes:
                if checked.rejected is not None:
                    r = checked.rejected
                    report.add_rejection(name, r.source_id, r.reason, r.detail)
                    continue
                sample = checked.sample
                try:
                    dup = dedup.check(sample)
                    too_long = dup is None and length_filter is not None and length_filter(sample)
                except MemoryError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the record policy of data_prep.convert
                    r = rejection(name, sample.source_id, exc)
                    report.add_rejection(name, r.source_id, r.reason, r.detail)
                    continue
                stats.coerced_values += checked.coerced
                if dup is not None:
                    stats.deduplicated += 1
                    if dup.conflict:
                        stats.conflicts += 1
                        if len(report.conflicts) < MAX_EXAMPLES * 4:
                            report.conflicts.append(asdict(dup))
                    continue
                if too_long:
                    report.add_rejection(name, sample.source_id, R.PROMPT_TOO_LONG,
                                         "prompt exceeds --max-prompt-tokens")
                    continue
                kept[name].append(sample)
    return kept


def run(cfg: PrepConfig) -> Report:
    """Run the whole conversion; writes ``OUT/{train,test}.parquet`` and ``OUT/report.json`` as one set.

    The inputs and ``--out`` are checked before any work (``ValueError``); see :mod:`data_prep.output`.
    """
    cfg, hub_inputs = resolve_hub_inputs(cfg)
    check_paths(cfg)
    inputs = [getattr(cfg, s) for s in SOURCES if getattr(cfg, s)]
    with OutputSet(cfg.out, inputs) as output:
        # The run allocates ~10^6 long-lived, acyclic objects (records, samples, rows); the cyclic
        # collector would rescan them over and over, so it is paused for the run.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return _run(cfg, output, hub_inputs)
        finally:
            if was_enabled:
                gc.enable()


def resolve_hub_inputs(cfg: PrepConfig) -> tuple[PrepConfig, dict]:
    """``cfg`` with every ``hf://`` input replaced by its file in the user's Hub cache (:mod:`data_prep.hub`,
    imported only when an input names the Hub), and what was fetched."""
    values = {s: getattr(cfg, s) for s in SOURCES}
    if not any(isinstance(v, str) and v.startswith("hf://") for v in values.values()):
        return cfg, {}
    from .hub import resolve_inputs

    resolved, fetched = resolve_inputs(values)
    return replace(cfg, **resolved), fetched


def _run(cfg: PrepConfig, output: OutputSet, hub_inputs: dict | None = None) -> Report:
    report = Report(config={k: v for k, v in asdict(cfg).items() if k != "progress"})
    if hub_inputs:
        report.config["hub_inputs"] = hub_inputs  # the hf:// references the local paths above came from
    length_filter = None
    if cfg.max_prompt_tokens is not None:
        from .tokens import PromptLengthFilter

        flt = PromptLengthFilter(cfg.tokenizer, cfg.max_prompt_tokens)
        length_filter = lambda s: flt.too_long(build_prompt(s, cfg.output_format, agent_loop=cfg.agent_loop))  # noqa: E731
    t0 = time.perf_counter()
    kept = collect(cfg, report, length_filter)
    t1 = time.perf_counter()

    mix = parse_mix(cfg.mix)
    chosen: list[Sample] = []
    for name, samples in kept.items():
        if name in mix:
            n = target_count(mix[name], len(samples))
            report.source(name).requested = mix[name] if isinstance(mix[name], int) else n
            picked = select(samples, n, cfg.seed, name)
            report.source(name).not_selected += len(samples) - len(picked)
            samples = picked
        chosen.extend(samples)

    train, test = split(chosen, cfg.test_size, cfg.seed)
    if chosen and not train:
        report.warn(f"the training split is empty: --test-size {cfg.test_size:g} took all {len(chosen)} selected rows")
    elif cfg.test_size > 0 and chosen and not test:
        report.warn(f"the test split is empty: --test-size {cfg.test_size:g} of {len(chosen)} rows is less than "
                    "one row (or one whole dialogue)")
    t_augment = time.perf_counter()
    if cfg.augmentations.enabled:
        dedup = Deduplicator()  # every prompt of the output, so no derived sample repeats one
        for s in chosen:
            dedup.check(s)
        raw = ("toolrl",) if cfg.toolrl_gt == "raw" else ()
        train = apply_augmentations(train, cfg.augmentations, cfg.seed, "train", report, dedup, cfg.coerce, raw,
                                    cfg.output_format)
        if cfg.augmentations.on == "all":
            test = apply_augmentations(test, cfg.augmentations, cfg.seed, "test", report, dedup, cfg.coerce, raw,
                                       cfg.output_format)
    t_augment = time.perf_counter() - t_augment
    t2 = time.perf_counter()
    files: dict[str, list] = {}
    n_rows: dict[str, int] = {}
    for split_name, part, how in (("train", train, cfg.order), ("test", test, "random")):
        builder = TableBuilder(cfg.output_format, split_name, cfg.toolrl_gt,
                               cfg.agent_loop_executor if cfg.agent_loop else None)
        for sample, diff in order(part, how, cfg.seed, split_name):
            builder.add(sample, diff)
            report.source(sample.source).written[split_name] += 1
        files[f"{split_name}.parquet"] = [builder.table()]
        n_rows[split_name] = len(builder.sources)
        del builder
    report.check()
    t3 = time.perf_counter()
    report.outputs = {"train_rows": n_rows["train"], "test_rows": n_rows["test"]}
    report.timings = {"convert_s": round(t1 - t0, 3), "mix_split_s": round(t2 - t1 - t_augment, 3),
                      "augmentations_s": round(t_augment, 3), "rows_s": round(t3 - t2, 3)}
    paths = output.write(files, report.to_dict())
    report.timings["write_s"] = round(time.perf_counter() - t3, 3)  # not in report.json: it is written by then
    report.outputs.update(paths)
    return report
