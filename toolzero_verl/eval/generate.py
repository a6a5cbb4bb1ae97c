"""Optional generation with vLLM: parquet prompts -> generations JSONL (schema in :mod:`.generations`).

vLLM comes with the user's verl GPU install and is never a dependency of this package: it is imported
only inside :func:`generate`. Without it, :data:`VLLM_MISSING` says how to produce the JSONL elsewhere.

Prompts are rendered the way verl renders them for rollouts: the tokenizer's chat template with
``add_generation_prompt=True`` and the training run's chat-template keywords (verl's
``data.apply_chat_template_kwargs``, e.g. Qwen3's ``enable_thinking``), tokenised by the template itself
and handed to vLLM as token ids, so the prompt is token for token the one training sampled from (tested
against verl's ``RLHFDataset`` and agent-loop tokenisation for each template family,
docs/recipes.md "Models and chat templates"); responses are decoded with special tokens skipped (vLLM's
default, and what verl hands the reward). Greedy decoding by default. With ``save_prompts`` each line
also carries the prompt text and the token ids vLLM was given (``prompt``, ``prompt_token_ids``; readers
ignore both), so a run can be checked against the prompts verl trained on.

>>> write_generations([{"extra_info": {"index": 4}}], [["<answer>[]</answer>"]], "/dev/stdout")
{"index": 4, "response": "<answer>[]</answer>"}
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from toolzero_verl.core.atomic import write_text_atomic
from toolzero_verl.core.chat_template import chat_prompts, prompt_token_ids
from toolzero_verl.core.options import Options, option
from toolzero_verl.eval import manifest as mf

VLLM_MISSING = """vLLM is not importable in this Python environment, so --generate cannot run here.
Produce the generations JSONL elsewhere, then score it here:
  1. On a GPU machine with vLLM (e.g. your verl environment):
       toolzero-eval generate --data PROMPTS.parquet --model CHECKPOINT --out gen.jsonl
     (for BFCL, first: toolzero-eval bfcl-prompts --bfcl-dir DIR --output-format FMT --out PROMPTS.parquet)
  2. Or with any engine: apply the model's chat template to each row's `prompt` messages
     (add_generation_prompt=True), decode with special tokens skipped, and write one JSON object per line:
       {"index": <extra_info.index>, "response": "<decoded text>"}   (parquet from toolzero-prep)
       {"id": "<extra_info.id>", "response": "<decoded text>"}       (parquet from bfcl-prompts)
  3. toolzero-eval score --data PROMPTS.parquet --generations gen.jsonl
     toolzero-eval bfcl --bfcl-dir DIR --output-format FMT --generations gen.jsonl
