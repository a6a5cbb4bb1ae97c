"""``toolzero-prep``: convert ToolACE, xLAM-60k, Hammer and ToolRL data into verl parquet.

    toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \\
        --hammer xlam-7.5k-irrelevancek.json --mix toolrl --out data/toolzero
"""

from __future__ import annotations

import argparse
import sys

from toolzero_verl.core.formats import FORMATS

from .augmentations.apply import AUGMENTATION_SPLITS, AugmentationConfig
from .mix import PRESETS
from .pipeline import REQUIRED_POLICIES, PrepConfig, run
from .reader import CorpusFormatError
from .rows import GT_MODES
from .split import DIFFICULTY_WEIGHTS, ORDERS

EPILOG = """\
Outputs: OUT/train.parquet, OUT/test.parquet (verl RLHFDataset rows: data_source, prompt, ability,
reward_model{style, ground_truth}, extra_info{split, index, source, source_id, ...}) and OUT/report.json
(per source: read, written train/test, rejected by reason, deduplicated, conflicts, not selected;
read + derived = written + rejected + deduplicated + not selected; per augmentation: selected, applied,
derived, ineligible by reason). Files are replaced atomically.

Download the corpora yourself (docs/data.md): ToolACE data.json (Team-ACE/ToolACE, Apache-2.0);
xlam_function_calling_60k.json (Salesforce/xlam-function-calling-60k, CC-BY-4.0, gated);
xlam-7.5k-irrelevancek.json (MadeAgents/xlam-irrelevance-7.5k, CC-BY-4.0); ToolRL's
dataset/rlla_4k_raw/rlla_rl.json (qiancheng0/ToolRL).

Example: toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \\
           --hammer xlam-7.5k-irrelevancek.json --mix toolrl --out data/toolzero
"""


