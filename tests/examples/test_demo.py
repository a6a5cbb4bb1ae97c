"""The demo's core steps, in-process against tmp_path: convert the bundled examples, score sample
rollouts through verl's real RewardLoopWorker (recipe reward settings, toolzero manager) at several
steps, and check σ really moves the reward from generic to strict. The recipe dry run the demo ends
with is tested in tests/recipes/test_recipes.py."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

from toolzero_verl import compute_score
from toolzero_verl.core.schedules import sigmoid
from toolzero_verl.testing.examples import REPO

pytestmark = pytest.mark.verl


def _load_demo():
    # examples/demo.py is a script, not part of the installed package; load it by path.
    spec = importlib.util.spec_from_file_location("toolzero_demo", REPO / "examples" / "demo.py")
    module = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    return demo.run(tmp_path_factory.mktemp("demo"), steps=(0, 25, 100), dry_run=False)


def test_examples_convert_and_reconcile(result):
    report = result["report"]
    assert set(report["sources"]) == {"toolace", "xlam", "hammer", "toolrl"}
    assert demo.written_rows(report) > 0
    assert all(src["reconciled"] for src in report["sources"].values())


def test_samples_cover_every_kind_for_each_prompt(result):
    samples = result["samples"]
    assert [s.kind for s in samples[:3]] == list(demo.KINDS)
    assert len(samples) == demo.N_PROMPTS * len(demo.KINDS)
    for perfect, near in zip(samples[0::3], samples[1::3]):
        assert perfect.ground_truth == near.ground_truth and perfect.response != near.response


def test_worker_uses_the_recipe_reward_settings(result):
    kwargs = dict(result["config"].reward.custom_reward_function.reward_kwargs)
    assert result["config"].reward.reward_manager.name == "toolzero"
    got = (kwargs["reward"], kwargs["kappa"], kwargs["midpoint"], kwargs["total_training_steps"])
    assert got == ("gg_grpo", 0.1, 25, 200)


def test_sigma_moves_the_reward_from_generic_to_strict(result):
    table = {row.step: row for row in result["table"]}
    for step, row in table.items():
        assert row.sigma == pytest.approx(sigmoid(step, 0.1, 25))
        assert row.means["perfect"] > row.means["near_miss"]
    # Early the near miss earns almost the perfect score (token overlap); late only the exact call earns the
    # strict point (docs/rewards.md, "Ranking invariants").
    assert table[0].means["perfect"] - table[0].means["near_miss"] < 0.3
    assert table[100].means["perfect"] - table[100].means["near_miss"] > 0.95
    assert table[0].means["near_miss"] > table[25].means["near_miss"] > table[100].means["near_miss"]
    # Late, the near miss (a valid call) ranks above the wrong call (a function nobody offered: invalid, −0.3).
    late = table[100].means
    assert late["perfect"] > late["near_miss"] > late["wrong"]
    assert late["near_miss"] - late["wrong"] == pytest.approx(0.3, abs=0.01)


def test_worker_scores_equal_direct_compute_score(result):
    """verl's worker path (decode, step from non_tensor_batch, kwargs from config) changes nothing."""
    cfg, samples = result["config"], result["samples"]
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(cfg.actor_rollout_ref.model.path)  # the worker's own tokenizer
    kwargs = dict(cfg.reward.custom_reward_function.reward_kwargs)
    step = 25
    import asyncio

    got = asyncio.run(demo.score_with_worker(cfg, demo.make_batch(tokenizer, samples, step)))
    for sample, out in zip(samples, got):
        extra = {**sample.extra_info, "global_steps": step, "training_progress": step / 200}
        want = compute_score(sample.data_source, sample.response, sample.ground_truth, extra, **kwargs)
        assert out["reward_score"] == pytest.approx(want["score"])
        assert out["reward_extra_info"]["step"] == step


@pytest.mark.parametrize(
    ("value", "check"),
    [(True, lambda v: v is False), (3, lambda v: v == 10), (2.5, lambda v: v == 9.5),
     ("Paris", lambda v: v != "Paris"), ("", lambda v: v == "wrong"), ([1, 2], lambda v: v == [1, 2, 1]),
     ({"a": 1}, lambda v: v["a"] == 1 and len(v) == 2)],
)
def test_near_miss_value_keeps_the_type_and_changes_the_value(value, check):
    changed = demo.near_miss_value(value)
    assert type(changed) is type(value) and changed != value and check(changed)


def test_demo_script_with_demo_train_0_stops_before_training(tmp_path):
    """`DEMO_TRAIN=0 make demo`: the steps above and the dry run, then no training run (no vLLM venv needed)."""
    out_dir = tmp_path / "out"
    env = {**os.environ, "DEMO_TRAIN": "0", "DEMO_OUT": str(out_dir)}
    out = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], env=env, cwd=REPO, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "dry run of qwen7b_ggrpo.sh: OK" in out.stdout
    assert "DEMO_TRAIN=0: training skipped" in out.stdout and "[5] training" not in out.stdout
    assert (out_dir / "data" / "train.parquet").is_file() and not (out_dir / "train").exists()
