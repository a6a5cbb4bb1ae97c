"""Every toolzero-prep option is checked against its declared type and range before any work
(hardening, class 6): a bad value exits 2 with one line naming the flag and creates nothing; a test
split that swallows the data is said out loud."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from data_prep.augmentations.config import AugmentationConfig
from data_prep.cli import main
from data_prep.config import PrepConfig
from toolzero_verl.core.options import ConfigError

from .conftest import EXAMPLE_FILES, REPO

BAD = [
    (["--test-size", "1.5"], "--test-size"),  # was one test row
    (["--test-size", "inf"], "--test-size"),  # was a crash
    (["--test-size", "nan"], "--test-size"),
    (["--test-size", "-1"], "--test-size"),
    (["--hammer-mask-sources", "xlm"], "--hammer-mask-sources"),  # was: masking silently off
    (["--hammer-mask-sources", "xlam,toolac"], "--hammer-mask-sources"),
    (["--max-prompt-tokens", "-5", "--tokenizer", "."], "--max-prompt-tokens"),  # was: every sample dropped
    (["--max-prompt-tokens", "0", "--tokenizer", "."], "--max-prompt-tokens"),
    (["--max-prompt-tokens", "100"], "--max-prompt-tokens"),  # needs --tokenizer
    (["--name-mask-rate", "2"], "--name-mask-rate"),
    (["--clarify-rate", "nan"], "--clarify-rate"),
    (["--hammer-mask-names", "0"], "--hammer-mask-names"),
    (["--mix", "xlam=nan"], "--mix"),  # was a crash after the conversion
    (["--mix", "xlam=abc"], "--mix"),
    (["--mix", "xlam=1.5"], "--mix"),
    (["--mix", "xlam=10,xlam=20"], "--mix"),
    (["--mix", "xlma=10"], "--mix"),
    (["--seed", "1.5"], "--seed"),
    (["--output-format", "json"], "--output-format"),
    (["--augmentations-on", "test"], "--augmentations-on"),
    (["--devices-on", "test"], "--devices-on"),
]


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """toolzero-prep's ``main`` in this process (argparse's errors exit through SystemExit): exit code, stderr."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, flag", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_option_exits_2_with_one_line_before_any_work(tmp_path, capsys, args, flag):
    out = tmp_path / "out"
    code, err = run_cli(["--xlam", str(EXAMPLE_FILES["xlam"]), "--out", str(out), "--no-progress", *args], capsys)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if "is deprecated" not in ln]
    assert len(lines) == 1 and lines[0].startswith("toolzero-prep: error:") and flag in lines[0], err
    assert not out.exists()  # nothing was created: the options were checked first


def test_a_bad_option_exits_2_from_the_real_command(tmp_path):
    """The same through ``python -m data_prep``: the process's exit status and its one line."""
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "data_prep", "--xlam", str(EXAMPLE_FILES["xlam"]), "--out", str(out),
                          "--no-progress", "--test-size", "1.5"], capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 2 and res.stderr.startswith("toolzero-prep: error:") and "--test-size" in res.stderr
    assert not out.exists()


@pytest.mark.parametrize("field, value", [("test_size", float("inf")), ("test_size", 2.5), ("seed", "x"),
                                          ("max_prompt_tokens", -5), ("coerce", "maybe"), ("order", "hard")])
def test_the_python_api_checks_the_same(field, value):
    with pytest.raises(ConfigError):
        PrepConfig(out="o", xlam="x.json", **{field: value})


def test_augmentation_options_are_typed():
    assert AugmentationConfig(hammer_mask_sources="xlam, toolace").hammer_mask_sources == ("xlam", "toolace")
    for bad in ({"hammer_mask_sources": "xlm"}, {"irrelevance_rate": float("nan")}, {"on": "test"}):
        with pytest.raises(ConfigError):
            AugmentationConfig(**bad)


def test_a_test_split_that_takes_everything_is_warned_about(tmp_path):
    out = tmp_path / "out"
    res = subprocess.run([sys.executable, "-m", "data_prep", "--xlam", str(EXAMPLE_FILES["xlam"]), "--out", str(out),
                          "--test-size", "100000", "--no-progress", "--quiet"],
                         capture_output=True, text=True, cwd=REPO)
    assert res.returncode == 0, res.stderr
    assert "toolzero-prep: warning: the training split is empty" in res.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["total"]["written"]["train"] == 0 and report["warnings"]
