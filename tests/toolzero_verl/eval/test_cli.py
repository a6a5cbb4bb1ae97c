"""End-to-end runs of the installed command (subprocess): help, bfcl-prompts -> bfcl on BFCL v3, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolzero_verl.core.formats import get_format
from toolzero_verl.core.ground_truth import load_ground_truth
from toolzero_verl.eval.bfcl import build_rows, load_bfcl
from toolzero_verl.eval.cli import EXIT_BAD_INPUT, main

SCRIPT = Path(sys.executable).with_name("toolzero-eval")  # the console script installed with the package


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


def test_help_lists_the_commands():
    proc = run("--help")
    assert proc.returncode == 0
    for cmd in ("score", "bfcl-prompts", "bfcl", "generate"):
        assert cmd in proc.stdout
    module = subprocess.run([sys.executable, "-m", "toolzero_verl.eval", "bfcl", "--help"],
                            capture_output=True, text=True)
    assert module.returncode == 0 and "--generations" in module.stdout and "--generate" in module.stdout


def test_bfcl_prompts_then_bfcl_on_answer_key_generations(shared_dir, tmp_path):
    bfcl_dir = shared_dir / "bfcl" / "v3"
    prompts = tmp_path / "bfcl.parquet"
    proc = run("bfcl-prompts", "--bfcl-dir", str(bfcl_dir), "--output-format", "hermes", "--out", str(prompts))
    assert proc.returncode == 0, proc.stderr
    assert "wrote 1240 BFCL v3 prompts" in proc.stdout

    import pyarrow.parquet as pq

    rows = pq.read_table(prompts).to_pylist()
    fmt = get_format("hermes")
    gens = tmp_path / "gen.jsonl"
    with gens.open("w") as fh:
        for r in rows:
            calls = load_ground_truth(r["reward_model"]["ground_truth"]).calls
            fh.write(json.dumps({"id": r["extra_info"]["id"], "response": fmt.render(calls, "No tool fits.")}) + "\n")
    proc = run("bfcl", "--bfcl-dir", str(bfcl_dir), "--output-format", "hermes", "--generations", str(gens))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "parallel_multiple_26" in out and "simple_function_checker:unexpected_param" in out
    assert "failing responses (1; showing 1)" in out
    report = json.loads((tmp_path / "gen.bfcl.json").read_text())
    acc = {c: v["accuracy"] for c, v in report["categories"].items()}
    assert acc == {"simple": 1.0, "multiple": 1.0, "parallel": 1.0, "parallel_multiple": 0.995, "irrelevance": 1.0}
    assert [f["key"] for f in report["failures"]] == ["parallel_multiple_26"]
    py = report["summary_v3"]["python_only"]["non_live_ast"]
    assert abs(py - (1 + 1 + 1 + 0.995) / 4) < 1e-12

    # the same parquet through `score`: joined by extra_info.id, same verdicts
    proc = run("score", "--data", str(prompts), "--generations", str(gens), "--json-out", str(tmp_path / "s.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "s.json").read_text())["overall"]["accuracy"] == (1240 - 1) / 1240


def test_in_process_bfcl_prompts_match_build_rows(shared_dir, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "p.parquet"
    assert main(["bfcl-prompts", "--bfcl-dir", str(shared_dir / "bfcl" / "v3"), "--categories", "multiple",
                 "--output-format", "toolrl", "--out", str(out)]) == 0
    expected = build_rows(load_bfcl(shared_dir / "bfcl" / "v3", ["multiple"]).entries, "toolrl")
    assert pq.read_table(out).to_pylist() == expected


def test_bad_inputs_exit_2_without_traceback(tmp_path, capsys):
    assert main(["bfcl", "--bfcl-dir", str(tmp_path / "none"), "--generations", "g.jsonl",
                 "--output-format", "answer"]) == EXIT_BAD_INPUT
    assert main(["score", "--data", str(tmp_path / "missing.parquet"), "--generations", "g.jsonl"]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "BFCL directory not found" in err and "data file not found" in err and "Traceback" not in err


def test_bfcl_requires_the_prompted_format(tmp_path):
    """BFCL rows are rebuilt from the question files, so only the flag says what the model wrote."""
    with pytest.raises(SystemExit) as exc:
        main(["bfcl", "--bfcl-dir", str(tmp_path), "--generations", "g.jsonl"])
    assert exc.value.code == 2
