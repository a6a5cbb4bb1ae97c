"""Tool Zero's data augmentations, applied to a split after mixing and splitting (so nothing derived from
a test sample reaches train): irrelevance relabelling, the four multi-turn augmentations, Hammer's
function masking and Tool Zero's name masking, each with its own rate and the shared ``--seed``.

Order of application (each step sees the samples as the steps before left them):

1. ``irrelevance`` and ``concat`` derive new samples from the original samples;
2. ``hammer_mask`` then ``name_mask`` rename, in place, originals and the samples of step 1
   (a sample gets at most one of the two masks; a derived dialogue is masked as a whole);
3. ``reintroduce``, ``clarify`` and ``correct`` derive new samples from the (possibly masked)
   originals, so the text they write (quoted function names, the parameter asked for) already
   uses the final names.

A sample is *selected* for an augmentation with probability ``rate`` by a hash of ``seed``, the augmentation,
the split and the sample's id (the augmentation's random choices then use a generator seeded with the
same key), so the outcome does not depend on the order or number of other samples, and the same
inputs and seed give the same rows. A selected sample that
the augmentation cannot use is counted as ``ineligible`` (by reason). Every produced sample is validated
(:func:`data_prep.validate.validate`) and checked against every prompt already in the output
(:class:`data_prep.dedup.Deduplicator`); a duplicate is dropped and counted as ``duplicates``.
Derived samples keep their parent's ``data_source`` and are counted per source and augmentation as
``derived`` in the report, which reconciles ``read + derived = written + rejected + deduplicated
+ not_selected``; ``extra_info.augmentation`` names the augmentations a row went through.

>>> from pathlib import Path
>>> import tempfile
>>> from data_prep.pipeline import PrepConfig, run
>>> ex = Path(__file__).resolve().parents[2] / "examples" / "data" / "xlam_function_calling_60k.json"
>>> report = run(PrepConfig(out=tempfile.mkdtemp(), xlam=str(ex), progress=False,
...                         augmentations=AugmentationConfig(irrelevance_rate=1.0, name_mask_rate=0.5)))
>>> report.augmentations["irrelevance"].derived == report.sources["xlam"].derived["irrelevance"] > 0
True
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from typing import Callable, Iterable, Sequence

from .. import reasons as R
from ..answerable import answer_key_failure
from ..dedup import Deduplicator
from ..report import Report
from ..sample import Sample
from ..validate import validate
from . import irrelevance, masking, multi_turn
from .config import MASKS, AugmentationConfig

RAW_GROUND_TRUTH = masking.RAW_GROUND_TRUTH  # ToolRL rows kept with --toolrl-gt raw are never rewritten


def tag(sample: Sample, augmentation: str) -> Sample:
    """Record ``augmentation`` in ``extra["augmentation"]``; drop ToolRL's raw target (it no longer fits)."""
    extra = dict(sample.extra)
    extra.pop("toolrl_output", None)
    prior = extra.get("augmentation", "")
    extra["augmentation"] = f"{prior}+{augmentation}" if prior else augmentation
    return replace(sample, extra=tuple(extra.items()))


