"""The CPU end-to-end tier's training runs, shared by its test files: ``recipes/cpu_tiny.sh`` is launched
once per session (``run``), and ``test_cpu_tiny_run.py`` (what verl logged and wrote) and
``test_cpu_tiny_eval.py`` (``toolzero-eval`` on the checkpoint) both read it; likewise the multi-turn run
(``multiturn_run``, ``MULTITURN=1``) for ``test_cpu_tiny_multiturn_run.py`` and
``test_cpu_tiny_multiturn_eval.py``. How a run is launched:
:mod:`toolzero_verl.testing.cpu_run`. A missing e2e venv fails the tests; to leave the tier out,
deselect it: ``pytest -m 'not e2e_cpu'``.
"""

from __future__ import annotations

import pytest

from toolzero_verl.testing import cpu_run

STEPS, KAPPA, MIDPOINT = cpu_run.STEPS, cpu_run.KAPPA, cpu_run.MIDPOINT
MULTITURN_STEPS = cpu_run.MULTITURN_STEPS  # σ = 0.27, 0.50 (KAPPA 1, MIDPOINT 2); one checkpoint at the end


@pytest.fixture(scope="session")
def run(tmp_path_factory) -> cpu_run.CpuRun:
    settings = {"STEPS": str(STEPS), "KAPPA": str(KAPPA), "MIDPOINT": str(MIDPOINT)}
    return cpu_run.launch_for_test(tmp_path_factory, "cpu_tiny", settings)


@pytest.fixture(scope="session")
def multiturn_run(tmp_path_factory) -> cpu_run.CpuRun:
    settings = {"MULTITURN": "1", "STEPS": str(MULTITURN_STEPS), "KAPPA": str(KAPPA), "MIDPOINT": str(MIDPOINT)}
    return cpu_run.launch_for_test(tmp_path_factory, "cpu_tiny_multiturn", settings)
