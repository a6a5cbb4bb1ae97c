"""``toolzero-eval``: from a checkpoint to numbers, with the training scorer and with BFCL's own evaluator.

Subcommands (docs/eval.md)::

    toolzero-eval merge --checkpoint CKPT/global_step_N [--out HF_DIR]      verl FSDP actor -> HF (needs verl)
    toolzero-eval generate --data prompts.parquet --model HF_DIR --out gen.jsonl     (needs vLLM)
    toolzero-eval score --data test.parquet --generations gen.jsonl [--reward gg_grpo]
    toolzero-eval bfcl-prompts --bfcl-dir DIR --output-format answer --out bfcl.parquet
    toolzero-eval bfcl --bfcl-dir DIR --output-format answer --generations gen.jsonl
    toolzero-eval bfcl-official generate|evaluate ...                    BFCL's own pipeline (needs bfcl-eval)
    toolzero-eval compare A.json B.json        two metrics files, refused when their settings differ
    toolzero-eval merge-metrics A.json B.json --out AB.json     disjoint BFCL categories of one run
    toolzero-eval curves RUN [--out DIR] [--table]   a training run's logged metrics -> PNGs + summary

``score`` and ``bfcl`` take ``--generate --model CKPT`` to generate first (into ``--generations``).
Exit status: 0 done, 2 bad input (a path, an option or a file that cannot be used: one line on stderr
naming it), 3 an optional dependency is missing (vLLM, verl, bfcl-eval or matplotlib; the message says what to
do).

>>> build_parser().parse_args(["bfcl-prompts", "--bfcl-dir", "d", "--out", "p.parquet"]).output_format
'answer'
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence

from toolzero_verl.core.formats import FORMATS
from toolzero_verl.core.options import ConfigError
from toolzero_verl.eval.paths import InputError, input_dir, input_file, output_file
from toolzero_verl.rewards import REWARDS, get_reward
from toolzero_verl.rewards.scoring import DEFAULT_REWARD

EXIT_GENERATION_FAILED = 1  # generate: some episodes failed in the engine; the file holds the others
EXIT_BAD_INPUT = 2
EXIT_MISSING_DEPENDENCY = 3
EXIT_NO_GENERATOR = EXIT_MISSING_DEPENDENCY  # the name older callers use


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (``prog: error: ...``) instead of usage + error, still exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _reward_kwarg(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        value = json.loads(raw)  # numbers, booleans, null; anything else stays a string
    except (ValueError, RecursionError):
        value = raw
    if not key.strip():
        raise argparse.ArgumentTypeError(f"empty KEY in {text!r}")
    return key.strip(), value


def _add_scoring(p: argparse.ArgumentParser, required_format: bool) -> None:
    get_reward(DEFAULT_REWARD)  # loads the built-in rewards so their names are listed
    p.add_argument("--generations", required=True, metavar="JSONL",
                   help="model outputs, one JSON object per line: {\"index\"|\"id\": ..., \"response\": \"...\"} "
                        "(docs/eval.md), or {..., \"turns\": [...]} for episode rows (docs/multiturn.md); "
                        "written here first with --generate")
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
                   help="extra reward option, repeatable (e.g. matching=optimal); values are parsed as JSON when "
                        "possible; reward and output_format have their own flags")
    p.add_argument("--partial", action="store_true",
                   help="leave out rows without a generation (default: count them as failures, error no_generation)")
    p.add_argument("--json-out", metavar="PATH",
                   help="where to write the metrics JSON "
                        "(default: next to --generations, *.metrics.json / *.bfcl.json)")
    p.add_argument("--max-failures", type=_non_negative_int, default=50, metavar="N",
                   help="failing responses listed in the printed report (all are in the JSON; default 50)")
    _add_generation(p, optional=True)


def _add_generation(p: argparse.ArgumentParser, optional: bool) -> None:
    from .generate import DTYPES, EngineSettings, SamplingSettings

    d = SamplingSettings()
    e = {f: EngineSettings.__dataclass_fields__[f].default for f in EngineSettings.__dataclass_fields__}
    g = p.add_argument_group("generation with vLLM" + (" (--generate)" if optional else ""))
    if optional:
        g.add_argument("--generate", action="store_true", help="generate with vLLM first, writing --generations")
    g.add_argument("--model", metavar="PATH", required=not optional, help="checkpoint (HF format) to generate with")
    g.add_argument("--temperature", type=float, default=d.temperature, help=f"default {d.temperature} (greedy)")
    g.add_argument("--top-p", type=float, default=d.top_p, help=f"default {d.top_p}")
    g.add_argument("--top-k", type=int, default=d.top_k, help=f"default {d.top_k} (off)")
    g.add_argument("--max-tokens", type=int, default=d.max_tokens,
                   help=f"new tokens per response (default {d.max_tokens})")
    g.add_argument("--n", type=int, default=d.n, help="samples per prompt; metrics average over them (default 1)")
    g.add_argument("--seed", type=int, default=d.seed, help=f"default {d.seed}")
    g.add_argument("--tensor-parallel-size", type=int, default=e["tensor_parallel_size"],
                   help="GPUs per model (default 1)")
    g.add_argument("--dtype", default=e["dtype"], choices=DTYPES, help="default auto")
    g.add_argument("--max-model-len", type=int, default=None, help="default: the model's")
    g.add_argument("--gpu-memory-utilization", type=float, default=e["gpu_memory_utilization"], help="default 0.9")
    g.add_argument("--chat-template-kwargs", metavar="JSON", default=None,
                   help="chat-template keywords of the training run (verl's data.apply_chat_template_kwargs), "
                        "e.g. '{\"enable_thinking\": false}' for Qwen3 without thinking")
    g.add_argument("--chat-template", metavar="FILE", default=None,
                   help="Jinja chat template to use instead of the checkpoint's (a base model that ships none: "
                        "the one training used, actor_rollout_ref.model.custom_chat_template)")
    g.add_argument("--enforce-eager", action="store_true",
                   help="no CUDA graphs or torch.compile warm-up (vLLM's CPU build: saves a ~45 s compile)")
    g.add_argument("--save-prompts", action="store_true",
                   help="also write each row's prompt text and the token ids vLLM was given into its lines "
                        "(prompt, prompt_token_ids; episodes also response_token_ids and response_mask: the "
                        "episode's final token stream; ignored when scoring)")
    _add_episode_options(p)


def _add_episode_options(p: argparse.ArgumentParser) -> None:
    """The agent loop's settings for episode rows; defaults: recipes/qwen7b_ggrpo_multiturn.sh's values."""
    from .episode_generate import EpisodeSettings

    fields = EpisodeSettings.__dataclass_fields__
    g = p.add_argument_group("episode rows (toolzero-prep --agent-loop): the toolzero_agent loop's settings")
    for name in ("max_assistant_turns", "max_user_turns", "max_parallel_calls", "max_tool_response_length",
                 "max_prompt_length", "response_length", "concurrency"):
        f = fields[name]
        g.add_argument("--" + name.replace("_", "-"), type=int, default=f.default,
                       help=f"{f.metadata.get('help', '')} (default {f.default})")
    f = fields["tool_response_truncate_side"]
    g.add_argument("--tool-response-truncate-side", default=f.default, help=f"{f.metadata.get('help', '')} "
                   f"(default {f.default})")
    g.add_argument("--executor-module", action="append", default=[], metavar="MODULE", dest="executor_modules",
                   help="module registering a user executor that rows name (repeatable; docs/multiturn.md)")


def _add_bfcl_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--bfcl-dir", required=True, metavar="DIR",
                   help="folder with BFCL_v<N>_<category>.json and possible_answer/ (BFCL's bfcl_eval/data)")
    p.add_argument("--categories", metavar="LIST",
                   help="comma-separated subset (default: every scored category present)")
    p.add_argument("--bfcl-version", type=int, choices=(3, 4),
                   help="read only BFCL_v<N>_ files (needed when a folder holds both versions of a category)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="toolzero-eval",
        description="Evaluate tool-calling checkpoints with the same parser, AST checker and rewards as training "
                    "(held-out parquet or BFCL data), or with BFCL's own evaluator.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    from . import compare as cmp
    from . import curves, merge, official

    merge.add_parsers(sub)

    p = sub.add_parser("score", help="score generations against parquet rows; per data_source and category",
                       description="Join generations to parquet rows (by extra_info.index or id), score them and "
                                   "print accuracy, reward component means, parse failures and error types.")
    p.add_argument("--data", required=True, metavar="PARQUET", help="verl parquet (toolzero-prep or bfcl-prompts)")
    _add_scoring(p, required_format=False)

    p = sub.add_parser("bfcl-prompts", help="render BFCL questions into our prompts (parquet)",
                       description="Render BFCL single-turn questions into the training prompt of an output format.")
    _add_bfcl_dir(p)
    p.add_argument("--output-format", default="answer", choices=sorted(FORMATS), help="default answer")
    p.add_argument("--out", required=True, metavar="PARQUET")

    p = sub.add_parser("bfcl", help="BFCL per-category accuracy and the v3 summary",
                       description="Score generations for BFCL questions (joined by BFCL id) per category, with "
                                   "the BFCL v3 summary and error types.")
    _add_bfcl_dir(p)
    _add_scoring(p, required_format=True)

    p = sub.add_parser("generate", help="generate a generations JSONL with vLLM",
                       description="Generate responses for parquet prompts with vLLM (greedy by default); also "
                                   "writes <out stem>.manifest.json (sampling, chat-template hash, model, step).")
    p.add_argument("--data", required=True, metavar="PARQUET")
    p.add_argument("--out", required=True, metavar="JSONL")
    _add_generation(p, optional=False)

    official.add_parsers(sub)
    cmp.add_parsers(sub)
    curves.add_parsers(sub)
    return parser


# --- commands ---------------------------------------------------------------------------------------


def _settings(args):
    from .generate import EngineSettings, SamplingSettings

    if not args.model:
        raise InputError("--generate needs --model PATH")
    engine = EngineSettings(model=args.model, tensor_parallel_size=args.tensor_parallel_size, dtype=args.dtype,
                            max_model_len=args.max_model_len, gpu_memory_utilization=args.gpu_memory_utilization,
                            enforce_eager=args.enforce_eager)
    sampling = SamplingSettings(temperature=args.temperature, top_p=args.top_p, top_k=args.top_k,
                                max_tokens=args.max_tokens, n=args.n, seed=args.seed)
    _episode_settings(args)  # checked with the others, before any work
    return engine, sampling


def _episode_settings(args):
    from .episode_generate import EpisodeSettings

    return EpisodeSettings(
        max_assistant_turns=args.max_assistant_turns, max_user_turns=args.max_user_turns,
        max_parallel_calls=args.max_parallel_calls, max_tool_response_length=args.max_tool_response_length,
        tool_response_truncate_side=args.tool_response_truncate_side, max_prompt_length=args.max_prompt_length,
        response_length=args.response_length,
        executor_modules=tuple(args.executor_modules), concurrency=args.concurrency)


def _template_options(args) -> tuple[dict[str, Any], str | None]:
    """``--chat-template-kwargs`` parsed and the text of ``--chat-template`` (checked before any work)."""
    from .generate import parse_chat_template_kwargs

    kwargs = parse_chat_template_kwargs(args.chat_template_kwargs) if args.chat_template_kwargs else {}
    template = None
    if args.chat_template:
        template = Path(input_file(args.chat_template, "--chat-template file")).read_text(encoding="utf-8")
    return kwargs, template


def _generate(rows, args, out_path, prompts_info) -> None:
    from .episode_generate import episode_problem, generate_episodes, is_episode_row
    from .generate import generate, prompt_problem

    engine, sampling = _settings(args)
    template_kwargs, template = _template_options(args)
    data = (prompts_info or {}).get("data", {}).get("path", "the data")
    if not rows:
        raise InputError(f"{data} has no rows to generate for")
    episodes = sum(map(is_episode_row, rows))
    if 0 < episodes < len(rows):
        # one engine serves one kind: vLLM's offline LLM answers single turns, the agent loop runs episodes
        raise InputError(f"{data} mixes {episodes} episode row(s) (toolzero-prep --agent-loop) with "
                         f"{len(rows) - episodes} single-turn row(s); generate them from separate files "
                         "(split on the agent_name column; docs/multiturn.md, \"Evaluation\")")
    problem_of = episode_problem if episodes else prompt_problem
    problems = [problem_of(row) for row in rows]
    good = [row for row, problem in zip(rows, problems) if problem is None]
    bad = [(pos, problem) for pos, problem in enumerate(problems) if problem is not None]
    for pos, problem in bad[:20]:
        print(f"row {pos}: not generated: {problem}", file=sys.stderr)
    if bad:
        print(f"{len(bad)} row(s) without a usable prompt{' or episode' if episodes else ''} were not generated",
              file=sys.stderr)
    if not good:
        raise InputError(f"no row of {data} can be generated for ({len(bad)} unusable; see above)")
    if episodes:
        n = generate_episodes(good, engine, sampling, _episode_settings(args), out_path, prompts_info,
                              template_kwargs, template, save_prompts=args.save_prompts)
    else:
        n = generate(good, engine, sampling, out_path, prompts_info, template_kwargs, template,
                     save_prompts=args.save_prompts)
    print(f"wrote {n} generation(s) to {out_path}", file=sys.stderr)


def _options(args):
    from .score import ScoreOptions

    return ScoreOptions(reward=args.reward, output_format=args.output_format,
                        reward_kwargs=tuple(args.reward_kwarg), partial=args.partial)


def _json_out(args, suffix: str) -> Path:
    if args.json_out:
        return Path(args.json_out)
    gen = Path(args.generations)
    return gen.with_name(gen.stem + suffix)


def _load_rows(path: Path):
    from .score import load_rows

    try:
        return load_rows(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InputError(f"{path}: not a readable parquet file ({str(exc).splitlines()[0][:160]})") from None


def _check_generation_paths(args, inputs) -> None:
    """With --generate the generations file is an output: check it like one; else it must exist."""
    if args.generate:
        if not args.model:
            raise InputError("--generate needs --model PATH")
        _settings(args)  # sampling and engine options fail here, before any work
        output_file(args.generations, "--generations", inputs)
    else:
        input_file(args.generations, "generations file", "use --generate --model PATH to create it")


def _scoring_manifest(report, generations) -> dict[str, Any]:
    """The scoring settings of a report and the generation manifest of its generations file (if any)."""
    from . import manifest as mf

    opts = report.options
    generation, why = mf.read_generation_manifest(generations) if Path(generations).is_file() else (None, None)
    if why:
        print(f"note: {why}", file=sys.stderr)
    scoring = {"reward": opts.reward, "reward_kwargs": dict(opts.reward_kwargs), "output_format": opts.output_format,
               "partial": opts.partial, "parse_limits": vars(opts.limits)}
    return {"scoring": scoring, "generation": generation}


def cmd_score(args) -> int:
    from . import manifest as mf
    from .score import format_report, score_rows, write_json

    data = input_file(args.data, "data file")
    out = output_file(_json_out(args, ".metrics.json"), "--json-out", [data, args.generations])
    _check_generation_paths(args, [data])
    options = _options(args)
    rows = _load_rows(data)
    if args.generate:
        _generate(rows, args, args.generations, {"data": mf.file_entry(data)})
    report = score_rows(rows, _read_gens(args.generations), options)
    print(format_report(report, args.max_failures))
    metrics = report.to_dict()
    parts = _scoring_manifest(report, args.generations)
    metrics["manifest"] = mf.build_manifest("score", scoring=parts["scoring"], generation=parts["generation"],
                                            data={"files": {data.name: mf.sha256_file(data)}, "path": str(data)},
                                            generations=args.generations, argv=args.argv)
    write_json(metrics, out)
    print(f"\nmetrics JSON: {out}")
    return 0


def _read_gens(path):
    from .generations import read_generations

    return read_generations(input_file(path, "generations file"))


def _categories(args) -> list[str] | None:
    return [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None


def _load_bfcl(args):
    from .bfcl import load_bfcl

    input_dir(args.bfcl_dir, "BFCL directory")
    return load_bfcl(args.bfcl_dir, _categories(args), args.bfcl_version)


def cmd_bfcl_prompts(args) -> int:
    from collections import Counter

    from .bfcl import build_rows, format_skipped_records, write_rows

    out = output_file(args.out, "--out")
    data = _load_bfcl(args)
    rows = build_rows(data.entries, args.output_format)
    write_rows(rows, out)
    per_cat = Counter(e.category for e in data.entries)
    print(f"wrote {len(rows)} BFCL {data.version} prompts (output_format={args.output_format}) to {out}: "
          + ", ".join(f"{c} {n}" for c, n in per_cat.items()))
    if data.skipped_files:
        print(f"not rendered (not single-turn python): {', '.join(data.skipped_files)}")
    for line in format_skipped_records(data):
        print(line)
    return 0


def cmd_bfcl(args) -> int:
    from . import manifest as mf
    from .bfcl import bfcl_json, build_rows, category_results, format_bfcl
    from .score import score_rows, write_json

    input_dir(args.bfcl_dir, "BFCL directory")
    out = output_file(_json_out(args, ".bfcl.json"), "--json-out", [args.generations])
    _check_generation_paths(args, [])
    options = _options(args)
    data = _load_bfcl(args)
    rows = build_rows(data.entries, args.output_format, with_prompt=args.generate)
    if args.generate:
        _generate(rows, args, args.generations, {"bfcl_version": data.version, "files": data.files})
    report = score_rows(rows, _read_gens(args.generations), options)
    results = category_results(report)
    print(format_bfcl(report, results, data, args.max_failures))
    metrics = bfcl_json(report, results, data)
    parts = _scoring_manifest(report, args.generations)
    metrics["manifest"] = mf.build_manifest(
        "bfcl", scoring=parts["scoring"], generation=parts["generation"], generations=args.generations,
        data={"bfcl_version": data.version, "files": data.files, "categories": sorted(results),
              "path": str(Path(args.bfcl_dir))},
        argv=args.argv,
    )
    write_json(metrics, out)
    print(f"\nmetrics JSON: {out}")
    return 0


def cmd_generate(args) -> int:
    from . import manifest as mf

    data = input_file(args.data, "data file")
    output_file(args.out, "--out", [data])
    _settings(args)
    _template_options(args)
    _generate(_load_rows(data), args, args.out, {"data": mf.file_entry(data)})
    return 0


def _commands() -> dict[str, Any]:
    from . import compare as cmp
    from . import curves, merge, official

    return {"score": cmd_score, "bfcl-prompts": cmd_bfcl_prompts, "bfcl": cmd_bfcl, "generate": cmd_generate,
            **merge.COMMANDS, **official.COMMANDS, **cmp.COMMANDS, **curves.COMMANDS}


def main(argv: Sequence[str] | None = None) -> int:
    from .curves import PlotsUnavailable
    from .episode_generate import EpisodesFailed
    from .generate import GenerationUnavailable
    from .merge import VerlUnavailable
    from .official import BfclUnavailable

    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _commands()[args.command](args)
    except (GenerationUnavailable, BfclUnavailable, VerlUnavailable, PlotsUnavailable) as exc:  # an optional dependency
        print(f"toolzero-eval {args.command}: {exc}", file=sys.stderr)
        return EXIT_MISSING_DEPENDENCY
    except EpisodesFailed as exc:
        print(f"toolzero-eval {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_GENERATION_FAILED
    except (InputError, ConfigError, ValueError, OSError) as exc:
        # ValueError covers BfclDataError and a bad file's decoding errors; OSError a vanished path.
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"toolzero-eval {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
