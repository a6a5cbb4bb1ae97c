"""``toolzero-eval curves``: a run's logged metrics -> valid PNGs and a one-screen summary whose health checks
fire on unhealthy curves only; hostile logs (torn lines, junk, missing keys, empty files) and a missing
matplotlib give a usable answer or a one-line error, never a traceback."""

from __future__ import annotations

import json
import sys

import pytest

from toolzero_verl.core.schedules import sigmoid
from toolzero_verl.eval import cli, curves, run_log

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # PNG specification, 5.2
STEPS = 12
KAPPA, MIDPOINT = 0.8, 6


def healthy_step(step: int) -> dict:
    """A GG-GRPO step as the sampler and verl log it: σ on the schedule, strict rising, fewer parse failures."""
    sigma = sigmoid(step, KAPPA, MIDPOINT)
    strict = 0.2 + 0.05 * step
    return {
        "training/global_step": step, "toolzero/sigma/mean": sigma, "toolzero/strict/mean": strict,
        "toolzero/general/mean": 0.5 + 0.02 * step, "toolzero/format/mean": 0.9,
        "toolzero/score/mean": 0.9 + sigma * strict + (1 - sigma) * (0.5 + 0.02 * step),
        "toolzero/parse_failure_rate": 0.3 / step, "toolzero/equal_reward_groups/fraction": 0.4,
        "toolzero/n_pred_calls/mean": 1.0, "toolzero/n_gt_calls/mean": 1.1,
        "actor/pg_loss": 0.01 * (-1) ** step, "actor/grad_norm": 0.5, "response_length/mean": 100 + step,
        "response_length/max": 300, "timing_s/step": 30.0, "timing_s/gen": 20.0,
    }


def write_run(path, steps: dict) -> None:
    path.write_text("".join(json.dumps({"step": s, "data": d}) + "\n" for s, d in steps.items()))


