"""Reading verl's logged metrics: the file logger's JSONL and the console lines give the same steps."""

from __future__ import annotations

import json

import pytest

from toolzero_verl.testing import metrics_log

STEPS = {
    0: {"val-core/xlam/reward/mean@1": 1.0, "val-aux/xlam/sigma/mean@1": 1.0},
    1: {"training/global_step": 1, "toolzero/sigma/mean": 0.2689, "actor/pg_loss": -0.0956, "timing_s/step": 5.0,
        "timing_s/gen": 2.0, "toolzero/timing_s/compute_score/sum": 0.25, "toolzero/timing_s/reward_metrics": 0.005},
}


def console_line(step, data):
    # verl's concat_dict_to_str: numbers in pprint form, numpy scalars as np.float64(...), inside Ray's prefix
    parts = [f"step:{step}"] + [f"{k}:np.float64({v})" if i % 2 else f"{k}:{v}" for i, (k, v) in enumerate(data.items())]
    return "\x1b[36m(TaskRunnerV1 pid=1)\x1b[0m " + " - ".join(parts)


def test_jsonl_and_console_agree(tmp_path):
    jsonl = tmp_path / "metrics.jsonl"
    jsonl.write_text("".join(json.dumps({"step": s, "data": d}) + "\n" for s, d in STEPS.items()) + '{"step": 2, "da')
    console = tmp_path / "console.log"
    console.write_text("noise\n" + "\n".join(console_line(s, d) for s, d in STEPS.items()) + "\nmore noise\n")
    from_file, from_console = metrics_log.read_jsonl(jsonl), metrics_log.parse_console(console.read_text())
    assert from_file.steps == from_console.steps == {s: {k: float(v) for k, v in d.items()} for s, d in STEPS.items()}
    assert from_file.training_steps() == [1]
    assert metrics_log.load(jsonl, console).source == str(jsonl)
    assert metrics_log.load(tmp_path / "missing.jsonl", console).source == str(console)
    with pytest.raises(FileNotFoundError):
        metrics_log.load(tmp_path / "missing.jsonl", tmp_path / "missing.log")


def test_time_shares_of_a_step():
    shares = metrics_log.time_shares(STEPS[1])
    assert shares["gen_share"] == pytest.approx(0.4)
    assert shares["reward_s"] == 0.25 and shares["reward_share"] == pytest.approx(0.05)
    assert shares["sampler_share"] == pytest.approx(0.001)
    assert metrics_log.time_shares({"timing_s/step": 4.0, "timing_s/reward": 1.0})["reward_share"] == 0.25  # colocated RM
    assert metrics_log.time_shares({}) == {}