See docs/eval.md for the full schema."""


class GenerationUnavailable(RuntimeError):
    """vLLM is not installed; the message says what to do instead."""


@dataclass(frozen=True)
class SamplingSettings(Options):
    """vLLM sampling; greedy by default (temperature 0), as leaderboard evaluations decode."""

    temperature: float = option(0.0, min=0.0, help="0 is greedy")
    top_p: float = option(1.0, above=0.0, max=1.0, help="nucleus sampling mass")
    top_k: int = option(-1, min=-1, help="-1: off")
    max_tokens: int = option(2048, min=1,
                             help="new tokens per response (the recipes' response length, docs/recipes.md)")
    n: int = option(1, min=1, help="samples per prompt; >1 makes every metric a mean over samples")
    seed: int = option(0, min=0, help="sampling seed")


DTYPES = ("auto", "bfloat16", "float16", "half", "float32", "float")


@dataclass(frozen=True)
class EngineSettings(Options):
    model: str = option(help="checkpoint (HF format) to generate with")
    tensor_parallel_size: int = option(1, min=1, help="GPUs per model")
    dtype: str = option("auto", choices=DTYPES, help="weights dtype")
    max_model_len: int | None = option(None, min=1, help="context length (default: the model's)")
    gpu_memory_utilization: float = option(0.9, above=0.0, max=1.0, help="share of GPU memory vLLM may use")
    trust_remote_code: bool = option(False, help="run code shipped with the checkpoint")
    enforce_eager: bool = option(False, help="no CUDA graphs or torch.compile warm-up (on vLLM's CPU build it "
                                             "saves a ~45 s compile; slower decoding on GPUs)")


def vllm_available() -> bool:
    """vLLM can be imported here (a broken or blocked install counts as absent)."""
    try:
        return importlib.util.find_spec("vllm") is not None
    except (ImportError, ValueError):
        return False


def output_key(row: Mapping[str, Any]) -> dict[str, Any]:
    """The JSONL key naming this row: its ``extra_info.id`` when it has one, else ``extra_info.index``."""
    extra = row.get("extra_info") if isinstance(row.get("extra_info"), Mapping) else {}
    if extra.get("id") not in (None, ""):
        return {"id": str(extra["id"])}
    if isinstance(extra.get("index"), int) and not isinstance(extra.get("index"), bool):
        return {"index": extra["index"]}
    raise ValueError("a row needs extra_info.id or an integer extra_info.index to be named in the generations file")


def prompt_problem(row: Any) -> str | None:
    """Why a parquet row cannot be generated for (None when it can): it needs chat messages under
    ``prompt`` and a key naming it in the generations file.

    >>> prompt_problem({"prompt": [{"role": "user", "content": "hi"}], "extra_info": {"index": 0}}) is None
    True
    >>> prompt_problem({"prompt": "hi", "extra_info": {"index": 0}})
    "'prompt' must be a non-empty list of {role, content} messages"
    """
    if not isinstance(row, Mapping):
        return "not an object"
    msgs = row.get("prompt")
    if not isinstance(msgs, (list, tuple)) or not msgs or not all(
        isinstance(m, Mapping) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in msgs
    ):
        return "'prompt' must be a non-empty list of {role, content} messages"
    try:
        output_key(row)
    except ValueError as exc:
        return str(exc)
    return None


def usable_rows(rows: Sequence[Any]) -> tuple[list[Mapping[str, Any]], list[tuple[int, str]]]:
    """Rows that can be generated for, and ``(position, problem)`` of the others (reported, skipped)."""
    good, bad = [], []
    for pos, row in enumerate(rows):
        problem = prompt_problem(row)
        if problem is None:
            good.append(row)
        else:
            bad.append((pos, problem))
    return good, bad


def parse_chat_template_kwargs(text: str) -> dict[str, Any]:
    """``--chat-template-kwargs``: a JSON object, e.g. ``{"enable_thinking": false}``.

    >>> parse_chat_template_kwargs('{"enable_thinking": false}')
    {'enable_thinking': False}
    >>> parse_chat_template_kwargs("enable_thinking=false")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --chat-template-kwargs must be a JSON object such as '{"enable_thinking": false}', got ...
    """
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValueError("--chat-template-kwargs must be a JSON object such as '{\"enable_thinking\": false}', "
                         f"got {text!r}")
    return value


def write_generations(
    rows: Sequence[Mapping[str, Any]], outputs: Sequence[Sequence[str]], path: str | os.PathLike,
    prompts: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """One JSONL line per sample (``outputs[i]`` are the samples of ``rows[i]``); ``prompts[i]``, when
    given, is added to each line of row ``i`` (e.g. ``{"prompt": text, "prompt_token_ids": [...]}``)."""
    if len(rows) != len(outputs) or (prompts is not None and len(prompts) != len(rows)):
        raise ValueError(f"{len(rows)} rows but {len(outputs)} outputs"
                         + (f" and {len(prompts)} prompts" if prompts is not None else ""))
    extras = prompts if prompts is not None else [{}] * len(rows)
    lines = [
        json.dumps({**output_key(row), "response": text, **extra}, ensure_ascii=False)
        for row, samples, extra in zip(rows, outputs, extras)
        for text in samples
    ]
    data = "".join(line + "\n" for line in lines)
    if str(path) in ("-", "/dev/stdout"):
        print(data, end="")
        return
    write_text_atomic(path, data)


def generate(
    rows: Sequence[Mapping[str, Any]], engine: EngineSettings, sampling: SamplingSettings, out_path: str | os.PathLike,
    prompts_info: Mapping[str, Any] | None = None, chat_template_kwargs: Mapping[str, Any] | None = None,
    chat_template: str | None = None, save_prompts: bool = False,
) -> int:
    """Generate for every row with vLLM, write the JSONL and its manifest (``<out stem>.manifest.json``:
    sampling, engine, chat-template hash and keywords, model and step, and how long engine start and
    generation took); returns the number of lines written. ``chat_template`` replaces the checkpoint's
    template (a base model that ships none). ``save_prompts`` adds each row's prompt text and token ids to
    its lines. Rows without a usable prompt must have been left out (:func:`usable_rows`)."""
    if not vllm_available():
        raise GenerationUnavailable(VLLM_MISSING)
    from vllm import LLM, SamplingParams  # lazy: only where vLLM is installed

    kwargs = {k: v for k, v in asdict(engine).items() if v is not None}
    start = time.monotonic()
    llm = LLM(**kwargs)
    started = time.monotonic()
    tokenizer = llm.get_tokenizer()
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    prompts = [{"prompt_token_ids": ids} for ids in prompt_token_ids(rows, tokenizer, chat_template_kwargs)]
    params = SamplingParams(**asdict(sampling))  # skip_special_tokens=True is vLLM's default
    results = llm.generate(prompts, params)
    done = time.monotonic()
    outputs = [[o.text for o in r.outputs] for r in results]
    seen = None
    if save_prompts:
        # prompts go in as token ids, so vLLM has no text for them: the text is the template's rendering
        texts = chat_prompts(rows, tokenizer, chat_template_kwargs)
        seen = [{"prompt": text, "prompt_token_ids": list(r.prompt_token_ids)} for text, r in zip(texts, results)]
    write_generations(rows, outputs, out_path, seen)
    manifest = mf.generation_manifest(
        sampling=asdict(sampling), engine=asdict(engine), template=getattr(tokenizer, "chat_template", None),
        model=engine.model, data=prompts_info or {}, generations_sha256=mf.sha256_file(out_path),
        chat_template_kwargs=dict(chat_template_kwargs or {}),
    )
    manifest["timing"] = {"engine_start_s": round(started - start, 3), "generate_s": round(done - started, 3),
                          "rows": len(rows), "rows_per_s": round(len(rows) / max(done - started, 1e-9), 3)}
    write_text_atomic(mf.generation_manifest_path(out_path), json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return sum(len(o) for o in outputs)
