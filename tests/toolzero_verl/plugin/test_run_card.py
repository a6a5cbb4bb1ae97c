"""The run card's parts that the recipe dry-run test does not reach: resumed runs, no git checkout, none."""

from __future__ import annotations

import json
from pathlib import Path

from toolzero_verl.plugin import run_card


def test_a_resumed_run_keeps_the_first_card_and_adds_a_timestamped_one(tmp_path):
    config = {"trainer": {"default_local_dir": str(tmp_path / "ckpt")}}
    first = run_card.card_path_for(config, "auto")
    assert first == tmp_path / "ckpt" / "run_card.json"
    run_card.write_card({"n": 1}, first)
    second = run_card.card_path_for(config, "auto")
    assert second.parent == first.parent and second.name.startswith("run_card.2") and second.suffix == ".json"
    run_card.write_card({"n": 2}, second)
    assert json.loads(first.read_text()) == {"n": 1}
    assert first.stat().st_mode & 0o777 == 0o644  # published with the run, not private
    assert run_card.card_path_for(config, "none") is None
    assert run_card.card_path_for(config, str(tmp_path / "x.json")) == tmp_path / "x.json"


def test_outside_a_git_checkout_the_source_is_none(tmp_path):
    assert run_card.git_source(tmp_path) is None
    here = run_card.git_source(Path(__file__).resolve().parents[3])
    assert here is None or (len(here["commit"]) == 40 and isinstance(here["dirty"], bool))


def test_missing_data_files_and_packages_are_recorded_as_unknown(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"abc")
    entries = run_card.file_entries([str(tmp_path / "a.parquet"), str(tmp_path / "gone.parquet")])
    assert entries[0]["bytes"] == 3 and entries[0]["sha256"].startswith("ba7816bf")
    assert entries[1] == {"path": str(tmp_path / "gone.parquet"), "bytes": None, "sha256": None}
    versions = run_card.package_versions(("surely-not-installed-dist",))
    assert versions["surely-not-installed-dist"] is None and versions["python"]


def test_the_card_singles_out_seeds_determinism_and_environment():
    config = {"data": {"seed": 3, "train_files": [], "val_files": []},
              "actor_rollout_ref": {"rollout": {"seed": 42, "full_determinism": True}}}
    card = run_card.build_card(config, ["data.seed=3"], recipe="r.sh", environ={"CUDA_VISIBLE_DEVICES": "0,1"})
    assert card["seeds"]["data.seed"] == 3 and card["seeds"]["actor_rollout_ref.actor.fsdp_config.seed"] is None
    assert card["determinism"]["actor_rollout_ref.rollout.full_determinism"] is True
    assert card["environment"] == {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert card["overrides"] == ["data.seed=3"] and card["config"] == config
    json.dumps(card)