class _Deprecated(argparse.Action):
    """A renamed flag's old spelling: stores like the new one and says so on stderr."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"toolzero-prep: {option_string} is deprecated; use --{self.dest.replace('_', '-')}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="toolzero-prep",
        description="Convert tool-calling corpora (ToolACE, xLAM-60k, Hammer irrelevance, ToolRL rlla) into "
        "validated, deduplicated verl parquet for GG-GRPO / ToolRL / Tool-N1 training.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inp = p.add_argument_group("inputs (each optional, at least one)")
    inp.add_argument("--toolace", metavar="DATA_JSON", help="ToolACE data.json (multi-turn dialogues; tools in the system prompt)")
    inp.add_argument("--xlam", metavar="XLAM_JSON", help="xlam_function_calling_60k.json")
    inp.add_argument("--hammer", metavar="IRRELEVANCE_JSON", help="Hammer's xlam-7.5k-irrelevancek.json (no-call samples)")
    inp.add_argument("--toolrl", metavar="RLLA_JSON", help="ToolRL's rlla_rl.json ({instruction, input, output} records)")
    out = p.add_argument_group("output")
    out.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    out.add_argument("--output-format", default="answer", choices=sorted(FORMATS),
                     help="what the policy must write, rendered into the system prompt: answer (Tool Zero "
                     "<think>/<answer>[f(a=1)]), hermes (<tool_call> JSON, Qwen native), toolrl (ToolRL layout). "
                     "Default: answer")
    out.add_argument("--toolrl-gt", default="json", choices=GT_MODES,
                     help="ground truth of --toolrl rows: json (our SPEC schema, default) or raw (ToolRL's own output "
                     "string, to train reward=toolrl on ToolRL data exactly as released; its gold calls are then not "
                     "checked against the tool schemas, only parsed)")
    sel = p.add_argument_group("selection, split and order")
    sel.add_argument("--mix", metavar="SPEC",
                     help=f"samples per source: a preset ({', '.join(f'{k}: ' + ' / '.join(f'{n} {s}' for s, n in v.items()) for k, v in PRESETS.items())}) "
                     "or source=N (count) / source=F (fraction < 1), comma-separated, e.g. toolace=2000,xlam=0.1. "
                     "Sources not named keep everything. Default: everything")
    sel.add_argument("--test-size", type=float, default=0.05, metavar="X",
                     help="test split: a fraction below 1 or a number of rows (per source in proportion, whole "
                     "dialogues, no duplicate on both sides). Default: 0.05")
    sel.add_argument("--seed", type=int, default=42, help="seed for mixing, splitting, ordering and the augmentations. Default: 42")
    sel.add_argument("--order", default="random", choices=ORDERS,
                     help="training-row order: random (seeded shuffle) or difficulty (easy first; use with "
                     f"data.shuffle=False). difficulty = weighted sum {DIFFICULTY_WEIGHTS} of calls (a no-call turn "
                     "counts 1), gold arguments, offered tools, prior turns. Default: random")
    flt = p.add_argument_group("filters and validation")
    flt.add_argument("--max-prompt-tokens", type=int, metavar="N",
                     help="drop samples whose chat-templated prompt is longer than N tokens (reason prompt_too_long); "
                     "needs --tokenizer")
    flt.add_argument("--tokenizer", metavar="PATH", help="local tokenizer directory for --max-prompt-tokens (never downloaded)")
    flt.add_argument("--xlam-required", default="inferred", choices=REQUIRED_POLICIES,
                     help="which xLAM/Hammer parameters are required: inferred (not marked optional and no usable "
                     "default, default) or strict (not marked optional)")
    flt.add_argument("--no-coerce", dest="coerce", action="store_false",
                     help="reject gold values whose type differs from the schema instead of converting them "
                     "losslessly (\"10\" -> 10 for an integer, 10001 -> \"10001\" for a string)")
    dev = p.add_argument_group(
        "augmentations (Tool Zero; each off at rate 0, each sample drawn at the rate with --seed; applied to the "
        "training split after the split, see docs/data.md)")
    dev.add_argument("--name-mask-rate", type=float, default=0.0, metavar="R",
                     help="fraction of samples whose functions become func_1, func_2, ... and parameters param_1, ... "
                     "(per function), consistently in tools, gold calls, possible_answers and history; descriptions "
                     "stay. Default: 0")
    dev.add_argument("--hammer-mask-rate", type=float, default=0.0, metavar="R",
                     help="fraction of samples masked the Hammer way: random 5-15 / 4-10 character names from "
                     "[A-Za-z0-9_.] and perturbed defaults (Hammer used 2/3). Default: 0")
    dev.add_argument("--hammer-mask-names", type=float, default=1.0, metavar="F",
                     help="fraction of function and parameter names renamed in a Hammer-masked sample. Default: 1 (all)")
    dev.add_argument("--hammer-mask-sources", default="", metavar="LIST",
                     help="comma-separated sources Hammer masking may touch (e.g. xlam: ToolRL's 'Hammer (masked)' "
                     "rows are masked xLAM calls). Default: every source")
    dev.add_argument("--irrelevance-rate", type=float, default=0.0, metavar="R",
                     help="fraction of call samples that also yield a no-call copy without their gold tools (answer []), "
                     "skipped when a remaining tool could answer by name or none would remain. Default: 0")
    dev.add_argument("--concat-rate", type=float, default=0.0, metavar="R",
                     help="multi-turn (a): fraction of single-turn call samples concatenated with a related sample "
                     "of the same corpus (sharing a tool) into one dialogue. Default: 0")
    dev.add_argument("--reintroduce-rate", type=float, default=0.0, metavar="R",
                     help="multi-turn (b): fraction of call samples turned into a 2-turn dialogue where the gold "
                     "tools are missing (answer []) and then available again (the calls). Default: 0")
    dev.add_argument("--clarify-rate", type=float, default=0.0, metavar="R",
                     help="multi-turn (c): fraction of call samples whose required value is cut from the user turn: "
                     "the target asks for it, then the user gives it and the target calls. Default: 0")
    dev.add_argument("--correct-rate", type=float, default=0.0, metavar="R",
                     help="multi-turn (d): fraction of call samples whose history holds the calls with one error "
                     "(call, argument or value) and their results; the target makes the fixing calls. Default: 0")
    dev.add_argument("--augmentations-on", default="train", choices=AUGMENTATION_SPLITS,
                     help="apply the augmentations to the training split only (default) or to both splits")
    dev.add_argument("--devices-on", dest="augmentations_on", choices=AUGMENTATION_SPLITS, action=_Deprecated,
                     help=argparse.SUPPRESS)  # the old name, kept working
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--quiet", action="store_true", help="do not print the report table")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    test_size = int(args.test_size) if args.test_size >= 1 else args.test_size
    cfg = PrepConfig(
        out=args.out, toolace=args.toolace, xlam=args.xlam, hammer=args.hammer, toolrl=args.toolrl,
        output_format=args.output_format, mix=args.mix, test_size=test_size, seed=args.seed, order=args.order,
        max_prompt_tokens=args.max_prompt_tokens, tokenizer=args.tokenizer, xlam_required=args.xlam_required,
        coerce=args.coerce, toolrl_gt=args.toolrl_gt, progress=args.progress,
        augmentations=AugmentationConfig(
            irrelevance_rate=args.irrelevance_rate, concat_rate=args.concat_rate, hammer_mask_rate=args.hammer_mask_rate,
            hammer_mask_names=args.hammer_mask_names,
            hammer_mask_sources=tuple(x.strip() for x in args.hammer_mask_sources.split(",") if x.strip()), name_mask_rate=args.name_mask_rate,
            reintroduce_rate=args.reintroduce_rate, clarify_rate=args.clarify_rate, correct_rate=args.correct_rate,
            on=args.augmentations_on),
    )
    try:
        report = run(cfg)
    except (ValueError, CorpusFormatError) as exc:
        print(f"toolzero-prep: error: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(report.table())
        print(f"wrote {report.outputs['train.parquet']} ({report.outputs['train_rows']} rows), "
              f"{report.outputs['test.parquet']} ({report.outputs['test_rows']} rows), {report.outputs['report.json']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
