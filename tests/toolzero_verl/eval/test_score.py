"""``score`` on parquet written by data_prep (``python -m data_prep`` on the real corpus samples):
generations made from the rows' ground truths score 100%; malformed lines are skipped and counted;
reward components, categories, samples and hostile text behave.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolzero_verl.core.formats import FORMATS, get_format
from toolzero_verl.core.ground_truth import load_ground_truth
from toolzero_verl.eval.generations import Generation, Generations, parse_lines
from toolzero_verl.eval.score import (
    CATEGORIES,
    ScoreOptions,
    format_report,
    load_rows,
    score_rows,
    structural_category,
    write_json,
)


def prep(shared_dir: Path, out: Path, fmt: str, *extra: str) -> list[dict]:
    c = shared_dir / "corpora"
    subprocess.run(
        [sys.executable, "-m", "data_prep", "--toolace", str(c / "toolace" / "toolace_sample.json"),
         "--xlam", str(c / "xlam" / "xlam_sample.json"), "--toolrl", str(c / "toolrl" / "rlla_rl_test80.json"),
         "--out", str(out), "--output-format", fmt, "--test-size", "0.5", "--no-progress", "--quiet", *extra],
        check=True, capture_output=True, text=True,
    )
    return load_rows(out / "test.parquet")


@pytest.fixture(scope="module")
def prepped(shared_dir, tmp_path_factory) -> dict[str, tuple[Path, list[dict]]]:
    """output format -> (test.parquet, its rows), plus 'toolrl-raw' (ToolRL's own ground-truth strings)."""
    out = {}
    for fmt in sorted(FORMATS):
        d = tmp_path_factory.mktemp(f"prep_{fmt}")
        out[fmt] = (d / "test.parquet", prep(shared_dir, d, fmt))
    d = tmp_path_factory.mktemp("prep_toolrl_raw")
    out["toolrl-raw"] = (d / "test.parquet", prep(shared_dir, d, "toolrl", "--toolrl-gt", "raw"))
    return out


def gold_lines(rows, fmt_name: str | None = None) -> list[str]:
    lines = []
    for r in rows:
        gt = load_ground_truth(r["reward_model"]["ground_truth"])
        fmt = get_format(fmt_name or r["extra_info"]["output_format"])
        answer = gt.answer or (None if gt.calls else "ok")  # toolrl: a reply only where the reference has one
        lines.append(json.dumps({"index": r["extra_info"]["index"], "response": fmt.render(gt.calls, answer, "t")}))
    return lines


@pytest.mark.parametrize("variant", ["answer", "hermes", "toolrl", "toolrl-raw"])
def test_generations_from_the_ground_truth_score_100_percent(prepped, variant):
    _, rows = prepped[variant]
    assert len(rows) >= 30
    report = score_rows(rows, parse_lines(gold_lines(rows)))
    assert report.counts["rows_scored"] == len(rows) and report.counts["malformed_lines"] == 0
    assert report.overall.accuracy == 1.0, [(f.row.key, f.error) for f in report.failures]
    assert all(g.accuracy == 1.0 for g in report.by_data_source.values())
    assert len(report.by_data_source) >= 2 and set(report.by_data_source) <= {"toolace", "xlam", "toolrl"}
    assert len(report.by_category) >= 3 and set(report.by_category) <= set(CATEGORIES)
    comps = report.overall.to_dict()["components"]
    assert comps["format"] == 1.0 and comps["ast"] == 1.0 and comps["sigma"] == 1.0


def test_other_rewards_report_their_own_components(prepped):
    _, rows = prepped["toolrl"]
    gens = parse_lines(gold_lines(rows))
    toolrl = score_rows(rows, gens, ScoreOptions(reward="toolrl"))
    binary = score_rows(rows, gens, ScoreOptions(reward="binary"))
    assert toolrl.overall.accuracy == binary.overall.accuracy == 1.0  # strict accuracy does not depend on the reward
    assert set(toolrl.overall.components) != set(binary.overall.components)
    assert binary.overall.to_dict()["components"]["score"] == 1.0
    with pytest.raises(ValueError, match="unknown option"):
        score_rows(rows, gens, ScoreOptions(reward="binary", reward_kwargs=(("no_such_option", 1),)))


def test_malformed_lines_are_reported_and_skipped(prepped, tmp_path):
    path, rows = prepped["answer"]
    lines = gold_lines(rows)
    bad = [
        "{not json", "[1, 2]", '{"response": "no key"}', '{"index": "seven", "response": "x"}',
        '{"index": 0}', '{"index": 1.5, "response": "x"}', '{"index": 99999, "response": "x"}',
        '{"index": 0, "response": 12}', "\x00\xff garbage", '{"index": 0, "responses": []}',
    ]
    mixed = lines[:5] + bad + lines[5:] + [""]
    gens_path = tmp_path / "gen.jsonl"
    gens_path.write_text("\n".join(mixed), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "toolzero_verl.eval", "score", "--data", str(path), "--generations", str(gens_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipped 9 malformed generation line(s)" in proc.stdout
    assert "skipped 1 generation line(s) that match no row" in proc.stdout and "line 12: unknown_key" in proc.stdout
    metrics = json.loads((tmp_path / "gen.metrics.json").read_text())
    assert metrics["counts"]["malformed_lines"] == 9 and metrics["counts"]["unmatched_lines"] == 1
    assert metrics["overall"]["accuracy"] == 1.0 and metrics["counts"]["rows_scored"] == len(rows)
    assert [m["line"] for m in metrics["malformed_lines"]] == [6, 7, 8, 9, 10, 11, 13, 14, 15]


def test_rows_without_generation_and_multiple_samples(prepped):
    _, rows = prepped["answer"]
    lines = gold_lines(rows)
    first = json.loads(lines[0])["index"]
    extra = [json.dumps({"index": first, "response": "<think></think><answer>[nope(x=1)]</answer>"})]
    report = score_rows(rows, parse_lines(lines[:-1] + extra))
    n = len(rows)
    # row 0 has two samples (one right, one wrong) -> 0.5; the last row has none -> 0
    assert report.overall.accuracy == pytest.approx((n - 2 + 0.5) / n)
    assert report.counts["rows_counted_as_missing"] == 1 and report.overall.kinds["no_generation"] == 1
    partial = score_rows(rows, parse_lines(lines[:-1] + extra), ScoreOptions(partial=True))
    assert partial.overall.rows == n - 1 and partial.overall.accuracy == pytest.approx((n - 2 + 0.5) / (n - 1))


def test_hostile_responses_get_a_score():
    gt = {"calls": [{"name": "f", "arguments": {"x": 1}}],
          "tools": [{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}},
                                                 "required": ["x"]}}]}
    rows = [{"data_source": "t", "reward_model": {"ground_truth": json.dumps(gt)}, "extra_info": {"index": 0}}]
    hostile = [
        "<think></think><answer>[f(x=" + "[" * 5000 + "]" * 5000 + ")]</answer>",
        "<answer>" + "f(x=1)," * 20000 + "</answer>",
        "<think></think><answer>[f(x=__import__('os').getpid())]</answer>",
        "<think></think><answer>[f(x=400+50)]</answer>",
        "\udcff\x00<answer>",
    ]
    gens = Generations([Generation(("index", 0), h, i) for i, h in enumerate(hostile, 1)])
    report = score_rows(rows, gens)
    assert report.overall.n == len(hostile) and report.overall.accuracy == 0.0
    assert report.overall.parse_failures >= 2


