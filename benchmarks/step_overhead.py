"""Reward and sampler share of a real GRPO step on CPU: toolzero vs verl's naive manager + in-tree rlla.

Runs ``recipes/cpu_tiny.sh`` (the CPU end-to-end tier; needs ``.venv-e2e`` from
``scripts/setup_cpu_e2e.sh``) twice, on the same data and the same tiny model, so only the reward
path differs:

- **ours**: the ``toolzero`` reward manager with ``reward=toolrl`` (ToolRL's reward; its scores equal
  rlla's on these rows) and the ``ToolZeroReplayBuffer`` sampler;
- **verl**: verl's ``naive`` manager calling ``verl.utils.reward_score.rlla.compute_score`` (ToolRL's
  reward as shipped in verl), with the same sampler, used there only as a timer.

Data: ``examples/data/rlla_rl.json`` converted with ``--output-format toolrl --toolrl-gt raw`` (rlla
parses ToolRL's raw target strings); the tiny model is warm-started on those answers. Validation and
checkpoints are off. verl's v1 trainer logs no ``timing_s/reward`` on its streaming reward path (the
reward runs inside ``timing_s/gen``, concurrently with generation), so the reward time is the sum of
verl's per-trajectory reward waits (``AgentLoopMetrics.compute_score``, logged by the sampler as
``toolzero/timing_s/compute_score/*``): an upper bound of the reward's share of the step. The
sampler's own cost is ``toolzero/timing_s/reward_metrics``. Step 1 (warm-up) is left out of the
medians. ``timing_s/gen`` ends at the replay buffer's first poll after the batch is complete
(``poll_interval``: verl's default 2 s, the recipe's 0.25 s), so it is quantised by that interval.

The per-trajectory reward wait is mostly the round trip to the reward worker (a Ray call, then a
thread of the worker's executor); the scoring itself takes microseconds per response
(``benchmarks/reward_throughput.py``). Compare the two runs' ``update_actor_s`` (the same work in
both) to see how much the machine's load moved between them: one run of each cannot separate
differences smaller than that.

    python benchmarks/step_overhead.py                     # ~8 min, ~9 GB RAM, both cores
    python benchmarks/step_overhead.py --steps 6 --out /tmp/overhead
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from toolzero_verl.eval import run_log  # noqa: E402

RECIPE = REPO / "recipes" / "cpu_tiny.sh"
NO_VAL_NO_CKPT = ("trainer.test_freq=-1", "trainer.val_before_train=False", "trainer.save_freq=-1")
VERL_RLLA = (
    "reward.reward_manager.name=naive",
    "reward.custom_reward_function.path=pkg://verl.utils.reward_score.rlla",
    "reward.custom_reward_function.name=compute_score",
    "~reward.custom_reward_function.reward_kwargs",  # our reward's options; rlla takes none
    # rlla picks its chat-template parser from extra_info["experiment_name"]; verl's reward_kwargs
    # override call-time kwargs, so this replaces the row's extra_info (rlla reads nothing else there)
    "+reward.custom_reward_function.reward_kwargs.extra_info.experiment_name=qwen",
)
REPORT_KEYS = ("step_s", "gen_s", "update_actor_s", "reward_s", "reward_share", "sampler_s", "sampler_share")


def run(cmd: list[str], env: dict, log: Path) -> int:
    with log.open("w") as out:
        return subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO).returncode


def prepare(python: Path, out: Path, env: dict) -> tuple[Path, Path]:
    data, model = out / "data", out / "model"
    if not (data / "train.parquet").is_file():
        subprocess.run([str(python), "-m", "data_prep", "--toolrl", str(REPO / "examples/data/rlla_rl.json"),
                        "--output-format", "toolrl", "--toolrl-gt", "raw", "--test-size", "0.2",
                        "--out", str(data), "--no-progress", "--quiet"], env=env, check=True, cwd=REPO)
    if not (model / "config.json").is_file():
        subprocess.run([str(python), "-m", "toolzero_verl.testing.tiny_model", "--data", str(data / "train.parquet"),
                        str(data / "test.parquet"), "--out", str(model), "--output-format", "toolrl"],
                       env=env, check=True, cwd=REPO)
    return data, model


def summarize(run_metrics: run_log.RunMetrics) -> dict[str, float]:
    steps = [s for s in run_metrics.training_steps() if s > 1] or run_metrics.training_steps()
    shares = [run_log.time_shares(run_metrics.steps[s]) for s in steps]
    out = {key: statistics.median(s[key] for s in shares) for key in REPORT_KEYS if all(key in s for s in shares)}
    out["reward_per_trajectory_ms"] = 1000 * statistics.median(
        run_metrics.steps[s]["toolzero/timing_s/compute_score/mean"] for s in steps)
    out["score_mean"] = statistics.mean(run_metrics.steps[s]["critic/score/mean"] for s in steps)
    out["steps"] = len(steps)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", type=Path, default=REPO / ".venv-e2e" / "bin" / "python",
                        help="python of the CPU tier's venv (default .venv-e2e)")
    parser.add_argument("--steps", type=int, default=4,
                        help="training steps per run (default 4; step 1 is not counted)")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "step_overhead")
    args = parser.parse_args(argv)
    if not args.python.is_file():
        parser.error(f"{args.python} not found: build the CPU tier's venv with bash scripts/setup_cpu_e2e.sh")
    args.out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{args.python.parent}{os.pathsep}{env.get('PATH', '')}"
    data, model = prepare(args.python, args.out, env)
    variants = {
        "ours (toolzero manager, reward=toolrl)": ((), {}),
        # our preflight checks our reward's options, which rlla does not take
        "verl (naive manager + rlla)": (VERL_RLLA, {"SKIP_PREFLIGHT": "1"}),
    }
    results = {}
    for name, (overrides, extra_env) in variants.items():
        run_dir = args.out / ("ours" if name.startswith("ours") else "verl")
        run_env = {**env, **extra_env, "RUN_DIR": str(run_dir), "DATA_DIR": str(data), "MODEL_DIR": str(model),
                   "REWARD": "toolrl", "OUTPUT_FORMAT": "toolrl", "STEPS": str(args.steps)}
        run_dir.mkdir(parents=True, exist_ok=True)
        start = time.time()
        code = run(["bash", str(RECIPE), *NO_VAL_NO_CKPT, *overrides], run_env, run_dir / "console.log")
        print(f"{name}: exit {code} in {time.time() - start:.0f} s (log {run_dir / 'console.log'})", flush=True)
        if code != 0:
            return code
        results[name] = summarize(run_log.load(run_dir / "metrics.jsonl", run_dir / "console.log"))
    print(f"\nmedians over steps 2..{args.steps} (tiny model, 4 prompts x 4 rollouts per step)")
    columns = (*REPORT_KEYS, "reward_per_trajectory_ms", "score_mean")
    print(f"{'':<40}" + "".join(f"{k:>16}" for k in columns))
    for name, summary in results.items():
        cells = [f"{summary.get(k, float('nan')):>16.4f}" for k in columns]
        print(f"{name:<40}" + "".join(cells))
    (args.out / "summary.json").write_text(json.dumps(results, indent=1))
    ours, verl = results.values()
    ratio = ours["reward_per_trajectory_ms"] / verl["reward_per_trajectory_ms"]
    print(f"\nper-trajectory reward latency, ours / verl: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