@pytest.fixture
def healthy(tmp_path):
    steps = {0: {"val-core/xlam/reward/mean@1": 0.3, "val-aux/xlam/strict/mean@1": 0.3}}
    steps |= {s: healthy_step(s) for s in range(1, STEPS + 1)}
    steps[STEPS] |= {"val-core/xlam/reward/mean@1": 0.6, "val-aux/xlam/strict/mean@1": 0.6}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_run(run_dir / "metrics.jsonl", steps)
    return run_dir


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["curves", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_healthy_run_gives_valid_pngs_and_a_summary_without_warnings(healthy, capsys):
    code, out, err = run_cli(capsys, str(healthy), "--table")
    assert code == 0, err
    written = sorted(p.name for p in (healthy / "curves").iterdir())  # the default: RUN/curves
    assert written == sorted(["reward.png", "validation.png", "parse_and_hacks.png", "calls.png",
                              "learning_signal.png", "update.png", "response_length.png", "time.png", "curves.png"])
    for png in (healthy / "curves").iterdir():
        assert png.read_bytes()[:8] == PNG_SIGNATURE and png.stat().st_size > 1000, png
    assert f"training steps: 1-{STEPS} ({STEPS}); validation at steps: 0, {STEPS}" in out
    sigma_row = next(line for line in out.splitlines() if line.startswith("σ(t)"))
    assert sigma_row.split()[1:3] == [f"{sigmoid(1, KAPPA, MIDPOINT):.4g}", f"{sigmoid(STEPS, KAPPA, MIDPOINT):.4g}"]
    assert "health: no warning" in out and "check:" not in out
    assert "val-core/xlam/reward/mean@1: step 0 0.3, step 12 0.6" in out
    table = out.split("\n\n")[0].splitlines()
    assert table[0].split() == ["step"] + [title for _, title in curves.TABLE_COLUMNS]
    assert [row.split()[0] for row in table[1:]] == [str(s) for s in range(1, STEPS + 1)]


def test_each_unhealthy_curve_is_named(tmp_path):
    steps = {}
    for s in range(1, STEPS + 1):
        step = healthy_step(s)
        step["toolzero/equal_reward_groups/fraction"] = 1.0 if s > STEPS * 3 // 4 else 0.5  # no signal at the end
        step["toolzero/parse_failure_rate"] = 0.02 * s  # rising
        step["toolzero/strict/mean"] = 0.8 - 0.05 * s  # falling once σ passed 0.5
        step["toolzero/n_pred_calls/mean"] = 0.2 * s  # over-calling: 2.4 calls for 1.1 gold
        step["toolzero/calls_on_no_call_rows/mean"] = 0.01 * s  # a hack monitor, rising
        steps[s] = step
    run = run_log.RunMetrics()
    for s, data in steps.items():
        run.add(s, data)
    notes = "\n".join(curves.health_notes(run))
    assert "almost no learning signal" in notes
    assert "parse failures rose from 0.02 to 0.24" in notes
    assert "strict accuracy fell after σ passed 0.5 (step 6" in notes
    assert "over-calling" in notes
    assert "hack monitor toolzero/calls_on_no_call_rows/mean rose" in notes
    assert [label for label, _ in curves.panel_series(curves.PANELS[2], run)] == [
        "parse failure rate", "toolzero/calls_on_no_call_rows/mean"]
    healthy_run = run_log.RunMetrics()
    for s in range(1, STEPS + 1):
        healthy_run.add(s, healthy_step(s))
    assert curves.health_notes(healthy_run) == []


def test_hostile_log_missing_keys_torn_lines_and_junk_still_plot_what_is_there(tmp_path, capsys):
    path = tmp_path / "metrics.jsonl"
    with path.open("wb") as fh:
        fh.write(b'{"step": 1, "data": {"training/global_step": 1, "toolzero/sigma/mean": 0.2}}\n')
        fh.write(b"\xff\xfe binary junk \x00\n")
        fh.write(b'{"step": 2, "data": {"training/global_step": 2, "toolzero/sigma/mean": NaN, '
                 b'"actor/pg_loss": "x"}}\n')
        fh.write(b'{"step": "3", "data": {}}\n[1, 2]\n{"step": 1e400, "data": {}}\n')
        fh.write(b'{"step": 3, "data": {"training/global_step": 3, "toolzero/sigma/mean": 0.7}}\n')
        fh.write(b'{"step": 4, "data": {"toolzero/sigma/me')  # the run was killed mid-line
    code, out, err = run_cli(capsys, str(path), "--out", str(tmp_path / "png"))
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == ["curves.png", "reward.png"]  # only σ was logged
    assert "training steps: 1-3 (3)" in out and "5 unreadable line(s) skipped" in out
    assert next(line for line in out.splitlines() if line.startswith("σ(t)")).split()[1:3] == ["0.2", "0.7"]


def test_a_log_without_reward_metrics_says_what_to_turn_on(tmp_path, capsys):
    path = tmp_path / "metrics.jsonl"
    write_run(path, {1: {"training/global_step": 1, "critic/score/mean": 0.5}})
    code, out, _ = run_cli(capsys, str(path), "--no-plots")
    assert code == 0 and "no toolzero/* reward metrics" in out and "Observability" in out
    assert not (tmp_path / "curves").exists()


def test_a_console_log_is_read_like_the_jsonl(healthy, tmp_path, capsys):
    jsonl = run_log.read_jsonl(healthy / "metrics.jsonl")
    log = tmp_path / "train.log"
    lines = [f"(TaskRunnerV1 pid=3) step:{s} - " + " - ".join(f"{k}:np.float64({v})" for k, v in d.items())
             for s, d in sorted(jsonl.steps.items())]
    log.write_text("\n".join(lines) + "\n")
    code, out, err = run_cli(capsys, str(log), "--out", str(tmp_path / "png"))
    assert code == 0, err
    assert f"training steps: 1-{STEPS} ({STEPS})" in out and (tmp_path / "png" / "reward.png").is_file()


@pytest.mark.parametrize("content", ["", "\n\n", "not a log at all\n", '{"step": 1, "da'])
def test_an_empty_or_unreadable_log_is_a_one_line_error(tmp_path, capsys, content):
    path = tmp_path / "metrics.jsonl"
    path.write_text(content)
    code, out, err = run_cli(capsys, str(path))
    assert code == cli.EXIT_BAD_INPUT and "no step metrics" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, str(tmp_path / "missing"))
    assert code == cli.EXIT_BAD_INPUT and "run not found" in err


def test_without_matplotlib_the_summary_prints_and_the_error_says_how_to_install(healthy, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    code, out, err = run_cli(capsys, str(healthy))
    assert code == cli.EXIT_MISSING_DEPENDENCY
    assert "toolzero-verl[plots]" in err and f"training steps: 1-{STEPS}" in out
    assert not (healthy / "curves").exists()
    code, out, _ = run_cli(capsys, str(healthy), "--no-plots")
    assert code == 0 and "plots (" not in out


def test_many_validation_sources_are_capped_per_panel(tmp_path):
    run = run_log.RunMetrics()
    run.add(0, {f"val-core/src{i:02d}/reward/mean@1": 0.1 * i for i in range(12)})
    lines = curves.panel_series(curves.PANELS[1], run)
    assert len(lines) == curves.MAX_SERIES and lines[0][0] == "val-core/src00/reward/mean@1"
    assert curves.dropped_series(curves.PANELS[1], run) == 12 - curves.MAX_SERIES
    assert f"validation: {12 - curves.MAX_SERIES} more line(s) not drawn" in curves.summary(run)


def test_help_lists_curves(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["curves", "--help"])
    assert exc.value.code == 0
    assert "--no-plots" in capsys.readouterr().out