def test_categories_follow_the_reference_shape():
    tool = lambda n: {"name": n, "parameters": {"type": "object", "properties": {}}}  # noqa: E731
    call = lambda n: {"name": n, "arguments": {}}  # noqa: E731
    cat = lambda calls, tools: structural_category(load_ground_truth({"calls": calls, "tools": tools}))  # noqa: E731
    assert cat([], [tool("f")]) == "no_call"
    assert cat([call("f")], [tool("f")]) == "single"
    assert cat([call("f")], [tool("f"), tool("g")]) == "multiple"
    assert cat([call("f"), call("f")], [tool("f")]) == "parallel"
    assert cat([call("f"), call("g")], [tool("f"), tool("g")]) == "parallel_multiple"
    assert cat([call("f"), call("g")], []) == "parallel_multiple"  # no schemas: distinct names


def test_bad_ground_truth_rows_are_reported_not_raised(tmp_path):
    rows = [
        {"data_source": "t", "reward_model": {"ground_truth": "not a ground truth"}, "extra_info": {"index": 0}},
        {"data_source": "t", "reward_model": {"ground_truth": '{"calls": []}'}, "extra_info": {"index": 1}},
    ]
    gens = parse_lines(['{"index": 0, "response": "x"}',
                        '{"index": 1, "response": "<think></think><answer>no</answer>"}'])
    report = score_rows(rows, gens)
    assert report.counts["rows_bad_ground_truth"] == 1 and report.overall.accuracy == 1.0
    text = format_report(report)
    assert "row(s) whose ground truth does not load" in text and "row 0:" in text
    write_json(report.to_dict(), tmp_path / "m.json")
    assert json.loads((tmp_path / "m.json").read_text())["bad_ground_truth_rows"][0]["row"] == 0


