"""Shared test fixtures: where the real corpus samples and BFCL data live.

CI clones the repo next to ``shared/`` (``<dir>/main`` and ``<dir>/shared``); ``TOOLZERO_SHARED``
overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

if os.environ.get("TOOLZERO_FAST") == "1":
    # The fast tier (make test-fast): prove the verl-free floors need none of the heavy stack. A test
    # that imports verl, torch, ray or transformers without the `verl` marker fails here, loudly.
    from toolzero_verl.testing.import_blocker import install

    install()

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TOOLZERO_SHARED", REPO.parent / "shared"))
CORPORA = SHARED / "corpora"
BFCL_V3 = SHARED / "bfcl" / "v3"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared data not found at {SHARED}; clone the repo next to shared/ or set TOOLZERO_SHARED")
    return SHARED


def pytest_runtest_setup(item):
    """A test marked `bfcl` fails loudly (never skips) where bfcl-eval is not installed: `make test` runs
    those tests in .venv-bfcl (scripts/setup_bfcl.sh); elsewhere deselect them with -m 'not bfcl'."""
    if item.get_closest_marker("bfcl") is not None:
        import importlib.util

        if importlib.util.find_spec("bfcl_eval") is None:
            pytest.fail("this test needs bfcl-eval: run it with .venv-bfcl/bin/python (scripts/setup_bfcl.sh), "
                        "or deselect it with -m 'not bfcl'", pytrace=False)
