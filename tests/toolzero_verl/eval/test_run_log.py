"""Reading verl's logged metrics: the file logger's JSONL and the console lines give the same steps; the
pieces of a resumed run join; hostile logs (torn lines, junk, NaN, binary bytes, huge lines, odd steps)
cost a skipped line, never an exception."""

from __future__ import annotations

import json
import os
import time

import pytest

from toolzero_verl.eval import run_log
from toolzero_verl.eval.paths import InputError

STEPS = {
    0: {"val-core/xlam/reward/mean@1": 1.0, "val-aux/xlam/sigma/mean@1": 1.0},
    1: {"training/global_step": 1, "toolzero/sigma/mean": 0.2689, "actor/pg_loss": -0.0956, "timing_s/step": 5.0,
        "timing_s/gen": 2.0, "toolzero/timing_s/compute_score/sum": 0.25, "toolzero/timing_s/reward_metrics": 0.005},
}


def jsonl_text(steps) -> str:
    return "".join(json.dumps({"step": s, "data": d}) + "\n" for s, d in steps.items())


def console_line(step, data):
    # verl's concat_dict_to_str: numbers in pprint form, numpy scalars as np.float64(...), inside Ray's prefix
    parts = [f"step:{step}"]
    parts += [f"{k}:np.float64({v})" if i % 2 else f"{k}:{v}" for i, (k, v) in enumerate(data.items())]
    return "\x1b[36m(TaskRunnerV1 pid=1)\x1b[0m " + " - ".join(parts)


def floats(steps):
    return {s: {k: float(v) for k, v in d.items()} for s, d in steps.items()}


def test_jsonl_and_console_agree(tmp_path):
    jsonl = tmp_path / "metrics.jsonl"
    jsonl.write_text(jsonl_text(STEPS) + '{"step": 2, "da')  # torn last line: the run was killed mid-write
    console = tmp_path / "console.log"
    console.write_text("noise\n" + "\n".join(console_line(s, d) for s, d in STEPS.items()) + "\nmore noise\n")
    from_file, from_console = run_log.read_jsonl(jsonl), run_log.read_console(console)
    assert from_file.steps == from_console.steps == floats(STEPS)
    assert from_file.skipped == 1 and from_file.training_steps() == [1]
    assert run_log.load(jsonl, console).source == str(jsonl)
    assert run_log.load(tmp_path / "missing.jsonl", console).source == str(console)
    with pytest.raises(FileNotFoundError):
        run_log.load(tmp_path / "missing.jsonl", tmp_path / "missing.log")


def test_load_run_takes_a_directory_a_jsonl_or_a_console_log(tmp_path):
    (tmp_path / "metrics.jsonl").write_text(jsonl_text(STEPS))
    (tmp_path / "train.log").write_text("\n".join(console_line(s, d) for s, d in STEPS.items()))
    assert run_log.load_run(tmp_path).steps == floats(STEPS)
    assert run_log.load_run(tmp_path / "metrics.jsonl").steps == floats(STEPS)
    assert run_log.load_run(tmp_path / "train.log").steps == floats(STEPS)
    (tmp_path / "metrics.jsonl").unlink()  # no JSONL: the directory's console log
    run = run_log.load_run(tmp_path)
    assert run.steps == floats(STEPS) and run.source == str(tmp_path / "train.log")


@pytest.mark.parametrize("content", ["", "\n\n", "not a log\n", '{"step": 1}\n', "\x00\xff" * 100])
def test_load_run_without_any_step_is_one_input_error(tmp_path, content):
    path = tmp_path / "x.log"
    path.write_bytes(content.encode("utf-8", "surrogateescape") if isinstance(content, str) else content)
    with pytest.raises(InputError, match="no step metrics"):
        run_log.load_run(path)
    with pytest.raises(InputError, match="no metrics"):
        run_log.load_run(tmp_path)
    with pytest.raises(InputError, match="run not found"):
        run_log.load_run(tmp_path / "nope")


def test_a_resumed_run_joins_its_pieces(tmp_path):
    """FileLogger opens its file with "wb"; recipes/common.sh moves the old one aside first. Steps 1-3 ran,
    the run was killed, resumed from the checkpoint of step 2 (validation at 2, training from 3)."""
    first = {0: {"val": 0.1}, **{s: {"training/global_step": s, "x": s} for s in (1, 2, 3)}}
    second = {2: {"val": 0.5}, **{s: {"training/global_step": s, "x": 10 * s} for s in (3, 4)}}
    (tmp_path / "metrics.20260101T000000Z.jsonl").write_text(jsonl_text(first))
    (tmp_path / "metrics.jsonl").write_text(jsonl_text(second))
    run = run_log.load_run(tmp_path)
    assert run.series("x") == [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0)]  # step 3 from the resumed piece
    assert run.series("val") == [(0, 0.1), (2, 0.5)]
    assert len(run.files) == 2
    # a fresh start into the same folder (no checkpoint: training from step 1 again) replaces everything
    (tmp_path / "metrics.jsonl").write_text(jsonl_text({0: {"val": 0.9}, 1: {"training/global_step": 1, "x": 7}}))
    assert run_log.load_run(tmp_path).series("x") == [(1, 7.0)]