def test_held_out_no_call_rows_report_parse_failure_credit():
    """BFCL's rule (a parse failure is no call) stays in the accuracy; the credit is reported beside it."""
    gt = json.dumps({"calls": [], "tools": [{"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}}}]})
    call_gt = json.dumps({"calls": [{"name": "f", "arguments": {"x": 1}}]})
    rows = [{"data_source": "t", "reward_model": {"ground_truth": g}, "extra_info": {"index": i}}
            for i, g in enumerate([gt, gt, gt, call_gt])]
    responses = ["<think></think><answer>No tool fits.</answer>",  # a real abstention
                 "<think></think><answer>[f(x=1</answer>",  # broken: credited by BFCL's rule only
                 "<think></think><answer>[f(x=1)]</answer>",  # a call: wrong
                 "<think></think><answer>[f(x=1</answer>"]  # broken on a call row: wrong, no credit
    gens = parse_lines([json.dumps({"index": i, "response": r}) for i, r in enumerate(responses)])
    report = score_rows(rows, gens)
    no_call = report.by_category["no_call"]
    assert (no_call.accuracy, no_call.credited_parse_failures) == (pytest.approx(2 / 3), 1)
    assert no_call.accuracy_without_parse_failure_credit == pytest.approx(1 / 3)
    assert report.by_category["single"].credited_parse_failures == 0
    assert report.overall.to_dict()["accuracy_without_parse_failure_credit"] == pytest.approx(1 / 4)
    assert report.overall.to_dict()["components"]["ast"] == pytest.approx(1 / 4)  # the reward never credits it
    assert "no_call: 1 response(s); accuracy without that credit 33.33% (with it 66.67%)" in format_report(report)


def test_malformed_ground_truths_are_reported_rows_not_tracebacks():
    hostile = ['{"calls": [], "tools": 5}', '{"calls": [], "tools": [{"name": "f", "parameters": "x"}]}',
               '{"calls": [{"name": "f", "arguments": {"x": ' + "[" * 5000 + "]" * 5000 + "}}]}",
               '{"calls": [{"name": "f", "arguments": {}}]}']
    rows = [{"data_source": "t", "reward_model": {"ground_truth": g}, "extra_info": {"index": i}}
            for i, g in enumerate(hostile)]
    gens = parse_lines([json.dumps({"index": i, "response": "<think></think><answer>[f()]</answer>"})
                        for i in range(len(hostile))])
    report = score_rows(rows, gens)
    assert [r for r, _ in report.bad_rows] == [0, 1, 2] and report.counts["rows_scored"] == 1
    assert report.overall.accuracy == 1.0
