"""``toolzero-eval``: score generations with the training scorer, on held-out parquet or BFCL data.

Subcommands::

    toolzero-eval score --data test.parquet --generations gen.jsonl [--reward gg_grpo]
    toolzero-eval bfcl-prompts --bfcl-dir DIR --output-format answer --out bfcl.parquet
    toolzero-eval bfcl --bfcl-dir DIR --output-format answer --generations gen.jsonl
    toolzero-eval generate --data prompts.parquet --model CKPT --out gen.jsonl      (needs vLLM)

``score`` and ``bfcl`` take ``--generate --model CKPT`` to generate first (into ``--generations``).
Exit status: 0 done, 2 bad input (missing file, unknown option), 3 generation unavailable (no vLLM).

>>> build_parser().parse_args(["bfcl-prompts", "--bfcl-dir", "d", "--out", "p.parquet"]).output_format
'answer'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from toolzero_verl.core.formats import FORMATS
from toolzero_verl.rewards import REWARDS, get_reward
from toolzero_verl.rewards.scoring import DEFAULT_REWARD

EXIT_BAD_INPUT = 2
EXIT_NO_GENERATOR = 3


class InputError(Exception):
    """A user-facing input problem: printed without a traceback, exit status 2."""


def _reward_kwarg(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)  # numbers, booleans, null; anything else stays a string
    except ValueError:
        value = raw
    return key.strip(), value


def _add_scoring(p: argparse.ArgumentParser, required_format: bool) -> None:
    get_reward(DEFAULT_REWARD)  # loads the built-in rewards so their names are listed
    p.add_argument("--generations", required=True, metavar="JSONL",
                   help="model outputs, one JSON object per line: {\"index\"|\"id\": ..., \"response\": \"...\"} "
                        "(docs/eval.md); written here first with --generate")
    p.add_argument("--reward", default=DEFAULT_REWARD, choices=sorted(REWARDS),
                   help=f"reward whose components are reported (default {DEFAULT_REWARD}); "
                        "strict accuracy is the same for every reward")
    if required_format:  # BFCL rows are rebuilt here, so nothing records the prompted format
        p.add_argument("--output-format", required=True, choices=sorted(FORMATS),
                       help="format the model was prompted to write (the one given to bfcl-prompts)")
    else:
        p.add_argument("--output-format", choices=sorted(FORMATS),
                       help="format the model was prompted to write "
                            "(default: each row's extra_info.output_format, else the reward's default)")
    p.add_argument("--reward-kwarg", action="append", type=_reward_kwarg, default=[], metavar="KEY=VALUE",
                   help="extra reward option, repeatable (e.g. matching=optimal); values are parsed as JSON when possible")
    p.add_argument("--partial", action="store_true",
                   help="leave out rows without a generation (default: count them as failures, error no_generation)")
    p.add_argument("--json-out", metavar="PATH",
                   help="where to write the metrics JSON (default: next to --generations, *.metrics.json / *.bfcl.json)")
    p.add_argument("--max-failures", type=int, default=50, metavar="N",
                   help="failing responses listed in the printed report (all are in the JSON; default 50)")
    _add_generation(p, optional=True)


def _add_generation(p: argparse.ArgumentParser, optional: bool) -> None:
    from .generate import SamplingSettings

    d = SamplingSettings()
    g = p.add_argument_group("generation with vLLM" + (" (--generate)" if optional else ""))
    if optional:
        g.add_argument("--generate", action="store_true", help="generate with vLLM first, writing --generations")
    g.add_argument("--model", metavar="PATH", required=not optional, help="checkpoint (HF format) to generate with")
    g.add_argument("--temperature", type=float, default=d.temperature, help=f"default {d.temperature} (greedy)")
    g.add_argument("--top-p", type=float, default=d.top_p, help=f"default {d.top_p}")
    g.add_argument("--top-k", type=int, default=d.top_k, help=f"default {d.top_k} (off)")
    g.add_argument("--max-tokens", type=int, default=d.max_tokens, help=f"new tokens per response (default {d.max_tokens})")
    g.add_argument("--n", type=int, default=d.n, help="samples per prompt; metrics average over them (default 1)")
    g.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    g.add_argument("--tensor-parallel-size", type=int, default=1, help="GPUs per model (default 1)")
    g.add_argument("--dtype", default="auto", help="default auto")
    g.add_argument("--max-model-len", type=int, default=None, help="default: the model's")
    g.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="default 0.9")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="toolzero-eval",
        description="Evaluate tool-calling checkpoints with the same parser, AST checker and rewards as training: "
                    "held-out parquet (from toolzero-prep) or BFCL-format data.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("score", help="score generations against parquet rows; per data_source and category",
                       description="Join generations to parquet rows (by extra_info.index or id), score them and "
                                   "print accuracy, reward component means, parse failures and error types.")
    p.add_argument("--data", required=True, metavar="PARQUET", help="verl parquet (toolzero-prep or bfcl-prompts)")
    _add_scoring(p, required_format=False)

    p = sub.add_parser("bfcl-prompts", help="render BFCL questions into our prompts (parquet)",
                       description="Render BFCL single-turn questions into the training prompt of an output format.")
    p.add_argument("--bfcl-dir", required=True, metavar="DIR", help="folder with BFCL_v3_<category>.json and possible_answer/")
    p.add_argument("--output-format", default="answer", choices=sorted(FORMATS), help="default answer")
    p.add_argument("--out", required=True, metavar="PARQUET")
    p.add_argument("--categories", metavar="LIST", help="comma-separated subset (default: every scored category present)")

    p = sub.add_parser("bfcl", help="BFCL per-category accuracy and the v3 summary",
                       description="Score generations for BFCL questions (joined by BFCL id) per category, with "
                                   "the BFCL v3 summary and error types.")
    p.add_argument("--bfcl-dir", required=True, metavar="DIR")
    p.add_argument("--categories", metavar="LIST", help="comma-separated subset (default: every scored category present)")
    _add_scoring(p, required_format=True)

    p = sub.add_parser("generate", help="generate a generations JSONL with vLLM",
                       description="Generate responses for parquet prompts with vLLM (greedy by default).")
    p.add_argument("--data", required=True, metavar="PARQUET")
    p.add_argument("--out", required=True, metavar="JSONL")
    _add_generation(p, optional=False)
    return parser


# --- commands ---------------------------------------------------------------------------------------


def _settings(args):
    from .generate import EngineSettings, SamplingSettings

    if not args.model:
        raise InputError("--generate needs --model PATH")
    engine = EngineSettings(args.model, args.tensor_parallel_size, args.dtype, args.max_model_len,
                            args.gpu_memory_utilization)
    sampling = SamplingSettings(args.temperature, args.top_p, args.top_k, args.max_tokens, args.n, args.seed)
    return engine, sampling


def _generate(rows, args, out_path) -> None:
    from .generate import generate

    engine, sampling = _settings(args)
    n = generate(rows, engine, sampling, out_path)
    print(f"wrote {n} generation(s) to {out_path}", file=sys.stderr)


def _options(args):
    from .score import ScoreOptions

    return ScoreOptions(args.reward, args.output_format, tuple(args.reward_kwarg), args.partial)


def _read_gens(path: str):
    from .generations import read_generations

    if not Path(path).is_file():
        raise InputError(f"generations file not found: {path} (use --generate --model PATH to create it)")
    return read_generations(path)


def _json_out(args, suffix: str) -> Path:
    if args.json_out:
        return Path(args.json_out)
    gen = Path(args.generations)
    return gen.with_name(gen.stem + suffix)


def cmd_score(args) -> int:
    from .score import format_report, load_rows, score_rows, write_json

    if not Path(args.data).is_file():
        raise InputError(f"data file not found: {args.data}")
    rows = load_rows(args.data)
    if args.generate:
        _generate(rows, args, args.generations)
    report = score_rows(rows, _read_gens(args.generations), _options(args))
    print(format_report(report, args.max_failures))
    out = _json_out(args, ".metrics.json")
    write_json(report.to_dict(), out)
    print(f"\nmetrics JSON: {out}")
    return 0


def _categories(args) -> list[str] | None:
    return [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None


def _load_bfcl(args):
    from .bfcl import load_bfcl

    try:
        return load_bfcl(args.bfcl_dir, _categories(args))
    except FileNotFoundError as exc:
        raise InputError(str(exc)) from None


def cmd_bfcl_prompts(args) -> int:
    from collections import Counter

    from .bfcl import build_rows, write_rows

    data = _load_bfcl(args)
    rows = build_rows(data.entries, args.output_format)
    write_rows(rows, args.out)
    per_cat = Counter(e.category for e in data.entries)
    print(f"wrote {len(rows)} BFCL {data.version} prompts (output_format={args.output_format}) to {args.out}: "
          + ", ".join(f"{c} {n}" for c, n in per_cat.items()))
    if data.skipped_files:
        print(f"not rendered (not single-turn python): {', '.join(data.skipped_files)}")
    return 0


def cmd_bfcl(args) -> int:
    from .bfcl import bfcl_json, build_rows, category_results, format_bfcl
    from .score import score_rows, write_json

    data = _load_bfcl(args)
    rows = build_rows(data.entries, args.output_format, with_prompt=args.generate)
    if args.generate:
        _generate(rows, args, args.generations)
    report = score_rows(rows, _read_gens(args.generations), _options(args))
    results = category_results(report)
    print(format_bfcl(report, results, data, args.max_failures))
    out = _json_out(args, ".bfcl.json")
    write_json(bfcl_json(report, results, data), out)
    print(f"\nmetrics JSON: {out}")
    return 0


def cmd_generate(args) -> int:
    from .score import load_rows

    if not Path(args.data).is_file():
        raise InputError(f"data file not found: {args.data}")
    _generate(load_rows(args.data), args, args.out)
    return 0


COMMANDS = {"score": cmd_score, "bfcl-prompts": cmd_bfcl_prompts, "bfcl": cmd_bfcl, "generate": cmd_generate}


def main(argv: Sequence[str] | None = None) -> int:
    from .generate import GenerationUnavailable

    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except GenerationUnavailable as exc:
        print(f"toolzero-eval: {exc}", file=sys.stderr)
        return EXIT_NO_GENERATOR
    except (InputError, ValueError, OSError) as exc:
        print(f"toolzero-eval {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
