"""Which augmentations run, at which rate, on which splits: :class:`AugmentationConfig`.

Each field is a typed option (:mod:`toolzero_verl.core.options`): its help text and default are
stated here once, ``toolzero-prep``'s flags are generated from them (:mod:`data_prep.cli`), and a
bad value fails on construction with one line naming the option.

>>> AugmentationConfig(name_mask_rate="0.5").enabled
True
>>> AugmentationConfig(hammer_mask_sources="xlam,toolace").hammer_mask_sources
('xlam', 'toolace')
>>> AugmentationConfig(hammer_mask_sources="xlm")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
toolzero_verl.core.options.ConfigError: option 'hammer_mask_sources' must be one of toolace, ...; got 'xlm'
"""

from __future__ import annotations

from dataclasses import dataclass

from toolzero_verl.core.options import Options, option

from ..mix import SOURCES

# Application order (docs/data.md §11); "derive" augmentations add samples, the masks rename in place.
AUGMENTATIONS = ("irrelevance", "concat", "hammer_mask", "name_mask", "reintroduce", "clarify", "correct")
MASKS = ("hammer_mask", "name_mask")
AUGMENTATION_SPLITS = ("train", "all")
# Hammer masks an item when random() > 1/3 (Hammer's train/data_processing.py); our default is off.
HAMMER_MASK_RATE = 2 / 3


def _rate(help_text: str) -> float:
    return option(0.0, min=0.0, max=1.0, metavar="R", help=help_text)


@dataclass(frozen=True)
class AugmentationConfig(Options):
    """Rates (0 = off, drawn per sample with the run's seed) of every augmentation; ``on`` = the splits
    they apply to. Fields are in ``toolzero-prep --help`` order."""

    name_mask_rate: float = _rate(
        "fraction of samples whose functions become func_1, func_2, ... and parameters param_1, ... (per function), "
        "consistently in tools, gold calls, possible_answers and history; descriptions stay")
    hammer_mask_rate: float = _rate(
        "fraction of samples masked the Hammer way: random 5-15 / 4-10 character names from [A-Za-z0-9_.] and "
        f"perturbed defaults (Hammer used {HAMMER_MASK_RATE:.2g})")
    hammer_mask_names: float = option(
        1.0, above=0.0, max=1.0, metavar="F",
        help="fraction of function and parameter names renamed in a Hammer-masked sample (1 = all)")
    hammer_mask_sources: tuple[str, ...] = option(
        (), choices=SOURCES, metavar="LIST",
        help=f"comma-separated sources Hammer masking may touch ({', '.join(SOURCES)}; e.g. xlam: ToolRL's "
        "'Hammer (masked)' rows are masked xLAM calls). Default: every source")
    irrelevance_rate: float = _rate(
        "fraction of call samples that also yield a no-call copy without their gold tools (answer []), skipped "
        "when a remaining tool could answer by name or none would remain")
    concat_rate: float = _rate(
        "multi-turn (a): fraction of single-turn call samples concatenated with a related sample of the same "
        "corpus (sharing a tool) into one dialogue")
    reintroduce_rate: float = _rate(
        "multi-turn (b): fraction of call samples turned into a 2-turn dialogue where the gold tools are missing "
        "(answer []) and then available again (the calls)")
    clarify_rate: float = _rate(
        "multi-turn (c): fraction of call samples whose required value is cut from the user turn: the target "
        "asks for it, then the user gives it and the target calls")
    correct_rate: float = _rate(
        "multi-turn (d): fraction of call samples whose history holds the calls with one error (call, argument "
        "or value) and their results; the target makes the fixing calls")
    on: str = option(
        "train", choices=AUGMENTATION_SPLITS, flag="--augmentations-on",
        help="apply the augmentations to the training split only or to both splits (all)")

    def rate(self, augmentation: str) -> float:
        return getattr(self, f"{augmentation}_rate")

    @property
    def enabled(self) -> bool:
        return any(self.rate(a) > 0 for a in AUGMENTATIONS)