def test_segments_are_ordered_by_their_time_stamp_not_by_modification_time(tmp_path):
    newer, older = tmp_path / "metrics.20260102T000000Z.jsonl", tmp_path / "metrics.20260101T000000Z.jsonl"
    newer.write_text("")
    older.write_text("")
    os.utime(older, (time.time() + 100, time.time() + 100))  # copied later
    (tmp_path / "metrics.jsonl").write_text("")
    assert [p.name for p in run_log.metrics_files(tmp_path)] == [older.name, newer.name, "metrics.jsonl"]


def test_hostile_jsonl_lines_are_skipped_and_counted(tmp_path):
    path = tmp_path / "metrics.jsonl"
    good = {"step": 3, "data": {"a": 1.5, "nan": None, "inf": 1e999, "text": "x", "nested": {"b": 1}, "flag": True}}
    lines = [
        json.dumps(good),
        '{"step": 2, "data": {"a": NaN, "b": Infinity, "c": 2}}',  # Python's json reads these; not finite
        '{"step": true, "data": {"a": 1}}', '{"step": -1, "data": {"a": 1}}', '{"step": 1.5, "data": {"a": 1}}',
        '{"step": "4", "data": {"a": 1}}', '{"step": 1e300, "data": {"a": 1}}', '{"step": 5, "data": [1]}',
        "[1, 2]", "null", "{" * 100000 + "}" * 100000,  # deep nesting: RecursionError inside json
        '{"step": 4.0, "data": {"a": 4}}',
    ]
    path.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe\x00binary junk\n")
    run = run_log.read_jsonl(path)
    assert run.steps == {3: {"a": 1.5, "flag": 1.0}, 2: {"c": 2.0}, 4: {"a": 4.0}}
    assert run.skipped == 10  # nine bad records and the binary line


def test_a_huge_line_costs_one_skip_and_bounded_memory(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with path.open("w") as fh:
        fh.write(json.dumps({"step": 1, "data": {"a": 1}}) + "\n")
        fh.write('{"step": 2, "data": {"a": "' + "9" * (run_log.MAX_LINE_CHARS + 10) + '"}}\n')
        fh.write(json.dumps({"step": 3, "data": {"a": 3}}) + "\n")
    run = run_log.read_jsonl(path)
    assert run.series("a") == [(1, 1.0), (3, 3.0)] and run.skipped == 1
    long_console = tmp_path / "c.log"
    long_console.write_text("step:1 - a:" + "1" * 100 + " - b:2\n")  # a 100-digit "number" is not kept
    assert run_log.read_console(long_console).steps == {1: {"b": 2.0}}


def test_many_steps_read_in_reasonable_time(tmp_path):
    path = tmp_path / "metrics.jsonl"
    data = {f"k{i}": i / 7 for i in range(120)}  # verl logs ~120 metrics per step
    path.write_text("".join(json.dumps({"step": s, "data": data}) + "\n" for s in range(1, 5001)))
    start = time.perf_counter()
    run = run_log.read_jsonl(path)
    assert len(run.steps) == 5000 and run.steps[4321]["k7"] == 1.0
    assert time.perf_counter() - start < 30  # ~1 s here; a guard against quadratic reading


def test_console_lines_with_junk_between_and_inside():
    lines = [
        "step:1 - a:1 - b:np.float64(nan) - c:np.int64(3) - d:[1, 2] - :5 - e",
        "(TaskRunnerV1 pid=9) step:2 - a:2",
        "(pid=3) step:99999999999 - a:1",  # beyond MAX_STEP
        "step:4 - key with spaces:4.5 - url:http://x - z:1e999",
        "step:5",  # no metrics
        "xstep:6 - a:6",  # 'step' must be a word of its own
        "\x1b[33mstep:7 - a:7\x1b[0m\r\n",
    ]
    run = run_log.parse_console(lines)
    assert run.steps == {1: {"a": 1.0, "c": 3.0}, 2: {"a": 2.0}, 4: {"key with spaces": 4.5}, 7: {"a": 7.0}}


def test_time_shares_of_a_step():
    shares = run_log.time_shares(STEPS[1])
    assert shares["gen_share"] == pytest.approx(0.4)
    assert shares["reward_s"] == 0.25 and shares["reward_share"] == pytest.approx(0.05)
    assert shares["sampler_share"] == pytest.approx(0.001)
    assert run_log.time_shares({"timing_s/step": 4.0, "timing_s/reward": 1.0})["reward_share"] == 0.25  # colocated RM
    assert run_log.time_shares({}) == {}
