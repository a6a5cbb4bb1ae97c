"""``toolzero-eval merge``: a verl FSDP actor checkpoint -> a Hugging Face model directory, with verl's own
model merger (``python -m verl.model_merger merge --backend fsdp --local_dir <actor> --target_dir <out>``,
verl's ``verl/model_merger/__main__.py``); nothing here merges weights.

What this adds around it: the paths are checked first (a ``global_step_N`` folder or its ``actor/``,
holding verl's FSDP layout: ``fsdp_config.json``, ``model_world_size_<W>_rank_<r>.pt`` and
``huggingface/`` with the config and tokenizer), the output must be new or empty, and the merged folder
gets ``toolzero_merge.json`` (source checkpoint, training step, verl version, command) so that
``generate`` and ``bfcl-official`` record which checkpoint and step a number belongs to.

>>> " ".join(merge_command("/c/actor", "/hf", python="python"))
'python -m verl.model_merger merge --backend fsdp --local_dir /c/actor --target_dir /hf'
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Sequence

from toolzero_verl.core.atomic import write_text_atomic
from toolzero_verl.eval import manifest as mf
from toolzero_verl.eval.paths import InputError

VERL_MISSING = ("verl is not importable in this Python environment; run toolzero-eval merge where verl is installed "
                "(the training environment: pip install 'toolzero-verl[verl]').")
_SHARD = re.compile(r"model_world_size_(\d+)_rank_(\d+)\.pt")


class VerlUnavailable(RuntimeError):
    """verl (with its model merger) is not installed here."""


def merge_command(actor_dir: str | Path, target_dir: str | Path, python: str | None = None) -> list[str]:
    """verl's model-merger command line for an FSDP actor checkpoint."""
    return [python or sys.executable, "-m", "verl.model_merger", "merge", "--backend", "fsdp",
            "--local_dir", str(actor_dir), "--target_dir", str(target_dir)]


def actor_dir(checkpoint: str | Path) -> Path:
    """The FSDP actor folder of ``checkpoint`` (``global_step_N`` or ``global_step_N/actor``), checked for
    verl's layout; :class:`InputError` names what is missing."""
    path = Path(checkpoint)
    if (path / "actor").is_dir():
        path = path / "actor"
    if not path.is_dir():
        raise InputError(f"checkpoint not found: {checkpoint} (give verl's global_step_N folder or its actor/)")
    if not (path / "fsdp_config.json").is_file():
        raise InputError(f"{path} is not a verl FSDP actor checkpoint: no fsdp_config.json "
                         "(Megatron checkpoints: run verl's model merger with --backend megatron)")
    try:
        world = json.loads((path / "fsdp_config.json").read_text(encoding="utf-8")).get("world_size")
    except (OSError, ValueError, AttributeError) as exc:
        raise InputError(f"{path / 'fsdp_config.json'}: unreadable ({exc})") from None
    if not isinstance(world, int) or world < 1:
        raise InputError(f"{path / 'fsdp_config.json'} has no usable world_size")
    missing = [r for r in range(world) if not (path / f"model_world_size_{world}_rank_{r}.pt").is_file()]
    if missing:
        raise InputError(f"{path}: model shards missing for rank(s) {missing[:8]} of world size {world}")
    if not (path / "huggingface" / "config.json").is_file():
        raise InputError(f"{path}: no huggingface/config.json (verl saves the model config and tokenizer there)")
    return path


def training_step(actor: Path) -> int | None:
    """The step of a ``global_step_N`` checkpoint."""
    for part in reversed(actor.resolve().parts):
        m = re.fullmatch(r"global_step_(\d+)", part)
        if m:
            return int(m.group(1))
    return None


def check_target(target: str | Path) -> Path:
    out = Path(target)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out} exists and is not an empty directory; choose a new folder")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: folder {out.parent} does not exist")
    return out


def merge(checkpoint: str | Path, target: str | Path, argv: Sequence[str] | None = None) -> Path:
    """Run verl's model merger on ``checkpoint`` into ``target`` and record the provenance there."""
    actor = actor_dir(checkpoint)
    out = check_target(target)
    try:
        found = importlib.util.find_spec("verl.model_merger") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise VerlUnavailable(VERL_MISSING)
    command = merge_command(actor, out)
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"verl's model merger failed on {actor} (exit {proc.returncode}): {tail[0][:300]}")
    if not (out / "config.json").is_file():
        raise InputError(f"verl's model merger wrote no config.json into {out}")
    record = {
        "source_checkpoint": str(actor.resolve()),
        "training_step": training_step(actor),
        "merger": " ".join(command[1:]),
        "versions": mf.package_versions(("verl", "torch", "transformers", "toolzero-verl")),
        "command": mf.command_line(argv),
        "created": mf.utc_now(),
    }
    write_text_atomic(out / mf.MERGE_INFO_FILE, json.dumps(record, indent=2) + "\n")
    return out


# --- command line -----------------------------------------------------------------------------------


def add_parsers(sub) -> None:
    p = sub.add_parser("merge", help="verl FSDP actor checkpoint -> Hugging Face folder (verl's own merger)",
                       description="Merge a verl FSDP actor checkpoint into a Hugging Face model folder with "
                                   "`python -m verl.model_merger merge --backend fsdp`, and record the source "
                                   "checkpoint and training step in it. Needs verl.")
    p.add_argument("--checkpoint", required=True, metavar="DIR",
                   help="verl's global_step_N folder (trainer.default_local_dir/global_step_N) or its actor/")
    p.add_argument("--out", metavar="HF_DIR",
                   help="new or empty folder for the merged model (default: <checkpoint>/actor/huggingface_merged)")


def cmd_merge(args) -> int:
    actor = actor_dir(args.checkpoint)
    out = merge(actor, args.out or actor / "huggingface_merged", args.argv)
    print(f"merged {actor} (step {training_step(actor)}) into {out}")
    print(f"next: toolzero-eval generate --data test.parquet --model {out} --out gen.jsonl")
    return 0


COMMANDS = {"merge": cmd_merge}
