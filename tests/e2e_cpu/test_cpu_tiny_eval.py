"""CPU end-to-end tier, evaluation half: ``toolzero-eval`` on the checkpoint the tiny GRPO run wrote
(the session's ``run``, ``conftest.py``), as docs/eval.md §1 walks a user through it:

1. ``merge``: the command the recipe prints when training ends (``recipes/common.sh``), run verbatim;
   the Hugging Face folder loads with transformers and holds the actor's final weights (bfloat16, as
   verl's merger writes them) and the training step;
2. ``generate`` with vLLM's CPU build (the CPU tier's venv) on the merged model, over the run's held-out
   rows and a few BFCL prompts: one generation per row, the manifest, and the prompt token ids vLLM
   received equal to those verl's rollout builds from its ``RLHFDataset`` row with the training tokenizer;
3. ``score`` and ``bfcl`` on those generations.

vLLM generation holds the tier's machine-wide lock (``E2E_LOCK``, as ``recipes/cpu_tiny.sh`` does) and a
hard timeout. ``merge``, ``bfcl-prompts``, ``score`` and ``bfcl`` run in the main venv (verl, no vLLM).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolzero_verl.eval import manifest as mf
from toolzero_verl.testing import cpu_run
from toolzero_verl.testing.cpu_run import (
    E2E_LOCK,
    E2E_LOCK_WAIT,
    GENERATE_TIMEOUT,
    VLLM_ENV,
    e2e_bin,
    failure_report,
    read_jsonl,
    run_command,
)

pytestmark = pytest.mark.e2e_cpu

STEPS = cpu_run.STEPS  # the session's run (conftest.py) saves one checkpoint, global_step_3
SCRIPT = Path(sys.executable).with_name("toolzero-eval")  # the main venv's
MAX_TOKENS = 128  # the recipe's response length (recipes/cpu_tiny.sh)
BFCL_PER_CATEGORY = 2  # first entries of each BFCL v3 file
# eager mode skips vLLM's ~45 s torch.compile warm-up; float32 is the rollout dtype of recipes/cpu_tiny.sh
GENERATE_OPTIONS = ["--max-tokens", str(MAX_TOKENS), "--dtype", "float32", "--enforce-eager", "--save-prompts"]






@pytest.fixture(scope="module")
def checkpoint(run) -> Path:
    step_dir = run.actor_dir(STEPS).parent
    if run.returncode != 0 or not (step_dir / "actor").is_dir():
        pytest.fail(f"the training run wrote no checkpoint {step_dir} (exit {run.returncode}):\n{run.tail()}",
                    pytrace=False)
    return step_dir


@dataclass
class Merged:
    command: list[str]
    proc: subprocess.CompletedProcess
    seconds: float
    out: Path


@pytest.fixture(scope="module")
def merged(run, checkpoint) -> Merged:
    """The merge command the recipe printed after training, run as printed (with this venv's script)."""
    lines = run.console.read_text(errors="replace").splitlines()
    hints = [i for i, line in enumerate(lines) if line.startswith("==> training done. Merge the last checkpoint")]
    assert hints and hints[-1] + 1 < len(lines), f"the recipe printed no merge command:\n{run.tail(15)}"
    command = shlex.split(lines[hints[-1] + 1])
    assert command[:2] == ["toolzero-eval", "merge"], command
    proc, seconds = run_command([SCRIPT, *command[1:]])
    out = Path(command[command.index("--out") + 1])
    return Merged(command, proc, seconds, out)


def test_the_printed_merge_command_merges_the_last_checkpoint(merged, checkpoint):
    assert merged.proc.returncode == 0, failure_report(merged.proc)
    assert merged.command[merged.command.index("--checkpoint") + 1] == str(checkpoint)
    assert f"merged {checkpoint / 'actor'} (step {STEPS})" in merged.proc.stdout
    record = json.loads((merged.out / mf.MERGE_INFO_FILE).read_text())
    assert record["training_step"] == STEPS
    assert record["source_checkpoint"] == str((checkpoint / "actor").resolve())
    assert record["versions"]["verl"] == "0.9.1"


def test_merged_model_loads_with_the_actors_final_weights(run, checkpoint, merged):
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    assert merged.proc.returncode == 0, failure_report(merged.proc)
    tiny = run.run_dir / "model"  # the model training started from (actor_rollout_ref.model.path)
    model = AutoModelForCausalLM.from_pretrained(merged.out)
    config, start = model.config, AutoConfig.from_pretrained(tiny)
    assert config.architectures == start.architectures == ["Qwen2ForCausalLM"]
    for key in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "tie_word_embeddings"):
        assert getattr(config, key) == getattr(start, key), key
    tokenizer, trained_tok = AutoTokenizer.from_pretrained(merged.out), AutoTokenizer.from_pretrained(tiny)
    assert tokenizer.get_vocab() == trained_tok.get_vocab() and tokenizer.chat_template == trained_tok.chat_template

    # the actor's final weights, from the FSDP2 shard verl saved (world size 1: DTensors holding everything)
    shard = torch.load(checkpoint / "actor" / "model_world_size_1_rank_0.pt", map_location="cpu", weights_only=False)
    actor = {k: (v.to_local() if hasattr(v, "to_local") else v) for k, v in shard.items()}
    state = model.state_dict()
    assert set(actor) == set(state), (set(actor) ^ set(state))
    assert {v.dtype for v in state.values()} == {torch.bfloat16}  # verl/model_merger/base_model_merger.py
    unequal = [k for k, v in actor.items() if not torch.equal(state[k], v.to(torch.bfloat16))]
    assert not unequal, f"merged weights differ from the actor's beyond bfloat16 rounding: {unequal}"
    # ... and they are the trained weights, not the starting ones: training moved some beyond that rounding
    initial = AutoModelForCausalLM.from_pretrained(tiny).state_dict()
    moved = [k for k in actor if not torch.equal(state[k], initial[k].to(torch.bfloat16))]
    assert moved, "the merged model equals the model training started from"


