"""``toolzero-eval bfcl-official``: BFCL's own ``generate`` and ``evaluate`` for a checkpoint trained in one
of our output formats, so the numbers are the leaderboard's (official v4 overall, multi-turn, Java,
JavaScript) without forking or editing bfcl-eval.

For each output format there is a handler class (:func:`handler_classes`), a subclass of bfcl-eval's
``OSSHandler`` (the base of its locally served prompting models, ``model_handler/local_inference/``):

- its prompt is our training prompt (:func:`toolzero_verl.eval.bfcl.training_messages`: the system prompt
  of ``toolzero_verl.core.prompt`` with BFCL's function docs, the entry's own system message appended),
  rendered by the checkpoint's chat template with ``add_generation_prompt=True``, as verl's rollout does;
- its ``decode_ast``/``decode_execute`` are our safe parsers (:mod:`toolzero_verl.eval.bfcl_decode`).

:func:`register` adds ``toolzero/<format>`` to BFCL's model registry (``MODEL_CONFIG_MAPPING``) in this
process only; :func:`run_bfcl` then calls BFCL's own command line (``bfcl_eval.__main__.cli``). BFCL
keeps results and scores under folders named after the model (``toolzero_answer`` for
``toolzero/answer``; BFCL maps ``_`` back to ``/``, so the registry name needs the slash).

bfcl-eval is optional (``pip install 'toolzero-verl[bfcl]'``) and imported only inside functions.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from toolzero_verl.core.formats import FORMATS
from toolzero_verl.eval import leaderboard
from toolzero_verl.eval import manifest as mf

BFCL_VERSION = "2026.3.23"  # the bfcl-eval release this module is written and tested against (pyproject's [bfcl])
BFCL_MISSING = (
    "bfcl-eval is not importable in this Python environment. Install it with "
    "pip install 'toolzero-verl[bfcl]' (bfcl-eval==" + BFCL_VERSION + "). It pins numpy 1.26 and pandas 3.0, "
    "so give it its own virtual environment (CPU torch first, then bfcl-eval and soundfile; docs/eval.md, "
    "\"BFCL's own evaluator\")."
)
REGISTRY_PREFIX = "toolzero/"
GENERATION_RECORD = "toolzero_generation.json"  # what `bfcl-official generate` ran, beside BFCL's result files
# Categories run by default: every scoring category but the agentic ones (web search needs a search API
# key; memory needs its own backends), as in BFCL's "single_turn" + "multi_turn" collections.
DEFAULT_CATEGORIES = ("single_turn", "multi_turn")
# BFCL's own generation settings (bfcl-eval's __main__.generate and OSSHandler._query_prompting).
BFCL_DEFAULT_TEMPERATURE = 0.001
BFCL_MAX_NEW_TOKENS = 4096
# data_overall.csv columns (bfcl-eval's constants/column_headers.py) -> our summary keys.
OVERALL_COLUMNS = {
    "Overall Acc": "overall", "Non-Live AST Acc": "non_live", "Live Acc": "live", "Multi Turn Acc": "multi_turn",
    "Web Search Acc": "web_search", "Memory Acc": "memory", "Relevance Detection": "relevance",
    "Irrelevance Detection": "irrelevance",
}


class BfclUnavailable(RuntimeError):
    """bfcl-eval is not installed; the message says how to install it."""


def bfcl_available() -> bool:
    try:
        return importlib.util.find_spec("bfcl_eval") is not None
    except (ImportError, ValueError):
        return False


def registry_name(output_format: str) -> str:
    return REGISTRY_PREFIX + output_format


def model_dir_name(output_format: str) -> str:
    """The folder BFCL keeps this model's results and scores in."""
    return registry_name(output_format).replace("/", "_")


