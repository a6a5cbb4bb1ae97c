"""Optional generation with vLLM: parquet prompts -> generations JSONL (schema in :mod:`.generations`).

vLLM comes with the user's verl GPU install and is never a dependency of this package: it is imported
only inside :func:`generate`. Without it, :data:`VLLM_MISSING` says how to produce the JSONL elsewhere.

Prompts are rendered the way verl renders them for rollouts: the tokenizer's chat template with
``add_generation_prompt=True``; responses are decoded with special tokens skipped (vLLM's default,
and what verl hands the reward). Greedy decoding by default.

>>> write_generations([{"extra_info": {"index": 4}}], [["<answer>[]</answer>"]], "/dev/stdout")
{"index": 4, "response": "<answer>[]</answer>"}
"""

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import asdict, dataclass
from typing import Any, Mapping, Sequence

from toolzero_verl.core.atomic import write_text_atomic

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
class SamplingSettings:
    """vLLM sampling; greedy by default (temperature 0), as leaderboard evaluations decode."""

    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = -1
    max_tokens: int = 2048  # the recipes' response length (docs/recipes.md)
    n: int = 1  # samples per prompt; >1 makes every metric a mean over samples
    seed: int = 0


@dataclass(frozen=True)
class EngineSettings:
    model: str
    tensor_parallel_size: int = 1
    dtype: str = "auto"
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9
    trust_remote_code: bool = False


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
    if "index" in extra:
        return {"index": int(extra["index"])}
    raise ValueError("a row needs extra_info.id or extra_info.index to be named in the generations file")


def chat_prompts(rows: Sequence[Mapping[str, Any]], tokenizer: Any) -> list[str]:
    """Each row's ``prompt`` messages through the tokenizer's chat template, as verl's rollout does."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError("the model's tokenizer has no chat template; the training prompts need one")
    return [
        tokenizer.apply_chat_template([dict(m) for m in row["prompt"]], add_generation_prompt=True, tokenize=False)
        for row in rows
    ]


def write_generations(rows: Sequence[Mapping[str, Any]], outputs: Sequence[Sequence[str]], path: str | os.PathLike) -> None:
    """One JSONL line per sample (``outputs[i]`` are the samples of ``rows[i]``)."""
    if len(rows) != len(outputs):
        raise ValueError(f"{len(rows)} rows but {len(outputs)} outputs")
    lines = [
        json.dumps({**output_key(row), "response": text}, ensure_ascii=False)
        for row, samples in zip(rows, outputs)
        for text in samples
    ]
    data = "".join(line + "\n" for line in lines)
    if str(path) in ("-", "/dev/stdout"):
        print(data, end="")
        return
    write_text_atomic(path, data)


def generate(
    rows: Sequence[Mapping[str, Any]], engine: EngineSettings, sampling: SamplingSettings, out_path: str | os.PathLike
) -> int:
    """Generate for every row with vLLM and write the JSONL; returns the number of lines written."""
    if not vllm_available():
        raise GenerationUnavailable(VLLM_MISSING)
    from vllm import LLM, SamplingParams  # lazy: only on GPU machines with vLLM

    kwargs = {k: v for k, v in asdict(engine).items() if v is not None}
    llm = LLM(**kwargs)
    prompts = chat_prompts(rows, llm.get_tokenizer())
    params = SamplingParams(**asdict(sampling))  # skip_special_tokens=True is vLLM's default
    results = llm.generate(prompts, params)
    outputs = [[o.text for o in r.outputs] for r in results]
    write_generations(rows, outputs, out_path)
    return sum(len(o) for o in outputs)
