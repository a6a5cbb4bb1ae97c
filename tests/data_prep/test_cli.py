"""The toolzero-prep CLI end to end, in subprocesses (console script and python -m)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from .conftest import EXAMPLE_FILES

SCRIPT = Path(sys.executable).parent / "toolzero-prep"


def test_help_lists_every_option():
    out = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    for opt in (
        "--toolace",
        "--xlam",
        "--hammer",
        "--toolrl",
        "--out",
        "--output-format",
        "--mix",
        "--test-size",
        "--seed",
        "--order",
        "--max-prompt-tokens",
        "--tokenizer",
        "--xlam-required",
        "--no-coerce",
        "--toolrl-gt",
        "--no-progress",
        "--quiet",
        "CC-BY-4.0",
        "Apache-2.0",
    ):
        assert opt in out, opt


def test_python_m_real_run(tmp_path):
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "data_prep",
        "--toolace",
        str(EXAMPLE_FILES["toolace"]),
        "--xlam",
        str(EXAMPLE_FILES["xlam"]),
        "--hammer",
        str(EXAMPLE_FILES["hammer"]),
        "--toolrl",
        str(EXAMPLE_FILES["toolrl"]),
        "--out",
        str(out),
        "--output-format",
        "hermes",
        "--mix",
        "xlam=10",
        "--test-size",
        "4",
        "--seed",
        "3",
        "--order",
        "difficulty",
        "--no-progress",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "TOTAL" in res.stdout and "rejected by reason" in res.stdout
    report = json.loads((out / "report.json").read_text())
    assert all(s["reconciled"] for s in report["sources"].values())
    assert report["sources"]["xlam"]["written"]["total"] == 10
    train, test = pd.read_parquet(out / "train.parquet"), pd.read_parquet(out / "test.parquet")
    # at most 4 test rows, whole ToolACE dialogues only
    assert 2 <= len(test) <= 4 and len(train) == report["total"]["written"]["train"]
    assert set(train["extra_info"].map(lambda e: e["output_format"])) == {"hermes"}


def test_errors_exit_2(tmp_path):
    res = subprocess.run([str(SCRIPT), "--out", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2 and "at least one input" in res.stderr
    res = subprocess.run(
        [str(SCRIPT), "--xlam", str(tmp_path / "missing.json"), "--out", str(tmp_path)], capture_output=True, text=True
    )
    assert res.returncode == 2 and "no such file" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "an array"}')
    res = subprocess.run(
        [str(SCRIPT), "--xlam", str(bad), "--out", str(tmp_path / "o")], capture_output=True, text=True
    )
    assert res.returncode == 2 and "JSON array" in res.stderr and not (tmp_path / "o" / "train.parquet").exists()


def test_flags_come_from_the_config_fields():
    """Every option of PrepConfig and AugmentationConfig is a flag whose help is the field's own text."""
    import dataclasses
    import re

    from data_prep.augmentations.config import AugmentationConfig
    from data_prep.cli import build_parser
    from data_prep.config import PrepConfig

    help_text = " ".join(build_parser().format_help().split())
    for cls in (PrepConfig, AugmentationConfig):
        for f in dataclasses.fields(cls):
            if "help" not in f.metadata:
                continue
            flag = f.metadata["flag"] or "--" + f.name.replace("_", "-")
            assert re.search(rf"{re.escape(flag)}\b", help_text), flag
            assert " ".join(f.metadata["help"].split()) in help_text, f.name