def _bfcl(project_root: str | os.PathLike | None = None):
    """Import bfcl-eval. Its import creates ``result/``, ``score/`` and ``.file_locks/`` under
    ``BFCL_PROJECT_ROOT`` (bfcl-eval's constants/eval_config.py), which defaults to site-packages: we
    point it at ``project_root`` if it is not set yet. Every call below also passes explicit folders."""
    if not bfcl_available():
        raise BfclUnavailable(BFCL_MISSING)
    if project_root is not None:
        os.environ.setdefault("BFCL_PROJECT_ROOT", str(Path(project_root).resolve()))
    import bfcl_eval.constants.model_config as model_config  # lazy: optional dependency

    return model_config


def _overriding(fn):
    """Mark ``fn`` as overriding its base method: bfcl-eval's handlers use the ``overrides`` package's
    EnforceOverrides, which refuses an override without this marker. (``overrides.override`` sets it
    too, but finds the base class by name among module globals, which a class built inside a
    function does not have.)"""
    fn.__override__ = True
    return fn


@functools.cache
def handler_classes() -> dict[str, type]:
    """``{output format: handler class}``: bfcl-eval ``OSSHandler`` subclasses (built here, at first
    use, so that importing this module never needs bfcl-eval)."""
    _bfcl()
    from bfcl_eval.model_handler.local_inference.base_oss_handler import OSSHandler

    from toolzero_verl.eval.bfcl import training_messages
    from toolzero_verl.eval.bfcl_decode import decode_ast, decode_execute

    @_overriding
    def _format_prompt(self, messages, function):
        # The checkpoint's own chat template, as verl renders rollout prompts (and `toolzero-eval generate`).
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)

    @_overriding
    def _pre_query_processing_prompting(self, test_entry: dict) -> dict:
        functions = test_entry["function"]
        test_entry["question"][0] = training_messages(functions, test_entry["question"][0], self.output_format)
        return {"message": [], "function": functions}

    @_overriding
    def decode_ast_(self, result, language, has_tool_call_tag):
        return decode_ast(self.output_format, result, getattr(language, "value", str(language)))

    @_overriding
    def decode_execute_(self, result, has_tool_call_tag):
        return decode_execute(self.output_format, result)

    methods = {"_format_prompt": _format_prompt, "_pre_query_processing_prompting": _pre_query_processing_prompting,
               "decode_ast": decode_ast_, "decode_execute": decode_execute_, "__module__": __name__}
    return {
        fmt: type(f"ToolZero{fmt.title()}Handler", (OSSHandler,), {
            **methods, "output_format": fmt,
            "__doc__": f"BFCL handler for the {fmt!r} output format: our training prompt through the checkpoint's "
                       "chat template, our parser for decoding.",
        })
        for fmt in sorted(FORMATS)
    }


def register(output_format: str, model_path: str | None = None) -> str:
    """Add ``toolzero/<format>`` to BFCL's model registry (this process only); returns the name."""
    model_config = _bfcl()
    name = registry_name(output_format)
    model_config.MODEL_CONFIG_MAPPING[name] = model_config.ModelConfig(
        model_name=str(model_path or name),
        display_name=f"toolzero-verl ({output_format})",
        url="https://github.com/volcengine/verl",
        org="toolzero-verl",
        license="apache-2.0",
        model_handler=handler_classes()[output_format],
        input_price=None,
        output_price=None,
        is_fc_model=False,  # prompting: BFCL's system prompt is replaced by ours, calls are text
        underscore_to_dot=False,  # dotted names must be reproduced exactly, as trained
    )
    return name


def build_handler(output_format: str, temperature: float = BFCL_DEFAULT_TEMPERATURE):
    """A registered handler instance, built as BFCL's generation builds it."""
    name = register(output_format)
    config = _bfcl().MODEL_CONFIG_MAPPING[name]
    return config.model_handler(model_name=config.model_name, temperature=temperature, registry_name=name,
                                is_fc_model=config.is_fc_model)


def run_bfcl(argv: Sequence[str]) -> None:
    """BFCL's own command line (``bfcl ...``) in this process, where our models are registered."""
    _bfcl()
    from bfcl_eval.__main__ import cli

    cli(list(argv), standalone_mode=False)


# --- reading BFCL's outputs ---------------------------------------------------------------------------


