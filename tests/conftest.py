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


@pytest.fixture(scope="session")
def toolace_dialogues_file(shared_dir: Path, tmp_path_factory) -> Path:
    """The real ToolACE dialogues of the shared corpora (the exact record + 100 restored ones) in
    ToolACE's raw ``data.json`` shape (:mod:`toolzero_verl.testing.toolace_dialogues`)."""
    import json

    from toolzero_verl.testing.toolace_dialogues import load_dialogues

    path = tmp_path_factory.mktemp("toolace_dialogues") / "toolace_data.json"
    path.write_text(json.dumps(load_dialogues(shared_dir / "corpora"), ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def toolace_episode_rows(toolace_dialogues_file: Path, tmp_path_factory):
    """``rows(output_format)``: the episode rows ``toolzero-prep --agent-loop`` writes from the real
    ToolACE dialogues (all in one split), as plain dicts; built once per format."""
    from data_prep.config import PrepConfig
    from data_prep.pipeline import run

    cache: dict[str, list] = {}

    def rows(output_format: str = "hermes") -> list[dict]:
        if output_format not in cache:
            import pyarrow.parquet as pq

            out = tmp_path_factory.mktemp(f"episodes_{output_format}")
            run(PrepConfig(toolace=str(toolace_dialogues_file), out=str(out), agent_loop=True, test_size=0,
                           output_format=output_format, progress=False))
            cache[output_format] = pq.read_table(str(out / "train.parquet")).to_pylist()
        return cache[output_format]

    return rows


def pytest_runtest_setup(item):
    """A test marked `bfcl` fails loudly (never skips) where bfcl-eval is not installed: `make test` runs
    those tests in .venv-bfcl (scripts/setup_bfcl.sh); elsewhere deselect them with -m 'not bfcl'."""
    if item.get_closest_marker("bfcl") is not None:
        import importlib.util

        if importlib.util.find_spec("bfcl_eval") is None:
            pytest.fail("this test needs bfcl-eval: run it with .venv-bfcl/bin/python (scripts/setup_bfcl.sh), "
                        "or deselect it with -m 'not bfcl'", pytrace=False)