# --- generate -> score / bfcl ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bfcl_dir(shared_dir, tmp_path_factory) -> Path:
    """The first entries of each BFCL v3 category, with their answer keys."""
    source, out = shared_dir / "bfcl" / "v3", tmp_path_factory.mktemp("bfcl")
    (out / "possible_answer").mkdir()
    for questions in sorted(source.glob("BFCL_v3_*.json")):
        head = questions.read_text(encoding="utf-8").splitlines()[:BFCL_PER_CATEGORY]
        (out / questions.name).write_text("\n".join(head) + "\n", encoding="utf-8")
        answers = source / "possible_answer" / questions.name
        if answers.is_file():
            ids = {json.loads(line)["id"] for line in head}
            keep = [line for line in answers.read_text(encoding="utf-8").splitlines()
                    if line.strip() and json.loads(line)["id"] in ids]
            (out / "possible_answer" / questions.name).write_text("\n".join(keep) + "\n", encoding="utf-8")
    return out


@dataclass
class Generated:
    data: Path
    out: Path
    proc: subprocess.CompletedProcess
    seconds: float


def _generate(data: Path, model: Path, out: Path) -> Generated:
    vllm = e2e_bin("toolzero-eval")
    if not vllm.is_file():
        pytest.fail(f"the CPU end-to-end venv has no {vllm} (scripts/setup_cpu_e2e.sh)", pytrace=False)
    env = {**os.environ, **VLLM_ENV}
    for var in ("VIRTUAL_ENV", "PYTHONHOME", "VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM"):
        env.pop(var, None)
    argv = ["flock", "-w", E2E_LOCK_WAIT, E2E_LOCK, "timeout", "--kill-after=30", GENERATE_TIMEOUT,
            vllm, "generate", "--data", data, "--model", model, "--out", out, *GENERATE_OPTIONS]
    proc, seconds = run_command(argv, timeout=E2E_LOCK_WAIT + GENERATE_TIMEOUT + 60, env=env)
    return Generated(data, out, proc, seconds)