def read_scores(score_dir: str | os.PathLike, output_format: str) -> dict[str, dict[str, Any]]:
    """``{category: {accuracy, correct, total, errors: {error_type: n}, failed_ids}}`` from BFCL's score
    files (``<score_dir>/<model>/<group>/BFCL_v4_<category>_score.json``: a header line, then one line
    per failed entry)."""
    root = Path(score_dir) / model_dir_name(output_format)
    out: dict[str, dict[str, Any]] = {}
    for path in sorted(root.rglob("BFCL_v*_score.json")):
        category = path.name.split("_", 2)[2].removesuffix("_score.json")
        lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
        head, failures = lines[0], lines[1:]
        errors: dict[str, int] = {}
        for f in failures:
            kind = f.get("error_type") or (f.get("error") or {}).get("error_type") or "?"
            errors[kind] = errors.get(kind, 0) + 1
        out[category] = {"accuracy": head["accuracy"], "correct": head["correct_count"], "total": head["total_count"],
                         "errors": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
                         "failed_ids": [f.get("id") for f in failures]}
    return {c: out[c] for c in sorted(out, key=_order)}


def _order(category: str) -> tuple[int, str]:
    order = leaderboard.ORDER
    return (order.index(category) if category in order else len(order), category)


def read_overall(score_dir: str | os.PathLike, output_format: str) -> dict[str, float | None]:
    """Our model's row of BFCL's ``data_overall.csv`` (the official v4 scores), as fractions."""
    path = Path(score_dir) / "data_overall.csv"
    display = f"toolzero-verl ({output_format})"
    with open(path, encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("Model") == display:
                return {key: _fraction(row.get(col)) for col, key in OVERALL_COLUMNS.items()}
    raise ValueError(f"{path} has no row for {display}")


def _fraction(cell: str | None) -> float | None:
    if cell is None or not cell.endswith("%"):
        return None
    return float(cell[:-1]) / 100


def data_files(categories: Sequence[str]) -> dict[str, str]:
    """SHA-256 of the bfcl-eval data files behind ``categories`` (questions and answer keys)."""
    _bfcl()
    from bfcl_eval.constants.eval_config import PROMPT_PATH

    out = {}
    for cat in categories:
        for rel in (f"BFCL_v4_{cat}.json", f"possible_answer/BFCL_v4_{cat}.json"):
            path = Path(PROMPT_PATH) / rel
            if path.is_file():
                out[rel] = mf.sha256_file(path)
    return out


def official_metrics(score_dir: str | os.PathLike, output_format: str, *, generation: Mapping[str, Any] | None,
                     argv: Sequence[str] | None = None, partial: bool = False) -> dict[str, Any]:
    """Our metrics JSON for a BFCL evaluation: per category, the official v4 summary, the v3 summary
    (2025 papers' formulas, computed from BFCL's per-category results) and the manifest."""
    categories = read_scores(score_dir, output_format)
    versions = mf.package_versions()
    manifest = mf.build_manifest(
        "bfcl-official",
        scoring={"output_format": output_format, "checker": f"bfcl-eval {versions.get('bfcl-eval')}",
                 "partial": partial},
        data={"bfcl_version": "v4", "files": data_files(list(categories)), "categories": list(categories)},
        generation=generation, argv=argv,
    )
    return {
        "categories": categories,
        "summary_v4": read_overall(score_dir, output_format),
        "summary_v3": leaderboard.v3_summary(categories),
        "manifest": manifest,
    }


def generation_record(*, output_format: str, model_path: str | None, temperature: float, backend: str,
                      categories: Sequence[str], argv: Sequence[str] | None = None) -> dict[str, Any]:
    """What ``bfcl-official generate`` ran, in the manifest's ``generation`` layout."""
    template = mf.chat_template(model_path) if model_path else None
    return {
        "schema": mf.MANIFEST_SCHEMA,
        "sampling": {"temperature": temperature, "max_tokens": BFCL_MAX_NEW_TOKENS, "n": 1,
                     "generator": "bfcl-eval generate"},
        "engine": {"backend": backend},
        "chat_template_sha256": mf.sha256_text(template) if template is not None else None,
        "model": mf.model_info(model_path),
        "prompts": {"output_format": output_format, "categories": list(categories)},
        "versions": mf.package_versions(("vllm", "transformers", "bfcl-eval")),
        "command": mf.command_line(argv),
        "created": mf.utc_now(),
    }


# --- command line -----------------------------------------------------------------------------------


def format_official(metrics: Mapping[str, Any]) -> str:
    """Per-category accuracy (BFCL's), the official v4 summary and the v3 summary, as text."""
    lines = [f"{'category':<28}  {'total':>6}  {'acc%':>7}  errors", "-" * 72]
    for cat, r in metrics["categories"].items():
        errs = ", ".join(f"{k} {n}" for k, n in list(r["errors"].items())[:3])
        lines.append(f"{cat:<28}  {r['total']:>6}  {100 * r['accuracy']:7.2f}  {errs}")
    v4, v3 = metrics["summary_v4"], metrics["summary_v3"]["official"]
    lines += ["", "BFCL v4 (bfcl-eval's data_overall.csv; categories not run count 0):"]
    lines += [f"  {k:<22} {_pct(v)}" for k, v in v4.items()]
    lines += ["", "BFCL v3 formulas on these categories (2025 papers; docs/eval.md, \"Which numbers compare\"):"]
    lines += [f"  {k:<22} {_pct(v)}" for k, v in v3.items()]
    return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "    n/a" if x is None else f"{100 * x:7.2f}"


def add_parsers(sub) -> None:
    p = sub.add_parser("bfcl-official", help="BFCL's own generate/evaluate with our handler (needs bfcl-eval)",
                       description="Run bfcl-eval's own generation and evaluation for a checkpoint trained in one "
                                   "of our output formats; our handler is registered at run time.")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=type(p))
    g = actions.add_parser("generate", help="bfcl generate with our handler (needs a GPU and vLLM or SGLang)")
    _common(g)
    g.add_argument("--model-path", required=True, metavar="HF_DIR",
                   help="merged checkpoint (toolzero-eval merge) with config.json and tokenizer_config.json")
    g.add_argument("--temperature", type=float, default=BFCL_DEFAULT_TEMPERATURE,
                   help=f"default {BFCL_DEFAULT_TEMPERATURE}, BFCL's")
    g.add_argument("--backend", choices=("vllm", "sglang"), default="vllm", help="default vllm")
    g.add_argument("--num-gpus", type=int, default=1, help="default 1")
    g.add_argument("--gpu-memory-utilization", type=float, default=0.9, help="default 0.9")
    g.add_argument("bfcl_args", nargs="*", metavar="-- BFCL_ARG",
                   help="further `bfcl generate` options after --, e.g. -- --skip-server-setup --num-threads 8")
    e = actions.add_parser("evaluate", help="bfcl evaluate on our handler's result files; writes our metrics JSON")
    _common(e)
    e.add_argument("--partial-eval", action="store_true",
                   help="score only the entries present in the result files (BFCL's flag; not leaderboard numbers)")
    e.add_argument("--json-out", metavar="PATH",
                   help="metrics JSON (default: <project-root>/toolzero_<format>.bfcl-official.json)")