class _Run:
    """One application of the augmentations to one split."""

    def __init__(self, cfg: AugmentationConfig, seed: int, split: str, report: Report, dedup: Deduplicator,
                 coerce: bool, raw_sources: Iterable[str], output_format: str) -> None:
        self.cfg, self.seed, self.split, self.report, self.dedup = cfg, seed, split, report, dedup
        self.coerce, self.raw, self.output_format = coerce, frozenset(raw_sources), output_format
        self.derived: list[Sample] = []

    def unanswerable(self, samples: Sequence[Sample]) -> bool:
        """Would any of these rows fail its own answer key in the output format (data_prep.answerable)?"""
        return any(answer_key_failure(s, self.output_format) is not None for s in samples)

    def select(self, augmentation: str, sample: Sample) -> random.Random | None:
        """The augmentation's generator for this sample if the sample is selected, else ``None``."""
        stats = self.report.augmentation(augmentation, self.cfg.rate(augmentation))
        stats.considered += 1
        key = f"{self.seed}:{augmentation}:{self.split}:{sample.source}:{sample.source_id}".encode()
        # The draw is a hash of the key (cheap for the many samples not selected); a selected sample
        # gets its own generator seeded with the same key for the augmentation's random choices.
        if int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64 >= self.cfg.rate(augmentation):
            return None
        rng = random.Random(key)
        stats.selected += 1
        if sample.source in self.raw:
            stats.ineligible[RAW_GROUND_TRUTH] += 1
            return None
        return rng

    def emit(self, augmentation: str, parent: Sample, produced: Sample | Sequence[Sample] | str) -> None:
        stats = self.report.augmentation(augmentation)
        if isinstance(produced, str):
            stats.ineligible[produced] += 1
            return
        items = [produced] if isinstance(produced, Sample) else list(produced)
        checked = [validate(tag(s, augmentation), self.coerce) for s in items]
        if any(c.rejected is not None for c in checked):  # a bug in an augmentation, never data: counted, not written
            stats.invalid += 1
            return
        if self.unanswerable([c.sample for c in checked]):
            stats.ineligible[R.UNANSWERABLE] += 1
            return
        kept = 0
        for c in checked:
            if self.dedup.check(c.sample) is not None:
                stats.duplicates += 1
                continue
            self.derived.append(c.sample)
            self.report.source(parent.source).derived[augmentation] += 1
            stats.derived += 1
            kept += 1
        stats.applied += kept > 0

    def derive(self, augmentation: str, samples: Sequence[Sample],
               make: Callable[[Sample, random.Random], object]) -> None:
        if self.cfg.rate(augmentation) <= 0:
            return
        for s in samples:
            rng = self.select(augmentation, s)
            if rng is not None:
                self.emit(augmentation, s, make(s, rng))

    def mask(self, augmentation: str, samples: list[Sample], skip: set[int]) -> None:
        """Rename in place the selected samples (their positions go into ``skip``)."""
        if self.cfg.rate(augmentation) <= 0:
            return
        stats = self.report.augmentation(augmentation, self.cfg.rate(augmentation))
        sources = self.cfg.hammer_mask_sources if augmentation == "hammer_mask" else ()
        for i, s in enumerate(samples):
            if i in skip or (sources and s.source not in sources):
                continue
            rng = self.select(augmentation, s)
            if rng is None:
                continue
            try:
                if augmentation == "hammer_mask":
                    renaming = masking.hammer_renaming(s, rng, self.cfg.hammer_mask_names)
                else:
                    renaming = masking.tool_zero_renaming(s)
            except masking.UnmaskableSample as exc:
                stats.ineligible[str(exc)] += 1
                continue
            if not renaming.changes:
                stats.ineligible[masking.NOTHING_TO_RENAME] += 1
                continue
            checked = validate(tag(masking.apply_renaming(s, renaming), augmentation), self.coerce)
            if checked.rejected is not None:
                stats.invalid += 1
                continue
            if self.unanswerable([checked.sample]):  # e.g. a random Hammer name the format cannot carry
                stats.ineligible[R.UNANSWERABLE] += 1
                continue
            samples[i] = checked.sample
            skip.add(i)
            stats.applied += 1
            self.report.source(s.source).masked[augmentation] += 1

    def concat_all(self, originals: Sequence[Sample]) -> None:
        if self.cfg.concat_rate <= 0:
            return
        pool = [s for s in originals if multi_turn.concat_eligible(s) is None and s.source not in self.raw]
        by_tool: dict[str, list[int]] = {}
        for i, s in enumerate(pool):
            for name in s.tool_names:
                by_tool.setdefault(name, []).append(i)

        def make(s: Sample, rng: random.Random):
            reason = multi_turn.concat_eligible(s)
            if reason:
                return reason
            partner = multi_turn.pick_partner(s, pool, by_tool, rng)
            return multi_turn.NO_RELATED_SAMPLE if partner is None else multi_turn.concat(s, partner)

        self.derive("concat", originals, make)


def apply_augmentations(samples: Sequence[Sample], cfg: AugmentationConfig, seed: int, split: str, report: Report,
                        dedup: Deduplicator, coerce: bool = True, raw_sources: Iterable[str] = (),
                        output_format: str = "answer") -> list[Sample]:
    """The split's samples after every enabled augmentation: originals (possibly masked), then derived ones.

    ``dedup`` must already hold every sample of the output (all splits), so that no derived sample
    repeats a prompt on either side; ``raw_sources`` are sources whose ground truth is kept as
    released (``--toolrl-gt raw``) and are never rewritten; every row produced must be answerable by
    its own reference in ``output_format`` (:mod:`data_prep.answerable`).
    """
    run = _Run(cfg, seed, split, report, dedup, coerce, raw_sources, output_format)
    originals = list(samples)
    run.derive("irrelevance", originals, lambda s, rng: irrelevance.relabel(s))
    run.concat_all(originals)
    first = len(originals)
    everything = originals + run.derived
    run.derived = []
    masked: set[int] = set()
    for augmentation in MASKS:
        run.mask(augmentation, everything, masked)
    originals = everything[:first]
    run.derive("reintroduce", originals, lambda s, rng: multi_turn.reintroduce(s))
    run.derive("clarify", originals, multi_turn.clarify)
    run.derive("correct", originals, multi_turn.correct)
    return everything + run.derived