@pytest.fixture(scope="module")
def generated(run, merged, bfcl_dir, tmp_path_factory) -> dict[str, Generated]:
    assert merged.proc.returncode == 0, failure_report(merged.proc)
    work = tmp_path_factory.mktemp("generate")
    prompts, _ = run_command([SCRIPT, "bfcl-prompts", "--bfcl-dir", bfcl_dir, "--output-format", "answer",
                       "--out", work / "bfcl.parquet"])
    assert prompts.returncode == 0, failure_report(prompts)
    return {
        "heldout": _generate(run.run_dir / "data" / "test.parquet", merged.out, work / "heldout.jsonl"),
        "bfcl": _generate(work / "bfcl.parquet", merged.out, work / "bfcl.jsonl"),
    }


def _rows(path: Path) -> list[dict]:
    from toolzero_verl.eval.score import load_rows

    return load_rows(path)


def _key(row: dict) -> tuple[str, object]:
    from toolzero_verl.eval.generate import output_key

    ((name, value),) = output_key(row).items()
    return name, value


@pytest.mark.parametrize("which", ["heldout", "bfcl"])
def test_generate_writes_one_generation_per_row_and_its_manifest(which, generated, merged, run):
    gen = generated[which]
    assert gen.proc.returncode == 0, failure_report(gen.proc)
    rows, lines = _rows(gen.data), read_jsonl(gen.out)
    assert rows and sorted(_key(r) for r in rows) == sorted(
        next((k, line[k]) for k in ("index", "id") if k in line) for line in lines)
    assert all(isinstance(line["response"], str) for line in lines)

    manifest = json.loads(mf.generation_manifest_path(gen.out).read_text())
    assert manifest["generations_sha256"] == mf.sha256_file(gen.out)
    assert manifest["versions"]["vllm"].startswith("0.27.0")
    assert manifest["sampling"] == {"temperature": 0.0, "top_p": 1.0, "top_k": -1, "max_tokens": MAX_TOKENS,
                                    "n": 1, "seed": 0}
    assert manifest["engine"]["dtype"] == "float32" and manifest["engine"]["enforce_eager"] is True
    # the template vLLM applied is the one training rendered rollouts with
    assert manifest["chat_template_sha256"] == mf.sha256_text(mf.chat_template(run.run_dir / "model"))
    assert manifest["model"]["path"] == str(merged.out.resolve())
    assert manifest["model"]["training_step"] == STEPS
    assert manifest["prompts"]["data"]["sha256"] == mf.sha256_file(gen.data)
    assert manifest["timing"]["rows"] == len(rows) and manifest["timing"]["generate_s"] > 0


@pytest.mark.parametrize("which", ["heldout", "bfcl"])
def test_vllm_got_the_prompt_tokens_verls_rollout_builds_for_the_row(which, generated, run):
    """verl's rollout prompt: its ``RLHFDataset`` item's ``raw_prompt`` through the Continuous Token builder
    (``SingleTurnAgentLoop``), with the training tokenizer and the run's data config."""
    from omegaconf import OmegaConf
    from transformers import AutoConfig, AutoTokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.tokenizer.continuous_token_wiring import create_continuous_token_builder

    gen = generated[which]
    assert gen.proc.returncode == 0, failure_report(gen.proc)
    config = OmegaConf.load(run.run_dir / "hydra" / ".hydra" / "config.yaml")
    model_path = config.actor_rollout_ref.model.path
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    data_config = OmegaConf.merge(config.data, {"filter_overlong_prompts": False})  # every row, BFCL's too
    dataset = RLHFDataset(str(gen.data), tokenizer, data_config)
    builder = create_continuous_token_builder(
        tokenizer, hf_model_type=AutoConfig.from_pretrained(model_path).model_type,
        chat_template_kwargs=config.data.get("apply_chat_template_kwargs", {}))
    received = {next((k, line[k]) for k in ("index", "id") if k in line): line for line in read_jsonl(gen.out)}
    assert len(dataset) == len(received)
    for i in range(len(dataset)):
        item = dataset[i]
        key = _key(item)
        verls = builder.build_initial_tokens([dict(m) for m in item["raw_prompt"]])
        assert received[key]["prompt_token_ids"] == verls, key
        text = tokenizer.apply_chat_template(item["raw_prompt"], add_generation_prompt=True, tokenize=False)
        assert received[key]["prompt"] == text, key