def _common(p) -> None:
    p.add_argument("--output-format", required=True, choices=sorted(FORMATS),
                   help="the format the checkpoint was trained to write")
    p.add_argument("--project-root", required=True, metavar="DIR",
                   help="BFCL's working folder: result/ and score/ are kept here (BFCL_PROJECT_ROOT)")
    p.add_argument("--categories", default=",".join(DEFAULT_CATEGORIES), metavar="LIST",
                   help="BFCL test categories or collections, comma-separated "
                        f"(default {','.join(DEFAULT_CATEGORIES)}: all but the agentic ones)")


def _project_root(path: str) -> Path:
    from toolzero_verl.eval.paths import InputError

    root = Path(path)
    if root.exists() and not root.is_dir():
        raise InputError(f"--project-root {root} is not a directory")
    if not root.parent.is_dir():
        raise InputError(f"--project-root {root}: folder {root.parent} does not exist")
    root.mkdir(exist_ok=True)
    return root.resolve()


def _categories(text: str) -> list[str]:
    from toolzero_verl.eval.paths import InputError

    cats = [c.strip() for c in text.split(",") if c.strip()]
    if not cats:
        raise InputError("--categories is empty")
    _bfcl()
    from bfcl_eval.constants.category_mapping import ALL_CATEGORIES, TEST_COLLECTION_MAPPING

    unknown = [c for c in cats if c not in ALL_CATEGORIES and c not in TEST_COLLECTION_MAPPING]
    if unknown:
        raise InputError(f"unknown BFCL categories {unknown}; see `bfcl test-categories`")
    return cats


