"""Launch ``recipes/cpu_tiny.sh`` from a test: the CPU end-to-end tier's one way of starting a real run.

The test process runs in the main venv; the recipe runs with ``$E2E_PYTHON`` (default
``$E2E_VENV/bin/python``, ``E2E_VENV`` default ``.venv-e2e``, built by ``scripts/setup_cpu_e2e.sh``).
Every run leaves its data, tiny model, checkpoints (``trainer.default_local_dir = RUN_DIR``, from
``observability_args`` in recipes/common.sh), ``metrics.jsonl`` and the console output in ``run_dir``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from toolzero_verl.eval import run_log
from toolzero_verl.testing.examples import REPO

RECIPE = REPO / "recipes" / "cpu_tiny.sh"
# The tier's shared run (tests/e2e_cpu/conftest.py): 3 steps on a steep schedule, σ = 0.27, 0.50, 0.73,
# one checkpoint (global_step_3) at the end.
STEPS = 3
KAPPA, MIDPOINT = 1.0, 2
MULTITURN_STEPS = 2  # MULTITURN=1 runs (tests/e2e_cpu: the multi-turn run and its evaluation)
E2E_TIMEOUT = int(os.environ.get("E2E_TIMEOUT", "900"))  # the recipe's own limit for main_ppo alone
E2E_LOCK_WAIT = int(os.environ.get("E2E_LOCK_WAIT", "1800"))  # how long a run may wait for another's lock
# Settings of the caller's shell that would change what the recipe runs; a test passes its own.
CLEARED = ("VIRTUAL_ENV", "PYTHONHOME", "VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", "VERL_FILE_LOGGER_PATH",
           "LR", "LORA_RANK", "LORA_ALPHA", "LORA_LR_SCALE", "LORA_TARGET_MODULES", "OBSERVABILITY",
           "REWARD_METRICS", "FILE_LOGGER", "RUN_CARD")


@dataclass
class CpuRun:
    """What a finished launch left: exit status, where, its console output and verl's logged metrics."""

    returncode: int
    run_dir: Path
    console: Path
    metrics: run_log.RunMetrics | None
    seconds: float

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.console.read_text(errors="replace").splitlines()[-lines:])

    def logged_metrics(self) -> run_log.RunMetrics:
        """The run's metrics; fails the calling test (with the console's tail) if no training step was logged."""
        if self.metrics is None or not self.metrics.training_steps():
            import pytest

            pytest.fail(f"the run logged no training step (exit {self.returncode}); its output ends with:\n"
                        f"{self.tail()}", pytrace=False)
        return self.metrics

    def actor_dir(self, step: int) -> Path:
        """The FSDP actor checkpoint verl wrote at ``step``."""
        return self.run_dir / f"global_step_{step}" / "actor"


# --- toolzero-eval in the tier's evaluation tests (tests/e2e_cpu/test_cpu_tiny_*eval.py) ---------------
E2E_LOCK = os.environ.get("E2E_LOCK", "/tmp/toolzero-e2e.lock")  # the machine-wide lock recipes/cpu_tiny.sh takes
GENERATE_TIMEOUT = 600  # one vLLM generate, after the lock is taken
# vLLM's CPU build: 1 GiB of KV cache (its default, 4, is more than the tier needs)
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_TARGET_DEVICE": "cpu"}


def run_command(argv, timeout: float = 600, env: Mapping[str, str] | None = None
                ) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``argv`` (paths allowed), capturing its output; returns the process and its wall seconds."""
    start = time.monotonic()
    proc = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                          env=None if env is None else dict(env))
    return proc, time.monotonic() - start


def failure_report(proc: subprocess.CompletedProcess) -> str:
    """A failed command's exit code and the tails of its output, for an assertion message."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def e2e_bin(name: str) -> Path:
    """A console script of the tier's venv (vLLM's CPU build), e.g. ``toolzero-eval``."""
    return e2e_python().with_name(name)


def e2e_python() -> Path:
    if os.environ.get("E2E_PYTHON"):
        return Path(os.environ["E2E_PYTHON"])
    return Path(os.environ.get("E2E_VENV", REPO / ".venv-e2e")) / "bin" / "python"


def missing_venv_message(python: Path) -> str | None:
    if python.is_file():
        return None
    return (f"the CPU end-to-end venv is missing ({python}): build it with `bash scripts/setup_cpu_e2e.sh` "
            "(or set E2E_VENV / E2E_PYTHON), or deselect the tier with -m 'not e2e_cpu'")


def launch(run_dir: Path, settings: Mapping[str, str], recipe: Path = RECIPE) -> CpuRun:
    """Run ``recipe`` with ``settings`` as environment variables (``STEPS``, ``KAPPA``, ``LORA_RANK``, …)
    into ``run_dir``, under an outer timeout: lock wait + data and model (~1-2 min) + the recipe's own."""
    python = e2e_python()
    env = {key: value for key, value in os.environ.items() if key not in CLEARED}
    env.update({
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the recipe's python3
        "RUN_DIR": str(run_dir),
        "E2E_TIMEOUT": str(E2E_TIMEOUT),
        **settings,
    })
    console = run_dir / "console.log"
    start = time.monotonic()
    with console.open("w") as out:
        try:
            proc = subprocess.run(["bash", str(recipe)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                                  timeout=E2E_LOCK_WAIT + E2E_TIMEOUT + 600)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
    try:
        metrics = run_log.load(run_dir / "metrics.jsonl", console)
    except FileNotFoundError:
        metrics = None
    return CpuRun(code, run_dir, console, metrics, time.monotonic() - start)


def launch_for_test(tmp_path_factory, name: str, settings: Mapping[str, str]) -> CpuRun:
    """:func:`launch` into a fresh ``tmp_path_factory`` folder; fails the test if the e2e venv is missing."""
    problem = missing_venv_message(e2e_python())
    if problem:
        import pytest

        pytest.fail(problem, pytrace=False)
    return launch(tmp_path_factory.mktemp(name), settings)