@pytest.fixture(scope="module")
def scored(generated, bfcl_dir) -> dict[str, tuple[subprocess.CompletedProcess, dict]]:
    heldout, bfcl = generated["heldout"], generated["bfcl"]
    out = {}
    proc, _ = run_command([SCRIPT, "score", "--data", heldout.data, "--generations", heldout.out])
    out["score"] = proc, (json.loads(heldout.out.with_name("heldout.metrics.json").read_text())
                          if proc.returncode == 0 else {})
    proc, _ = run_command([SCRIPT, "bfcl", "--bfcl-dir", bfcl_dir, "--output-format", "answer",
                           "--generations", bfcl.out])
    out["bfcl"] = proc, json.loads(bfcl.out.with_name("bfcl.bfcl.json").read_text()) if proc.returncode == 0 else {}
    return out


def test_score_and_bfcl_score_every_generated_row_with_the_generation_manifest(scored, generated):
    for kind in ("score", "bfcl"):
        proc, metrics = scored[kind]
        assert proc.returncode == 0, failure_report(proc)
        gen = generated["heldout" if kind == "score" else "bfcl"]
        manifest = metrics["manifest"]
        assert manifest["kind"] == kind
        # score/bfcl picked up generate's manifest: the step and engine travel into the metrics JSON
        assert manifest["generation"] == json.loads(mf.generation_manifest_path(gen.out).read_text())
        assert manifest["generation"]["model"]["training_step"] == STEPS
        assert manifest["versions"]["toolzero-verl"] and manifest["generations"]["sha256"] == mf.sha256_file(gen.out)
        assert not metrics["malformed_lines"] and not metrics["unmatched_lines"]
    _, score = scored["score"]
    assert score["overall"]["rows"] == score["overall"]["answered_rows"] == len(_rows(generated["heldout"].data))
    assert "no_generation" not in score["overall"]["errors"]
    _, bfcl = scored["bfcl"]
    categories = bfcl["categories"]
    assert sorted(categories) == ["irrelevance", "multiple", "parallel", "parallel_multiple", "simple"]
    assert all(c["total"] == BFCL_PER_CATEGORY and "no_generation" not in c["errors"] for c in categories.values())


def test_report_eval_times_and_scores(run, merged, generated, scored):
    """Prints (pytest -s) merge time, generation speed and the tiny model's scores; writes eval_summary.json."""
    summary = {"merge_s": round(merged.seconds, 1), "generate": {}, "scores": {}}
    for which, gen in generated.items():
        timing = json.loads(mf.generation_manifest_path(gen.out).read_text())["timing"]
        summary["generate"][which] = {**timing, "wall_s_with_lock_wait": round(gen.seconds, 1)}
    _, score = scored["score"]
    _, bfcl = scored["bfcl"]
    summary["scores"] = {"heldout_accuracy": score["overall"]["accuracy"],
                         "heldout_components": score["overall"]["components"],
                         "bfcl": {c: v["accuracy"] for c, v in bfcl["categories"].items()}}
    print("\n" + json.dumps(summary, indent=1))
    (run.run_dir / "eval_summary.json").write_text(json.dumps(summary, indent=1))
    assert summary["merge_s"] > 0 and all(g["rows_per_s"] > 0 for g in summary["generate"].values())