def cmd_generate(args) -> int:
    from toolzero_verl.eval.paths import InputError, input_dir

    model = input_dir(args.model_path, "--model-path")
    for name in ("config.json", "tokenizer_config.json"):
        if not (model / name).is_file():
            raise InputError(f"--model-path {model} has no {name}; merge the checkpoint first (toolzero-eval merge)")
    if not 0 <= args.temperature:
        raise InputError(f"--temperature must be 0 or more, got {args.temperature}")
    root = _project_root(args.project_root)
    cats = _categories(args.categories)
    name = register(args.output_format, str(model))
    record = generation_record(output_format=args.output_format, model_path=str(model), temperature=args.temperature,
                               backend=args.backend, categories=cats, argv=args.argv)
    result_dir = root / "result"
    (result_dir / model_dir_name(args.output_format)).mkdir(parents=True, exist_ok=True)
    from toolzero_verl.core.atomic import write_text_atomic

    write_text_atomic(result_dir / model_dir_name(args.output_format) / GENERATION_RECORD,
                      json.dumps(record, indent=2) + "\n")
    run_bfcl(["generate", "--model", name, "--test-category", ",".join(cats), "--temperature", str(args.temperature),
              "--backend", args.backend, "--num-gpus", str(args.num_gpus),
              "--gpu-memory-utilization", str(args.gpu_memory_utilization), "--local-model-path", str(model),
              "--result-dir", str(result_dir), *args.bfcl_args])
    print(f"BFCL results for {name}: {result_dir / model_dir_name(args.output_format)}")
    return 0


def cmd_evaluate(args) -> int:
    from toolzero_verl.eval.paths import InputError, output_file
    from toolzero_verl.eval.score import write_json

    root = _project_root(args.project_root)
    result_dir, score_dir = root / "result", root / "score"
    ours = result_dir / model_dir_name(args.output_format)
    if not ours.is_dir():
        raise InputError(f"no BFCL results for {registry_name(args.output_format)} in {ours}; "
                         "run toolzero-eval bfcl-official generate first")
    out = output_file(args.json_out or root / f"toolzero_{args.output_format}.bfcl-official.json", "--json-out")
    cats = _categories(args.categories)
    name = register(args.output_format)
    for stale in (score_dir / model_dir_name(args.output_format)).rglob("BFCL_v*_score.json"):
        stale.unlink()  # this command's own outputs from an earlier run; BFCL re-reads every score file
    argv = ["evaluate", "--model", name, "--test-category", ",".join(cats), "--result-dir", str(result_dir),
            "--score-dir", str(score_dir)]
    run_bfcl(argv + (["--partial-eval"] if args.partial_eval else []))
    generation = None
    record = ours / GENERATION_RECORD
    if record.is_file():
        generation = json.loads(record.read_text(encoding="utf-8"))
    metrics = official_metrics(score_dir, args.output_format, generation=generation, argv=args.argv,
                               partial=args.partial_eval)
    print(format_official(metrics))
    write_json(metrics, out)
    print(f"\nmetrics JSON: {out}")
    return 0


def cmd_bfcl_official(args) -> int:
    return {"generate": cmd_generate, "evaluate": cmd_evaluate}[args.action](args)


COMMANDS = {"bfcl-official": cmd_bfcl_official}
