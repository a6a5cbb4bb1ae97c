"""`toolzero-eval merge` on a real verl FSDP checkpoint (written by verl's own checkpoint manager on the CPU):
verl's model merger turns it into a folder transformers loads with the same weights and the tokenizer's
chat template; the folder records the step; bad checkpoints and outputs fail first with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolzero_verl.eval import manifest as mf
from toolzero_verl.eval.cli import EXIT_BAD_INPUT, EXIT_MISSING_DEPENDENCY, main

SCRIPT = Path(sys.executable).with_name("toolzero-eval")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("run")
    proc = subprocess.run([sys.executable, "-m", "toolzero_verl.testing.fsdp_checkpoint", str(run), "5"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run


@pytest.mark.verl
def test_merge_gives_a_folder_transformers_loads_with_the_trained_weights(checkpoint, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "hf"
    proc = subprocess.run([str(SCRIPT), "merge", "--checkpoint", str(checkpoint / "global_step_5"), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"merged {checkpoint / 'global_step_5' / 'actor'} (step 5)" in proc.stdout
    model = AutoModelForCausalLM.from_pretrained(out)
    reference = torch.load(checkpoint / "reference_state.pt")
    state = model.state_dict()
    # verl's merger writes bfloat16 (verl/model_merger/base_model_merger.py): equal after that rounding
    assert set(reference) <= set(state)
    assert all(torch.equal(state[k], v.to(state[k].dtype)) for k, v in reference.items())
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(checkpoint / "tokenizer").chat_template
    record = json.loads((out / mf.MERGE_INFO_FILE).read_text())
    assert record["training_step"] == 5 and record["versions"]["verl"] == "0.9.1"
    assert record["source_checkpoint"] == str((checkpoint / "global_step_5" / "actor").resolve())
    info = mf.model_info(out)
    assert info["training_step"] == 5 and mf.chat_template(out) == tokenizer.chat_template


@pytest.mark.verl
def test_merge_refuses_bad_checkpoints_and_outputs_first(checkpoint, tmp_path, capsys):
    actor = checkpoint / "global_step_5" / "actor"
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "x").write_text("keep me")
    broken = tmp_path / "broken" / "global_step_1" / "actor"
    broken.mkdir(parents=True)
    (broken / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 2}))
    (broken / "model_world_size_2_rank_0.pt").write_bytes(b"")
    cases = [
        (["--checkpoint", str(tmp_path / "nope")], "checkpoint not found"),
        (["--checkpoint", str(tmp_path)], "no fsdp_config.json"),
        (["--checkpoint", str(broken.parent)], "model shards missing for rank(s) [1] of world size 2"),
        (["--checkpoint", str(actor), "--out", str(taken)], "exists and is not an empty directory"),
        (["--checkpoint", str(actor), "--out", str(tmp_path / "no" / "hf")], "does not exist"),
    ]
    for argv, needle in cases:
        assert main(["merge", *argv]) == EXIT_BAD_INPUT, argv
        err = capsys.readouterr().err
        assert needle in err and len(err.strip().splitlines()) == 1, err
    assert (taken / "x").read_text() == "keep me"


def test_merge_without_verl_exits_3(tmp_path, capsys, monkeypatch):
    from toolzero_verl.testing.import_blocker import blocked

    monkeypatch.delitem(sys.modules, "verl.model_merger", raising=False)  # else find_spec answers from the cache
    actor = tmp_path / "global_step_1" / "actor"
    (actor / "huggingface").mkdir(parents=True)
    (actor / "fsdp_config.json").write_text(json.dumps({"FSDP_version": 2, "world_size": 1}))
    (actor / "model_world_size_1_rank_0.pt").write_bytes(b"")
    (actor / "huggingface" / "config.json").write_text("{}")
    with blocked({"verl"}):
        code = main(["merge", "--checkpoint", str(actor.parent), "--out", str(tmp_path / "hf")])
    assert code == EXIT_MISSING_DEPENDENCY
    assert "verl is not importable" in capsys.readouterr().err and not (tmp_path / "hf").exists()
