"""CPU end-to-end tier, multi-turn: ``MULTITURN=1 recipes/cpu_tiny.sh`` trains on episodes in our agent loop.

verl's own trainer (``python -m verl.trainer.main_ppo``, vLLM's CPU build) runs the episode rows of the
bundled examples (``toolzero-prep --agent-loop``: ToolACE dialogues with recorded results, xLAM/Hammer
requests with simulated ones) in the ``toolzero_agent`` loop, which the plugin registers in each
AgentLoopWorker actor through ``import verl``. The policy's calls are executed, the results come back as
tool turns, and ``gg_grpo_episode`` scores the trajectories. The tests read verl's file logger
(``metrics.jsonl``) and the trajectories verl dumps (``trainer.rollout_data_dir``).

Same set-up and cost as ``test_cpu_tiny_run.py`` (~5-8 min, ~11 GB, serialised by the recipe's lock).
"""

from __future__ import annotations

import json

import pytest

from toolzero_verl.core.episode import load_episode
from toolzero_verl.core.schedules import sigmoid
from toolzero_verl.eval import run_log as metrics_log
from toolzero_verl.testing import cpu_run

pytestmark = pytest.mark.e2e_cpu

STEPS = cpu_run.MULTITURN_STEPS
KAPPA, MIDPOINT = cpu_run.KAPPA, cpu_run.MIDPOINT
# gg_grpo_episode's components (toolzero_verl/rewards/episode.py KEYS), logged as toolzero/<key>/mean
EPISODE_KEYS = ("score", "format", "general", "strict", "ast", "turn_ast", "sigma", "step", "n_turns", "n_points",
                "tool_calls", "tool_errors", "tool_turns", "user_turns", "truncated")


@pytest.fixture(scope="module")
def run(multiturn_run) -> cpu_run.CpuRun:
    """The session's multi-turn run (conftest.py), shared with test_cpu_tiny_multiturn_eval.py."""
    return multiturn_run


@pytest.fixture(scope="module")
def metrics(run) -> metrics_log.RunMetrics:
    return run.logged_metrics()


@pytest.fixture(scope="module")
def trajectories(run) -> dict[int, list[dict]]:
    """verl's dump of each training step's trajectories: {step: [{"input", "output", "gts", "score", ...}]}."""
    dumps = {int(p.stem): [json.loads(line) for line in p.read_text().splitlines() if line.strip()]
             for p in (run.run_dir / "rollouts").glob("*.jsonl")}
    assert dumps, f"no trajectories dumped in {run.run_dir / 'rollouts'}"
    return dumps


def test_run_exits_zero_after_all_steps(run, metrics):
    assert run.returncode == 0, f"MULTITURN=1 recipes/cpu_tiny.sh exited {run.returncode}:\n{run.tail()}"
    assert metrics.training_steps() == list(range(1, STEPS + 1))


def test_episode_reward_components_are_logged_every_step(metrics):
    for step in metrics.training_steps():
        data = metrics.steps[step]
        missing = [k for k in EPISODE_KEYS if f"toolzero/{k}/mean" not in data]
        assert not missing, f"step {step} lacks {missing}"
        assert data["toolzero/step/mean"] == step
        assert data["toolzero/sigma/mean"] == pytest.approx(sigmoid(step, KAPPA, MIDPOINT), abs=1e-9)
        # the counts come from the agent loop's record: -1 would mean the reward never saw one
        assert all(data[f"toolzero/{k}/mean"] >= 0 for k in ("tool_calls", "tool_errors", "tool_turns", "user_turns"))
        assert data["toolzero/n_points/mean"] >= 1


def test_tool_calls_were_executed_inside_verls_trainer(metrics):
    calls = [v for _, v in metrics.series("toolzero/tool_calls/mean")]
    tool_turns = [v for _, v in metrics.series("toolzero/tool_turns/mean")]
    assert len(calls) == STEPS and max(calls) > 0, calls
    assert max(tool_turns) > 0, tool_turns
    # verl counts the turns of every trajectory (prompt + assistant + tool + user turns): more than 2 on average
    # means the loop went past one assistant turn
    turns = [v for _, v in metrics.series("num_turns/mean")]
    assert len(turns) == STEPS and max(turns) > 2, turns


def test_executed_results_reach_the_policy_as_tool_turns(trajectories):
    """In the dumped trajectories a replayed ToolACE result or a simulated xLAM result follows the policy's call,
    as a tool turn of the chat template (``tool\\n[{"name": ...``)."""
    tool_turns = [t["output"] for rows in trajectories.values() for t in rows if "tool\n[{" in t["output"]]
    assert tool_turns, "no trajectory holds a tool turn"
    replayed_or_simulated = [o for o in tool_turns if '"results"' in o]
    assert replayed_or_simulated, tool_turns[:2]


def test_dumped_rows_are_episodes(trajectories):
    for rows in trajectories.values():
        for t in rows:
            ep = load_episode(t["gts"])
            assert ep.points, t["gts"]


def test_grpo_gets_a_learning_signal(metrics):
    fractions = [v for _, v in metrics.series("toolzero/equal_reward_groups/fraction")]
    grad_norms = [v for _, v in metrics.series("actor/grad_norm")]
    assert min(fractions) < 1, fractions
    assert all(v > 0 for v in grad_norms), grad_norms


def test_report_steps(run, metrics, trajectories):
    """Prints (pytest -s) the per-step numbers: step time, tool calls and turns per episode, episode reward."""
    keys = ("timing_s/step", "timing_s/gen", "toolzero/score/mean", "toolzero/strict/mean", "toolzero/general/mean",
            "toolzero/turn_ast/mean", "toolzero/tool_calls/mean", "toolzero/tool_errors/mean",
            "toolzero/tool_turns/mean", "toolzero/user_turns/mean", "toolzero/n_turns/mean", "num_turns/mean",
            "toolzero/truncated/mean", "actor/grad_norm")
    print("\n" + metrics_log.format_table(metrics, keys))
    (run.run_dir / "summary.json").write_text(json.dumps({"steps": metrics.steps}, indent=1))
    assert all(metrics.steps[s]["timing_s/step"] > 0 for s in metrics.training_steps())
