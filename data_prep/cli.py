"""``toolzero-prep``: convert ToolACE, xLAM-60k, Hammer and ToolRL data into verl parquet.

    toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \\
        --hammer xlam-7.5k-irrelevancek.json --mix toolrl --out data/toolzero

The flags are generated from :class:`data_prep.config.PrepConfig` and
:class:`data_prep.augmentations.config.AugmentationConfig` (help text and defaults live there);
this module only groups them. Bad options and paths exit with status 2 and one line, before any work.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

from toolzero_verl.core.options import add_arguments, from_arguments

from .augmentations.config import AugmentationConfig
from .config import PrepConfig
from .pipeline import run
from .reader import CorpusFormatError

EPILOG = """\
Outputs: OUT/train.parquet, OUT/test.parquet (verl RLHFDataset rows: data_source, prompt, ability,
reward_model{style, ground_truth}, extra_info{split, index, source, source_id, ...}) and OUT/report.json
(per source: read, written train/test, rejected by reason, deduplicated, conflicts, not selected;
read + derived = written + rejected + deduplicated + not selected; per augmentation: selected, applied,
derived, ineligible by reason). The three files are replaced together, atomically (docs/data.md §6).

Download the corpora yourself (docs/data.md): ToolACE data.json (Team-ACE/ToolACE, Apache-2.0);
xlam_function_calling_60k.json (Salesforce/xlam-function-calling-60k, CC-BY-4.0, gated);
xlam-7.5k-irrelevancek.json (MadeAgents/xlam-irrelevance-7.5k, CC-BY-4.0); ToolRL's
dataset/rlla_4k_raw/rlla_rl.json (qiancheng0/ToolRL).

Example: toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \\
           --hammer xlam-7.5k-irrelevancek.json --mix toolrl --out data/toolzero
"""

# --help groups: PrepConfig fields per group, in order.
GROUPS = (
    ("inputs (each optional, at least one)", ("toolace", "xlam", "hammer", "toolrl")),
    ("output", ("out", "output_format", "toolrl_gt")),
    ("selection, split and order", ("mix", "test_size", "seed", "order")),
    ("filters and validation", ("max_prompt_tokens", "tokenizer", "xlam_required", "coerce")),
    ("multi-turn episodes for verl's agent loop (docs/multiturn.md)", ("agent_loop", "agent_loop_executor")),
)
AUGMENTATIONS_TITLE = (
    "augmentations (Tool Zero; each off at rate 0, each sample drawn at the rate with --seed; applied to the "
    "training split after the split, see docs/data.md §11)")
AUGMENTATIONS_PREFIX = "augmentations."  # argparse destinations of AugmentationConfig's flags
RENAMED_FLAGS = {"--devices-on": "on"}  # old flag -> AugmentationConfig field; still accepted, with a note


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, not the usage block: ``toolzero-prep: error: …``, exit status 2."""
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="toolzero-prep",
        description="Convert tool-calling corpora (ToolACE, xLAM-60k, Hammer irrelevance, ToolRL rlla) into "
        "validated, deduplicated verl parquet for GG-GRPO / ToolRL / Tool-N1 training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    for title, names in GROUPS:
        add_arguments(p.add_argument_group(title), PrepConfig, only=names)
    add_arguments(p.add_argument_group(AUGMENTATIONS_TITLE), AugmentationConfig, prefix=AUGMENTATIONS_PREFIX,
                  renamed=RENAMED_FLAGS)
    add_arguments(p, PrepConfig, only=("progress",))
    p.add_argument("--quiet", action="store_true", help="do not print the report table")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        augmentations = from_arguments(AugmentationConfig, args, prefix=AUGMENTATIONS_PREFIX)
        cfg = from_arguments(PrepConfig, args, augmentations=augmentations)
        report = run(cfg)
    except (ValueError, CorpusFormatError) as exc:  # ConfigError is a ValueError
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    for warning in report.warnings:
        print(f"{parser.prog}: warning: {warning}", file=sys.stderr)
    if not args.quiet:
        print(report.table())
        print(f"wrote {report.outputs['train.parquet']} ({report.outputs['train_rows']} rows), "
              f"{report.outputs['test.parquet']} ({report.outputs['test_rows']} rows), {report.outputs['report.json']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
